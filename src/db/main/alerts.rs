//! In-app alerts, addressed to an organisation or to one user.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::in_app_alerts;
use crate::domain::ids::{OrganisationId, UserId};

pub async fn count_unread(conn: &mut AsyncPgConnection, org: OrganisationId, user: UserId) -> QueryResult<i64> {
    in_app_alerts::table
        .filter(in_app_alerts::organisation_id.eq(org).or(in_app_alerts::user_id.eq(user)))
        .filter(in_app_alerts::is_read.eq(false))
        .count()
        .get_result(conn)
        .await
}
