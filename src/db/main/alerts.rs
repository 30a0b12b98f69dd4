//! In-app alerts, addressed to an organisation or to one user. An alert with a
//! `dedupe_key` is raised at most once (a retry or a second instance changes nothing).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::in_app_alerts;
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

pub async fn raise(conn: &mut AsyncPgConnection, alert: &NewAlert) -> QueryResult<()> {
    diesel::insert_into(in_app_alerts::table)
        .values((
            in_app_alerts::organisation_id.eq(alert.organisation_id),
            in_app_alerts::level.eq(alert.level),
            in_app_alerts::kind.eq(alert.kind),
            in_app_alerts::title.eq(&alert.title),
            in_app_alerts::body.eq(&alert.body),
            in_app_alerts::link.eq(&alert.link),
            in_app_alerts::dedupe_key.eq(&alert.dedupe_key),
        ))
        .on_conflict(in_app_alerts::dedupe_key)
        .do_nothing()
        .execute(conn)
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

pub async fn count_unread(conn: &mut AsyncPgConnection, org: OrganisationId, user: UserId) -> QueryResult<i64> {
    in_app_alerts::table
        .filter(visible_to(org, user))
        .filter(in_app_alerts::is_read.eq(false))
        .count()
        .get_result(conn)
        .await
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

pub async fn latest(
    conn: &mut AsyncPgConnection,
    org: OrganisationId,
    user: UserId,
    limit: i64,
) -> QueryResult<Vec<Alert>> {
    in_app_alerts::table
        .filter(visible_to(org, user))
        .order(in_app_alerts::id.desc())
        .limit(limit)
        .select(Alert::as_select())
        .load(conn)
        .await
}
