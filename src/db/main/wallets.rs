//! Organisation wallets and their append-only ledger. Every balance change happens in
//! one transaction that holds the wallet row lock, writes the ledger row with its
//! `balance_after`, and updates the balance; the database triggers refuse anything else.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::activity::{self, NewActivity};
use super::alerts::{self, NewAlert};
use super::ledger::{self, Direction, Posting, PostingError, Transaction, Wallet};
use super::schema::{organisation_wallets, quotes, wallet_transactions};
use crate::domain::ids::{OrganisationId, QuoteId, TransactionId, UserId};
use crate::domain::money::format_zar;
use crate::domain::states::TransactionKind;
use crate::domain::wallet_stats::MonthTotals;

pub async fn for_organisation(conn: &mut AsyncPgConnection, org: OrganisationId) -> QueryResult<Option<Wallet>> {
    organisation_wallets::table
        .filter(organisation_wallets::organisation_id.eq(org))
        .select(Wallet::as_select())
        .first(conn)
        .await
        .optional()
}

pub struct NewCredit<'a> {
    pub organisation_id: OrganisationId,
    pub amount: Decimal,
    pub reference: &'a str,
    pub description: &'a str,
    pub idempotency_key: &'a str,
    pub created_by: Option<UserId>,
    pub ip: Option<&'a str>,
}

#[derive(Debug)]
pub enum CreditOutcome {
    Credited(Transaction),
    /// The idempotency key was used before: the first credit stands, nothing changed.
    AlreadyRecorded(Transaction),
}

#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    #[error("the organisation has no wallet")]
    NoWallet,
    #[error("this idempotency key was already used for a different credit")]
    KeyReused,
    #[error("the balance would exceed the largest amount a wallet can hold")]
    TooLarge,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Records a top-up: exactly once per idempotency key, also under concurrent retries
/// (the wallet row lock serialises them; the unique key is the backstop).
pub async fn credit(conn: &mut AsyncPgConnection, credit: &NewCredit<'_>) -> Result<CreditOutcome, CreditError> {
    conn.transaction(async |conn| {
        ledger::bound_lock_waits(conn).await?;
        let wallet = ledger::lock_wallet(conn, credit.organisation_id).await?.ok_or(CreditError::NoWallet)?;
        let posting = Posting {
            kind: TransactionKind::Credit,
            direction: Direction::In,
            amount: credit.amount,
            quote_id: None,
            reference: credit.reference,
            description: credit.description,
            idempotency_key: credit.idempotency_key,
            created_by: credit.created_by,
        };
        if let Some(earlier) = ledger::earlier(conn, credit.idempotency_key).await? {
            return if earlier.repeats(credit.organisation_id, &posting) {
                Ok(CreditOutcome::AlreadyRecorded(earlier.transaction))
            } else {
                Err(CreditError::KeyReused)
            };
        }
        let tx = ledger::post(conn, &wallet, &posting).await.map_err(|e| match e {
            PostingError::KeyTaken => CreditError::KeyReused,
            PostingError::BelowZero { .. } | PostingError::TooLarge => CreditError::TooLarge,
            PostingError::Database(e) => CreditError::Database(e),
        })?;
        alerts::raise(
            conn,
            &NewAlert {
                organisation_id: Some(credit.organisation_id),
                level: "info",
                kind: "topup",
                title: format!("Top-up of {} received", format_zar(credit.amount)),
                body: format!("Reference {}. The balance is now {}.", credit.reference, format_zar(tx.balance_after)),
                link: Some("/wallet".into()),
                dedupe_key: Some(format!("topup:{}", tx.id)),
            },
        )
        .await?;
        activity::record(
            conn,
            &NewActivity {
                user_id: credit.created_by,
                organisation_id: Some(credit.organisation_id),
                action: "wallet.credit",
                target: Some(&format!("wallet_transaction:{}", tx.id)),
                ip: credit.ip,
                detail: serde_json::json!({
                    "amount": credit.amount.to_string(),
                    "reference": credit.reference,
                    "balance_after": tx.balance_after.to_string(),
                }),
                ..Default::default()
            },
        )
        .await?;
        Ok(CreditOutcome::Credited(tx))
    })
    .await
}

