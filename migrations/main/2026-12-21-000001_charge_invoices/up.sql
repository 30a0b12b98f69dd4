-- Every month the billing run charges is on the tax invoice of its debit.
ALTER TABLE service_charges
    ALTER COLUMN invoice_id SET NOT NULL,
    ADD CONSTRAINT service_charges_invoice_fk FOREIGN KEY (invoice_id) REFERENCES invoices (id);
CREATE INDEX service_charges_invoice_idx ON service_charges (invoice_id);
