DROP INDEX services_in_arrears_idx;
DROP INDEX wallet_transactions_org_credit_idx;
DROP INDEX quotes_org_pending_idx;
