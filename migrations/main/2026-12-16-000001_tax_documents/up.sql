-- Tax documents (VAT Act s20, s21; DESIGN.md §10): every debit issues one tax invoice,
-- every refund one credit note, numbered from one gap-free series and stored as issued.

-- The address a tax invoice names: the supplier's (the operator organisation) and the
-- recipient's. Several lines, as typed.
ALTER TABLE organisations ADD COLUMN address TEXT CHECK (address IS NULL OR btrim(address) <> '');

-- The series' last number, in one row. Taking a number locks the row until the debit's
-- transaction ends, so a rolled-back debit takes none and concurrent debits get
-- consecutive numbers (a PostgreSQL sequence would leave gaps).
CREATE TABLE invoice_series (
    only_row    BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row),
    last_number BIGINT NOT NULL CHECK (last_number >= 0)
);
INSERT INTO invoice_series VALUES (true, 0);

CREATE TABLE invoices (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    serial               BIGINT NOT NULL UNIQUE CHECK (serial > 0),
    number               TEXT NOT NULL UNIQUE,
    kind                 TEXT NOT NULL CHECK (kind IN ('tax_invoice', 'credit_note')),
    organisation_id      BIGINT NOT NULL REFERENCES organisations (id),
    issued_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Issued after its debit or refund (backfilled for ledger rows older than invoicing).
    issued_late          BOOLEAN NOT NULL DEFAULT false,
    wallet_transaction_id BIGINT NOT NULL UNIQUE REFERENCES wallet_transactions (id),
    original_invoice_id  BIGINT REFERENCES invoices (id),
    reason               TEXT,
    reference            TEXT NOT NULL,
    vat_rate             NUMERIC(5,2) NOT NULL CHECK (vat_rate >= 0),
    subtotal             NUMERIC(14,2) NOT NULL CHECK (subtotal >= 0),
    vat                  NUMERIC(14,2) NOT NULL CHECK (vat >= 0),
    total                NUMERIC(14,2) NOT NULL CHECK (total > 0),
    supplier_name        TEXT NOT NULL,
    supplier_address     TEXT,
    supplier_vat_number  TEXT,
    supplier_registration_number TEXT,
    recipient_name       TEXT NOT NULL,
    recipient_address    TEXT,
    recipient_vat_number TEXT,
    recipient_registration_number TEXT,
    CHECK (total = subtotal + vat),
    CHECK (number = 'INV-' || lpad(serial::text, greatest(6, length(serial::text)), '0')),
    CHECK ((kind = 'credit_note') = (original_invoice_id IS NOT NULL))
);
CREATE INDEX invoices_organisation_idx ON invoices (organisation_id, issued_at DESC, id DESC);
CREATE INDEX invoices_issued_idx ON invoices (issued_at DESC, id DESC);

CREATE TABLE invoice_lines (
    invoice_id  BIGINT NOT NULL REFERENCES invoices (id),
    line_no     INTEGER NOT NULL CHECK (line_no > 0),
    description TEXT NOT NULL,
    quantity    NUMERIC(14,2) NOT NULL,
    unit_price  NUMERIC(14,2) NOT NULL,
    amount      NUMERIC(14,2) NOT NULL,
    vat         NUMERIC(14,2) NOT NULL,
    PRIMARY KEY (invoice_id, line_no)
);

-- Stored as issued: documents and their lines are never changed or deleted.
CREATE TRIGGER invoices_append_only BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER invoice_lines_append_only BEFORE UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- Documents for the debits and refunds made before invoicing existed, in ledger order,
-- marked as issued late. Called here for existing data and by the demo seed after it
-- writes its ledger. A debit's lines are its quote's lines (monthly ones for the first
-- month) with the quote's VAT spread over them to the cent; a refund's credit note has
-- one line with the VAT inside the refund at the original invoice's rate.
CREATE FUNCTION backfill_tax_documents() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    t RECORD;
    n BIGINT;
    inv BIGINT;
    orig RECORD;
    line_vat NUMERIC;
    issued integer := 0;
