-- The alert bell shows on every page, so every signed-in request needs the number of
-- unread alerts. Counting alert rows cost more than the rest of the session check
-- together (a heap visit per unread alert, up to the cap); these counters hold the
-- numbers instead, kept by statement triggers on in_app_alerts in the same transaction
-- as the change, so they are exact whatever writes the alerts.
--
-- An organisation's count is of its unread alerts; a user's own count is of the unread
-- alerts addressed to them alone (organisation_id NULL). Only the raising and reading of
-- alerts touch these rows: no money path locks them before a wallet.
CREATE TABLE organisation_unread_alerts (
    organisation_id BIGINT PRIMARY KEY REFERENCES organisations (id),
    unread          BIGINT NOT NULL CHECK (unread >= 0)
);
CREATE TABLE user_unread_alerts (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    unread  BIGINT NOT NULL CHECK (unread >= 0)
);

INSERT INTO organisation_unread_alerts (organisation_id, unread)
SELECT organisation_id, count(*) FROM in_app_alerts
WHERE NOT is_read AND organisation_id IS NOT NULL GROUP BY organisation_id;
INSERT INTO user_unread_alerts (user_id, unread)
SELECT user_id, count(*) FROM in_app_alerts
WHERE NOT is_read AND organisation_id IS NULL GROUP BY user_id;

-- What a statement made unread counts up, what it took away from unread counts down.
-- (A CHECK is tested on the row an upsert proposes, so only inserts, whose deltas are
-- all positive, upsert; the other branches make sure the rows exist, then update them.)
CREATE FUNCTION count_unread_alerts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        WITH delta AS (SELECT organisation_id, user_id FROM new_alerts WHERE NOT is_read),
        orgs AS (
            INSERT INTO organisation_unread_alerts AS c (organisation_id, unread)
            SELECT organisation_id, count(*) FROM delta WHERE organisation_id IS NOT NULL GROUP BY organisation_id
            ON CONFLICT (organisation_id) DO UPDATE SET unread = c.unread + EXCLUDED.unread)
        INSERT INTO user_unread_alerts AS c (user_id, unread)
        SELECT user_id, count(*) FROM delta WHERE organisation_id IS NULL GROUP BY user_id
        ON CONFLICT (user_id) DO UPDATE SET unread = c.unread + EXCLUDED.unread;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        -- An alert made unread again may be the first unread one of its organisation or user.
        INSERT INTO organisation_unread_alerts (organisation_id, unread)
        SELECT DISTINCT organisation_id, 0 FROM new_alerts WHERE NOT is_read AND organisation_id IS NOT NULL
        ON CONFLICT (organisation_id) DO NOTHING;
        INSERT INTO user_unread_alerts (user_id, unread)
        SELECT DISTINCT user_id, 0 FROM new_alerts WHERE NOT is_read AND organisation_id IS NULL
        ON CONFLICT (user_id) DO NOTHING;
        WITH delta AS (SELECT organisation_id, user_id, 1 AS d FROM new_alerts WHERE NOT is_read
                       UNION ALL
                       SELECT organisation_id, user_id, -1 FROM old_alerts WHERE NOT is_read),
        orgs AS (
            UPDATE organisation_unread_alerts c SET unread = c.unread + s.d
            FROM (SELECT organisation_id, sum(d) AS d FROM delta WHERE organisation_id IS NOT NULL
                  GROUP BY organisation_id HAVING sum(d) <> 0) s
            WHERE c.organisation_id = s.organisation_id)
        UPDATE user_unread_alerts c SET unread = c.unread + s.d
        FROM (SELECT user_id, sum(d) AS d FROM delta WHERE organisation_id IS NULL
              GROUP BY user_id HAVING sum(d) <> 0) s
        WHERE c.user_id = s.user_id;
    ELSE
        WITH delta AS (SELECT organisation_id, user_id FROM old_alerts WHERE NOT is_read),
        orgs AS (
            UPDATE organisation_unread_alerts c SET unread = c.unread - s.n
            FROM (SELECT organisation_id, count(*) AS n FROM delta WHERE organisation_id IS NOT NULL
                  GROUP BY organisation_id) s
            WHERE c.organisation_id = s.organisation_id)
        UPDATE user_unread_alerts c SET unread = c.unread - s.n
        FROM (SELECT user_id, count(*) AS n FROM delta WHERE organisation_id IS NULL GROUP BY user_id) s
        WHERE c.user_id = s.user_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER in_app_alerts_count_inserted AFTER INSERT ON in_app_alerts
    REFERENCING NEW TABLE AS new_alerts FOR EACH STATEMENT EXECUTE FUNCTION count_unread_alerts();
CREATE TRIGGER in_app_alerts_count_updated AFTER UPDATE ON in_app_alerts
    REFERENCING OLD TABLE AS old_alerts NEW TABLE AS new_alerts FOR EACH STATEMENT EXECUTE FUNCTION count_unread_alerts();
CREATE TRIGGER in_app_alerts_count_deleted AFTER DELETE ON in_app_alerts
    REFERENCING OLD TABLE AS old_alerts FOR EACH STATEMENT EXECUTE FUNCTION count_unread_alerts();
