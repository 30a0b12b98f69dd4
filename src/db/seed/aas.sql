-- Demo data for the AAS (cloud catalog) database.
-- Runs once, inside one transaction, on a freshly migrated and empty database.
-- Identity ids follow insert order (products 1..39, templates 1..24): the demo
-- quote lines in main.sql snapshot these rows by those ids, so keep the order
-- (and sku / cost / margin) in step with main.sql when editing.

-- ---------------------------------------------------------------------------
-- Categories (10)
-- ---------------------------------------------------------------------------
INSERT INTO categories (slug, name, description, sort_order) VALUES
    ('compute',               'Compute',               'Virtual machine building blocks: vCPU, memory, GPUs and operating system licences, hosted in Teraco JB1 and CT1.', 10),
    ('storage',               'Storage',               'Block storage on SSD, NVMe and HDD, S3-compatible object storage and managed file shares.', 20),
    ('backup',                'Backup',                'Veeam-based VM backup, backup repositories and Microsoft 365 backup, kept in South Africa.', 30),
    ('networking',            'Cloud Networking',      'Cloud-side networking: public IPv4 addresses, virtual firewalls, load balancers and site-to-site VPN.', 40),
    ('security',              'Security',              'Endpoint protection, web application firewall, DDoS protection and SSL certificates.', 50),
    ('microsoft-licensing',   'Microsoft Licensing',   'Microsoft CSP and SPLA licences: Microsoft 365, SQL Server and Remote Desktop.', 60),
    ('databases',             'Managed Databases',     'Patched, monitored and backed-up database instances run by our engineers.', 70),
    ('monitoring',            'Monitoring',            'Server monitoring, 24x7 NOC escalation and log retention.', 80),
    ('disaster-recovery',     'Disaster Recovery',     'VM replication between Johannesburg and Cape Town, standby storage and DR testing.', 90),
    ('professional-services', 'Professional Services', 'Onboarding, migrations and engineering time, billed once-off.', 100);

-- ---------------------------------------------------------------------------
-- Products (39). Sell price = round(cost * (1 + margin_pct / 100), 2).
-- ---------------------------------------------------------------------------

-- compute: ids 1..5
INSERT INTO products (category_id, sku, name, description, unit, billing, cost, margin_pct, vm_component, active) VALUES
    ((SELECT id FROM categories WHERE slug = 'compute'), 'CMP-VCPU',      'vCPU',                              'One virtual CPU core (Intel Xeon Gold, 2.8 GHz) for a custom-sized VM.', 'per vCPU', 'monthly', 95.00, 30.0000, 'vcpu', true),
    ((SELECT id FROM categories WHERE slug = 'compute'), 'CMP-RAM',       'Memory (RAM)',                      'One GB of dedicated, non-overcommitted RAM for a custom-sized VM.', 'per GB', 'monthly', 38.00, 30.0000, 'ram_gb', true),
    ((SELECT id FROM categories WHERE slug = 'compute'), 'CMP-OS-LINUX',  'Linux operating system',            'Ubuntu, Debian, Rocky or AlmaLinux: no licence fee.', 'per VM', 'monthly', 0.00, 25.0000, 'os_linux', true),
    ((SELECT id FROM categories WHERE slug = 'compute'), 'CMP-OS-WIN',    'Windows Server Standard licence',   'Windows Server Standard (SPLA), licensed per VM.', 'per VM', 'monthly', 320.00, 20.0000, 'os_windows', true),
    ((SELECT id FROM categories WHERE slug = 'compute'), 'CMP-GPU-T4',    'GPU (NVIDIA T4)',                   'One dedicated NVIDIA T4 16 GB passed through to a VM. Discontinued: replaced by the L4 range.', 'per GPU', 'monthly', 6850.00, 22.0000, NULL, false);

