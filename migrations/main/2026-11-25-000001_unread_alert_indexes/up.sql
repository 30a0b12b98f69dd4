-- Every signed-in request counts its unread alerts (up to a cap) for the bell. These
-- partial indexes hold only unread alerts, in id order, so that the capped count reads
-- at most 100 index entries however many alerts there are, and the planner prefers them
-- to a scan of the table (ORDER BY id LIMIT 100 is what they answer).
CREATE INDEX in_app_alerts_org_unread_idx ON in_app_alerts (organisation_id, id) WHERE NOT is_read;
CREATE INDEX in_app_alerts_user_unread_idx ON in_app_alerts (user_id, id) WHERE NOT is_read;
