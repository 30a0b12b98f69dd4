DROP FUNCTION services_for_accepted_quotes(BIGINT);
DROP INDEX vm_logs_vm_quote_idx;
DROP INDEX vm_quotes_line_idx;
ALTER TABLE wallet_transactions DROP CONSTRAINT wallet_transactions_debit_or_refund_has_a_source;
ALTER TABLE wallet_transactions ADD CHECK (kind NOT IN ('debit', 'refund') OR quote_id IS NOT NULL);
DROP TABLE billing_runs;
DROP TABLE service_charges;
DROP TABLE services;
