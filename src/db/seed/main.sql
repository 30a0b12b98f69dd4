-- Demo data for the main (platform) database.
-- Runs once, inside one transaction, on a freshly migrated and empty database.
-- password_hash 'seed:demo-password' is replaced with a real argon2 hash by the
-- Rust code after this script has run.
--
-- Quote lines snapshot rows of the AAS and E-Networks databases. Those are
-- separate databases, so item_id is the id the row gets there on a fresh
-- database (identity ids in insert order of src/seed/aas.sql and
-- src/seed/enetworks.sql), and sku / cost / margin are copied from that row.
--   aas products: CMP-VCPU 1, CMP-RAM 2, CMP-OS-LINUX 3, STO-NVME 7, STO-OBJ 9,
--     BAK-VEEAM-VM 11, BAK-REPO 12, BAK-M365 13, NET-PUBIP 15, NET-VFW 16,
--     SEC-EDR 19, MSL-M365-BB 23, MSL-M365-BP 24, MSL-SQL-STD 25, MSL-RDS-SAL 26,
--     MON-BASIC 30, MON-NOC 31, DR-REPL-VM 33, DR-STANDBY-GB 34, DR-TEST 35,
--     PS-ONBOARD 36, PS-MIGRATE-VM 37, PS-ENG-HOUR 38, PS-TRAVEL 39
--   aas templates: ubuntu-24.04-medium 3, rocky-9-medium 12, win2022-std-medium 15,
--     win2022-std-large 16, win2022-sql-large 20
--   enetworks: dfa_magellan 100/36 = 12, dfa_helios 50 = 3, mfn 100/24 = 11,
--     liquid_costs 200/36 = 15 and 1000/24 = 20, bandwidth_costs 50 = 3,
--     100 = 4, 200 = 5, 1000 = 7, liquid_cpe 1..4
-- Network skus name the provider table: DFA-MAG-<speed>-<term>, DFA-HEL-<speed>-24,
-- MFN-<speed>-<term>, LIQ-<speed>-<term>, BW-<speed>, and for CPE 'CPE-' plus the
-- model in upper case with spaces as dashes (CPE-FORTINET-FORTIGATE-40F). An access
-- link is two lines on the same row: its MRC (monthly) and its NRC (once-off).
-- Template lines use the template name as sku; a Windows template's setup_cost is a
-- second, once-off line on the same row.

-- ---------------------------------------------------------------------------
-- Organisations (11): the operator and ten customers
-- ---------------------------------------------------------------------------
INSERT INTO organisations (name, registration_number, vat_number, billing_email, status, suspended_reason, is_operator, created_at) VALUES
    ('Kopano Cloud (Pty) Ltd',     '2012/087341/07', '4870263154', 'accounts@kopanocloud.co.za',       'active',    NULL, true,  now() - interval '400 days'),
    ('Acme Logistics',             '2015/123456/07', '4123456789', 'accounts@acmelogistics.co.za',     'active',    NULL, false, now() - interval '180 days'),
    ('Ubuntu Freight Services',    '2009/214578/07', '4310982746', 'accounts@ubuntufreight.co.za',     'active',    NULL, false, now() - interval '170 days'),
    ('Karoo Solar Installations',  '2018/356201/07', '4590317268', 'accounts@karoosolar.co.za',        'active',    NULL, false, now() - interval '150 days'),
    ('Table Bay Medical Group',    '2004/019832/07', '4026719385', 'accounts@tablebaymedical.co.za',   'active',    NULL, false, now() - interval '140 days'),
    ('Thandeka Legal Inc.',        '2016/441093/21', '4762018593', 'accounts@thandekalegal.co.za',     'active',    NULL, false, now() - interval '120 days'),
    ('Mzansi Retail Holdings',     '2011/302876/06', '4198273640', 'accounts@mzansiretail.co.za',      'active',    NULL, false, now() - interval '110 days'),
    ('Highveld Engineering CC',    '2007/058219/23', '4451290837', 'accounts@highveldeng.co.za',       'suspended', 'FICA documents outstanding after three reminders; account on hold until received.', false, now() - interval '100 days'),
    ('Drakensberg Tourism Co-op',  '2019/617204/24', '4937105826', 'accounts@drakensbergtourism.co.za','active',    NULL, false, now() - interval '90 days'),
    ('Soweto Makers Collective',   '2021/784512/08', '4605928317', 'accounts@sowetomakers.co.za',      'active',    NULL, false, now() - interval '75 days'),
    ('Cape Vineyards Exporters',   '2013/265938/07', '4284061795', 'accounts@capevineyards.co.za',     'active',    NULL, false, now() - interval '60 days');

