//! `/services`: the organisation's services (what, since, monthly amount, paid through,
//! next charge, term, status, what is owed), and cancelling one: a confirmation page
//! whose button posts to `POST /services/{id}/cancel`, which cancels at once when called
//! directly. Staff's `/admin/billing`: the last runs, the next 30 days of charges, the
//! organisations in arrears, and a button that runs the billing for today.

use actix_session::Session;
use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{PageOr303, done, unprocessable};
use crate::auth::session::Flash;
use crate::auth::{Permission, Require, perm};
use crate::db::main::activity::Actor;
use crate::db::main::billing as runs;
use crate::db::main::services::{self, CancelRefusal, Cancelled, Service};
use crate::domain::billing::Billable;
use crate::domain::ids::{OrganisationId, QuoteId, ServiceId};
use crate::domain::money::format_zar;
use crate::domain::states::{RunSource, ServiceStatus};
use crate::domain::time::{format_day, format_sast, today_sast};
use crate::error::AppError;
use crate::jobs::{self, Turn};
use crate::state::AppState;
use crate::templates::{Page, sentence};

/// A service as its row on a page says it.
pub struct ServiceView {
    pub id: ServiceId,
    pub description: String,
    pub quote: (QuoteId, String),
    pub since: String,
    pub monthly: String,
    pub paid_through: String,
    /// The next charge's day and amount ("due now" when already due).
    pub next_charge: Option<(String, String)>,
    pub term: String,
    pub status: ServiceStatus,
    /// What is owed and since when, in arrears or suspended.
    pub owed: Option<(String, String)>,
    pub ends_on: Option<String>,
    pub cancellable: bool,
}

impl ServiceView {
    pub fn new(service: Service, quote_number: String, today: NaiveDate) -> ServiceView {
        let (id, quote_id, description) = (service.id, service.quote_id, service.description.clone());
        let (started_on, term_months, term_ends_on) = (service.started_on, service.term_months, service.term_ends_on);
        let cancellable = service.status.is_billable() && service.cancel_at.is_none();
        let ends_on = service.cancel_at.map(format_day);
        let billable = Billable::from(service);
        let outlook = billable.outlook(today);
        let running = billable.status.is_billable();
        ServiceView {
            id,
            description,
            quote: (quote_id, quote_number),
            since: format_day(started_on),
            monthly: format_zar(billable.monthly_amount),
            paid_through: format_day(billable.schedule.paid_through),
            next_charge: outlook.next_charge.filter(|_| running).map(|day| {
                let when = if day <= today { "due now".to_owned() } else { format_day(day) };
                (when, format_zar(billable.monthly_amount))
            }),
            term: format!(
                "{term_months} month{}, to {}",
                if term_months == 1 { "" } else { "s" },
                format_day(term_ends_on)
            ),
            status: billable.status,
            owed: outlook.owed_since.map(|since| (format_zar(outlook.owed), format_day(since))),
            ends_on,
            cancellable,
        }
    }
}

/// An organisation's services as their rows say them, newest first.
pub async fn views_of(
    conn: &mut diesel_async::AsyncPgConnection,
    org: OrganisationId,
) -> Result<Vec<ServiceView>, AppError> {
    let today = today_sast();
    let rows = services::for_organisation(conn, org).await?;
    Ok(rows.into_iter().map(|(service, number)| ServiceView::new(service, number, today)).collect())
}

#[derive(Template, WebTemplate)]
#[template(path = "services.html")]
pub struct ServicesPage {
    page: Page,
    services: Vec<ServiceView>,
    can_cancel: bool,
}

pub async fn list(
    required: Require<perm::WalletView>,
    page: Page,
    state: web::Data<AppState>,
) -> Result<ServicesPage, AppError> {
    let mut conn = state.pools.main.get().await?;
    let services = views_of(&mut conn, required.user.organisation_id).await?;
    Ok(ServicesPage { page, services, can_cancel: required.user.can(Permission::QuoteAccept) })
}

#[derive(Template, WebTemplate)]
#[template(path = "service_cancel.html")]
pub struct CancelPage {
    page: Page,
    service: ServiceView,
    /// When the cancellation would take effect if confirmed now.
    would_end: String,
    error: Option<String>,
}

async fn cancel_page(
    state: &AppState,
    page: Page,
    org: OrganisationId,
    id: ServiceId,
    error: Option<String>,
) -> Result<CancelPage, AppError> {
    let mut conn = state.pools.main.get().await?;
    let (service, number) = services::find(&mut conn, id, org).await?.ok_or(AppError::NotFound)?;
    let today = today_sast();
    let would_end =
        service.cancel_at.unwrap_or_else(|| service.schedule().cancellation_day(service.term_ends_on, today));
    Ok(CancelPage { page, service: ServiceView::new(service, number, today), would_end: format_day(would_end), error })
}

/// `GET /services/{id}/cancel`: what cancelling would do, and the button that does it.
pub async fn confirm_cancel(
    required: Require<perm::QuoteAccept>,
    page: Page,
    state: web::Data<AppState>,
    id: web::Path<ServiceId>,
) -> Result<CancelPage, AppError> {
    cancel_page(&state, page, required.user.organisation_id, id.into_inner(), None).await
}