-- storage: ids 6..10
INSERT INTO products (category_id, sku, name, description, unit, billing, cost, margin_pct, vm_component, active) VALUES
    ((SELECT id FROM categories WHERE slug = 'storage'), 'STO-SSD',  'SSD block storage',          'VM disk on replicated SSD storage.', 'per GB', 'monthly', 1.60, 35.0000, 'disk_gb_ssd', true),
    ((SELECT id FROM categories WHERE slug = 'storage'), 'STO-NVME', 'NVMe block storage',         'VM disk on all-NVMe storage for databases and heavy I/O.', 'per GB', 'monthly', 2.40, 35.0000, 'disk_gb_nvme', true),
    ((SELECT id FROM categories WHERE slug = 'storage'), 'STO-HDD',  'HDD block storage',          'VM disk on capacity HDD storage for archives and file servers.', 'per GB', 'monthly', 0.55, 40.0000, 'disk_gb_hdd', true),
    ((SELECT id FROM categories WHERE slug = 'storage'), 'STO-OBJ',  'Object storage (S3)',        'S3-compatible object storage in Johannesburg, no egress fees.', 'per GB', 'monthly', 0.35, 33.3333, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'storage'), 'STO-NFS',  'Managed file share',         'SMB/NFS file share with hourly snapshots.', 'per GB', 'monthly', 1.15, 30.0000, NULL, true);

-- backup: ids 11..14
INSERT INTO products (category_id, sku, name, description, unit, billing, cost, margin_pct, vm_component, active) VALUES
    ((SELECT id FROM categories WHERE slug = 'backup'), 'BAK-VEEAM-VM', 'Veeam VM backup',             'Daily Veeam backup of one VM, 30 restore points.', 'per VM', 'monthly', 145.00, 30.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'backup'), 'BAK-REPO',     'Backup repository',           'Backup repository capacity in a second data centre.', 'per GB', 'monthly', 0.42, 25.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'backup'), 'BAK-M365',     'Microsoft 365 backup',        'Exchange, OneDrive, SharePoint and Teams backup, unlimited retention.', 'per user', 'monthly', 28.50, 40.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'backup'), 'BAK-OFFSITE',  'Offsite backup copy',         'Immutable offsite copy of backups in Cape Town.', 'per GB', 'monthly', 0.28, 45.0000, NULL, true);

-- networking (cloud side): ids 15..18
INSERT INTO products (category_id, sku, name, description, unit, billing, cost, margin_pct, vm_component, active) VALUES
    ((SELECT id FROM categories WHERE slug = 'networking'), 'NET-PUBIP', 'Public IPv4 address',        'One routed public IPv4 address.', 'per IP', 'monthly', 85.00, 25.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'networking'), 'NET-VFW',   'Virtual firewall',           'Dedicated FortiGate-VM firewall with up to 10 interfaces.', 'per instance', 'monthly', 1450.00, 28.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'networking'), 'NET-LB',    'Load balancer',              'Managed HAProxy load balancer pair with TLS offload.', 'per instance', 'monthly', 680.00, 30.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'networking'), 'NET-VPN',   'Site-to-site VPN tunnel',    'IPsec tunnel from the customer''s office to their cloud network.', 'per tunnel', 'monthly', 220.00, 35.0000, NULL, true);

-- security: ids 19..22
INSERT INTO products (category_id, sku, name, description, unit, billing, cost, margin_pct, vm_component, active) VALUES
    ((SELECT id FROM categories WHERE slug = 'security'), 'SEC-EDR',    'Endpoint protection (EDR)',  'Managed endpoint detection and response for a server or laptop.', 'per device', 'monthly', 62.00, 30.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'security'), 'SEC-WAF',    'Web application firewall',   'Managed WAF in front of one website or API.', 'per site', 'monthly', 890.00, 25.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'security'), 'SEC-DDOS',   'DDoS protection',            'Always-on volumetric DDoS scrubbing for one /28.', 'per /28', 'monthly', 1250.00, 20.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'security'), 'SEC-SSL-OV', 'SSL certificate (OV)',       'Organisation-validated SSL certificate, one year, installed.', 'once-off', 'once_off', 1150.00, 30.0000, NULL, true);

