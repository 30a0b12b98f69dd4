-- Every signed-in request counts its unread alerts (up to a cap) for the bell. These
-- partial indexes hold only unread alerts, so the count does not grow with history.
CREATE INDEX in_app_alerts_org_unread_idx ON in_app_alerts (organisation_id) WHERE NOT is_read;
CREATE INDEX in_app_alerts_user_unread_idx ON in_app_alerts (user_id) WHERE NOT is_read;
