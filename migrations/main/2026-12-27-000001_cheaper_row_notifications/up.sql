-- An acceptance's triggers cost more than its own statements (pg_stat_statements and
-- pg_stat_user_functions through the load test's acceptance rounds, per acceptance):
-- notify_access_changed 50 µs a call, twice (the wallet's balance, the organisation's
-- unread alerts), most of it making a JSON document of the whole row to read one key
-- from it; count_unread_alerts 75 µs, a statement trigger that collects the inserted
-- alerts into a transition table, groups them, and upserts both counter tables even
-- when one of them has nothing to add.
--
-- The tables whose payload is one column of the row now notify from that column
-- directly (TG_ARGV[0] is the payload's letter, as in access_changed_payload), and an
-- update whose key did not move notifies once (the row before and after named the same
-- copy, and PostgreSQL delivered it once anyway). An inserted alert counts itself, in a
-- row trigger with one upsert: raising alerts is one row at a time everywhere but the
-- expiry reminders, and those are a few rows an hour. Reading and deleting alerts keep
-- their statement triggers.
CREATE FUNCTION notify_organisation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('access_changed', TG_ARGV[0] || OLD.organisation_id);
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF OLD.organisation_id IS DISTINCT FROM NEW.organisation_id THEN
            PERFORM pg_notify('access_changed', TG_ARGV[0] || OLD.organisation_id);
        END IF;
    END IF;
    PERFORM pg_notify('access_changed', TG_ARGV[0] || NEW.organisation_id);
    RETURN NULL;
END
$$;

CREATE FUNCTION notify_user_counter_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('access_changed', 'b' || OLD.user_id);
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF OLD.user_id IS DISTINCT FROM NEW.user_id THEN
            PERFORM pg_notify('access_changed', 'b' || OLD.user_id);
        END IF;
    END IF;
    PERFORM pg_notify('access_changed', 'b' || NEW.user_id);
    RETURN NULL;
END
$$;

DROP TRIGGER organisation_wallets_changed ON organisation_wallets;
CREATE TRIGGER organisation_wallets_changed AFTER INSERT OR DELETE ON organisation_wallets FOR EACH ROW
    EXECUTE FUNCTION notify_organisation_changed('w');
DROP TRIGGER organisation_wallets_balance_changed ON organisation_wallets;
CREATE TRIGGER organisation_wallets_balance_changed AFTER UPDATE ON organisation_wallets FOR EACH ROW
    WHEN ((OLD.balance, OLD.low_balance_threshold, OLD.organisation_id)
          IS DISTINCT FROM (NEW.balance, NEW.low_balance_threshold, NEW.organisation_id))
    EXECUTE FUNCTION notify_organisation_changed('w');
DROP TRIGGER services_changed ON services;
CREATE TRIGGER services_changed AFTER INSERT OR UPDATE OR DELETE ON services FOR EACH ROW
    EXECUTE FUNCTION notify_organisation_changed('w');
DROP TRIGGER organisation_unread_alerts_changed ON organisation_unread_alerts;
CREATE TRIGGER organisation_unread_alerts_changed AFTER INSERT OR UPDATE OR DELETE ON organisation_unread_alerts
    FOR EACH ROW EXECUTE FUNCTION notify_organisation_changed('a');
DROP TRIGGER user_unread_alerts_changed ON user_unread_alerts;
CREATE TRIGGER user_unread_alerts_changed AFTER INSERT OR UPDATE OR DELETE ON user_unread_alerts
    FOR EACH ROW EXECUTE FUNCTION notify_user_counter_changed();

-- An unread alert, as it is inserted, counts up its organisation's or its user's number.
CREATE FUNCTION count_inserted_alert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.organisation_id IS NOT NULL THEN
        INSERT INTO organisation_unread_alerts AS c (organisation_id, unread) VALUES (NEW.organisation_id, 1)
        ON CONFLICT (organisation_id) DO UPDATE SET unread = c.unread + 1;
    ELSE
        INSERT INTO user_unread_alerts AS c (user_id, unread) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET unread = c.unread + 1;
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER in_app_alerts_count_inserted ON in_app_alerts;
CREATE TRIGGER in_app_alerts_count_inserted AFTER INSERT ON in_app_alerts FOR EACH ROW
    WHEN (NOT NEW.is_read) EXECUTE FUNCTION count_inserted_alert();
