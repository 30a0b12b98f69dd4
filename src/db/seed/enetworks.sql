-- Demo data for the E-Networks (network price tables) database.
-- Runs once, inside one transaction, on a freshly migrated and empty database.
-- Speeds in Mbps, money in ZAR excl. VAT. Identity ids follow insert order; the
-- demo quote lines in main.sql snapshot some of these rows by those ids, so keep
-- the order (and cost / margin) in step with main.sql when editing.

-- ---------------------------------------------------------------------------
-- DFA Magellan: full speed x term grid; MRC falls with the term, and so does
-- the installation (NRC). ids: (speed index * 3) + term index + 1,
-- e.g. 100 Mbps / 36 months = 12.
-- ---------------------------------------------------------------------------
INSERT INTO dfa_magellan (speed_mbps, term_months, mrc_cost, nrc_cost, margin_pct) VALUES
    (  10, 12,  2150.00, 8500.00, 27.5000),
    (  10, 24,  1895.00, 4250.00, 27.5000),
    (  10, 36,  1690.00, 1950.00, 27.5000),
    (  20, 12,  2650.00, 8500.00, 27.5000),
    (  20, 24,  2340.00, 4250.00, 27.5000),
    (  20, 36,  2095.00, 1950.00, 27.5000),
    (  50, 12,  3450.00, 8500.00, 27.5000),
    (  50, 24,  3050.00, 4250.00, 27.5000),
    (  50, 36,  2750.00, 1950.00, 27.5000),
    ( 100, 12,  4950.00, 8500.00, 25.0000),
    ( 100, 24,  4390.00, 4250.00, 25.0000),
    ( 100, 36,  3950.00, 1950.00, 25.0000),
    ( 200, 12,  6850.00, 8500.00, 22.5000),
    ( 200, 24,  6090.00, 4250.00, 22.5000),
    ( 200, 36,  5490.00, 1950.00, 22.5000),
    ( 500, 12, 10950.00, 9750.00, 20.0000),
    ( 500, 24,  9750.00, 4875.00, 20.0000),
    ( 500, 36,  8790.00, 2450.00, 20.0000),
    (1000, 12, 15950.00, 9750.00, 18.5000),
    (1000, 24, 14250.00, 4875.00, 18.5000),
    (1000, 36, 12850.00, 2450.00, 18.5000);

-- ---------------------------------------------------------------------------
-- DFA Helios: 24 months only, flat MRC and a once-off connection fee, up to
-- 200 Mbps, for sites within 5 km of a node. ids 1..5 (50 Mbps = 3).
-- ---------------------------------------------------------------------------
INSERT INTO dfa_helios (speed_mbps, term_months, mrc_cost, connection_fee_cost, margin_pct) VALUES
    ( 10, 24, 1350.00, 3500.00, 30.0000),
    ( 20, 24, 1690.00, 3500.00, 30.0000),
    ( 50, 24, 2290.00, 3500.00, 30.0000),
    (100, 24, 3190.00, 3500.00, 27.5000),
    (200, 24, 4590.00, 3500.00, 27.5000);

INSERT INTO dfa_helios_nodes (name, city) VALUES
    ('Sandton Node',   'Johannesburg'),
    ('Rosebank Node',  'Johannesburg'),
    ('Centurion Node', 'Pretoria'),
    ('Bellville Node', 'Cape Town'),
    ('Woodstock Node', 'Cape Town'),
    ('Umhlanga Node',  'Durban');

INSERT INTO dfa_helios_suburbs (node_id, suburb, distance_km)
SELECT n.id, s.suburb, s.distance_km
FROM (VALUES
    ('Sandton Node',   'Sandton',         0.6),
    ('Sandton Node',   'Sandhurst',       1.7),
    ('Sandton Node',   'Morningside',     2.1),
    ('Sandton Node',   'Bryanston',       3.2),
    ('Sandton Node',   'Rivonia',         3.8),
    ('Sandton Node',   'Illovo',          4.1),
    ('Rosebank Node',  'Rosebank',        0.4),
    ('Rosebank Node',  'Parkhurst',       1.9),
    ('Rosebank Node',  'Parktown',        2.3),
    ('Rosebank Node',  'Illovo',          2.6),
    ('Rosebank Node',  'Melrose',         2.8),
    ('Centurion Node', 'Centurion',       0.8),
    ('Centurion Node', 'Die Hoewes',      1.5),
    ('Centurion Node', 'Lyttelton',       2.4),
    ('Centurion Node', 'Highveld',        2.9),
    ('Centurion Node', 'Irene',           4.6),
    ('Bellville Node', 'Bellville',       0.5),
    ('Bellville Node', 'Tyger Valley',    1.6),
    ('Bellville Node', 'Parow',           3.4),
    ('Bellville Node', 'Durbanville',     4.8),
    ('Woodstock Node', 'Woodstock',       0.5),
    ('Woodstock Node', 'Salt River',      1.1),
    ('Woodstock Node', 'Observatory',     2.2),
    ('Woodstock Node', 'Cape Town CBD',   2.8),
    ('Umhlanga Node',  'Umhlanga',        0.7),
    ('Umhlanga Node',  'Umhlanga Ridge',  1.4),
    ('Umhlanga Node',  'La Lucia',        2.9),
    ('Umhlanga Node',  'Mount Edgecombe', 4.5)
) AS s (node, suburb, distance_km)
JOIN dfa_helios_nodes n ON n.name = s.node;