BEGIN
    FOR t IN
        SELECT wt.*, q.number AS quote_number, q.vat_rate,
               q.once_off_subtotal + q.monthly_subtotal AS subtotal,
               q.once_off_vat + q.monthly_vat AS vat
        FROM wallet_transactions wt JOIN quotes q ON q.id = wt.quote_id
        WHERE wt.kind IN ('debit', 'refund')
          AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.wallet_transaction_id = wt.id)
        ORDER BY wt.id
    LOOP
        UPDATE invoice_series SET last_number = last_number + 1 RETURNING last_number INTO n;
        IF t.kind = 'debit' THEN
            INSERT INTO invoices (serial, number, kind, organisation_id, issued_at, issued_late,
                                  wallet_transaction_id, reference, vat_rate, subtotal, vat, total,
                                  supplier_name, supplier_address, supplier_vat_number, supplier_registration_number,
                                  recipient_name, recipient_address, recipient_vat_number, recipient_registration_number)
            SELECT n, 'INV-' || lpad(n::text, greatest(6, length(n::text)), '0'), 'tax_invoice', t.organisation_id,
                   t.created_at, true, t.id, t.quote_number, t.vat_rate, t.amount - t.vat, t.vat, t.amount,
                   s.name, s.address, s.vat_number, s.registration_number,
                   r.name, r.address, r.vat_number, r.registration_number
            FROM organisations r
            LEFT JOIN LATERAL (SELECT * FROM organisations WHERE is_operator ORDER BY id LIMIT 1) s ON true
            WHERE r.id = t.organisation_id
            RETURNING id INTO inv;
            -- Each line's VAT rounded; the cents the rounding lost or gained go to the largest.
            INSERT INTO invoice_lines (invoice_id, line_no, description, quantity, unit_price, amount, vat)
            SELECT inv, x.line_no, x.description, x.quantity, x.unit_price, x.amount,
                   x.base_vat + CASE WHEN x.rank = 1 THEN t.vat - sum(x.base_vat) OVER () ELSE 0 END
            FROM (SELECT l.line_no, l.quantity, l.unit_price, l.amount,
                         l.description || CASE WHEN l.billing = 'monthly' THEN ' (monthly: first month)' ELSE '' END
                             AS description,
                         CASE WHEN t.subtotal = 0 THEN 0 ELSE round(t.vat * l.amount / t.subtotal, 2) END AS base_vat,
                         row_number() OVER (ORDER BY l.amount DESC, l.line_no) AS rank
                  FROM quote_lines l WHERE l.quote_id = t.quote_id) x;
        ELSE
            SELECT i.id, i.vat_rate INTO orig FROM invoices i JOIN wallet_transactions d ON d.id = i.wallet_transaction_id
            WHERE d.quote_id = t.quote_id AND d.kind = 'debit';
            line_vat := round(t.amount * orig.vat_rate / (100 + orig.vat_rate), 2);
            INSERT INTO invoices (serial, number, kind, organisation_id, issued_at, issued_late,
                                  wallet_transaction_id, original_invoice_id, reason, reference, vat_rate,
                                  subtotal, vat, total,
                                  supplier_name, supplier_address, supplier_vat_number, supplier_registration_number,
                                  recipient_name, recipient_address, recipient_vat_number, recipient_registration_number)
            SELECT n, 'INV-' || lpad(n::text, greatest(6, length(n::text)), '0'), 'credit_note', t.organisation_id,
                   t.created_at, true, t.id, orig.id, t.description, t.quote_number, orig.vat_rate,
                   t.amount - line_vat, line_vat, t.amount,
                   s.name, s.address, s.vat_number, s.registration_number,
                   r.name, r.address, r.vat_number, r.registration_number
            FROM organisations r
            LEFT JOIN LATERAL (SELECT * FROM organisations WHERE is_operator ORDER BY id LIMIT 1) s ON true
            WHERE r.id = t.organisation_id
            RETURNING id INTO inv;
            INSERT INTO invoice_lines (invoice_id, line_no, description, quantity, unit_price, amount, vat)
            VALUES (inv, 1, 'Refund for quote ' || t.quote_number || ': ' || t.description, 1,
                    t.amount - line_vat, t.amount - line_vat, line_vat);
        END IF;
        issued := issued + 1;
    END LOOP;
    RETURN issued;
END;
$$;

SELECT backfill_tax_documents();
