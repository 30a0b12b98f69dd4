-- Failed sign-ins are counted per (email address as typed, client address) rather than
-- per account: a stranger elsewhere can no longer lock a known account, and an unknown
-- address is throttled exactly like a known one, so the answer reveals nothing.
CREATE TABLE login_throttles (
    email           TEXT NOT NULL CHECK (email = lower(email)),
    ip              TEXT NOT NULL,
    failures        INTEGER NOT NULL CHECK (failures > 0),
    last_failure_at TIMESTAMPTZ NOT NULL,
    -- No attempt from this pair is checked before then.
    blocked_until   TIMESTAMPTZ,
    PRIMARY KEY (email, ip)
);

CREATE INDEX login_throttles_last_failure_at ON login_throttles (last_failure_at);

ALTER TABLE users
    DROP COLUMN failed_login_count,
    DROP COLUMN failed_login_window_start,
    DROP COLUMN locked_until;