/// A ledger row as the wallet page shows it.
#[derive(Queryable, Debug)]
pub struct LedgerRow {
    pub id: TransactionId,
    pub kind: TransactionKind,
    pub direction: i16,
    pub amount: Decimal,
    pub balance_after: Decimal,
    pub reference: String,
    pub description: String,
    pub quote_id: Option<QuoteId>,
    pub quote_number: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// An organisation's ledger, newest first, `limit` rows below `before` (keyset paging).
pub async fn ledger(
    conn: &mut AsyncPgConnection,
    org: OrganisationId,
    before: Option<TransactionId>,
    limit: i64,
) -> QueryResult<Vec<LedgerRow>> {
    let mut query = wallet_transactions::table
        .left_join(quotes::table)
        .filter(wallet_transactions::organisation_id.eq(org))
        .order(wallet_transactions::id.desc())
        .limit(limit)
        .select((
            wallet_transactions::id,
            wallet_transactions::kind,
            wallet_transactions::direction,
            wallet_transactions::amount,
            wallet_transactions::balance_after,
            wallet_transactions::reference,
            wallet_transactions::description,
            wallet_transactions::quote_id,
            quotes::number.nullable(),
            wallet_transactions::created_at,
        ))
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(wallet_transactions::id.lt(before));
    }
    query.load(conn).await
}

/// The filters of the staff transaction history (and its CSV export).
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub organisation: Option<OrganisationId>,
    pub kind: Option<TransactionKind>,
    /// Inclusive lower bound.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub until: Option<DateTime<Utc>>,
    /// Matched case-insensitively anywhere in the reference or description.
    pub text: Option<String>,
    /// Ledger order (ids follow the dates): oldest first instead of newest first.
    pub oldest_first: bool,
    /// Keyset cursor: only rows past this one in the chosen order.
    pub after: Option<TransactionId>,
}

/// Applies a [`HistoryFilter`]'s conditions (not its order or cursor) to a boxed query
/// over `wallet_transactions` (joined or not).
macro_rules! filter_history {
    ($query:expr, $filter:expr) => {{
        let mut query = $query;
        let filter: &HistoryFilter = $filter;
        if let Some(org) = filter.organisation {
            query = query.filter(wallet_transactions::organisation_id.eq(org));
        }
        if let Some(kind) = filter.kind {
            query = query.filter(wallet_transactions::kind.eq(kind));
        }
        if let Some(from) = filter.from {
            query = query.filter(wallet_transactions::created_at.ge(from));
        }
        if let Some(until) = filter.until {
            query = query.filter(wallet_transactions::created_at.lt(until));
        }
        if let Some(text) = &filter.text {
            let pattern = crate::db::like_pattern(text);
            query = query.filter(
                wallet_transactions::reference
                    .ilike(pattern.clone())
                    .or(wallet_transactions::description.ilike(pattern)),
            );
        }
        query
    }};
}

#[derive(Queryable, Debug)]
pub struct HistoryRow {
    pub id: TransactionId,
    pub created_at: DateTime<Utc>,
    pub organisation_id: OrganisationId,
    pub organisation_name: String,
    pub kind: TransactionKind,
    pub direction: i16,
    pub amount: Decimal,
    pub balance_after: Decimal,
    pub quote_id: Option<QuoteId>,
    pub quote_number: Option<String>,
    pub reference: String,
    pub description: String,
    pub created_by: Option<String>,
}

/// Every organisation's transactions matching `filter`, in its order, `limit` at a time.
pub async fn history(conn: &mut AsyncPgConnection, filter: &HistoryFilter, limit: i64) -> QueryResult<Vec<HistoryRow>> {
    use super::schema::{organisations, users};
    let query = wallet_transactions::table
        .inner_join(organisations::table)
        .left_join(quotes::table)
        .left_join(users::table)
        .limit(limit)
        .select((
            wallet_transactions::id,
            wallet_transactions::created_at,
            wallet_transactions::organisation_id,
            organisations::name,
            wallet_transactions::kind,
            wallet_transactions::direction,
            wallet_transactions::amount,
            wallet_transactions::balance_after,
            wallet_transactions::quote_id,
            quotes::number.nullable(),
            wallet_transactions::reference,
            wallet_transactions::description,
            users::email.nullable(),
        ))
        .into_boxed();
    let mut query = filter_history!(query, filter);
    query = match (filter.oldest_first, filter.after) {
        (false, after) => {
            let query = query.order(wallet_transactions::id.desc());
            match after {
                Some(after) => query.filter(wallet_transactions::id.lt(after)),
                None => query,
            }
        }
        (true, after) => {
            let query = query.order(wallet_transactions::id.asc());
            match after {
                Some(after) => query.filter(wallet_transactions::id.gt(after)),
                None => query,
            }
        }
    };
    query.load(conn).await
}

