-- API keys for integrators (DESIGN.md §11): a key acts as the user who created it. Only
-- the SHA-256 of the whole key is kept (keys are 256 random bits, so a fast hash is
-- enough); `prefix`, its first characters, names it in lists and finds its row.
CREATE TABLE api_keys (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    prefix       TEXT NOT NULL,
    secret_hash  BYTEA NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX api_keys_prefix ON api_keys (prefix);
CREATE INDEX api_keys_user ON api_keys (user_id, id);

-- The first answer to each POST sent with an `Idempotency-Key`, per API key: a repeat
-- with the same request gets it again. `response_status` is NULL while the first
-- request is still being answered; `claimed_at` lets a request take over one whose
-- answer never came (its connection dropped). Rows older than a day are removed by
-- the hourly job.
CREATE TABLE api_idempotency (
    api_key_id      BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
    request_hash    BYTEA NOT NULL CHECK (octet_length(request_hash) = 32),
    response_status INTEGER,
    response_body   TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    claimed_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_id, idempotency_key),
    CHECK ((response_status IS NULL) = (response_body IS NULL))
);
CREATE INDEX api_idempotency_created ON api_idempotency (created_at);
