-- AAS database: WHAT cloud services cost. Rows are never hard-deleted (active flag),
-- so every quote line snapshot can be traced back to the row it was priced from.

CREATE TABLE categories (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    sort_order  INTEGER NOT NULL DEFAULT 0,
    active      BOOLEAN NOT NULL DEFAULT true,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Sell price = cost x (1 + margin_pct / 100), rounded half away from zero to cents.
CREATE TABLE products (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category_id  BIGINT NOT NULL REFERENCES categories (id),
    sku          TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    unit         TEXT NOT NULL,
    billing      TEXT NOT NULL CHECK (billing IN ('once_off', 'monthly')),
    cost         NUMERIC(14,2) NOT NULL CHECK (cost >= 0),
    margin_pct   NUMERIC(7,4) NOT NULL CHECK (margin_pct > -100),
    -- Marks the products a custom VM size is priced from (per vCPU, per GB RAM, ...).
    vm_component TEXT UNIQUE CHECK (vm_component IN
                     ('vcpu', 'ram_gb', 'disk_gb_ssd', 'disk_gb_nvme', 'disk_gb_hdd',
                      'os_linux', 'os_windows')),
    active       BOOLEAN NOT NULL DEFAULT true,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX products_category_idx ON products (category_id);

-- VM templates, as the Terraform provisioning pipeline knows them.
CREATE TABLE terraform_vm_config (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    description    TEXT NOT NULL DEFAULT '',
    vcpu           INTEGER NOT NULL CHECK (vcpu > 0),
    ram_gb         INTEGER NOT NULL CHECK (ram_gb > 0),
    disk_gb        INTEGER NOT NULL CHECK (disk_gb > 0),
    disk_type      TEXT NOT NULL CHECK (disk_type IN ('ssd', 'nvme', 'hdd')),
    os             TEXT NOT NULL,
    os_family      TEXT NOT NULL CHECK (os_family IN ('linux', 'windows')),
    template_image TEXT NOT NULL,
    -- monthly cost of one VM of this size, and a once-off setup cost
    cost           NUMERIC(14,2) NOT NULL CHECK (cost >= 0),
    setup_cost     NUMERIC(14,2) NOT NULL DEFAULT 0 CHECK (setup_cost >= 0),
    margin_pct     NUMERIC(7,4) NOT NULL CHECK (margin_pct > -100),
    active         BOOLEAN NOT NULL DEFAULT true,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
