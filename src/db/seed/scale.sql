-- `portal seed --scale F`: production volume times F, loaded set-based (one INSERT …
-- SELECT FROM generate_series per table) in one transaction. :orgs, :users, :quotes,
-- :activity and :alerts are replaced by the row counts; nothing here moves money, so
-- every wallet stays equal to its (empty) ledger and `portal wallet verify` passes.
CREATE TEMPORARY TABLE scale_orgs ON COMMIT DROP AS
WITH made AS (
    INSERT INTO organisations (name, registration_number, billing_email)
    SELECT 'Scale Trading ' || lpad(n::text, 6, '0') || ' (Pty) Ltd',
           '2026/' || lpad(n::text, 6, '0') || '/07',
           'accounts@scale' || n || '.example.co.za'
    FROM generate_series(1, :orgs) n
    RETURNING id
)
SELECT id, row_number() OVER (ORDER BY id) AS n FROM made;

-- A wallet each, empty; every fifth below a threshold, for the low-balance figures.
INSERT INTO organisation_wallets (organisation_id, low_balance_threshold)
SELECT id, CASE WHEN n % 5 = 0 THEN 500 ELSE 0 END FROM scale_orgs;

-- Two users per organisation, customers, who cannot sign in (no password matches '!').
CREATE TEMPORARY TABLE scale_users ON COMMIT DROP AS
WITH made AS (
    INSERT INTO users (organisation_id, email, name, password_hash)
    SELECT o.id, 'user' || u || '.org' || o.n || '@scale.example.co.za', 'Scale User ' || o.n || '-' || u, '!'
    FROM scale_orgs o CROSS JOIN generate_series(1, GREATEST(1, :users / GREATEST(1, :orgs))) u
    RETURNING id, organisation_id
)
SELECT id, organisation_id, row_number() OVER (ORDER BY id) AS n FROM made;

INSERT INTO user_roles (user_id, role_id)
SELECT u.id, r.id FROM scale_users u CROSS JOIN (SELECT id FROM roles WHERE lower(name) = 'customer') r;

-- Where a row of a kind goes: the n-th row to the (n mod orgs)-th organisation; a tenth
-- of the quotes and alerts to the demo customer's organisation (when the demo data is
-- there), so that its dashboard is measured with a long history of its own.
CREATE TEMPORARY TABLE scale_target ON COMMIT DROP AS
SELECT (SELECT id FROM organisations WHERE name = 'Acme Logistics') AS demo;

INSERT INTO quotes (organisation_id, kind, status, title, term_months, valid_until, vat_rate,
                    once_off_subtotal, monthly_subtotal, once_off_vat, monthly_vat,
                    once_off_total, monthly_total, amount_due, declined_at, created_at)
SELECT CASE WHEN q % 10 = 0 AND t.demo IS NOT NULL THEN t.demo ELSE o.id END,
       (ARRAY['vm', 'service', 'network'])[1 + q % 3],
       s.status,
       'Scale quote ' || q,
       CASE WHEN q % 3 = 1 THEN NULL ELSE 12 * (1 + q % 3) END,
       now() + make_interval(days => CASE WHEN s.status = 'pending' AND q % 2 = 0 THEN 30 ELSE -(q % 300) END),
       15, 100, 1000, 15, 150, 115, 1150, 1265,
       CASE WHEN s.status = 'declined' THEN now() - make_interval(days => q % 300) END,
       now() - make_interval(days => q % 300)
FROM generate_series(1, :quotes) q
JOIN scale_orgs o ON o.n = 1 + q % (SELECT count(*) FROM scale_orgs)
CROSS JOIN scale_target t
CROSS JOIN LATERAL (SELECT (ARRAY['pending', 'pending', 'declined', 'expired', 'cancelled'])[1 + q % 5] AS status) s;

INSERT INTO user_activity_log (user_id, organisation_id, action, target, ip, detail, created_at)
SELECT u.id, u.organisation_id,
       (ARRAY['login.ok', 'login.failed', 'quote.create', 'quote.decline', 'wallet.view'])[1 + a % 5],
       'quote:' || a, '192.0.2.' || (1 + a % 250),
       jsonb_build_object('number', 'Q-2026-' || lpad((a % 999999)::text, 6, '0')),
       now() - make_interval(secs => a * 30)
FROM generate_series(1, :activity) a
JOIN scale_users u ON u.n = 1 + a % (SELECT count(*) FROM scale_users);

INSERT INTO in_app_alerts (organisation_id, level, kind, title, body, is_read, created_at)
SELECT CASE WHEN a % 10 = 0 AND t.demo IS NOT NULL THEN t.demo ELSE o.id END,
       (ARRAY['info', 'warning', 'critical'])[1 + a % 3], 'scale',
       'Scale alert ' || a, 'Loaded by portal seed --scale.', a % 4 <> 0,
       now() - make_interval(mins => a)
FROM generate_series(1, :alerts) a
JOIN scale_orgs o ON o.n = 1 + a % (SELECT count(*) FROM scale_orgs)
CROSS JOIN scale_target t;

ANALYZE organisations, organisation_wallets, users, user_roles, quotes, user_activity_log, in_app_alerts;
