//! The append-only activity log: every sign-in (ok or not), sign-out, money movement
//! and admin change writes one row.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::user_activity_log;
use crate::domain::ids::{OrganisationId, UserId};

#[derive(Insertable, Default)]
#[diesel(table_name = user_activity_log)]
pub struct NewActivity<'a> {
    pub user_id: Option<UserId>,
    pub actor_email: Option<&'a str>,
    pub organisation_id: Option<OrganisationId>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: serde_json::Value,
}

pub async fn record(conn: &mut AsyncPgConnection, entry: &NewActivity<'_>) -> QueryResult<()> {
    diesel::insert_into(user_activity_log::table).values(entry).execute(conn).await.map(drop)
}