-- Addresses for tax invoices: the operator's (the supplier on every document) and some
-- customers'. The others have none yet: they are asked for one before accepting more
-- than R 5 000.
UPDATE organisations o SET address = a.address
FROM (VALUES
    ('Kopano Cloud (Pty) Ltd', E'3rd Floor, 101 Rivonia Road\nSandton\n2196'),
    ('Acme Logistics',         E'14 Jet Park Road\nBoksburg\n1459'),
    ('Table Bay Medical Group', E'22 Somerset Road\nGreen Point, Cape Town\n8005')
) AS a (name, address)
WHERE o.name = a.name;

-- ---------------------------------------------------------------------------
-- Users (18)
-- ---------------------------------------------------------------------------
INSERT INTO users (organisation_id, email, name, password_hash, is_active, created_at)
SELECT o.id, u.email, u.name, 'seed:demo-password', u.is_active, now() - u.age
FROM (VALUES
    ('Kopano Cloud (Pty) Ltd',    'admin@demo.test',                         'Nomvula Dlamini',    true,  interval '400 days'),
    ('Kopano Cloud (Pty) Ltd',    'staff@demo.test',                         'Pieter van der Merwe', true, interval '390 days'),
    ('Kopano Cloud (Pty) Ltd',    'lerato@kopano.demo.test',                 'Lerato Mokoena',     true,  interval '200 days'),
    ('Acme Logistics',            'customer@demo.test',                      'Sipho Ndlovu',       true,  interval '180 days'),
    ('Acme Logistics',            'ayesha@acme-logistics.demo.test',         'Ayesha Patel',       true,  interval '175 days'),
    ('Ubuntu Freight Services',   'bongani@ubuntu-freight.demo.test',        'Bongani Khumalo',    true,  interval '170 days'),
    ('Ubuntu Freight Services',   'andile@ubuntu-freight.demo.test',         'Andile Mabaso',      true,  interval '160 days'),
    ('Karoo Solar Installations', 'thandi@karoo-solar.demo.test',            'Thandi Botha',       true,  interval '150 days'),
    ('Karoo Solar Installations', 'riaan@karoo-solar.demo.test',             'Riaan Steyn',        false, interval '148 days'),
    ('Table Bay Medical Group',   'kavitha@tablebay-medical.demo.test',      'Dr Kavitha Naidoo',  true,  interval '140 days'),
    ('Thandeka Legal Inc.',       'thandeka@thandeka-legal.demo.test',       'Thandeka Mthembu',   true,  interval '120 days'),
    ('Mzansi Retail Holdings',    'johan@mzansi-retail.demo.test',           'Johan Pretorius',    true,  interval '110 days'),
    ('Mzansi Retail Holdings',    'zanele@mzansi-retail.demo.test',          'Zanele Mahlangu',    true,  interval '105 days'),
    ('Highveld Engineering CC',   'musa@highveld-eng.demo.test',             'Musa Sithole',       true,  interval '100 days'),
    ('Drakensberg Tourism Co-op', 'nokuthula@drakensberg-tourism.demo.test', 'Nokuthula Zulu',     true,  interval '90 days'),
    ('Soweto Makers Collective',  'tshepo@soweto-makers.demo.test',          'Tshepo Molefe',      true,  interval '75 days'),
    ('Soweto Makers Collective',  'lindiwe@soweto-makers.demo.test',         'Lindiwe Nkosi',      true,  interval '74 days'),
    ('Cape Vineyards Exporters',  'marelize@cape-vineyards.demo.test',       'Marelize du Toit',   true,  interval '60 days')
) AS u (org, email, name, is_active, age)
JOIN organisations o ON o.name = u.org
ORDER BY u.age DESC, u.email;

INSERT INTO user_roles (user_id, role_id)
SELECT u.id, r.id
FROM users u
JOIN roles r ON r.name = CASE
    WHEN u.email = 'admin@demo.test' THEN 'admin'
    WHEN u.email IN ('staff@demo.test', 'lerato@kopano.demo.test') THEN 'staff'
    ELSE 'customer'
END;

-- The demo admin and staff sign in with a second factor from an authenticator app set
-- up with this documented secret (README). Lerato (staff) has not enrolled: she is sent
-- to enrol at her first sign-in.
UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXP', totp_enrolled_at = now() - interval '30 days'
WHERE email IN ('admin@demo.test', 'staff@demo.test');

-- ---------------------------------------------------------------------------
-- Wallets: one per organisation, all at 0; Acme Logistics is the funded one.
-- ---------------------------------------------------------------------------
INSERT INTO organisation_wallets (organisation_id, balance, low_balance_threshold)
SELECT id, 0, CASE WHEN name = 'Acme Logistics' THEN 5000.00 ELSE 0 END
FROM organisations
ORDER BY id;

