-- The second factor: a TOTP secret (base32) and when it was confirmed, the last time
-- step accepted (a code is good once, RFC 6238 §5.2), and ten single-use recovery codes
-- stored as SHA-256 of 80 random bits each.
ALTER TABLE users
    ADD COLUMN totp_secret TEXT,
    ADD COLUMN totp_enrolled_at TIMESTAMPTZ,
    ADD COLUMN totp_last_step BIGINT,
    ADD CONSTRAINT users_totp_enrolled CHECK ((totp_secret IS NULL) = (totp_enrolled_at IS NULL));

CREATE TABLE recovery_codes (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BYTEA NOT NULL CHECK (octet_length(code_hash) = 32),
    used_at    TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (user_id, code_hash)
);
