//! Organisations. Every organisation has exactly one wallet, created with it. Admin
//! changes (create, edit, suspend, reactivate) write their activity row in the same
//! transaction.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde_json::json;

use super::activity::Actor;
use super::schema::{organisation_wallets, organisations};
use super::users;
use crate::domain::email::Email;
use crate::domain::ids::OrganisationId;
use crate::domain::organisation::VatNumber;
use crate::domain::states::OrganisationStatus;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    pub id: OrganisationId,
    pub name: String,
    pub status: OrganisationStatus,
    pub is_operator: bool,
    pub registration_number: Option<String>,
    pub vat_number: Option<String>,
    pub billing_email: Option<String>,
    pub suspended_reason: Option<String>,
    pub address: Option<String>,
}

/// A new organisation; its VAT number and billing email only as parsed.
#[derive(Insertable)]
#[diesel(table_name = organisations)]
pub struct NewOrganisation<'a> {
    pub name: &'a str,
    pub registration_number: Option<&'a str>,
    pub vat_number: Option<&'a VatNumber>,
    pub billing_email: Option<&'a Email>,
    pub is_operator: bool,
    pub address: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateOrganisationError {
    #[error("an organisation with this name already exists")]
    NameTaken,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

fn name_taken(e: diesel::result::Error) -> CreateOrganisationError {
    match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            CreateOrganisationError::NameTaken
        }
        e => e.into(),
    }
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
            .map_err(name_taken)?;
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

/// Organisations whose name contains `text` (any case), at most `limit`: the exact
/// name first, then names that start with it, then the rest, each by name. What an
/// organisation field suggests as a person types, and how a typed name is resolved.
pub async fn search_names(
    conn: &mut AsyncPgConnection,
    text: &str,
    limit: i64,
) -> QueryResult<Vec<(OrganisationId, String)>> {
    let text = text.trim();
    organisations::table
        .filter(organisations::name.ilike(crate::db::like_pattern(text)))
        .order((
            diesel::dsl::sql::<Bool>("lower(name) = lower(").bind::<Text, _>(text).sql(") DESC"),
            diesel::dsl::sql::<Bool>("name ILIKE ")
                .bind::<Text, _>(format!("{}%", crate::db::escape_like(text)))
                .sql(" DESC"),
            organisations::name.asc(),
        ))
        .limit(limit)
        .select((organisations::id, organisations::name))
        .load(conn)
        .await
}

/// The name of an organisation, if there is one with this id.
pub async fn name_of(conn: &mut AsyncPgConnection, id: OrganisationId) -> QueryResult<Option<String>> {
    organisations::table.find(id).select(organisations::name).first(conn).await.optional()
}

/// What a quote document shows of an organisation.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = organisations)]
pub struct Letterhead {
    pub name: String,
    pub registration_number: Option<String>,
    pub vat_number: Option<String>,
    pub billing_email: Option<String>,
    pub address: Option<String>,
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

/// What an admin edits of an organisation (its wallet's threshold included).
#[derive(Debug, Clone)]
pub struct Details<'a> {
    pub name: &'a str,
    pub registration_number: Option<&'a str>,
    pub vat_number: Option<&'a VatNumber>,
    pub billing_email: Option<&'a Email>,
    /// For tax invoices: several lines.
    pub address: Option<&'a str>,
    pub low_balance_threshold: Decimal,
}

impl Details<'_> {
    fn to_json(&self) -> serde_json::Value {
        details_json(
            self.name,
            self.registration_number,
            self.vat_number.map(VatNumber::as_str),
            self.billing_email.map(Email::as_str),
            self.address,
            self.low_balance_threshold,
        )
    }
}

/// Details as the activity log records them, before and after a change.
fn details_json(
    name: &str,
    registration_number: Option<&str>,
    vat_number: Option<&str>,
    billing_email: Option<&str>,
    address: Option<&str>,
    low_balance_threshold: Decimal,
) -> serde_json::Value {
    json!({
        "name": name,
        "registration_number": registration_number,
        "vat_number": vat_number,
        "billing_email": billing_email,
        "address": address,
        "low_balance_threshold": low_balance_threshold.to_string(),
    })
}

fn target(id: OrganisationId) -> String {
    format!("organisation:{id}")
}

