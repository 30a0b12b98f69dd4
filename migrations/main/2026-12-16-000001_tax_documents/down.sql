DROP FUNCTION backfill_tax_documents();
DROP TABLE invoice_lines;
DROP TABLE invoices;
DROP TABLE invoice_series;
ALTER TABLE organisations DROP COLUMN address;