-- Top-up 1: R 50 000.00
INSERT INTO wallet_transactions (wallet_id, organisation_id, kind, direction, amount, balance_after, reference, description, idempotency_key, created_by, created_at)
SELECT w.id, w.organisation_id, 'credit', 1, 50000.00, w.balance + 50000.00,
       'EFT ACME-2026-10', 'EFT received', 'seed-credit-1',
       (SELECT id FROM users WHERE email = 'staff@demo.test'), now() - interval '40 days'
FROM organisation_wallets w JOIN organisations o ON o.id = w.organisation_id
WHERE o.name = 'Acme Logistics';

UPDATE organisation_wallets w SET balance = w.balance + 50000.00, updated_at = now() - interval '40 days'
FROM organisations o WHERE o.id = w.organisation_id AND o.name = 'Acme Logistics';

-- Top-up 2: R 25 000.00
INSERT INTO wallet_transactions (wallet_id, organisation_id, kind, direction, amount, balance_after, reference, description, idempotency_key, created_by, created_at)
SELECT w.id, w.organisation_id, 'credit', 1, 25000.00, w.balance + 25000.00,
       'EFT ACME-2026-11', 'EFT received', 'seed-credit-2',
       (SELECT id FROM users WHERE email = 'staff@demo.test'), now() - interval '12 days'
FROM organisation_wallets w JOIN organisations o ON o.id = w.organisation_id
WHERE o.name = 'Acme Logistics';

UPDATE organisation_wallets w SET balance = w.balance + 25000.00, updated_at = now() - interval '12 days'
FROM organisations o WHERE o.id = w.organisation_id AND o.name = 'Acme Logistics';

-- ---------------------------------------------------------------------------
-- Quotes: headers first with zero figures, then the lines, then one UPDATE
-- that computes every header's figures from its lines.
-- ---------------------------------------------------------------------------
INSERT INTO quotes (number, organisation_id, created_by, kind, status, title, term_months, site_address, site_suburb,
                    valid_until, vat_rate, amount_due, accepted_by, accepted_at, declined_by, declined_at, created_at, updated_at)
SELECT q.number, o.id, cu.id, q.kind, q.status, q.title, q.term_months, q.site_address, q.site_suburb,
       now() + q.valid_in, 15.0000, 0,
       au.id, now() - q.accepted_ago, du.id, now() - q.declined_ago,
       now() - q.created_ago, now() - LEAST(q.created_ago, COALESCE(q.accepted_ago, q.declined_ago, q.created_ago))
FROM (VALUES
    -- number,         org,                         created_by,                           kind,      status,      title,                                              term, site_address,                           site_suburb,      valid_in,                 created_ago,             accepted_by,          accepted_ago,           declined_by,                      declined_ago
    ('Q-2026-000001', 'Acme Logistics',            'customer@demo.test',                 'service', 'pending',   'Disaster recovery for the Jet Park depot servers',  NULL::int, NULL,                         NULL,             interval '-20 days', interval '50 days', NULL,                 NULL::interval,         NULL,                             NULL::interval),
    ('Q-2026-000002', 'Acme Logistics',            'ayesha@acme-logistics.demo.test',    'network', 'expired',   'Century City branch fibre (Liquid 200 Mbps)',       36,   '2 Bridgeway, Century City, Cape Town', 'Century City', interval '-15 days', interval '45 days', NULL,                 NULL,                   NULL,                             NULL),
    ('Q-2026-000003', 'Highveld Engineering CC',   'musa@highveld-eng.demo.test',        'service', 'cancelled', 'Firewall and NOC monitoring for the plant servers', NULL, NULL,                                   NULL,             interval '-8 days',  interval '38 days', NULL,                 NULL,                   NULL,                             NULL),
    ('Q-2026-000004', 'Acme Logistics',            'ayesha@acme-logistics.demo.test',    'network', 'declined',  'Jet Park depot fibre (MFN 100 Mbps)',               24,   '88 Jet Park Road, Jet Park, Boksburg', 'Jet Park',     interval '5 days',   interval '25 days', NULL,                 NULL,                   'ayesha@acme-logistics.demo.test', interval '22 days'),
    ('Q-2026-000005', 'Acme Logistics',            'customer@demo.test',                 'vm',      'cancelled', 'Remote desktop server for dispatch',                NULL, NULL,                                   NULL,             interval '15 days',  interval '15 days', NULL,                 NULL,                   NULL,                             NULL),
    ('Q-2026-000006', 'Acme Logistics',            'customer@demo.test',                 'vm',      'accepted',  'WMS application and database servers',              NULL, NULL,                                   NULL,             interval '20 days',  interval '10 days', 'customer@demo.test', interval '9 days',     NULL,                             NULL),
    ('Q-2026-000007', 'Table Bay Medical Group',   'kavitha@tablebay-medical.demo.test', 'vm',      'pending',   'PACS imaging servers',                              NULL, NULL,                                   NULL,             interval '30 days',  interval '6 days',  NULL,                 NULL,                   NULL,                             NULL),
    ('Q-2026-000008', 'Karoo Solar Installations', 'thandi@karoo-solar.demo.test',       'service', 'pending',   'Object storage for drone survey imagery',           NULL, NULL,                                   NULL,             interval '30 days',  interval '5 days',  NULL,                 NULL,                   NULL,                             NULL),
    ('Q-2026-000009', 'Thandeka Legal Inc.',       'thandeka@thandeka-legal.demo.test',  'service', 'pending',   'Microsoft 365 move for the Durban practice',        NULL, NULL,                                   NULL,             interval '30 days',  interval '4 days',  NULL,                 NULL,                   NULL,                             NULL),
    ('Q-2026-000010', 'Mzansi Retail Holdings',    'johan@mzansi-retail.demo.test',      'network', 'pending',   'Head office 1 Gbps fibre (Liquid)',                 24,   '21 Gateway Crescent, Umhlanga Ridge, Durban', 'Umhlanga Ridge', interval '30 days', interval '3 days', NULL,            NULL,                   NULL,                             NULL),
    ('Q-2026-000011', 'Acme Logistics',            'customer@demo.test',                 'network', 'pending',   'Sandton head office fibre (DFA Magellan 100 Mbps)', 36,   '12 Rivonia Road, Sandton',             'Sandton',      interval '30 days',  interval '2 days',  NULL,                 NULL,                   NULL,                             NULL),
    ('Q-2026-000012', 'Acme Logistics',            'ayesha@acme-logistics.demo.test',    'service', 'pending',   'Microsoft 365 Business Premium for head office',    NULL, NULL,                                   NULL,             interval '30 days',  interval '1 day',   NULL,                 NULL,                   NULL,                             NULL),
    ('Q-2026-000013', 'Acme Logistics',            'customer@demo.test',                 'vm',      'pending',   'Transport management database cluster',             NULL, NULL,                                   NULL,             interval '30 days',  interval '5 hours', NULL,                 NULL,                   NULL,                             NULL),
    ('Q-2026-000014', 'Acme Logistics',            'customer@demo.test',                 'network', 'pending',   'Bryanston sales office fibre (DFA Helios 50 Mbps)', 24,   '7 Main Road, Bryanston',               'Bryanston',    interval '30 days',  interval '2 hours', NULL,                 NULL,                   NULL,                             NULL)
) AS q (number, org, created_by, kind, status, title, term_months, site_address, site_suburb, valid_in, created_ago,
        accepted_by, accepted_ago, declined_by, declined_ago)
