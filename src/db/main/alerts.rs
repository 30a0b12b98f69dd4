//! In-app alerts, addressed to an organisation or to one user. An alert with a
//! `dedupe_key` is raised at most once (a retry or a second instance changes nothing).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{in_app_alerts, organisation_unread_alerts, user_unread_alerts};
use crate::db::Prepared;
use crate::domain::ids::{AlertId, OrganisationId, UserId};

pub struct NewAlert {
    pub organisation_id: Option<OrganisationId>,
    pub level: &'static str,
    pub kind: &'static str,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub dedupe_key: Option<String>,
}

/// Takes a shared connection so that it can be pipelined with other statements.
pub async fn raise(mut conn: &AsyncPgConnection, alert: &NewAlert) -> QueryResult<()> {
    Prepared::new(
        "INSERT INTO in_app_alerts (organisation_id, level, kind, title, body, link, dedupe_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind::<Nullable<BigInt>, _>(alert.organisation_id)
    .bind::<Text, _>(alert.level)
    .bind::<Text, _>(alert.kind)
    .bind::<Text, _>(&alert.title)
    .bind::<Text, _>(&alert.body)
    .bind::<Nullable<Text>, _>(&alert.link)
    .bind::<Nullable<Text>, _>(&alert.dedupe_key)
    .execute(&mut conn)
    .await
    .map(drop)
}

fn visible_to(
    org: OrganisationId,
    user: UserId,
) -> diesel::dsl::Or<
    diesel::dsl::Eq<in_app_alerts::organisation_id, OrganisationId>,
    diesel::dsl::Eq<in_app_alerts::user_id, UserId>,
> {
    in_app_alerts::organisation_id.eq(org).or(in_app_alerts::user_id.eq(user))
}

/// The bell shows "99+" beyond this.
pub const UNREAD_COUNT_CAP: i64 = 100;

/// Unread alerts of the user's organisation and of the user alone, up to
/// [`UNREAD_COUNT_CAP`], from the counters the database keeps beside the alerts.
pub async fn count_unread(conn: &mut AsyncPgConnection, org: OrganisationId, user: UserId) -> QueryResult<i64> {
    let of_org: Option<i64> = organisation_unread_alerts::table
        .find(org)
        .select(organisation_unread_alerts::unread)
        .first(conn)
        .await
        .optional()?;
    let own: Option<i64> =
        user_unread_alerts::table.find(user).select(user_unread_alerts::unread).first(conn).await.optional()?;
    Ok((of_org.unwrap_or(0) + own.unwrap_or(0)).min(UNREAD_COUNT_CAP))
}

#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = in_app_alerts)]
pub struct Alert {
    pub id: AlertId,
    pub level: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub is_read: bool,
    pub created_at: DateTime<Utc>,
}

/// The newest `limit` alerts of the organisation and of the user. Asked as two index
/// scans of `limit` rows each (one by organisation, one by user) and merged here: the
/// one query with `OR` reads every alert of the organisation before it sorts, so its
/// cost grew with the organisation's history (the dashboard asks this on every visit).
pub async fn latest(
    conn: &mut AsyncPgConnection,
    org: OrganisationId,
    user: UserId,
    limit: i64,
) -> QueryResult<Vec<Alert>> {
    let mut alerts: Vec<Alert> = in_app_alerts::table
        .filter(in_app_alerts::organisation_id.eq(org))
        .order(in_app_alerts::id.desc())
        .limit(limit)
        .select(Alert::as_select())
        .load(conn)
        .await?;
    let own: Vec<Alert> = in_app_alerts::table
        .filter(in_app_alerts::user_id.eq(user))
        .order(in_app_alerts::id.desc())
        .limit(limit)
        .select(Alert::as_select())
        .load(conn)
        .await?;
    alerts.extend(own);
    alerts.sort_by_key(|a| std::cmp::Reverse(a.id));
    alerts.dedup_by_key(|a| a.id);
    alerts.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(alerts)
}

/// A page of the alerts visible to the user, newest first, below `before`.
pub async fn page(
    conn: &mut AsyncPgConnection,
    org: OrganisationId,
    user: UserId,
    unread_only: bool,
    before: Option<AlertId>,
    limit: i64,
) -> QueryResult<Vec<Alert>> {
    let mut query = in_app_alerts::table
        .filter(visible_to(org, user))
        .order(in_app_alerts::id.desc())
        .limit(limit)
        .select(Alert::as_select())
        .into_boxed();
    if unread_only {
        query = query.filter(in_app_alerts::is_read.eq(false));
    }
    if let Some(before) = before {
        query = query.filter(in_app_alerts::id.lt(before));
    }
    query.load(conn).await
}

/// Marks one alert read. `false` when the user cannot see such an alert.
pub async fn mark_read(
    conn: &mut AsyncPgConnection,
    id: AlertId,
    org: OrganisationId,
    user: UserId,
) -> QueryResult<bool> {
    let visible: i64 = in_app_alerts::table
        .filter(in_app_alerts::id.eq(id))
        .filter(visible_to(org, user))
        .count()
        .get_result(conn)
        .await?;
    if visible == 0 {
        return Ok(false);
    }
    diesel::update(in_app_alerts::table.filter(in_app_alerts::id.eq(id)).filter(in_app_alerts::is_read.eq(false)))
        .set((in_app_alerts::is_read.eq(true), in_app_alerts::read_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await?;
    Ok(true)
}

/// Marks every unread alert the user can see as read; how many there were.
pub async fn mark_all_read(conn: &mut AsyncPgConnection, org: OrganisationId, user: UserId) -> QueryResult<usize> {
    diesel::update(in_app_alerts::table.filter(visible_to(org, user)).filter(in_app_alerts::is_read.eq(false)))
        .set((in_app_alerts::is_read.eq(true), in_app_alerts::read_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await
}

/// How far ahead a pending quote's expiry is announced.
pub const EXPIRY_NOTICE_DAYS: i32 = 3;

/// Raises "quote expiring" alerts for every organisation's pending quotes that expire
/// within three days. The hourly job (`jobs`) calls it, so an organisation that never
/// signs in is told too; the dedupe key makes it once per quote.
pub async fn raise_expiring(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO in_app_alerts (organisation_id, level, kind, title, body, link, dedupe_key)
         SELECT q.organisation_id, 'warning', 'quote_expiring',
                'Quote ' || q.number || ' expires soon',
                q.title || ': valid until '
                    || to_char(q.valid_until AT TIME ZONE 'Africa/Johannesburg', 'YYYY-MM-DD HH24:MI')
                    || '. Accept it before then, or ask for a new one.',
                '/quotes/' || q.id, 'quote-expiring:' || q.id
         FROM quotes q
         WHERE q.status = 'pending'
           AND q.valid_until > now() AND q.valid_until <= now() + make_interval(days => $1)
         ORDER BY q.id
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind::<diesel::sql_types::Integer, _>(EXPIRY_NOTICE_DAYS)
    .execute(conn)
    .await
}
