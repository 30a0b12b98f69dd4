//! `portal wallet verify`: checks the invariants of DESIGN.md §5 for every wallet from
//! the data alone: the balance equals the ledger sum, every `balance_after` continues
//! the chain, the balance is not negative, every accepted quote has exactly one debit
//! of its amount due, no quote that is not accepted carries a debit, every refund
//! returns at most its quote's debit to the organisation that paid it, and every
//! refund and adjustment states its reason. Tax documents: every debit has exactly one
//! tax invoice of its amount, every refund one credit note against its quote's invoice,
//! each document's lines add up to its totals, and the series has no gap. The ledger sum counts every kind: credits
//! and refunds add, debits take, adjustments go either way (`direction`).
//!
//! Billing (DESIGN.md §10): every month of every service from its second to its
//! `paid_through` has exactly one `service_charges` row on its anniversary dates (the
//! first is the acceptance's), no month is charged on or after `cancel_at`, and each
//! billing-run debit equals the charges it paid.

use diesel::sql_types::{BigInt, Numeric, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use crate::domain::ids::WalletId;

#[derive(diesel::QueryableByName, Debug)]
pub struct WalletCheck {
    #[diesel(sql_type = BigInt)]
    pub wallet_id: WalletId,
    #[diesel(sql_type = Text)]
    pub organisation: String,
    #[diesel(sql_type = Numeric)]
    pub balance: Decimal,
    #[diesel(sql_type = Numeric)]
    pub ledger_sum: Decimal,
    #[diesel(sql_type = BigInt)]
    pub transactions: i64,
    #[diesel(sql_type = BigInt)]
    pub chain_breaks: i64,
    #[diesel(sql_type = BigInt)]
    pub accepted_without_one_debit: i64,
    #[diesel(sql_type = BigInt)]
    pub debits_of_open_quotes: i64,
    #[diesel(sql_type = BigInt)]
    pub refunds_beyond_debit: i64,
    #[diesel(sql_type = BigInt)]
    pub corrections_without_reason: i64,
    #[diesel(sql_type = BigInt)]
    pub debits_without_one_invoice: i64,
    #[diesel(sql_type = BigInt)]
    pub refunds_without_one_credit_note: i64,
    #[diesel(sql_type = BigInt)]
    pub documents_not_adding_up: i64,
    #[diesel(sql_type = BigInt)]
    pub services_not_charged_once: i64,
    #[diesel(sql_type = BigInt)]
    pub months_charged_after_cancel: i64,
    #[diesel(sql_type = BigInt)]
    pub billing_debits_unmatched: i64,
}

impl WalletCheck {
    /// What is wrong with this wallet; empty when it is sound.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.balance != self.ledger_sum {
            problems.push(format!("balance {} but the ledger sums to {}", self.balance, self.ledger_sum));
        }
        if self.balance < Decimal::ZERO {
            problems.push(format!("negative balance {}", self.balance));
        }
        if self.chain_breaks > 0 {
            problems.push(format!("{} ledger rows whose balance_after breaks the chain", self.chain_breaks));
        }
        if self.accepted_without_one_debit > 0 {
            problems.push(format!(
                "{} accepted quotes without exactly one debit of their amount due",
                self.accepted_without_one_debit
            ));
        }
        if self.debits_of_open_quotes > 0 {
            problems.push(format!("{} debits for quotes that are not accepted", self.debits_of_open_quotes));
        }
        if self.refunds_beyond_debit > 0 {
            problems.push(format!(
                "{} refunds larger than their quote's debit, or of a quote this organisation did not pay",
                self.refunds_beyond_debit
            ));
        }
        if self.corrections_without_reason > 0 {
            problems.push(format!("{} refunds or adjustments without a reason", self.corrections_without_reason));
        }
        if self.debits_without_one_invoice > 0 {
            problems.push(format!(
                "{} debits without exactly one tax invoice of the same total",
                self.debits_without_one_invoice
            ));
        }
        if self.refunds_without_one_credit_note > 0 {
            problems.push(format!(
                "{} refunds without exactly one credit note of the same total against the debit's invoice",
                self.refunds_without_one_credit_note
            ));
        }
        if self.documents_not_adding_up > 0 {
            problems.push(format!(
                "{} tax documents whose lines do not add up to their totals",
                self.documents_not_adding_up
            ));
        }
        if self.services_not_charged_once > 0 {
            problems.push(format!(
                "{} services whose paid months are not each charged exactly once",
                self.services_not_charged_once
            ));
        }
        if self.months_charged_after_cancel > 0 {
            problems
                .push(format!("{} months charged on or after their cancellation", self.months_charged_after_cancel));
        }
        if self.billing_debits_unmatched > 0 {
            problems.push(format!(
                "{} billing debits that differ from the months they charged",
                self.billing_debits_unmatched
            ));
        }
        problems
    }
}