-- microsoft-licensing: ids 23..26
INSERT INTO products (category_id, sku, name, description, unit, billing, cost, margin_pct, vm_component, active) VALUES
    ((SELECT id FROM categories WHERE slug = 'microsoft-licensing'), 'MSL-M365-BB',  'Microsoft 365 Business Basic',    'Exchange Online, Teams and 1 TB OneDrive (CSP, monthly commitment).', 'per user', 'monthly', 102.37, 15.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'microsoft-licensing'), 'MSL-M365-BP',  'Microsoft 365 Business Premium',  'Office apps, Intune and Defender for Business (CSP, monthly commitment).', 'per user', 'monthly', 375.83, 15.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'microsoft-licensing'), 'MSL-SQL-STD',  'SQL Server Standard (SPLA)',      'SQL Server Standard, licensed per 2-core pack.', 'per 2-core pack', 'monthly', 1287.40, 17.5000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'microsoft-licensing'), 'MSL-RDS-SAL',  'Remote Desktop Services SAL',     'RDS subscriber access licence (SPLA).', 'per user', 'monthly', 118.90, 18.0000, NULL, true);

-- databases: ids 27..29
INSERT INTO products (category_id, sku, name, description, unit, billing, cost, margin_pct, vm_component, active) VALUES
    ((SELECT id FROM categories WHERE slug = 'databases'), 'DB-PG',    'Managed PostgreSQL',  'PostgreSQL 16 primary + replica, 4 vCPU / 16 GB, backups and patching included.', 'per instance', 'monthly', 1650.00, 30.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'databases'), 'DB-MSSQL', 'Managed SQL Server',  'SQL Server Standard instance, 4 vCPU / 32 GB, licence, backups and patching included.', 'per instance', 'monthly', 3400.00, 25.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'databases'), 'DB-MYSQL', 'Managed MySQL',       'MySQL 5.7 instance. No longer sold: MySQL 5.7 is end of life.', 'per instance', 'monthly', 1450.00, 30.0000, NULL, false);

-- monitoring: ids 30..32
INSERT INTO products (category_id, sku, name, description, unit, billing, cost, margin_pct, vm_component, active) VALUES
    ((SELECT id FROM categories WHERE slug = 'monitoring'), 'MON-BASIC', 'Server monitoring',       'Availability, CPU, memory and disk monitoring with e-mail alerts.', 'per server', 'monthly', 45.00, 45.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'monitoring'), 'MON-NOC',   '24x7 NOC monitoring',     'Round-the-clock NOC watch with phone escalation.', 'per server', 'monthly', 185.00, 35.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'monitoring'), 'MON-LOGS',  'Log retention',           'Centralised log collection, 90 days searchable.', 'per GB', 'monthly', 0.90, 45.0000, NULL, true);

-- disaster-recovery: ids 33..35
INSERT INTO products (category_id, sku, name, description, unit, billing, cost, margin_pct, vm_component, active) VALUES
    ((SELECT id FROM categories WHERE slug = 'disaster-recovery'), 'DR-REPL-VM',    'VM replication (JHB to CPT)', 'Continuous replication of one VM to the Cape Town site, 15-minute RPO.', 'per VM', 'monthly', 310.00, 30.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'disaster-recovery'), 'DR-STANDBY-GB', 'DR standby storage',          'Storage for replicas at the recovery site.', 'per GB', 'monthly', 0.65, 35.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'disaster-recovery'), 'DR-TEST',       'DR failover test',            'Planned failover test with a written report.', 'once-off', 'once_off', 7500.00, 35.0000, NULL, true);

-- professional-services: ids 36..39
INSERT INTO products (category_id, sku, name, description, unit, billing, cost, margin_pct, vm_component, active) VALUES
    ((SELECT id FROM categories WHERE slug = 'professional-services'), 'PS-ONBOARD',    'Onboarding and setup',     'Tenant setup, networking and access for a new customer.', 'once-off', 'once_off', 1500.00, 40.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'professional-services'), 'PS-MIGRATE-VM', 'VM migration',             'Migration of one VM from on-premises or another cloud, incl. cut-over.', 'per VM', 'once_off', 2200.00, 35.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'professional-services'), 'PS-ENG-HOUR',   'Engineer (hourly)',        'Certified engineer, remote or on site, per hour.', 'per hour', 'once_off', 650.00, 45.0000, NULL, true),
    ((SELECT id FROM categories WHERE slug = 'professional-services'), 'PS-TRAVEL',     'Travel to site',           'Travel at the AA rate, passed on at cost.', 'per km', 'once_off', 4.64, 0.0000, NULL, true);

