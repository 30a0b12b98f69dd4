DROP TABLE IF EXISTS in_app_alerts, disk_logs, vm_logs, wallet_transactions, organisation_wallets,
    customer_cards, vm_quotes, quote_lines, quotes, user_activity_log, user_roles, role_permissions,
    permissions, roles, users, organisations CASCADE;
DROP SEQUENCE IF EXISTS quote_number_seq;
DROP FUNCTION IF EXISTS forbid_change(), wallet_transactions_chain(), wallet_matches_ledger();