/// Checks every wallet in one consistent snapshot.
pub async fn check_all(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<WalletCheck>> {
    conn.build_transaction()
        .repeatable_read()
        .read_only()
        .run(async |conn| {
            diesel::sql_query(
                "WITH chain AS (
                     SELECT wallet_id, balance_after,
                            sum(direction * amount) OVER (PARTITION BY wallet_id ORDER BY id) AS running
                     FROM wallet_transactions
                 )
                 SELECT w.id AS wallet_id, o.name AS organisation, w.balance,
                        COALESCE((SELECT sum(t.direction * t.amount) FROM wallet_transactions t
                                  WHERE t.wallet_id = w.id), 0)::numeric AS ledger_sum,
                        (SELECT count(*) FROM wallet_transactions t WHERE t.wallet_id = w.id) AS transactions,
                        (SELECT count(*) FROM chain c
                         WHERE c.wallet_id = w.id AND c.running <> c.balance_after) AS chain_breaks,
                        (SELECT count(*) FROM quotes q
                         WHERE q.organisation_id = w.organisation_id AND q.status = 'accepted' AND q.amount_due > 0
                           AND (SELECT count(*) FROM wallet_transactions d
                                WHERE d.quote_id = q.id AND d.kind = 'debit' AND d.amount = q.amount_due) <> 1
                        ) AS accepted_without_one_debit,
                        (SELECT count(*) FROM wallet_transactions d JOIN quotes q ON q.id = d.quote_id
                         WHERE d.wallet_id = w.id AND d.kind = 'debit' AND q.status <> 'accepted') AS debits_of_open_quotes,
                        (SELECT count(*) FROM wallet_transactions r
                         WHERE r.wallet_id = w.id AND r.kind = 'refund'
                           AND r.amount > COALESCE((SELECT d.amount FROM wallet_transactions d
                                                    WHERE d.quote_id = r.quote_id AND d.kind = 'debit'
                                                      AND d.organisation_id = r.organisation_id), 0)
                        ) AS refunds_beyond_debit,
                        (SELECT count(*) FROM wallet_transactions c
                         WHERE c.wallet_id = w.id AND c.kind IN ('refund', 'adjustment')
                           AND btrim(c.description) = '') AS corrections_without_reason,
                        (SELECT count(*) FROM wallet_transactions d
                         WHERE d.wallet_id = w.id AND d.kind = 'debit'
                           AND (SELECT count(*) FROM invoices i WHERE i.wallet_transaction_id = d.id
                                AND i.kind = 'tax_invoice' AND i.total = d.amount) <> 1
                        ) AS debits_without_one_invoice,
                        (SELECT count(*) FROM wallet_transactions r
                         WHERE r.wallet_id = w.id AND r.kind = 'refund'
                           AND (SELECT count(*) FROM invoices c
                                JOIN invoices i ON i.id = c.original_invoice_id
                                JOIN wallet_transactions d ON d.id = i.wallet_transaction_id
                                WHERE c.wallet_transaction_id = r.id AND c.kind = 'credit_note'
                                  AND c.total = r.amount AND d.quote_id = r.quote_id) <> 1
                        ) AS refunds_without_one_credit_note,
                        (SELECT count(*) FROM invoices i
                         CROSS JOIN LATERAL (SELECT sum(l.amount) AS amount, sum(l.vat) AS vat
                                             FROM invoice_lines l WHERE l.invoice_id = i.id) s
                         WHERE i.organisation_id = w.organisation_id
                           AND (s.amount IS DISTINCT FROM i.subtotal OR s.vat IS DISTINCT FROM i.vat)
                        ) AS documents_not_adding_up,
                        (SELECT count(*) FROM (
                             SELECT s.id, s.started_on, s.paid_through,
                                    ((extract(year FROM s.paid_through + 1) - extract(year FROM s.started_on)) * 12
                                     + extract(month FROM s.paid_through + 1) - extract(month FROM s.started_on))::int
                                        AS months_paid
                             FROM services s WHERE s.organisation_id = w.organisation_id) s
                         WHERE (s.started_on + make_interval(months => s.months_paid))::date <> s.paid_through + 1
                            OR (SELECT count(*) FROM service_charges c WHERE c.service_id = s.id) <> s.months_paid - 1
                            OR (SELECT count(*) FROM service_charges c
                                JOIN generate_series(1, s.months_paid - 1) n
                                  ON c.period_start = (s.started_on + make_interval(months => n))::date
                                 AND c.period_end = (s.started_on + make_interval(months => n + 1))::date - 1
                                WHERE c.service_id = s.id) <> s.months_paid - 1
                        ) AS services_not_charged_once,
                        (SELECT count(*) FROM service_charges c JOIN services s ON s.id = c.service_id
                         WHERE s.organisation_id = w.organisation_id AND c.period_start >= s.cancel_at
                        ) AS months_charged_after_cancel,
                        (SELECT count(*) FROM wallet_transactions d
                         WHERE d.wallet_id = w.id AND d.kind = 'debit' AND d.quote_id IS NULL
                           AND d.amount <> COALESCE((SELECT sum(c.amount) FROM service_charges c
                                                     WHERE c.wallet_transaction_id = d.id), 0)
                        ) AS billing_debits_unmatched
                 FROM organisation_wallets w JOIN organisations o ON o.id = w.organisation_id
                 ORDER BY w.id",
            )
            .load(conn)
            .await
        })
        .await
}

#[derive(diesel::QueryableByName, Debug)]
pub struct SeriesCheck {
    #[diesel(sql_type = BigInt)]
    pub documents: i64,
    #[diesel(sql_type = BigInt)]
    pub highest: i64,
    #[diesel(sql_type = BigInt)]
    pub last_taken: i64,
}

impl SeriesCheck {
    /// Serials are unique (a unique index); with as many documents as the highest serial
    /// and the counter, they are exactly 1, 2, …, n: no gap.
    pub fn problems(&self) -> Vec<String> {
        if self.documents == self.highest && self.highest == self.last_taken {
            return Vec::new();
        }
        vec![format!(
            "{} documents, the highest number is {} and the series has given out {}: numbers are missing",
            self.documents, self.highest, self.last_taken
        )]
    }
}

/// The invoice series: no gap, no duplicate.
pub async fn check_series(conn: &mut AsyncPgConnection) -> diesel::QueryResult<SeriesCheck> {
    diesel::sql_query(
        "SELECT (SELECT count(*) FROM invoices) AS documents,
                (SELECT COALESCE(max(serial), 0) FROM invoices)::bigint AS highest,
                (SELECT last_number FROM invoice_series) AS last_taken",
    )
    .get_result(conn)
    .await
}
