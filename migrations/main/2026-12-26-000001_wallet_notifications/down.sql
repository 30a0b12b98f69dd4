DROP TRIGGER services_changed ON services;
DROP TRIGGER organisation_wallets_balance_changed ON organisation_wallets;
DROP TRIGGER organisation_wallets_changed ON organisation_wallets;
CREATE OR REPLACE FUNCTION access_changed_payload(tab TEXT, r JSONB) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE tab
        WHEN 'users' THEN 'u' || (r->>'id')
        WHEN 'user_roles' THEN 'u' || (r->>'user_id')
        WHEN 'user_unread_alerts' THEN 'u' || (r->>'user_id')
        WHEN 'organisations' THEN 'o' || (r->>'id')
        WHEN 'organisation_unread_alerts' THEN 'o' || (r->>'organisation_id')
        WHEN 'api_keys' THEN 'p' || (r->>'prefix')
        ELSE '*' END
$$;