/// The sums of every row matching `filter` (all pages).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct HistoryTotals {
    pub rows: i64,
    /// Credits, refunds and upward adjustments.
    pub money_in: Decimal,
    /// Debits and downward adjustments.
    pub money_out: Decimal,
}

pub async fn history_totals(conn: &mut AsyncPgConnection, filter: &HistoryFilter) -> QueryResult<HistoryTotals> {
    use diesel::dsl::{count_star, sql};
    use diesel::sql_types::{Nullable, Numeric};
    let query = filter_history!(wallet_transactions::table.into_boxed(), filter);
    let (rows, money_in, money_out) = query
        .select((
            count_star(),
            sql::<Nullable<Numeric>>("sum(amount) FILTER (WHERE direction = 1)"),
            sql::<Nullable<Numeric>>("sum(amount) FILTER (WHERE direction = -1)"),
        ))
        .first::<(i64, Option<Decimal>, Option<Decimal>)>(conn)
        .await?;
    Ok(HistoryTotals { rows, money_in: money_in.unwrap_or_default(), money_out: money_out.unwrap_or_default() })
}

#[derive(diesel::QueryableByName)]
struct MonthRow {
    #[diesel(sql_type = diesel::sql_types::Date)]
    month: chrono::NaiveDate,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    money_in: Decimal,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    money_out: Decimal,
}

/// An organisation's money in and out per South African calendar month, from `since`.
pub async fn monthly_totals(
    conn: &mut AsyncPgConnection,
    org: OrganisationId,
    since: DateTime<Utc>,
) -> QueryResult<Vec<MonthTotals>> {
    let rows: Vec<MonthRow> = diesel::sql_query(
        "SELECT date_trunc('month', created_at AT TIME ZONE 'Africa/Johannesburg')::date AS month,
                COALESCE(sum(amount) FILTER (WHERE direction = 1), 0) AS money_in,
                COALESCE(sum(amount) FILTER (WHERE direction = -1), 0) AS money_out
         FROM wallet_transactions
         WHERE organisation_id = $1 AND created_at >= $2
         GROUP BY 1 ORDER BY 1",
    )
    .bind::<diesel::sql_types::BigInt, _>(org)
    .bind::<diesel::sql_types::Timestamptz, _>(since)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| MonthTotals { month: r.month, money_in: r.money_in, money_out: r.money_out }).collect())
}

/// Sets the low-balance threshold. A balance already under the new threshold raises
/// the alert now (once, as for any crossing); one at or above it re-arms the alert.
pub async fn set_threshold(
    conn: &mut AsyncPgConnection,
    org: OrganisationId,
    threshold: Decimal,
    user: UserId,
    ip: Option<&str>,
) -> QueryResult<Decimal> {
    conn.transaction(async |conn| {
        ledger::bound_lock_waits(conn).await?;
        let mut wallet = ledger::lock_wallet(conn, org).await?.ok_or(diesel::result::Error::NotFound)?;
        let previous = wallet.low_balance_threshold;
        wallet.low_balance_threshold = threshold;
        let (alerted, alert) = ledger::low_balance_state(&wallet, wallet.balance);
        diesel::update(organisation_wallets::table.find(wallet.id))
            .set((
                organisation_wallets::low_balance_threshold.eq(threshold),
                organisation_wallets::low_balance_alerted.eq(alerted),
                organisation_wallets::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        if let Some(alert) = alert {
            alerts::raise(conn, &alert).await?;
        }
        activity::record(
            conn,
            &NewActivity {
                user_id: Some(user),
                organisation_id: Some(org),
                action: "wallet.threshold",
                target: Some(&format!("wallet:{}", wallet.id)),
                ip,
                detail: serde_json::json!({ "from": previous.to_string(), "to": threshold.to_string() }),
                ..Default::default()
            },
        )
        .await?;
        Ok(previous)
    })
    .await
}
