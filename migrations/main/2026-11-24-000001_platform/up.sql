-- Main database: WHO may do WHAT with HOW MUCH money.
-- The wallet invariants of DESIGN.md §5 live here, in constraints and triggers,
-- so that no code path (and no second app instance) can break them.

CREATE TABLE organisations (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                TEXT NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    registration_number TEXT,
    vat_number          TEXT,
    billing_email       TEXT,
    status              TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    suspended_reason    TEXT,
    is_operator         BOOLEAN NOT NULL DEFAULT false,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX organisations_name_key ON organisations (lower(name));

CREATE TABLE users (
    id                        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id           BIGINT NOT NULL REFERENCES organisations (id),
    email                     TEXT NOT NULL CHECK (position('@' IN email) > 1),
    name                      TEXT NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    password_hash             TEXT NOT NULL,
    is_active                 BOOLEAN NOT NULL DEFAULT true,
    must_change_password      BOOLEAN NOT NULL DEFAULT false,
    failed_login_count        INTEGER NOT NULL DEFAULT 0 CHECK (failed_login_count >= 0),
    failed_login_window_start TIMESTAMPTZ,
    locked_until              TIMESTAMPTZ,
    last_login_at             TIMESTAMPTZ,
    -- Bumped on sign-out, password, role or status change: every session cookie
    -- carries the version it was issued under and dies when it no longer matches.
    session_version           INTEGER NOT NULL DEFAULT 0,
    created_at                TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at                TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_organisation_id_idx ON users (organisation_id);

CREATE TABLE roles (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX roles_name_key ON roles (lower(name));

CREATE TABLE permissions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL
);

CREATE TABLE role_permissions (
    role_id       BIGINT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission_id BIGINT NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    PRIMARY KEY (role_id, permission_id)
);

CREATE TABLE user_roles (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id    BIGINT NOT NULL REFERENCES roles (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role_id_idx ON user_roles (role_id);

-- Append-only audit trail. actor_email keeps failed sign-ins of unknown addresses.
CREATE TABLE user_activity_log (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         BIGINT REFERENCES users (id),
    actor_email     TEXT,
    organisation_id BIGINT REFERENCES organisations (id),
    action          TEXT NOT NULL,
    target          TEXT,
    ip              TEXT,
    detail          JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX user_activity_log_created_idx ON user_activity_log (created_at DESC, id DESC);
CREATE INDEX user_activity_log_user_idx ON user_activity_log (user_id, id DESC);
CREATE INDEX user_activity_log_org_idx ON user_activity_log (organisation_id, id DESC);

-- Quote numbers come from one sequence, so they never repeat, also under concurrency.
CREATE SEQUENCE quote_number_seq;

CREATE TABLE quotes (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number            TEXT NOT NULL UNIQUE DEFAULT (
                          'Q-' || to_char(now() AT TIME ZONE 'Africa/Johannesburg', 'YYYY') || '-'
                          || lpad(nextval('quote_number_seq')::text, 6, '0')),
    organisation_id   BIGINT NOT NULL REFERENCES organisations (id),
    created_by        BIGINT REFERENCES users (id),
    kind              TEXT NOT NULL CHECK (kind IN ('vm', 'service', 'network')),
    status            TEXT NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('draft', 'pending', 'accepted', 'declined', 'expired', 'cancelled')),
    title             TEXT NOT NULL DEFAULT '',
    currency          TEXT NOT NULL DEFAULT 'ZAR' CHECK (currency = 'ZAR'),
    term_months       INTEGER CHECK (term_months > 0),
    site_address      TEXT,
    site_suburb       TEXT,
    valid_until       TIMESTAMPTZ NOT NULL,
    once_off_subtotal NUMERIC(14,2) NOT NULL DEFAULT 0 CHECK (once_off_subtotal >= 0),
    monthly_subtotal  NUMERIC(14,2) NOT NULL DEFAULT 0 CHECK (monthly_subtotal >= 0),
    vat_rate          NUMERIC(7,4) NOT NULL CHECK (vat_rate >= 0),
    once_off_vat      NUMERIC(14,2) NOT NULL DEFAULT 0 CHECK (once_off_vat >= 0),
    monthly_vat       NUMERIC(14,2) NOT NULL DEFAULT 0 CHECK (monthly_vat >= 0),
    once_off_total    NUMERIC(14,2) NOT NULL DEFAULT 0 CHECK (once_off_total >= 0),
    monthly_total     NUMERIC(14,2) NOT NULL DEFAULT 0 CHECK (monthly_total >= 0),
    -- Once-off total + first month's recurring total, VAT included: what acceptance debits.
    amount_due        NUMERIC(14,2) NOT NULL CHECK (amount_due >= 0),
    accepted_by       BIGINT REFERENCES users (id),
    accepted_at       TIMESTAMPTZ,
    declined_by       BIGINT REFERENCES users (id),
    declined_at       TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((status = 'accepted') = (accepted_at IS NOT NULL AND accepted_by IS NOT NULL)),
    CHECK (amount_due = once_off_total + monthly_total)
);
CREATE INDEX quotes_org_idx ON quotes (organisation_id, id DESC);
CREATE INDEX quotes_status_idx ON quotes (status, valid_until);

-- A quote line is a snapshot of the catalog row it was priced from.
CREATE TABLE quote_lines (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    quote_id    BIGINT NOT NULL REFERENCES quotes (id),
    line_no     INTEGER NOT NULL CHECK (line_no > 0),
    catalog     TEXT NOT NULL CHECK (catalog IN ('aas', 'enetworks')),
    item_kind   TEXT NOT NULL,
    item_id     BIGINT NOT NULL,
    sku         TEXT NOT NULL,
    description TEXT NOT NULL,
    billing     TEXT NOT NULL CHECK (billing IN ('once_off', 'monthly')),
    unit_cost   NUMERIC(14,2) NOT NULL CHECK (unit_cost >= 0),
    margin_pct  NUMERIC(7,4) NOT NULL,
    unit_price  NUMERIC(14,2) NOT NULL CHECK (unit_price >= 0),
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    amount      NUMERIC(14,2) NOT NULL CHECK (amount >= 0),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (quote_id, line_no),
    CHECK (amount = unit_price * quantity)
);

CREATE TABLE vm_quotes (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    quote_id      BIGINT NOT NULL REFERENCES quotes (id),
    quote_line_id BIGINT NOT NULL REFERENCES quote_lines (id),
    template_id   BIGINT,
    name          TEXT NOT NULL,
    vcpu          INTEGER NOT NULL CHECK (vcpu > 0),
    ram_gb        INTEGER NOT NULL CHECK (ram_gb > 0),
    disk_gb       INTEGER NOT NULL CHECK (disk_gb > 0),
    disk_type     TEXT NOT NULL,
    os            TEXT NOT NULL,
    count         INTEGER NOT NULL CHECK (count > 0),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX vm_quotes_quote_idx ON vm_quotes (quote_id);

-- Tokenised card references only: a card number or CVV never reaches the portal.
CREATE TABLE customer_cards (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    brand           TEXT NOT NULL,
    last_four       TEXT NOT NULL CHECK (last_four ~ '^[0-9]{4}$'),
    exp_month       SMALLINT NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    exp_year        SMALLINT NOT NULL CHECK (exp_year BETWEEN 2000 AND 2100),
    holder_name     TEXT NOT NULL,
    gateway_token   TEXT NOT NULL UNIQUE,
    is_default      BOOLEAN NOT NULL DEFAULT false,
    created_by      BIGINT REFERENCES users (id),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX customer_cards_one_default ON customer_cards (organisation_id) WHERE is_default;

CREATE TABLE organisation_wallets (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id       BIGINT NOT NULL UNIQUE REFERENCES organisations (id),
    balance               NUMERIC(14,2) NOT NULL DEFAULT 0 CHECK (balance >= 0),
    low_balance_threshold NUMERIC(14,2) NOT NULL DEFAULT 0 CHECK (low_balance_threshold >= 0),
    currency              TEXT NOT NULL DEFAULT 'ZAR' CHECK (currency = 'ZAR'),
    -- Set when a low-balance alert is raised, cleared when the balance climbs back:
    -- one alert per crossing, not one per debit.
    low_balance_alerted   BOOLEAN NOT NULL DEFAULT false,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The ledger. amount is always positive; direction says which way it moved the balance
-- (credits and refunds +1, debits -1, adjustments either).
CREATE TABLE wallet_transactions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    wallet_id       BIGINT NOT NULL REFERENCES organisation_wallets (id),
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    kind            TEXT NOT NULL CHECK (kind IN ('credit', 'debit', 'refund', 'adjustment')),
    direction       SMALLINT NOT NULL CHECK (direction IN (1, -1)),
    amount          NUMERIC(14,2) NOT NULL CHECK (amount > 0),
    balance_after   NUMERIC(14,2) NOT NULL CHECK (balance_after >= 0),
    quote_id        BIGINT REFERENCES quotes (id),
    reference       TEXT NOT NULL DEFAULT '',
    description     TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT UNIQUE,
    created_by      BIGINT REFERENCES users (id),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (
        (kind IN ('credit', 'refund') AND direction = 1)
        OR (kind = 'debit' AND direction = -1)
        OR kind = 'adjustment'
    ),
    CHECK (kind NOT IN ('debit', 'refund') OR quote_id IS NOT NULL)
);
-- A quote is debited at most once and refunded at most once, whatever the code does.
CREATE UNIQUE INDEX wallet_transactions_one_debit_per_quote ON wallet_transactions (quote_id) WHERE kind = 'debit';
CREATE UNIQUE INDEX wallet_transactions_one_refund_per_quote ON wallet_transactions (quote_id) WHERE kind = 'refund';
CREATE INDEX wallet_transactions_wallet_idx ON wallet_transactions (wallet_id, id DESC);
CREATE INDEX wallet_transactions_created_idx ON wallet_transactions (created_at DESC, id DESC);
CREATE INDEX wallet_transactions_org_idx ON wallet_transactions (organisation_id, id DESC);

-- Append-only: the ledger and the audit trail are never updated or deleted.
CREATE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER wallet_transactions_append_only BEFORE UPDATE OR DELETE ON wallet_transactions
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER wallet_transactions_no_truncate BEFORE TRUNCATE ON wallet_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
CREATE TRIGGER user_activity_log_append_only BEFORE UPDATE OR DELETE ON user_activity_log
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER user_activity_log_no_truncate BEFORE TRUNCATE ON user_activity_log
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- Each ledger row must continue its wallet's chain: balance_after = balance + movement.
-- The trigger takes the wallet row lock itself, so even careless code is serialised.
CREATE FUNCTION wallet_transactions_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    w organisation_wallets%ROWTYPE;
BEGIN
    SELECT * INTO w FROM organisation_wallets WHERE id = NEW.wallet_id FOR UPDATE;
    IF w.organisation_id <> NEW.organisation_id THEN
        RAISE EXCEPTION 'wallet % belongs to organisation %, not %', w.id, w.organisation_id, NEW.organisation_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.balance_after <> w.balance + NEW.direction * NEW.amount THEN
        RAISE EXCEPTION 'balance_after % does not continue wallet % (balance %, movement %)',
            NEW.balance_after, w.id, w.balance, NEW.direction * NEW.amount
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER wallet_transactions_chain BEFORE INSERT ON wallet_transactions
    FOR EACH ROW EXECUTE FUNCTION wallet_transactions_chain();

-- At commit, a wallet's balance must equal its newest ledger row's balance_after:
-- no balance change without a ledger row, no ledger row without the balance change.
CREATE FUNCTION wallet_matches_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    w_id BIGINT;
    bal NUMERIC;
    last_after NUMERIC;
BEGIN
    IF TG_TABLE_NAME = 'organisation_wallets' THEN
        w_id := NEW.id;
    ELSE
        w_id := NEW.wallet_id;
    END IF;
    SELECT balance INTO bal FROM organisation_wallets WHERE id = w_id;
    SELECT balance_after INTO last_after FROM wallet_transactions
        WHERE wallet_id = w_id ORDER BY id DESC LIMIT 1;
    IF bal <> COALESCE(last_after, 0) THEN
        RAISE EXCEPTION 'wallet % balance % does not match its ledger (%)', w_id, bal, COALESCE(last_after, 0)
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER organisation_wallets_match_ledger
    AFTER INSERT OR UPDATE OF balance ON organisation_wallets
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION wallet_matches_ledger();
CREATE CONSTRAINT TRIGGER wallet_transactions_match_wallet
    AFTER INSERT ON wallet_transactions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION wallet_matches_ledger();

CREATE TABLE vm_logs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    quote_id        BIGINT REFERENCES quotes (id),
    vm_quote_id     BIGINT REFERENCES vm_quotes (id),
    vm_name         TEXT NOT NULL,
    event           TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'requested'
                        CHECK (status IN ('requested', 'in_progress', 'succeeded', 'failed')),
    detail          JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_by      BIGINT REFERENCES users (id),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX vm_logs_org_idx ON vm_logs (organisation_id, id DESC);
CREATE INDEX vm_logs_quote_idx ON vm_logs (quote_id);

CREATE TABLE disk_logs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    quote_id        BIGINT REFERENCES quotes (id),
    vm_log_id       BIGINT REFERENCES vm_logs (id),
    vm_name         TEXT NOT NULL,
    disk_name       TEXT NOT NULL,
    size_gb         INTEGER NOT NULL CHECK (size_gb > 0),
    disk_type       TEXT NOT NULL,
    event           TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'requested'
                        CHECK (status IN ('requested', 'in_progress', 'succeeded', 'failed')),
    detail          JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX disk_logs_org_idx ON disk_logs (organisation_id, id DESC);
CREATE INDEX disk_logs_quote_idx ON disk_logs (quote_id);

CREATE TABLE in_app_alerts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id BIGINT REFERENCES organisations (id),
    user_id         BIGINT REFERENCES users (id),
    level           TEXT NOT NULL CHECK (level IN ('info', 'warning', 'critical')),
    kind            TEXT NOT NULL,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL DEFAULT '',
    link            TEXT,
    -- Raising the same alert twice (a retry, two instances) is a no-op.
    dedupe_key      TEXT UNIQUE,
    is_read         BOOLEAN NOT NULL DEFAULT false,
    read_at         TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (organisation_id IS NOT NULL OR user_id IS NOT NULL)
);
CREATE INDEX in_app_alerts_org_idx ON in_app_alerts (organisation_id, id DESC);
CREATE INDEX in_app_alerts_user_idx ON in_app_alerts (user_id, id DESC);

-- Permissions and the three default roles are not demo data: every installation has them.
INSERT INTO permissions (code, description) VALUES
    ('catalog.view',          'Browse the cloud and network catalogs'),
    ('quote.create',          'Build VM, service and network quotes'),
    ('quote.accept',          'Accept or decline quotes (debits the wallet)'),
    ('quote.view_all',        'See every organisation''s quotes'),
    ('wallet.view',           'See the organisation''s wallet and its transactions'),
    ('wallet.credit',         'Record top-ups (EFT received)'),
    ('transactions.view_all', 'Read and export every organisation''s transactions'),
    ('org.manage',            'Create, edit and suspend organisations'),
    ('user.manage',           'Create, edit and deactivate users'),
    ('role.manage',           'Edit roles and the permission matrix'),
    ('activity.view',         'Read the activity log'),
    ('alerts.view',           'See in-app alerts'),
    ('ops_logs.view',         'See VM and disk provisioning logs'),
    ('pricing.manage',        'Edit catalog costs and margins'),
    ('cards.manage',          'Manage the organisation''s saved card references');

INSERT INTO roles (name, description) VALUES
    ('customer', 'A member of a customer organisation'),
    ('staff',    'Operator employee: quotes, transactions, top-ups, operations logs'),
    ('admin',    'Operator administrator: everything');

INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r JOIN permissions p ON
    (r.name = 'customer' AND p.code IN ('catalog.view', 'quote.create', 'quote.accept', 'wallet.view',
                                        'alerts.view', 'cards.manage'))
 OR (r.name = 'staff' AND p.code IN ('catalog.view', 'quote.create', 'quote.accept', 'wallet.view',
                                     'alerts.view', 'cards.manage', 'quote.view_all',
                                     'transactions.view_all', 'wallet.credit', 'ops_logs.view',
                                     'pricing.manage'))
 OR r.name = 'admin';
