DROP TRIGGER in_app_alerts_count_inserted ON in_app_alerts;
CREATE TRIGGER in_app_alerts_count_inserted AFTER INSERT ON in_app_alerts
    REFERENCING NEW TABLE AS new_alerts FOR EACH STATEMENT EXECUTE FUNCTION count_unread_alerts();
DROP FUNCTION count_inserted_alert();

DROP TRIGGER user_unread_alerts_changed ON user_unread_alerts;
CREATE TRIGGER user_unread_alerts_changed AFTER INSERT OR UPDATE OR DELETE ON user_unread_alerts
    FOR EACH ROW EXECUTE FUNCTION notify_access_changed();
DROP TRIGGER organisation_unread_alerts_changed ON organisation_unread_alerts;
CREATE TRIGGER organisation_unread_alerts_changed AFTER INSERT OR UPDATE OR DELETE ON organisation_unread_alerts
    FOR EACH ROW EXECUTE FUNCTION notify_access_changed();
DROP TRIGGER services_changed ON services;
CREATE TRIGGER services_changed AFTER INSERT OR UPDATE OR DELETE ON services FOR EACH ROW
    EXECUTE FUNCTION notify_access_changed();
DROP TRIGGER organisation_wallets_balance_changed ON organisation_wallets;
CREATE TRIGGER organisation_wallets_balance_changed AFTER UPDATE ON organisation_wallets FOR EACH ROW
    WHEN ((OLD.balance, OLD.low_balance_threshold, OLD.organisation_id)
          IS DISTINCT FROM (NEW.balance, NEW.low_balance_threshold, NEW.organisation_id))
    EXECUTE FUNCTION notify_access_changed();
DROP TRIGGER organisation_wallets_changed ON organisation_wallets;
CREATE TRIGGER organisation_wallets_changed AFTER INSERT OR DELETE ON organisation_wallets FOR EACH ROW
    EXECUTE FUNCTION notify_access_changed();

DROP FUNCTION notify_user_counter_changed();
DROP FUNCTION notify_organisation_changed();
