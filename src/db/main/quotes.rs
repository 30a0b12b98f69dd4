//! Quotes and their snapshot lines.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::quotes;
use crate::domain::ids::OrganisationId;

/// Pending quotes of an organisation that have not passed their validity.
pub async fn count_open(conn: &mut AsyncPgConnection, org: OrganisationId) -> QueryResult<i64> {
    quotes::table
        .filter(quotes::organisation_id.eq(org))
        .filter(quotes::status.eq("pending"))
        .filter(quotes::valid_until.gt(diesel::dsl::now))
        .count()
        .get_result(conn)
        .await
}
