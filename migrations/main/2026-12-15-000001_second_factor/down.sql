DROP TABLE recovery_codes;
ALTER TABLE users
    DROP CONSTRAINT users_totp_enrolled,
    DROP COLUMN totp_secret,
    DROP COLUMN totp_enrolled_at,
    DROP COLUMN totp_last_step;
