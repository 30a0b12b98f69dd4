//! Organisations. Every organisation has exactly one wallet, created with it.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::schema::{organisation_wallets, organisations};
use crate::domain::ids::OrganisationId;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    pub id: OrganisationId,
    pub name: String,
    pub status: String,
    pub is_operator: bool,
}

#[derive(Insertable)]
#[diesel(table_name = organisations)]
pub struct NewOrganisation<'a> {
    pub name: &'a str,
    pub registration_number: Option<&'a str>,
    pub vat_number: Option<&'a str>,
    pub billing_email: Option<&'a str>,
    pub is_operator: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateOrganisationError {
    #[error("an organisation with this name already exists")]
    NameTaken,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Creates the organisation and its (empty) wallet in one transaction.
pub async fn create(
    conn: &mut AsyncPgConnection,
    org: &NewOrganisation<'_>,
) -> Result<OrganisationId, CreateOrganisationError> {
    conn.transaction(async |conn| {
        let id: OrganisationId = diesel::insert_into(organisations::table)
            .values(org)
            .returning(organisations::id)
            .get_result(conn)
            .await
            .map_err(|e| match e {
                diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                    CreateOrganisationError::NameTaken
                }
                e => e.into(),
            })?;
        diesel::insert_into(organisation_wallets::table)
            .values(organisation_wallets::organisation_id.eq(id))
            .execute(conn)
            .await?;
        Ok(id)
    })
    .await
}

/// Finds an organisation by its name, ignoring case.
pub async fn find_by_name(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<Option<Organisation>> {
    organisations::table
        .filter(diesel::dsl::sql::<Bool>("lower(name) = lower(").bind::<Text, _>(name.trim()).sql(")"))
        .select(Organisation::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_by_id(conn: &mut AsyncPgConnection, id: OrganisationId) -> QueryResult<Option<Organisation>> {
    organisations::table.find(id).select(Organisation::as_select()).first(conn).await.optional()
}

/// Every organisation's id and name, by name: for filter lists.
pub async fn names(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(OrganisationId, String)>> {
    organisations::table
        .order(organisations::name.asc())
        .select((organisations::id, organisations::name))
        .load(conn)
        .await
}

/// What a quote document shows of an organisation.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = organisations)]
pub struct Letterhead {
    pub name: String,
    pub registration_number: Option<String>,
    pub vat_number: Option<String>,
    pub billing_email: Option<String>,
}

pub async fn letterhead(conn: &mut AsyncPgConnection, id: OrganisationId) -> QueryResult<Letterhead> {
    organisations::table.find(id).select(Letterhead::as_select()).first(conn).await
}

/// The reseller itself (the operator organisation), if one is set up.
pub async fn operator_letterhead(conn: &mut AsyncPgConnection) -> QueryResult<Option<Letterhead>> {
    organisations::table
        .filter(organisations::is_operator.eq(true))
        .order(organisations::id.asc())
        .select(Letterhead::as_select())
        .first(conn)
        .await
        .optional()
}
