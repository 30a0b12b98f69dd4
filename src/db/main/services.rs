//! Services: one per accepted monthly quote line (DESIGN.md §10). Made by the
//! acceptance transaction (`services_for_accepted_quotes`, the one SQL that makes them),
//! billed by `billing`, cancelled by customers, ended by a full refund.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::activity::{self, Actor, NewActivity};
use super::ledger::{self, Wallet};
use super::schema::{organisation_wallets, quotes, services};
use crate::db::Prepared;
use crate::domain::billing::{Billable, Schedule, VmRequest};
use crate::domain::ids::{OrganisationId, QuoteId, ServiceId};
use crate::domain::states::ServiceStatus;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = services)]
pub struct Service {
    pub id: ServiceId,
    pub organisation_id: OrganisationId,
    pub quote_id: QuoteId,
    pub description: String,
    pub monthly_amount: Decimal,
    pub started_on: NaiveDate,
    pub term_months: i32,
    pub term_ends_on: NaiveDate,
    pub paid_through: NaiveDate,
    pub status: ServiceStatus,
    pub cancel_at: Option<NaiveDate>,
}

impl Service {
    pub fn schedule(&self) -> Schedule {
        Schedule { started_on: self.started_on, paid_through: self.paid_through, cancel_at: self.cancel_at }
    }
}

impl From<Service> for Billable {
    fn from(s: Service) -> Billable {
        Billable { id: s.id, status: s.status, schedule: s.schedule(), monthly_amount: s.monthly_amount }
    }
}

/// An organisation's services that are still billed, oldest first: what it has
/// committed to each month, and what the billing run charges.
pub async fn billable(conn: &mut AsyncPgConnection, org: OrganisationId) -> QueryResult<Vec<Billable>> {
    let rows: Vec<Service> = services::table
        .filter(services::organisation_id.eq(org))
        .filter(services::status.eq_any(ServiceStatus::BILLABLE))
        .order(services::id)
        .select(Service::as_select())
        .load(conn)
        .await?;
    Ok(crate::db::into_domain(rows))
}

/// An organisation's wallet and its services that are still billed (what it has
/// committed to each month), in one query: `None` without a wallet.
pub async fn wallet_and_billable(
    conn: &mut AsyncPgConnection,
    org: OrganisationId,
) -> QueryResult<Option<(Wallet, Vec<Billable>)>> {
    let rows: Vec<(Wallet, Option<Service>)> = organisation_wallets::table
        .left_join(
            services::table.on(services::organisation_id
                .eq(organisation_wallets::organisation_id)
                .and(services::status.eq_any(ServiceStatus::BILLABLE))),
        )
        .filter(organisation_wallets::organisation_id.eq(org))
        .order(services::id)
        .select((Wallet::as_select(), Option::<Service>::as_select()))
        .load(conn)
        .await?;
    let Some(wallet) = <[_]>::first(&rows).map(|(wallet, _)| wallet.clone()) else { return Ok(None) };
    Ok(Some((wallet, crate::db::into_domain(rows.into_iter().filter_map(|(_, s)| s).collect()))))
}

/// Makes the services of a quote just accepted: call after its status is `accepted`, in
/// the same transaction. Takes a shared connection so that it can be pipelined.
pub async fn create_for_quote(mut conn: &AsyncPgConnection, quote: QuoteId) -> QueryResult<()> {
    Prepared::new("SELECT services_for_accepted_quotes($1)")
        .bind::<Nullable<BigInt>, _>(Some(quote))
        .execute(&mut conn)
        .await
        .map(drop)
}

/// An organisation's services, newest first, with their quote numbers.
pub async fn for_organisation(
    conn: &mut AsyncPgConnection,
    org: OrganisationId,
) -> QueryResult<Vec<(Service, String)>> {
    services::table
        .inner_join(quotes::table)
        .filter(services::organisation_id.eq(org))
        .order(services::id.desc())
        .select((Service::as_select(), quotes::number))
        .load(conn)
        .await
}

/// One of the organisation's services, with its quote's number.
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: ServiceId,
    org: OrganisationId,
) -> QueryResult<Option<(Service, String)>> {
    services::table
        .inner_join(quotes::table)
        .filter(services::id.eq(id))
        .filter(services::organisation_id.eq(org))
        .select((Service::as_select(), quotes::number))
        .first(conn)
        .await
        .optional()
}

