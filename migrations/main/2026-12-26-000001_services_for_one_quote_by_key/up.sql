-- After its first five calls on a connection, PL/pgSQL runs a statement with a
-- generic plan, planned without the argument's value. For
-- `only_quote IS NULL OR q.id = only_quote` that plan reads every accepted quote, so
-- each acceptance took longer than the one before (0.13 ms with 14 quotes, 0.31 ms
-- with 20 000, on top of the 0.8-1 ms that each of the first five custom plans takes
-- to plan). The quotes now come as an array, `q.id = ANY (quote_ids)`, which any plan
-- looks up by the primary key: one quote for an acceptance, every accepted quote for
-- the seed's backfill (NULL). And the plan is always the generic one: the custom plans
-- were never cheaper to run, only 0.8-1 ms dearer to make, and PostgreSQL's choice
-- between the two depends on the table statistics of the moment.
CREATE OR REPLACE FUNCTION services_for_accepted_quotes(only_quote BIGINT) RETURNS BIGINT LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    made BIGINT;
    quote_ids BIGINT[] := CASE WHEN only_quote IS NULL
        THEN ARRAY(SELECT id FROM quotes WHERE status = 'accepted')
        ELSE ARRAY[only_quote] END;
BEGIN
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
        WHERE q.id = ANY (quote_ids) AND q.status = 'accepted' AND l.billing = 'monthly'
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
    SELECT count(*) INTO made FROM inserted;
    RETURN made;
END;
$$;