JOIN organisations o ON o.name = q.org
JOIN users cu ON cu.email = q.created_by
LEFT JOIN users au ON au.email = q.accepted_by
LEFT JOIN users du ON du.email = q.declined_by
ORDER BY q.number;

-- Quote lines. unit_price = round(unit_cost * (1 + margin_pct / 100), 2), amount = unit_price * quantity.
INSERT INTO quote_lines (quote_id, line_no, catalog, item_kind, item_id, sku, description, billing,
                         unit_cost, margin_pct, unit_price, quantity, amount, created_at)
SELECT q.id, l.line_no, l.catalog, l.item_kind, l.item_id, l.sku, l.description, l.billing,
       l.unit_cost, l.margin_pct,
       round(l.unit_cost * (1 + l.margin_pct / 100), 2),
       l.quantity,
       round(l.unit_cost * (1 + l.margin_pct / 100), 2) * l.quantity,
       q.created_at
FROM (VALUES
    -- Q1: Acme, DR (pending, validity lapsed)
    ('Q-2026-000001', 1, 'aas', 'product', 33, 'DR-REPL-VM',    'VM replication (JHB to CPT)', 'monthly',   310.00::numeric, 30.0000::numeric, 4),
    ('Q-2026-000001', 2, 'aas', 'product', 34, 'DR-STANDBY-GB', 'DR standby storage',          'monthly',     0.65, 35.0000, 800),
    ('Q-2026-000001', 3, 'aas', 'product', 35, 'DR-TEST',       'DR failover test',            'once_off', 7500.00, 35.0000, 1),
    ('Q-2026-000001', 4, 'aas', 'product', 38, 'PS-ENG-HOUR',   'Engineer (hourly)',           'once_off',  650.00, 45.0000, 8),
    -- Q2: Acme, Liquid 200 Mbps / 36 months, Century City (expired)
    ('Q-2026-000002', 1, 'enetworks', 'network_access', 15, 'LIQ-200-36', 'Liquid fibre 200 Mbps, 36 months: monthly access',  'monthly',  6190.00, 22.5000, 1),
    ('Q-2026-000002', 2, 'enetworks', 'network_access', 15, 'LIQ-200-36', 'Liquid fibre 200 Mbps, 36 months: installation',    'once_off', 3500.00, 22.5000, 1),
    ('Q-2026-000002', 3, 'enetworks', 'bandwidth',       5, 'BW-200',     'Internet bandwidth 200 Mbps (1:1)',                  'monthly',  5400.00, 22.5000, 1),
    ('Q-2026-000002', 4, 'enetworks', 'cpe',             2, 'CPE-CISCO-C1111-8P', 'Cisco C1111-8P router: monthly rental',      'monthly',   595.00, 25.0000, 1),
    -- Q3: Highveld Engineering, firewall + NOC (cancelled)
    ('Q-2026-000003', 1, 'aas', 'product', 16, 'NET-VFW',     'Virtual firewall',    'monthly',  1450.00, 28.0000, 1),
    ('Q-2026-000003', 2, 'aas', 'product', 31, 'MON-NOC',     '24x7 NOC monitoring', 'monthly',   185.00, 35.0000, 3),
    ('Q-2026-000003', 3, 'aas', 'product', 38, 'PS-ENG-HOUR', 'Engineer (hourly)',   'once_off',  650.00, 45.0000, 4),
    -- Q4: Acme, MFN 100 Mbps / 24 months, Jet Park (declined)
    ('Q-2026-000004', 1, 'enetworks', 'network_access', 11, 'MFN-100-24', 'Metro Fibre Networx 100 Mbps, 24 months: monthly access', 'monthly',  3990.00, 27.5000, 1),
    ('Q-2026-000004', 2, 'enetworks', 'network_access', 11, 'MFN-100-24', 'Metro Fibre Networx 100 Mbps, 24 months: installation',   'once_off', 2875.00, 27.5000, 1),
    ('Q-2026-000004', 3, 'enetworks', 'bandwidth',       4, 'BW-100',     'Internet bandwidth 100 Mbps (1:1)',                         'monthly',  2950.00, 25.0000, 1),
    ('Q-2026-000004', 4, 'enetworks', 'cpe',             1, 'CPE-MIKROTIK-RB5009', 'MikroTik RB5009 router: purchase',                'once_off', 4350.00, 30.0000, 1),
    -- Q5: Acme, RDS server (cancelled)
    ('Q-2026-000005', 1, 'aas', 'vm_template', 16, 'win2022-std-large', 'Windows Server 2022 Standard, 8 vCPU, 32 GB RAM, 250 GB SSD',         'monthly',  2561.20, 25.0000, 1),
    ('Q-2026-000005', 2, 'aas', 'vm_template', 16, 'win2022-std-large', 'Setup: Windows Server 2022 Standard, 8 vCPU, 32 GB RAM, 250 GB SSD',  'once_off',  250.00, 25.0000, 1),
    ('Q-2026-000005', 3, 'aas', 'product',     26, 'MSL-RDS-SAL',       'Remote Desktop Services SAL',                                        'monthly',   118.90, 18.0000, 10),
    -- Q6: Acme, WMS servers (accepted and debited)
    ('Q-2026-000006', 1, 'aas', 'vm_template',  3, 'ubuntu-24.04-medium', 'Ubuntu 24.04 LTS, 4 vCPU, 8 GB RAM, 100 GB SSD',                          'monthly',   802.00, 30.0000, 2),
    ('Q-2026-000006', 2, 'aas', 'vm_template', 15, 'win2022-std-medium',  'Windows Server 2022 Standard, 4 vCPU, 8 GB RAM, 120 GB SSD',              'monthly',  1136.20, 27.5000, 1),
    ('Q-2026-000006', 3, 'aas', 'vm_template', 15, 'win2022-std-medium',  'Setup: Windows Server 2022 Standard, 4 vCPU, 8 GB RAM, 120 GB SSD',       'once_off',  250.00, 27.5000, 1),
    ('Q-2026-000006', 4, 'aas', 'product',     11, 'BAK-VEEAM-VM',        'Veeam VM backup',                                                         'monthly',   145.00, 30.0000, 3),
    ('Q-2026-000006', 5, 'aas', 'product',     15, 'NET-PUBIP',           'Public IPv4 address',                                                     'monthly',    85.00, 25.0000, 1),
    ('Q-2026-000006', 6, 'aas', 'product',     37, 'PS-MIGRATE-VM',       'VM migration',                                                            'once_off', 2200.00, 35.0000, 1),
    -- Q7: Table Bay Medical, PACS servers (pending)
    ('Q-2026-000007', 1, 'aas', 'vm_template', 20, 'win2022-sql-large', 'Windows Server 2022 Standard for SQL Server (SQL licence billed separately), 8 vCPU, 32 GB RAM, 400 GB NVMe',        'monthly',  3093.20, 25.0000, 1),
    ('Q-2026-000007', 2, 'aas', 'vm_template', 20, 'win2022-sql-large', 'Setup: Windows Server 2022 Standard for SQL Server (SQL licence billed separately), 8 vCPU, 32 GB RAM, 400 GB NVMe', 'once_off',  450.00, 25.0000, 1),
    ('Q-2026-000007', 3, 'aas', 'vm_template', 12, 'rocky-9-medium',    'Rocky Linux 9, 4 vCPU, 16 GB RAM, 150 GB NVMe',                                                                    'monthly',  1280.60, 30.0000, 2),
    ('Q-2026-000007', 4, 'aas', 'product',     25, 'MSL-SQL-STD',       'SQL Server Standard (SPLA)',                                                                                       'monthly',  1287.40, 17.5000, 4),
    ('Q-2026-000007', 5, 'aas', 'product',     11, 'BAK-VEEAM-VM',      'Veeam VM backup',                                                                                                  'monthly',   145.00, 30.0000, 3),
    -- Q8: Karoo Solar, object storage (pending)
    ('Q-2026-000008', 1, 'aas', 'product',  9, 'STO-OBJ',    'Object storage (S3)',  'monthly',     0.35, 33.3333, 2500),
    ('Q-2026-000008', 2, 'aas', 'product', 12, 'BAK-REPO',   'Backup repository',    'monthly',     0.42, 25.0000, 1000),
    ('Q-2026-000008', 3, 'aas', 'product', 30, 'MON-BASIC',  'Server monitoring',    'monthly',    45.00, 45.0000, 2),
    ('Q-2026-000008', 4, 'aas', 'product', 36, 'PS-ONBOARD', 'Onboarding and setup', 'once_off', 1500.00, 40.0000, 1),
    -- Q9: Thandeka Legal, Microsoft 365 (pending)
    ('Q-2026-000009', 1, 'aas', 'product', 23, 'MSL-M365-BB', 'Microsoft 365 Business Basic', 'monthly',  102.37, 15.0000, 12),
    ('Q-2026-000009', 2, 'aas', 'product', 13, 'BAK-M365',    'Microsoft 365 backup',         'monthly',   28.50, 40.0000, 12),
    ('Q-2026-000009', 3, 'aas', 'product', 19, 'SEC-EDR',     'Endpoint protection (EDR)',    'monthly',   62.00, 30.0000, 12),
    ('Q-2026-000009', 4, 'aas', 'product', 38, 'PS-ENG-HOUR', 'Engineer (hourly)',            'once_off', 650.00, 45.0000, 6),
    ('Q-2026-000009', 5, 'aas', 'product', 39, 'PS-TRAVEL',   'Travel to site',               'once_off',   4.64,  0.0000, 84),
    -- Q10: Mzansi Retail, Liquid 1 Gbps / 24 months, Umhlanga Ridge (pending)
    ('Q-2026-000010', 1, 'enetworks', 'network_access', 20, 'LIQ-1000-24', 'Liquid fibre 1000 Mbps, 24 months: monthly access', 'monthly', 15890.00, 20.0000, 1),
    ('Q-2026-000010', 2, 'enetworks', 'network_access', 20, 'LIQ-1000-24', 'Liquid fibre 1000 Mbps, 24 months: installation',   'once_off', 8500.00, 20.0000, 1),
    ('Q-2026-000010', 3, 'enetworks', 'bandwidth',       7, 'BW-1000',     'Internet bandwidth 1000 Mbps (1:1)',                 'monthly', 19500.00, 17.5000, 1),
    ('Q-2026-000010', 4, 'enetworks', 'cpe',             4, 'CPE-FORTINET-FORTIGATE-100F', 'Fortinet FortiGate 100F: purchase',           'once_off', 42500.00, 22.5000, 1),
    -- Q11: Acme, DFA Magellan 100 Mbps / 36 months, Sandton (pending)
    ('Q-2026-000011', 1, 'enetworks', 'network_access', 12, 'DFA-MAG-100-36', 'DFA Magellan 100 Mbps, 36 months: monthly access', 'monthly',  3950.00, 25.0000, 1),
    ('Q-2026-000011', 2, 'enetworks', 'network_access', 12, 'DFA-MAG-100-36', 'DFA Magellan 100 Mbps, 36 months: installation',   'once_off', 1950.00, 25.0000, 1),
    ('Q-2026-000011', 3, 'enetworks', 'bandwidth',       4, 'BW-100',         'Internet bandwidth 100 Mbps (1:1)',                 'monthly',  2950.00, 25.0000, 1),
    ('Q-2026-000011', 4, 'enetworks', 'cpe',             3, 'CPE-FORTINET-FORTIGATE-40F', 'Fortinet FortiGate 40F: purchase',              'once_off', 8950.00, 25.0000, 1),
    -- Q12: Acme, Microsoft 365 Business Premium (pending)
    ('Q-2026-000012', 1, 'aas', 'product', 24, 'MSL-M365-BP', 'Microsoft 365 Business Premium', 'monthly',   375.83, 15.0000, 25),
    ('Q-2026-000012', 2, 'aas', 'product', 13, 'BAK-M365',    'Microsoft 365 backup',           'monthly',    28.50, 40.0000, 25),
    ('Q-2026-000012', 3, 'aas', 'product', 19, 'SEC-EDR',     'Endpoint protection (EDR)',      'monthly',    62.00, 30.0000, 25),
    ('Q-2026-000012', 4, 'aas', 'product', 36, 'PS-ONBOARD',  'Onboarding and setup',           'once_off', 1500.00, 40.0000, 1),
    -- Q13: Acme, custom-sized VMs priced from the components: 2 x (4 vCPU, 16 GB, 200 GB NVMe, Linux) (pending)
    ('Q-2026-000013', 1, 'aas', 'product', 1, 'CMP-VCPU',     'vCPU',                   'monthly', 95.00, 30.0000, 8),
    ('Q-2026-000013', 2, 'aas', 'product', 2, 'CMP-RAM',      'Memory (RAM)',           'monthly', 38.00, 30.0000, 32),
    ('Q-2026-000013', 3, 'aas', 'product', 7, 'STO-NVME',     'NVMe block storage',     'monthly',  2.40, 35.0000, 400),
    ('Q-2026-000013', 4, 'aas', 'product', 3, 'CMP-OS-LINUX', 'Linux operating system', 'monthly',  0.00, 25.0000, 2),
    ('Q-2026-000013', 5, 'aas', 'product', 30, 'MON-BASIC',   'Server monitoring',      'monthly', 45.00, 45.0000, 2),
    -- Q14: Acme, DFA Helios 50 Mbps / 24 months, Bryanston (pending)
    ('Q-2026-000014', 1, 'enetworks', 'network_access', 3, 'DFA-HEL-50-24', 'DFA Helios 50 Mbps, 24 months: monthly access', 'monthly',  2290.00, 30.0000, 1),
    ('Q-2026-000014', 2, 'enetworks', 'network_access', 3, 'DFA-HEL-50-24', 'DFA Helios 50 Mbps, 24 months: connection fee',  'once_off', 3500.00, 30.0000, 1),
    ('Q-2026-000014', 3, 'enetworks', 'bandwidth',      3, 'BW-50',         'Internet bandwidth 50 Mbps (1:1)',               'monthly',  1750.00, 25.0000, 1)
) AS l (number, line_no, catalog, item_kind, item_id, sku, description, billing, unit_cost, margin_pct, quantity)
JOIN quotes q ON q.number = l.number
ORDER BY l.number, l.line_no;

