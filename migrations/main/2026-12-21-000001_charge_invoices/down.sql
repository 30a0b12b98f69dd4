DROP INDEX service_charges_invoice_idx;
ALTER TABLE service_charges
    DROP CONSTRAINT service_charges_invoice_fk,
    ALTER COLUMN invoice_id DROP NOT NULL;
