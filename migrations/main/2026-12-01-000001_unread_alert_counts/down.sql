DROP TRIGGER in_app_alerts_count_deleted ON in_app_alerts;
DROP TRIGGER in_app_alerts_count_updated ON in_app_alerts;
DROP TRIGGER in_app_alerts_count_inserted ON in_app_alerts;
DROP FUNCTION count_unread_alerts();
DROP TABLE user_unread_alerts;
DROP TABLE organisation_unread_alerts;
