-- Indexes that keep pages flat at production volume (10 000 organisations, 200 000
-- quotes, 100 000 alerts):
-- an organisation's open quotes without reading its whole quote history: the dashboard
-- lists the newest (by id) and counts the still valid ones (by validity, index only);
CREATE INDEX quotes_org_pending_idx ON quotes (organisation_id, id DESC) WHERE status = 'pending';
CREATE INDEX quotes_org_pending_valid_idx ON quotes (organisation_id, valid_until) WHERE status = 'pending';
-- each organisation's latest top-up (the organisation directory) and the latest of all
-- (the staff dashboard) without walking past debits;
CREATE INDEX wallet_transactions_org_credit_idx ON wallet_transactions (organisation_id, id DESC)
    WHERE kind = 'credit';
-- the organisations in arrears (the staff dashboard, the directory's badge).
CREATE INDEX services_in_arrears_idx ON services (organisation_id) WHERE status = 'in_arrears';