-- Header figures from the lines.
UPDATE quotes q
SET once_off_subtotal = s.once_off,
    monthly_subtotal  = s.monthly,
    once_off_vat      = round(s.once_off * q.vat_rate / 100, 2),
    monthly_vat       = round(s.monthly * q.vat_rate / 100, 2),
    once_off_total    = s.once_off + round(s.once_off * q.vat_rate / 100, 2),
    monthly_total     = s.monthly + round(s.monthly * q.vat_rate / 100, 2),
    amount_due        = s.once_off + round(s.once_off * q.vat_rate / 100, 2)
                      + s.monthly + round(s.monthly * q.vat_rate / 100, 2)
FROM (
    SELECT quote_id,
           COALESCE(sum(amount) FILTER (WHERE billing = 'once_off'), 0) AS once_off,
           COALESCE(sum(amount) FILTER (WHERE billing = 'monthly'), 0)  AS monthly
    FROM quote_lines
    GROUP BY quote_id
) s
WHERE s.quote_id = q.id;

-- VM details, one row per VM line.
INSERT INTO vm_quotes (quote_id, quote_line_id, template_id, name, vcpu, ram_gb, disk_gb, disk_type, os, count, created_at)
SELECT q.id, ql.id, v.template_id, v.name, v.vcpu, v.ram_gb, v.disk_gb, v.disk_type, v.os, v.count, q.created_at
FROM (VALUES
    ('Q-2026-000005', 1, 16,         'acme-rds',    8, 32, 250, 'ssd',  'Windows Server 2022 Standard', 1),
    ('Q-2026-000006', 1,  3,         'wms-app',     4,  8, 100, 'ssd',  'Ubuntu 24.04 LTS',             2),
    ('Q-2026-000006', 2, 15,         'wms-sql',     4,  8, 120, 'ssd',  'Windows Server 2022 Standard', 1),
    ('Q-2026-000007', 1, 20,         'pacs-db',     8, 32, 400, 'nvme', 'Windows Server 2022 Standard', 1),
    ('Q-2026-000007', 3, 12,         'pacs-web',    4, 16, 150, 'nvme', 'Rocky Linux 9',                2),
    ('Q-2026-000013', 1, NULL::bigint, 'tms-db',    4, 16, 200, 'nvme', 'Ubuntu 24.04 LTS',             2)
) AS v (number, line_no, template_id, name, vcpu, ram_gb, disk_gb, disk_type, os, count)
JOIN quotes q ON q.number = v.number
JOIN quote_lines ql ON ql.quote_id = q.id AND ql.line_no = v.line_no
ORDER BY v.number, v.line_no;

