//! The staff workspace: figures across every organisation for the staff dashboard and
//! the organisation directory. Every query is bounded (a LIMIT, or a count capped at
//! [`COUNT_CAP`]) and served by an index, so its cost does not grow with the number of
//! quotes, services or ledger rows.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Nullable, Numeric, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use crate::domain::ids::OrganisationId;
use crate::domain::states::OrganisationStatus;

/// Counts stop here ("1000+"): past it the exact number tells staff nothing more.
pub const COUNT_CAP: i64 = 1000;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Pending quotes still valid, of every organisation (at most [`COUNT_CAP`]).
pub async fn pending_quotes(conn: &mut AsyncPgConnection) -> diesel::QueryResult<i64> {
    diesel::sql_query(
        "SELECT count(*) AS n FROM (SELECT 1 FROM quotes WHERE status = 'pending' AND valid_until > now() LIMIT $1) q",
    )
    .bind::<BigInt, _>(COUNT_CAP)
    .get_result::<Count>(conn)
    .await
    .map(|c| c.n)
}

/// An organisation and one figure about it.
#[derive(QueryableByName, Debug)]
pub struct OrganisationFigure {
    #[diesel(sql_type = BigInt)]
    pub id: OrganisationId,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Numeric)]
    pub amount: Decimal,
}

/// Organisations whose balance is below their low-balance threshold, lowest first
/// (at most `limit`), and how many there are (at most [`COUNT_CAP`]).
pub async fn low_balances(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> diesel::QueryResult<(Vec<OrganisationFigure>, i64)> {
    let rows = diesel::sql_query(
        "SELECT o.id, o.name, w.balance AS amount
         FROM (SELECT organisation_id, balance FROM organisation_wallets
               WHERE balance < low_balance_threshold ORDER BY balance, organisation_id LIMIT $1) w
         JOIN organisations o ON o.id = w.organisation_id
         ORDER BY w.balance, o.name",
    )
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    let count = diesel::sql_query(
        "SELECT count(*) AS n FROM (SELECT 1 FROM organisation_wallets
                                    WHERE balance < low_balance_threshold LIMIT $1) w",
    )
    .bind::<BigInt, _>(COUNT_CAP)
    .get_result::<Count>(conn)
    .await?;
    Ok((rows, count.n))
}

/// Organisations with services in arrears, with what those services cost a month (at
/// most `limit`, the largest first), and how many organisations (at most [`COUNT_CAP`]).
pub async fn in_arrears(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> diesel::QueryResult<(Vec<OrganisationFigure>, i64)> {
    let rows = diesel::sql_query(
        "SELECT o.id, o.name, s.amount
         FROM (SELECT organisation_id, sum(monthly_amount) AS amount FROM services
               WHERE status = 'in_arrears' GROUP BY organisation_id) s
         JOIN organisations o ON o.id = s.organisation_id
         ORDER BY s.amount DESC, o.name
         LIMIT $1",
    )
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    let count = diesel::sql_query(
        "SELECT count(*) AS n FROM (SELECT DISTINCT organisation_id FROM services
                                    WHERE status = 'in_arrears' LIMIT $1) s",
    )
    .bind::<BigInt, _>(COUNT_CAP)
    .get_result::<Count>(conn)
    .await?;
    Ok((rows, count.n))
}

/// A top-up, newest first.
#[derive(QueryableByName, Debug)]
pub struct TopUp {
    #[diesel(sql_type = BigInt)]
    pub organisation_id: OrganisationId,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Numeric)]
    pub amount: Decimal,
    #[diesel(sql_type = Text)]
    pub reference: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// The latest top-ups of every organisation.
pub async fn recent_top_ups(conn: &mut AsyncPgConnection, limit: i64) -> diesel::QueryResult<Vec<TopUp>> {
    diesel::sql_query(
        "SELECT t.organisation_id, o.name, t.amount, t.reference, t.created_at
         FROM (SELECT organisation_id, amount, reference, created_at, id FROM wallet_transactions
               WHERE kind = 'credit' ORDER BY id DESC LIMIT $1) t
         JOIN organisations o ON o.id = t.organisation_id
         ORDER BY t.id DESC",
    )
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// A row of the organisation directory.
#[derive(QueryableByName, Debug)]
pub struct DirectoryRow {
    #[diesel(sql_type = BigInt)]
    pub id: OrganisationId,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub status: OrganisationStatus,
    #[diesel(sql_type = Bool)]
    pub is_operator: bool,
    #[diesel(sql_type = Nullable<Text>)]
    pub vat_number: Option<String>,
    #[diesel(sql_type = Numeric)]
    pub balance: Decimal,
    #[diesel(sql_type = Numeric)]
    pub low_balance_threshold: Decimal,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_top_up_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub last_top_up: Option<Decimal>,
    #[diesel(sql_type = Bool)]
    pub in_arrears: bool,
}

/// The directory's filters.
#[derive(Debug, Default)]
pub struct DirectoryFilter {
    /// Part of the name, registration or VAT number.
    pub text: Option<String>,
    pub status: Option<OrganisationStatus>,
}

/// One page of organisations by name (ignoring case: the unique index's order), `limit`
/// rows from `offset`, each with its balance, its last top-up and whether any of its
/// services are in arrears. The page is chosen first, so the per-row lookups run for
/// its rows only.
pub async fn directory(
    conn: &mut AsyncPgConnection,
    filter: &DirectoryFilter,
    offset: i64,
    limit: i64,
) -> diesel::QueryResult<Vec<DirectoryRow>> {
    diesel::sql_query(
        "SELECT o.id, o.name, o.status, o.is_operator, o.vat_number, w.balance, w.low_balance_threshold,
                t.created_at AS last_top_up_at, t.amount AS last_top_up,
                EXISTS (SELECT 1 FROM services s
                        WHERE s.organisation_id = o.id AND s.status = 'in_arrears') AS in_arrears
         FROM (SELECT id FROM organisations
               WHERE ($1::text IS NULL OR name ILIKE $1 OR registration_number ILIKE $1 OR vat_number ILIKE $1)
                 AND ($2::text IS NULL OR status = $2)
               ORDER BY lower(name), id
               LIMIT $3 OFFSET $4) page
         JOIN organisations o ON o.id = page.id
         JOIN organisation_wallets w ON w.organisation_id = o.id
         LEFT JOIN LATERAL (SELECT x.created_at, x.amount FROM wallet_transactions x
                            WHERE x.organisation_id = o.id AND x.kind = 'credit'
                            ORDER BY x.id DESC LIMIT 1) t ON true
         ORDER BY lower(o.name), o.id",
    )
    .bind::<Nullable<Text>, _>(filter.text.as_deref().map(crate::db::like_pattern))
    .bind::<Nullable<Text>, _>(filter.status.map(OrganisationStatus::as_str))
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(offset)
    .load(conn)
    .await
}