/// `POST /services/{id}/cancel`: cancels at once (the confirmation is the page before).
pub async fn cancel(
    actor: Actor,
    _required: Require<perm::QuoteAccept>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<ServiceId>,
) -> Result<PageOr303<CancelPage>, AppError> {
    let id = id.into_inner();
    let mut conn = state.pools.main.get().await?;
    let refusal = match services::cancel(&mut conn, id, &actor, today_sast()).await {
        Ok(Cancelled::At(day)) => {
            let message = format!("Cancelled. The service runs to {} and no later month is charged.", format_day(day));
            return done(&session, "/services", Flash::success(message));
        }
        Err(CancelRefusal::NotFound) => return Err(AppError::NotFound),
        Err(CancelRefusal::Database(e)) => return Err(e.into()),
        Err(refusal) => refusal,
    };
    drop(conn);
    let page = cancel_page(&state, page, actor.organisation_id, id, Some(sentence(&refusal.to_string()))).await?;
    unprocessable(page)
}

// ---------------------------------------------------------------- staff

pub struct RunView {
    pub run_for: String,
    pub source: RunSource,
    pub started: String,
    pub finished: bool,
    pub organisations_charged: i32,
    pub organisations_short: i32,
    pub months_charged: i32,
    pub total: String,
}

pub struct ArrearsView {
    pub organisation_id: OrganisationId,
    pub name: String,
    pub owed: String,
    pub since: String,
    pub days: i64,
    pub suspended: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_billing.html")]
pub struct BillingPage {
    page: Page,
    runs: Vec<RunView>,
    /// (day, services charged, amount)
    upcoming: Vec<(String, i64, String)>,
    arrears: Vec<ArrearsView>,
    can_run: bool,
}

/// How many past runs the page lists.
const RUNS_SHOWN: i64 = 20;
/// How far ahead the page lists charges.
const UPCOMING_DAYS: i32 = 30;

pub async fn billing(
    required: Require<perm::TransactionsViewAll>,
    page: Page,
    state: web::Data<AppState>,
) -> Result<BillingPage, AppError> {
    let mut conn = state.pools.main.get().await?;
    let today = today_sast();
    let runs = runs::recent_runs(&mut conn, RUNS_SHOWN)
        .await?
        .into_iter()
        .map(|r| RunView {
            run_for: format_day(r.run_for),
            source: r.source,
            started: format_sast(r.started_at),
            finished: r.finished_at.is_some(),
            organisations_charged: r.organisations_charged,
            organisations_short: r.organisations_short,
            months_charged: r.months_charged,
            total: format_zar(r.total_charged),
        })
        .collect();
    let upcoming = runs::upcoming(&mut conn, today, UPCOMING_DAYS)
        .await?
        .into_iter()
        .map(|(day, count, amount)| (format_day(day), count, format_zar(amount)))
        .collect();
    // One row per organisation (they come ordered by it): the sum owed, since the oldest.
    let mut owing: Vec<(OrganisationId, String, Decimal, NaiveDate, bool)> = Vec::new();
    for (org, name, service) in runs::in_arrears(&mut conn).await? {
        let suspended = service.status == ServiceStatus::Suspended;
        let outlook = Billable::from(service).outlook(today);
        let Some(since) = outlook.owed_since else { continue };
        match owing.last_mut() {
            Some(last) if last.0 == org => {
                last.2 += outlook.owed;
                last.3 = last.3.min(since);
                last.4 |= suspended;
            }
            _ => owing.push((org, name, outlook.owed, since, suspended)),
        }
    }
    let arrears = owing
        .into_iter()
        .map(|(organisation_id, name, owed, since, suspended)| ArrearsView {
            organisation_id,
            name,
            owed: format_zar(owed),
            since: format_day(since),
            days: (today - since).num_days(),
            suspended,
        })
        .collect();
    Ok(BillingPage { page, runs, upcoming, arrears, can_run: required.user.can(Permission::WalletCredit) })
}

/// `POST /admin/billing/run`: the billing run for today, now, under the same lock as the
/// hourly job (so it never runs twice at once), on a connection of its own.
pub async fn run_now(
    required: Require<perm::WalletCredit>,
    session: Session,
    state: web::Data<AppState>,
) -> Result<PageOr303<BillingPage>, AppError> {
    let _ = required;
    let conn = deadpool::managed::Object::take(state.pools.main.get().await?);
    let workers = async || {
        let mut workers = Vec::with_capacity(runs::WORKERS);
        for _ in 0..runs::WORKERS {
            workers.push(state.pools.main.get().await?);
        }
        anyhow::Ok(workers)
    };
    let flash =
        match jobs::run_once(conn, workers, &state.metrics, state.grace_days, state.vat_rate, RunSource::Staff).await {
            Ok(Turn::Ran(summary)) => Flash::success(format!(
                "Billing run for {}: {} month(s) charged to {} organisation(s), {} in all; {} short.",
                format_day(today_sast()),
                summary.months_charged,
                summary.organisations_charged,
                format_zar(summary.total_charged),
                summary.organisations_short
            )),
            Ok(Turn::Busy) => Flash::info("A billing run is under way already; its results appear here when it ends."),
            Err(e) => return Err(AppError::Internal(e)),
        };
    done(&session, "/admin/billing", flash)
}