-- ---------------------------------------------------------------------------
-- The accepted quote: debit Acme's wallet with its amount_due.
-- ---------------------------------------------------------------------------
INSERT INTO wallet_transactions (wallet_id, organisation_id, kind, direction, amount, balance_after, quote_id, reference, description, idempotency_key, created_by, created_at)
SELECT w.id, w.organisation_id, 'debit', -1, q.amount_due, w.balance - q.amount_due, q.id,
       q.number, 'Quote accepted: ' || q.title, 'seed-debit-' || q.number, q.accepted_by, q.accepted_at
FROM quotes q
JOIN organisation_wallets w ON w.organisation_id = q.organisation_id
WHERE q.number = 'Q-2026-000006';

UPDATE organisation_wallets w
SET balance = w.balance - q.amount_due, updated_at = q.accepted_at
FROM quotes q
WHERE q.organisation_id = w.organisation_id AND q.number = 'Q-2026-000006';

-- Provisioning requests for the accepted VM quote: one vm_logs row per VM,
-- one disk_logs row per VM disk.
INSERT INTO vm_logs (organisation_id, quote_id, vm_quote_id, vm_name, event, status, detail, created_by, created_at)
SELECT q.organisation_id, q.id, vq.id, vq.name || '-' || lpad(n::text, 2, '0'), 'provision requested', 'requested',
       jsonb_build_object('template_id', vq.template_id, 'vcpu', vq.vcpu, 'ram_gb', vq.ram_gb,
                          'disk_gb', vq.disk_gb, 'disk_type', vq.disk_type, 'os', vq.os),
       q.accepted_by, q.accepted_at
