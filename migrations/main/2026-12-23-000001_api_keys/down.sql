DROP TABLE api_idempotency;
DROP TABLE api_keys;
