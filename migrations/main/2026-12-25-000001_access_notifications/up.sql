-- Each worker keeps the signed-in users and API keys it has checked, and the API's
-- wallet answer, in memory (src/copies.rs) and listens on `access_changed` for what
-- makes a copy wrong. The payload names what changed: 'u<user id>' and
-- 'o<organisation id>' (what the session and key checks read), 'b<user id>' and
-- 'a<organisation id>' (the bell's unread counters, which drop sessions' copies but
-- not API keys': an API answer shows no bell, and every acceptance raises an alert),
-- 'w<organisation id>' (a wallet's balance or threshold, or any of its organisation's
-- services: what they commit to each month), 'p<key prefix>', or '*' for everyone (the
-- role × permission matrix). Only the columns a copy holds notify: a sign-in's
-- bookkeeping or a key's last use does not.
CREATE FUNCTION access_changed_payload(tab TEXT, r JSONB) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE tab
        WHEN 'users' THEN 'u' || (r->>'id')
        WHEN 'user_roles' THEN 'u' || (r->>'user_id')
        WHEN 'user_unread_alerts' THEN 'b' || (r->>'user_id')
        WHEN 'organisations' THEN 'o' || (r->>'id')
        WHEN 'organisation_unread_alerts' THEN 'a' || (r->>'organisation_id')
        WHEN 'api_keys' THEN 'p' || (r->>'prefix')
        WHEN 'organisation_wallets' THEN 'w' || (r->>'organisation_id')
        WHEN 'services' THEN 'w' || (r->>'organisation_id')
        ELSE '*' END
$$;

-- A row trigger; an update notifies for the row before and after (the same payload
-- twice in a transaction is delivered once).
CREATE FUNCTION notify_access_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('access_changed', access_changed_payload(TG_TABLE_NAME, to_jsonb(OLD)));
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('access_changed', access_changed_payload(TG_TABLE_NAME, to_jsonb(NEW)));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_access_changed AFTER UPDATE ON users FOR EACH ROW
    WHEN ((OLD.email, OLD.name, OLD.is_active, OLD.session_version, OLD.must_change_password,
           OLD.totp_enrolled_at, OLD.organisation_id)
          IS DISTINCT FROM
          (NEW.email, NEW.name, NEW.is_active, NEW.session_version, NEW.must_change_password,
           NEW.totp_enrolled_at, NEW.organisation_id))
    EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER users_access_removed AFTER DELETE ON users FOR EACH ROW
    EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER user_roles_access_changed AFTER INSERT OR UPDATE OR DELETE ON user_roles FOR EACH ROW
    EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER organisations_access_changed AFTER UPDATE ON organisations FOR EACH ROW
    WHEN ((OLD.name, OLD.status, OLD.is_operator) IS DISTINCT FROM (NEW.name, NEW.status, NEW.is_operator))
    EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER organisations_access_removed AFTER DELETE ON organisations FOR EACH ROW
    EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER access_matrix_changed AFTER UPDATE ON access_matrix_version FOR EACH ROW
    EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER organisation_unread_alerts_changed AFTER INSERT OR UPDATE OR DELETE ON organisation_unread_alerts
    FOR EACH ROW EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER user_unread_alerts_changed AFTER INSERT OR UPDATE OR DELETE ON user_unread_alerts
    FOR EACH ROW EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER api_keys_access_changed AFTER INSERT OR DELETE ON api_keys FOR EACH ROW
    EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER api_keys_revoked AFTER UPDATE ON api_keys FOR EACH ROW
    WHEN ((OLD.revoked_at, OLD.prefix, OLD.user_id, OLD.secret_hash)
          IS DISTINCT FROM (NEW.revoked_at, NEW.prefix, NEW.user_id, NEW.secret_hash))
    EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER organisation_wallets_changed AFTER INSERT OR DELETE ON organisation_wallets FOR EACH ROW
    EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER organisation_wallets_balance_changed AFTER UPDATE ON organisation_wallets FOR EACH ROW
    WHEN ((OLD.balance, OLD.low_balance_threshold, OLD.organisation_id)
          IS DISTINCT FROM (NEW.balance, NEW.low_balance_threshold, NEW.organisation_id))
    EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER services_changed AFTER INSERT OR UPDATE OR DELETE ON services FOR EACH ROW
    EXECUTE FUNCTION notify_access_changed();