FROM quotes q
JOIN vm_quotes vq ON vq.quote_id = q.id
CROSS JOIN LATERAL generate_series(1, vq.count) AS n
WHERE q.number = 'Q-2026-000006'
ORDER BY vq.id, n;

INSERT INTO disk_logs (organisation_id, quote_id, vm_log_id, vm_name, disk_name, size_gb, disk_type, event, status, detail, created_at)
SELECT l.organisation_id, l.quote_id, l.id, l.vm_name, l.vm_name || '-disk0', vq.disk_gb, vq.disk_type,
       'create requested', 'requested', jsonb_build_object('role', 'os'), l.created_at
FROM vm_logs l
JOIN vm_quotes vq ON vq.id = l.vm_quote_id
JOIN quotes q ON q.id = l.quote_id
WHERE q.number = 'Q-2026-000006'
ORDER BY l.id;

-- ---------------------------------------------------------------------------
-- In-app alerts for Acme Logistics
-- ---------------------------------------------------------------------------
INSERT INTO in_app_alerts (organisation_id, level, kind, title, body, link, dedupe_key, is_read, read_at, created_at)
SELECT o.id, a.level, a.kind, a.title, a.body, a.link, a.dedupe_key, a.is_read,
       CASE WHEN a.is_read THEN now() - a.age + interval '2 hours' END, now() - a.age
