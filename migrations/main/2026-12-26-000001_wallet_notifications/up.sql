-- The API's wallet answer is kept in each worker's copies too (src/copies.rs): a
-- wallet's balance or threshold, or any of its organisation's services (what they
-- commit to each month), notifies 'w<organisation id>'. The unread-alert counters get
-- payloads of their own, 'a<organisation id>' and 'b<user id>' (the bell), so that they
-- drop the sessions' copies but not the API keys' (an API answer shows no bell): every
-- acceptance raises an alert.
CREATE OR REPLACE FUNCTION access_changed_payload(tab TEXT, r JSONB) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
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

CREATE TRIGGER organisation_wallets_changed AFTER INSERT OR DELETE ON organisation_wallets FOR EACH ROW
    EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER organisation_wallets_balance_changed AFTER UPDATE ON organisation_wallets FOR EACH ROW
    WHEN ((OLD.balance, OLD.low_balance_threshold, OLD.organisation_id)
          IS DISTINCT FROM (NEW.balance, NEW.low_balance_threshold, NEW.organisation_id))
    EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER services_changed AFTER INSERT OR UPDATE OR DELETE ON services FOR EACH ROW
    EXECUTE FUNCTION notify_access_changed();