/// An admin creates a customer organisation with its wallet and threshold.
pub async fn create_with_details(
    conn: &mut AsyncPgConnection,
    details: &Details<'_>,
    actor: &Actor,
) -> Result<OrganisationId, CreateOrganisationError> {
    conn.transaction(async |conn| {
        let new = NewOrganisation {
            name: details.name,
            registration_number: details.registration_number,
            vat_number: details.vat_number,
            billing_email: details.billing_email,
            is_operator: false,
            address: details.address,
        };
        let id = create(conn, &new).await?;
        diesel::update(organisation_wallets::table.filter(organisation_wallets::organisation_id.eq(id)))
            .set(organisation_wallets::low_balance_threshold.eq(details.low_balance_threshold))
            .execute(conn)
            .await?;
        let detail = json!({ "before": null, "after": details.to_json() });
        actor.record(conn, "organisation.created", Some(id), &target(id), detail).await?;
        Ok(id)
    })
    .await
}

#[derive(Queryable, Debug)]
struct StoredDetails {
    name: String,
    registration_number: Option<String>,
    vat_number: Option<String>,
    billing_email: Option<String>,
    address: Option<String>,
    low_balance_threshold: Decimal,
}

/// Changes an organisation's details; `Ok(false)` when nothing differed (no log row).
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: OrganisationId,
    details: &Details<'_>,
    actor: &Actor,
) -> Result<bool, CreateOrganisationError> {
    conn.transaction(async |conn| {
        let before: StoredDetails = organisations::table
            .inner_join(organisation_wallets::table)
            .filter(organisations::id.eq(id))
            .select((
                organisations::name,
                organisations::registration_number,
                organisations::vat_number,
                organisations::billing_email,
                organisations::address,
                organisation_wallets::low_balance_threshold,
            ))
            .for_update()
            .first(conn)
            .await?;
        // As stored, which may predate today's parsing.
        let old = details_json(
            &before.name,
            before.registration_number.as_deref(),
            before.vat_number.as_deref(),
            before.billing_email.as_deref(),
            before.address.as_deref(),
            before.low_balance_threshold,
        );
        let new = details.to_json();
        if old == new {
            return Ok(false);
        }
        diesel::update(organisations::table.find(id))
            .set((
                organisations::name.eq(details.name),
                organisations::registration_number.eq(details.registration_number),
                organisations::vat_number.eq(details.vat_number),
                organisations::billing_email.eq(details.billing_email),
                organisations::address.eq(details.address),
                organisations::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await
            .map_err(name_taken)?;
        diesel::update(organisation_wallets::table.filter(organisation_wallets::organisation_id.eq(id)))
            .set(organisation_wallets::low_balance_threshold.eq(details.low_balance_threshold))
            .execute(conn)
            .await?;
        actor
            .record(conn, "organisation.updated", Some(id), &target(id), json!({ "before": old, "after": new }))
            .await?;
        Ok(true)
    })
    .await
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("the operator organisation cannot be suspended")]
    Operator,
    #[error("this would leave no active user who can manage users and roles")]
    LastAdmin,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Suspends (with a reason) or reactivates (`reason` None) an organisation. Its users'
/// sessions end on their next request: the authentication middleware reads the status.
/// `Ok(false)` when it already had that status.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: OrganisationId,
    reason: Option<&str>,
    actor: &Actor,
) -> Result<bool, StatusError> {
    conn.transaction(async |conn| {
        users::lock_admin_changes(conn).await?;
        let (status, old_reason, is_operator): (OrganisationStatus, Option<String>, bool) = organisations::table
            .find(id)
            .select((organisations::status, organisations::suspended_reason, organisations::is_operator))
            .for_update()
            .first(conn)
            .await?;
        let new_status = if reason.is_some() { OrganisationStatus::Suspended } else { OrganisationStatus::Active };
        if reason.is_some() && is_operator {
            return Err(StatusError::Operator);
        }
        if status == new_status {
            return Ok(false);
        }
        diesel::update(organisations::table.find(id))
            .set((
                organisations::status.eq(new_status),
                organisations::suspended_reason.eq(reason),
                organisations::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        if users::active_admin_count(conn).await? == 0 {
            return Err(StatusError::LastAdmin);
        }
        let action = if reason.is_some() { "organisation.suspended" } else { "organisation.reactivated" };
        let detail = json!({
            "before": { "status": status, "suspended_reason": old_reason },
            "after": { "status": new_status, "suspended_reason": reason },
        });
        actor.record(conn, action, Some(id), &target(id), detail).await?;
        Ok(true)
    })
    .await
}