FROM (VALUES
    ('info',    'topup',          'Top-up received', 'R 50 000.00 received by EFT (EFT ACME-2026-10) and added to your wallet.', '/wallet', 'seed-topup-1', true,  interval '40 days'),
    ('info',    'topup',          'Top-up received', 'R 25 000.00 received by EFT (EFT ACME-2026-11) and added to your wallet.', '/wallet', 'seed-topup-2', true,  interval '12 days'),
    ('info',    'quote_accepted', 'Quote accepted',  'Quote Q-2026-000006 (WMS application and database servers) was accepted and debited from your wallet. Provisioning has been requested.', '/quotes', 'seed-quote-accepted-Q-2026-000006', true,  interval '9 days'),
    ('warning', 'quote_expired',  'Quote expired',   'Quote Q-2026-000001 (Disaster recovery for the Jet Park depot servers) is past its validity date. Ask us for a fresh quote if you still need it.', '/quotes', 'seed-quote-expired-Q-2026-000001', false, interval '1 day')
) AS a (level, kind, title, body, link, dedupe_key, is_read, age)
CROSS JOIN organisations o
WHERE o.name = 'Acme Logistics'
ORDER BY a.age DESC;

-- Later quotes continue after the demo ones.
SELECT setval('quote_number_seq', 14);

-- The tax invoices and credit notes of the demo ledger, issued as the migration does
-- for debits older than invoicing.
SELECT backfill_tax_documents();
-- The demo's accepted quotes bill monthly, like any other (DESIGN.md §10).
SELECT services_for_accepted_quotes(NULL);