/// "Suspend/resume/deprovision requested" rows for every VM of these services (a
/// service that is not a VM has none): each VM its acceptance asked to provision. Takes
/// a shared connection so that it can be pipelined.
pub async fn request_vm_work(
    mut conn: &AsyncPgConnection,
    services: Vec<ServiceId>,
    request: VmRequest,
) -> QueryResult<usize> {
    Prepared::new(
        "INSERT INTO vm_logs (organisation_id, quote_id, vm_quote_id, vm_name, event, detail)
         SELECT p.organisation_id, p.quote_id, p.vm_quote_id, p.vm_name, $2, jsonb_build_object('service', s.id)
         FROM services s
         JOIN vm_quotes v ON v.quote_line_id = s.quote_line_id
         JOIN vm_logs p ON p.vm_quote_id = v.id AND p.event = 'provision requested'
         WHERE s.id = ANY($1)
         ORDER BY p.id",
    )
    .bind::<Array<BigInt>, _>(services.into_iter().map(|s| s.0).collect::<Vec<_>>())
    .bind::<Text, _>(request.event())
    .execute(&mut conn)
    .await
}

#[derive(Debug, PartialEq, Eq)]
pub enum Cancelled {
    /// The service stops after this day: no month starting later is charged.
    At(NaiveDate),
}

#[derive(Debug, thiserror::Error)]
pub enum CancelRefusal {
    #[error("service not found")]
    NotFound,
    #[error("this service is already cancelled: it ends on {}", .0.format("%-d %B %Y"))]
    AlreadyCancelled(NaiveDate),
    #[error("this service is {} and cannot be cancelled", .0.label())]
    NotRunning(ServiceStatus),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Cancels one of the actor's organisation's services as of `today`: inside the term
/// it ends at the term's end, after it at the end of the running month. The monthly run
/// charges no month after that day and then marks it cancelled.
pub async fn cancel(
    conn: &mut AsyncPgConnection,
    id: ServiceId,
    actor: &Actor,
    today: NaiveDate,
) -> Result<Cancelled, CancelRefusal> {
    conn.transaction(async |conn| {
        ledger::bound_lock_waits(conn).await?;
        let service = services::table
            .find(id)
            .filter(services::organisation_id.eq(actor.organisation_id))
            .select(Service::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(CancelRefusal::NotFound)?;
        if let Some(day) = service.cancel_at {
            return Err(CancelRefusal::AlreadyCancelled(day));
        }
        if !service.status.is_billable() {
            return Err(CancelRefusal::NotRunning(service.status));
        }
        let day = service.schedule().cancellation_day(service.term_ends_on, today);
        diesel::update(services::table.find(id))
            .set((services::cancel_at.eq(day), services::updated_at.eq(diesel::dsl::now)))
            .execute(conn)
            .await?;
        activity::record(
            conn,
            &NewActivity {
                user_id: Some(actor.user_id),
                organisation_id: Some(actor.organisation_id),
                action: "service.cancel",
                target: Some(&format!("service:{id}")),
                ip: actor.ip.as_deref(),
                detail: serde_json::json!({ "description": service.description, "cancel_at": day.to_string() }),
                ..Default::default()
            },
        )
        .await?;
        Ok(Cancelled::At(day))
    })
    .await
}

/// A quote's running services (for the refund form).
pub async fn running_of_quote(conn: &mut AsyncPgConnection, quote: QuoteId) -> QueryResult<Vec<Service>> {
    services::table
        .filter(services::quote_id.eq(quote))
        .filter(services::status.eq_any(ServiceStatus::BILLABLE))
        .order(services::id)
        .select(Service::as_select())
        .load(conn)
        .await
}

/// Ends one running service of a quote at once (staff, with a pro-rata refund), asking
/// for its VMs to be deprovisioned; false when it is not one. Runs inside the refund's
/// transaction.
pub async fn end_one(conn: &mut AsyncPgConnection, quote: QuoteId, id: ServiceId) -> QueryResult<bool> {
    let ended = diesel::update(services::table.find(id))
        .filter(services::quote_id.eq(quote))
        .filter(services::status.eq_any(ServiceStatus::BILLABLE))
        .set((services::status.eq(ServiceStatus::Ended), services::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await?;
    if ended == 1 {
        request_vm_work(conn, vec![id], VmRequest::Deprovision).await?;
    }
    Ok(ended == 1)
}

/// Ends a quote's running services at once (a full refund), asking for its VMs to be
/// deprovisioned. Runs inside the refund's transaction.
pub async fn end_for_quote(conn: &mut AsyncPgConnection, quote: QuoteId) -> QueryResult<usize> {
    let ended: Vec<ServiceId> = diesel::update(services::table)
        .filter(services::quote_id.eq(quote))
        .filter(services::status.eq_any(ServiceStatus::BILLABLE))
        .set((services::status.eq(ServiceStatus::Ended), services::updated_at.eq(diesel::dsl::now)))
        .returning(services::id)
        .get_results(conn)
        .await?;
    if !ended.is_empty() {
        request_vm_work(conn, ended.clone(), VmRequest::Deprovision).await?;
    }
    Ok(ended.len())
}
