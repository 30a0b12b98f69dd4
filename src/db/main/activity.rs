//! The append-only activity log: every sign-in (ok or not), sign-out, money movement
//! and admin change writes one row; `/admin/activity` reads it back with filters.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::Prepared;
use crate::domain::ids::{OrganisationId, UserId};

#[derive(Default)]
pub struct NewActivity<'a> {
    pub user_id: Option<UserId>,
    pub actor_email: Option<&'a str>,
    pub organisation_id: Option<OrganisationId>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: serde_json::Value,
}

/// Takes a shared connection so that it can be pipelined with other statements.
pub async fn record(mut conn: &AsyncPgConnection, entry: &NewActivity<'_>) -> QueryResult<()> {
    Prepared::new(
        "INSERT INTO user_activity_log (user_id, actor_email, organisation_id, action, target, ip, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind::<Nullable<BigInt>, _>(entry.user_id)
    .bind::<Nullable<Text>, _>(entry.actor_email)
    .bind::<Nullable<BigInt>, _>(entry.organisation_id)
    .bind::<Text, _>(entry.action)
    .bind::<Nullable<Text>, _>(entry.target)
    .bind::<Nullable<Text>, _>(entry.ip)
    .bind::<Jsonb, _>(&entry.detail)
    .execute(&mut conn)
    .await
    .map(drop)
}

/// Who acts, in which organisation, from where: the checks of a change and its log row
/// (written in the same transaction as the change) both read it.
/// Handlers get it from the request (the signed-in user and the TCP peer's address).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: UserId,
    pub organisation_id: OrganisationId,
    pub email: String,
    pub ip: Option<String>,
}

impl Actor {
    /// Records `action` on `target` (of `organisation`), with `detail` holding before
    /// and after values.
    pub async fn record(
        &self,
        conn: &mut AsyncPgConnection,
        action: &str,
        organisation: Option<OrganisationId>,
        target: &str,
        detail: serde_json::Value,
    ) -> QueryResult<()> {
        record(
            conn,
            &NewActivity {
                user_id: Some(self.user_id),
                actor_email: Some(&self.email),
                organisation_id: organisation,
                action,
                target: Some(target),
                ip: self.ip.as_deref(),
                detail,
            },
        )
        .await
    }
}

/// The filters of `/admin/activity`.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub user: Option<UserId>,
    pub organisation: Option<OrganisationId>,
    /// Matches actions starting with it: `user.` finds every user change.
    pub action: Option<String>,
    /// Inclusive lower bound.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub until: Option<DateTime<Utc>>,
    /// Keyset cursor: only rows older than this one.
    pub after: Option<i64>,
}

#[derive(QueryableByName, Debug)]
pub struct ActivityRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub user_id: Option<UserId>,
    #[diesel(sql_type = Nullable<Text>)]
    pub user_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub actor_email: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub organisation_id: Option<OrganisationId>,
    #[diesel(sql_type = Nullable<Text>)]
    pub organisation_name: Option<String>,
    #[diesel(sql_type = Text)]
    pub action: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub target: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub ip: Option<String>,
    #[diesel(sql_type = Jsonb)]
    pub detail: serde_json::Value,
}

/// Log rows matching `filter`, newest first, `limit` at a time.
pub async fn list(conn: &mut AsyncPgConnection, filter: &ActivityFilter, limit: i64) -> QueryResult<Vec<ActivityRow>> {
    diesel::sql_query(
        "SELECT l.id, l.created_at, l.user_id, u.name AS user_name, l.actor_email,
                l.organisation_id, o.name AS organisation_name, l.action, l.target, l.ip, l.detail
         FROM user_activity_log l
         LEFT JOIN users u ON u.id = l.user_id
         LEFT JOIN organisations o ON o.id = l.organisation_id
         WHERE ($1::bigint IS NULL OR l.user_id = $1)
           AND ($2::bigint IS NULL OR l.organisation_id = $2)
           AND ($3::text IS NULL OR l.action LIKE $3)
           AND ($4::timestamptz IS NULL OR l.created_at >= $4)
           AND ($5::timestamptz IS NULL OR l.created_at < $5)
           AND ($6::bigint IS NULL OR l.id < $6)
         ORDER BY l.id DESC
         LIMIT $7",
    )
    .bind::<Nullable<BigInt>, _>(filter.user)
    .bind::<Nullable<BigInt>, _>(filter.organisation)
    .bind::<Nullable<Text>, _>(filter.action.as_deref().map(|a| format!("{}%", crate::db::escape_like(a))))
    .bind::<Nullable<Timestamptz>, _>(filter.from)
    .bind::<Nullable<Timestamptz>, _>(filter.until)
    .bind::<Nullable<BigInt>, _>(filter.after)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}
