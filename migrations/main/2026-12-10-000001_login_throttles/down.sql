ALTER TABLE users
    ADD COLUMN failed_login_count        INTEGER NOT NULL DEFAULT 0 CHECK (failed_login_count >= 0),
    ADD COLUMN failed_login_window_start TIMESTAMPTZ,
    ADD COLUMN locked_until              TIMESTAMPTZ;

DROP TABLE login_throttles;