-- ---------------------------------------------------------------------------
-- Metro Fibre Networx: NRC falls with the term and is waived at 36 months.
-- 1000 Mbps is not offered on a 12-month term. ids: 10 Mbps 1..3, 25 4..6,
-- 50 7..9, 100 10..12 (100/24 = 11), 250 13..15, 500 16..18, 1000/24 = 19, 1000/36 = 20.
-- ---------------------------------------------------------------------------
INSERT INTO mfn (speed_mbps, term_months, mrc_cost, nrc_cost, margin_pct) VALUES
    (  10, 12,  1990.00, 5750.00, 30.0000),
    (  10, 24,  1790.00, 2875.00, 30.0000),
    (  10, 36,  1590.00,    0.00, 30.0000),
    (  25, 12,  2490.00, 5750.00, 30.0000),
    (  25, 24,  2240.00, 2875.00, 30.0000),
    (  25, 36,  1990.00,    0.00, 30.0000),
    (  50, 12,  3190.00, 5750.00, 27.5000),
    (  50, 24,  2870.00, 2875.00, 27.5000),
    (  50, 36,  2550.00,    0.00, 27.5000),
    ( 100, 12,  4490.00, 5750.00, 27.5000),
    ( 100, 24,  3990.00, 2875.00, 27.5000),
    ( 100, 36,  3590.00,    0.00, 27.5000),
    ( 250, 12,  6990.00, 6900.00, 25.0000),
    ( 250, 24,  6290.00, 3450.00, 25.0000),
    ( 250, 36,  5590.00,    0.00, 25.0000),
    ( 500, 12,  9890.00, 6900.00, 22.5000),
    ( 500, 24,  8890.00, 3450.00, 22.5000),
    ( 500, 36,  7990.00,    0.00, 22.5000),
    (1000, 24, 13490.00, 3450.00, 20.0000),
    (1000, 36, 11990.00,    0.00, 20.0000);

-- ---------------------------------------------------------------------------
-- Liquid: speed x term -> MRC and NRC; 10 Gbps only on 36 months.
-- ids: (speed index * 3) + term index + 1 (200/36 = 15, 1000/24 = 20), 10000/36 = 22.
-- ---------------------------------------------------------------------------
INSERT INTO liquid_costs (speed_mbps, term_months, mrc_cost, nrc_cost, margin_pct) VALUES
    (   10, 12,  2390.00,  9500.00, 22.5000),
    (   10, 24,  2190.00,  6500.00, 22.5000),
    (   10, 36,  1990.00,  3500.00, 22.5000),
    (   20, 12,  2890.00,  9500.00, 22.5000),
    (   20, 24,  2640.00,  6500.00, 22.5000),
    (   20, 36,  2390.00,  3500.00, 22.5000),
    (   50, 12,  3790.00,  9500.00, 22.5000),
    (   50, 24,  3450.00,  6500.00, 22.5000),
    (   50, 36,  3150.00,  3500.00, 22.5000),
    (  100, 12,  5390.00,  9500.00, 22.5000),
    (  100, 24,  4890.00,  6500.00, 22.5000),
    (  100, 36,  4450.00,  3500.00, 22.5000),
    (  200, 12,  7490.00,  9500.00, 22.5000),
    (  200, 24,  6790.00,  6500.00, 22.5000),
    (  200, 36,  6190.00,  3500.00, 22.5000),
    (  500, 12, 11990.00, 12500.00, 20.0000),
    (  500, 24, 10890.00,  8500.00, 20.0000),
    (  500, 36,  9890.00,  4500.00, 20.0000),
    ( 1000, 12, 17490.00, 12500.00, 20.0000),
    ( 1000, 24, 15890.00,  8500.00, 20.0000),
    ( 1000, 36, 14490.00,  4500.00, 20.0000),
    (10000, 36, 89500.00, 25000.00, 15.0000);

-- ---------------------------------------------------------------------------
-- Liquid CPE: buy once-off, rent monthly, or either. ids in insert order.
-- ---------------------------------------------------------------------------
INSERT INTO liquid_cpe (model, description, max_throughput_mbps, once_off_cost, monthly_rental_cost, margin_pct, active) VALUES
    ('MikroTik RB5009',         'Branch router, 7 x GbE + 1 x 10G SFP+',                   1000,  4350.00,  219.00, 30.0000, true),   -- 1
    ('Cisco C1111-8P',          'Cisco ISR 1100 branch router, 8 x GbE (rental only)',      500,     NULL,  595.00, 25.0000, true),   -- 2
    ('Fortinet FortiGate 40F',  'Small-office firewall and SD-WAN (purchase only)',         600,  8950.00,    NULL, 25.0000, true),   -- 3
    ('Fortinet FortiGate 100F', 'Head-office firewall and SD-WAN, 2 x 10G SFP+',           1000, 42500.00, 1890.00, 22.5000, true),   -- 4
    ('Juniper SRX300',          'Branch services gateway. End of sale: no new orders',      500, 11800.00,  650.00, 25.0000, false),  -- 5
    ('Cisco C8300-1N1S-6T',     'Catalyst 8300 edge platform for 10 Gbps services',       10000, 98500.00, 4250.00, 20.0000, true);   -- 6

-- ---------------------------------------------------------------------------
-- Internet bandwidth (IP transit), uncontended. ids 1..7 (100 Mbps = 4).
-- ---------------------------------------------------------------------------
INSERT INTO bandwidth_costs (speed_mbps, contention, mrc_cost, margin_pct) VALUES
    (  10, '1:1',   450.00, 25.0000),
    (  20, '1:1',   820.00, 25.0000),
    (  50, '1:1',  1750.00, 25.0000),
    ( 100, '1:1',  2950.00, 25.0000),
    ( 200, '1:1',  5400.00, 22.5000),
    ( 500, '1:1', 11500.00, 20.0000),
    (1000, '1:1', 19500.00, 17.5000);