-- ---------------------------------------------------------------------------
-- VM templates (24): monthly cost ~95 % of the component price
-- (vCPU 95, RAM 38/GB, SSD 1.60/GB, NVMe 2.40/GB, HDD 0.55/GB, Windows 320).
-- ---------------------------------------------------------------------------
INSERT INTO terraform_vm_config (name, description, vcpu, ram_gb, disk_gb, disk_type, os, os_family, template_image, cost, setup_cost, margin_pct, active) VALUES
    ('ubuntu-24.04-nano',        'Ubuntu 24.04 LTS, 1 vCPU, 1 GB RAM, 20 GB SSD',       1,   1,   20, 'ssd',  'Ubuntu 24.04 LTS',              'linux',   'tmpl-ubuntu-2404-v3',         157.00,   0.00, 35.0000, true),   -- 1
    ('ubuntu-24.04-small',       'Ubuntu 24.04 LTS, 2 vCPU, 4 GB RAM, 50 GB SSD',       2,   4,   50, 'ssd',  'Ubuntu 24.04 LTS',              'linux',   'tmpl-ubuntu-2404-v3',         401.00,   0.00, 30.0000, true),   -- 2
    ('ubuntu-24.04-medium',      'Ubuntu 24.04 LTS, 4 vCPU, 8 GB RAM, 100 GB SSD',      4,   8,  100, 'ssd',  'Ubuntu 24.04 LTS',              'linux',   'tmpl-ubuntu-2404-v3',         802.00,   0.00, 30.0000, true),   -- 3
    ('ubuntu-24.04-large',       'Ubuntu 24.04 LTS, 8 vCPU, 16 GB RAM, 200 GB SSD',     8,  16,  200, 'ssd',  'Ubuntu 24.04 LTS',              'linux',   'tmpl-ubuntu-2404-v3',        1603.60,   0.00, 27.5000, true),   -- 4
    ('ubuntu-24.04-xlarge',      'Ubuntu 24.04 LTS, 16 vCPU, 64 GB RAM, 500 GB NVMe',  16,  64,  500, 'nvme', 'Ubuntu 24.04 LTS',              'linux',   'tmpl-ubuntu-2404-v3',        4894.40,   0.00, 25.0000, true),   -- 5
    ('ubuntu-22.04-small',       'Ubuntu 22.04 LTS, 2 vCPU, 4 GB RAM, 50 GB SSD',       2,   4,   50, 'ssd',  'Ubuntu 22.04 LTS',              'linux',   'tmpl-ubuntu-2204-v7',         401.00,   0.00, 30.0000, true),   -- 6
    ('ubuntu-22.04-medium',      'Ubuntu 22.04 LTS, 4 vCPU, 8 GB RAM, 100 GB SSD',      4,   8,  100, 'ssd',  'Ubuntu 22.04 LTS',              'linux',   'tmpl-ubuntu-2204-v7',         802.00,   0.00, 30.0000, true),   -- 7
    ('debian-12-small',          'Debian 12, 2 vCPU, 2 GB RAM, 40 GB SSD',              2,   2,   40, 'ssd',  'Debian 12',                     'linux',   'tmpl-debian-12-v4',           313.50,   0.00, 32.5000, true),   -- 8
    ('debian-12-medium',         'Debian 12, 4 vCPU, 8 GB RAM, 100 GB SSD',             4,   8,  100, 'ssd',  'Debian 12',                     'linux',   'tmpl-debian-12-v4',           802.00,   0.00, 30.0000, true),   -- 9
    ('debian-12-storage',        'Debian 12 file server, 4 vCPU, 16 GB RAM, 1 TB HDD',  4,  16, 1000, 'hdd',  'Debian 12',                     'linux',   'tmpl-debian-12-v4',          1461.10,   0.00, 30.0000, true),   -- 10
    ('rocky-9-small',            'Rocky Linux 9, 2 vCPU, 4 GB RAM, 50 GB SSD',          2,   4,   50, 'ssd',  'Rocky Linux 9',                 'linux',   'tmpl-rocky-9-v2',             401.00,   0.00, 30.0000, true),   -- 11
    ('rocky-9-medium',           'Rocky Linux 9, 4 vCPU, 16 GB RAM, 150 GB NVMe',       4,  16,  150, 'nvme', 'Rocky Linux 9',                 'linux',   'tmpl-rocky-9-v2',            1280.60,   0.00, 30.0000, true),   -- 12
    ('rocky-9-large',            'Rocky Linux 9, 8 vCPU, 32 GB RAM, 300 GB NVMe',       8,  32,  300, 'nvme', 'Rocky Linux 9',                 'linux',   'tmpl-rocky-9-v2',            2561.20,   0.00, 27.5000, true),   -- 13
    ('win2022-std-small',        'Windows Server 2022 Standard, 2 vCPU, 4 GB RAM, 80 GB SSD',    2,  4,  80, 'ssd',  'Windows Server 2022 Standard', 'windows', 'tmpl-win2022-std-v5',   750.50, 250.00, 27.5000, true),   -- 14
    ('win2022-std-medium',       'Windows Server 2022 Standard, 4 vCPU, 8 GB RAM, 120 GB SSD',   4,  8, 120, 'ssd',  'Windows Server 2022 Standard', 'windows', 'tmpl-win2022-std-v5',  1136.20, 250.00, 27.5000, true),   -- 15
    ('win2022-std-large',        'Windows Server 2022 Standard, 8 vCPU, 32 GB RAM, 250 GB SSD',  8, 32, 250, 'ssd',  'Windows Server 2022 Standard', 'windows', 'tmpl-win2022-std-v5',  2561.20, 250.00, 25.0000, true),   -- 16
    ('win2022-std-xlarge',       'Windows Server 2022 Standard, 16 vCPU, 64 GB RAM, 500 GB NVMe', 16, 64, 500, 'nvme', 'Windows Server 2022 Standard', 'windows', 'tmpl-win2022-std-v5', 5198.40, 250.00, 22.5000, true),  -- 17
    ('win2019-std-medium',       'Windows Server 2019 Standard, 4 vCPU, 8 GB RAM, 120 GB SSD',   4,  8, 120, 'ssd',  'Windows Server 2019 Standard', 'windows', 'tmpl-win2019-std-v9',  1136.20, 250.00, 27.5000, true),   -- 18
    ('win2025-std-medium',       'Windows Server 2025 Standard, 4 vCPU, 16 GB RAM, 150 GB NVMe', 4, 16, 150, 'nvme', 'Windows Server 2025 Standard', 'windows', 'tmpl-win2025-std-v1',  1584.60, 250.00, 27.5000, true),   -- 19
    ('win2022-sql-large',        'Windows Server 2022 Standard for SQL Server (SQL licence billed separately), 8 vCPU, 32 GB RAM, 400 GB NVMe', 8, 32, 400, 'nvme', 'Windows Server 2022 Standard', 'windows', 'tmpl-win2022-sqlready-v2', 3093.20, 450.00, 25.0000, true), -- 20
    ('ubuntu-24.04-db-large',    'Ubuntu 24.04 LTS database host, 8 vCPU, 64 GB RAM, 500 GB NVMe', 8, 64, 500, 'nvme', 'Ubuntu 24.04 LTS',         'linux',   'tmpl-ubuntu-2404-v3',        4172.40,   0.00, 25.0000, true),   -- 21
    ('ubuntu-24.04-compute-2xl', 'Ubuntu 24.04 LTS, 32 vCPU, 128 GB RAM, 1 TB NVMe',  32, 128, 1000, 'nvme', 'Ubuntu 24.04 LTS',              'linux',   'tmpl-ubuntu-2404-v3',        9788.80,   0.00, 20.0000, true),   -- 22
    ('almalinux-9-medium',       'AlmaLinux 9, 4 vCPU, 8 GB RAM, 100 GB SSD',           4,   8,  100, 'ssd',  'AlmaLinux 9',                   'linux',   'tmpl-alma-9-v1',              802.00,   0.00, 30.0000, true),   -- 23
    ('ubuntu-20.04-small',       'Ubuntu 20.04 LTS (end of standard support), 2 vCPU, 4 GB RAM, 50 GB SSD', 2, 4, 50, 'ssd', 'Ubuntu 20.04 LTS',   'linux',   'tmpl-ubuntu-2004-v12',        401.00,   0.00, 30.0000, false);  -- 24
