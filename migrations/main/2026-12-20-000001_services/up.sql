-- Recurring billing (DESIGN.md §10): a service per accepted monthly quote line, one
-- charge row per service and billed month, and the record of each billing run.

CREATE TABLE services (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    quote_id        BIGINT NOT NULL REFERENCES quotes (id),
    quote_line_id   BIGINT NOT NULL UNIQUE REFERENCES quote_lines (id),
    description     TEXT NOT NULL,
    -- VAT included: the quote's monthly VAT spread over its monthly lines.
    monthly_amount  NUMERIC(14,2) NOT NULL CHECK (monthly_amount > 0),
    started_on      DATE NOT NULL,
    term_months     INTEGER NOT NULL CHECK (term_months > 0),
    -- The last day of the term (inclusive), like paid_through.
    term_ends_on    DATE NOT NULL CHECK (term_ends_on >= started_on),
    -- The last day already paid.
    paid_through    DATE NOT NULL CHECK (paid_through >= started_on),
    status          TEXT NOT NULL DEFAULT 'active'
                        CHECK (status IN ('active', 'in_arrears', 'suspended', 'cancelled', 'ended')),
    -- No month starting on or after this day is charged.
    cancel_at       DATE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX services_org_idx ON services (organisation_id, id);
CREATE INDEX services_quote_idx ON services (quote_id);
-- The run looks for organisations with a month due: only billable services, by date.
CREATE INDEX services_billable_idx ON services (organisation_id, paid_through)
    WHERE status IN ('active', 'in_arrears', 'suspended');
-- A VM service finds its VMs: quote line → vm_quotes → the VMs' vm_logs rows.
CREATE INDEX vm_quotes_line_idx ON vm_quotes (quote_line_id);
CREATE INDEX vm_logs_vm_quote_idx ON vm_logs (vm_quote_id);

CREATE TABLE service_charges (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id            BIGINT NOT NULL REFERENCES services (id),
    period_start          DATE NOT NULL,
    period_end            DATE NOT NULL CHECK (period_end >= period_start),
    amount                NUMERIC(14,2) NOT NULL CHECK (amount > 0),
    -- The tax invoice (issue 15); no foreign key until invoices exist.
    invoice_id            BIGINT,
    wallet_transaction_id BIGINT NOT NULL REFERENCES wallet_transactions (id),
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- A month is charged at most once, whatever runs, retries, crashes or instances.
    UNIQUE (service_id, period_start)
);
CREATE INDEX service_charges_transaction_idx ON service_charges (wallet_transaction_id);

-- Append-only, like the ledger they explain.
CREATE TRIGGER service_charges_append_only BEFORE UPDATE OR DELETE ON service_charges
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE billing_runs (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_for              DATE NOT NULL,
    started_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at          TIMESTAMPTZ,
    -- Who started it: the command line, the hourly job in `portal serve`, or staff.
    source               TEXT NOT NULL CHECK (source IN ('cli', 'hourly', 'staff')),
    organisations_charged INTEGER NOT NULL DEFAULT 0,
    organisations_short  INTEGER NOT NULL DEFAULT 0,
    months_charged       INTEGER NOT NULL DEFAULT 0,
    total_charged        NUMERIC(14,2) NOT NULL DEFAULT 0
);
CREATE INDEX billing_runs_started_idx ON billing_runs (started_at DESC);

-- A debit belongs to a quote (its acceptance) or to a billing run, whose debit covers the
-- months of several quotes; its idempotency key names the run's first charged month.
DO $$
DECLARE c TEXT;
BEGIN
    SELECT conname INTO STRICT c FROM pg_constraint
    WHERE conrelid = 'wallet_transactions'::regclass
      AND pg_get_constraintdef(oid) LIKE '%quote_id IS NOT NULL%';
    EXECUTE format('ALTER TABLE wallet_transactions DROP CONSTRAINT %I', c);
END $$;
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_debit_or_refund_has_a_source CHECK (
    kind NOT IN ('debit', 'refund') OR quote_id IS NOT NULL
    OR (kind = 'debit' AND idempotency_key LIKE 'billing:%')
);

-- The services of accepted quotes that have none yet (of one quote, or of all when
-- `only_quote` is null), first month paid (the one the acceptance debited), started on
-- the acceptance's South African date. Each line's amount carries its share of the
-- quote's monthly VAT (rounded per line, the last line taking the remainder), so a
-- quote's services add up to its monthly total. A quote refunded in full ends its
-- services at once. The one place services are made: by the acceptance transaction,
-- here for quotes accepted before billing existed, and by the demo seed.
CREATE FUNCTION services_for_accepted_quotes(only_quote BIGINT) RETURNS BIGINT LANGUAGE sql AS $$
    WITH monthly AS (
        SELECT l.id AS line_id, l.quote_id, l.description, l.amount, q.organisation_id,
               q.monthly_vat, q.vat_rate, coalesce(q.term_months, 1) AS term_months,
               (q.accepted_at AT TIME ZONE 'Africa/Johannesburg')::date AS started_on,
               row_number() OVER (PARTITION BY l.quote_id ORDER BY l.line_no DESC) AS from_last,
               coalesce(sum(round(l.amount * q.vat_rate / 100, 2))
                   OVER (PARTITION BY l.quote_id ORDER BY l.line_no
                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS vat_before
        FROM quote_lines l
        JOIN quotes q ON q.id = l.quote_id
        WHERE q.status = 'accepted' AND l.billing = 'monthly' AND (only_quote IS NULL OR q.id = only_quote)
    ), inserted AS (
        INSERT INTO services (organisation_id, quote_id, quote_line_id, description, monthly_amount,
                              started_on, term_months, term_ends_on, paid_through, status)
        SELECT m.organisation_id, m.quote_id, m.line_id, m.description,
               m.amount + CASE WHEN m.from_last = 1 THEN m.monthly_vat - m.vat_before
                               ELSE round(m.amount * m.vat_rate / 100, 2) END,
               m.started_on, m.term_months,
               (m.started_on + make_interval(months => m.term_months))::date - 1,
               (m.started_on + interval '1 month')::date - 1,
               CASE WHEN EXISTS (SELECT 1 FROM wallet_transactions r
                                 JOIN wallet_transactions d ON d.quote_id = r.quote_id AND d.kind = 'debit'
                                 WHERE r.quote_id = m.quote_id AND r.kind = 'refund' AND r.amount = d.amount)
                    THEN 'ended' ELSE 'active' END
        FROM monthly m
        WHERE m.amount > 0
          AND NOT EXISTS (SELECT 1 FROM services s WHERE s.quote_line_id = m.line_id)
        RETURNING 1
    )
    SELECT count(*) FROM inserted
$$;

SELECT services_for_accepted_quotes(NULL);
