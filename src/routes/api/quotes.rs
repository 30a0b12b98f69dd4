//! Quotes over the API: create one of each kind (`POST /api/v1/quotes`, with the forms'
//! field names and messages), read one, list them (keyset paging, the list page's
//! filters), accept and decline (`db::main::acceptance`, exactly as the pages do).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::super::catalog::price_service_order;
use super::super::network::{NetworkForm, price_network_order};
use super::super::pickers::{self, Resolved};
use super::super::quotes::{ListQuery, refusal_message};
use super::super::vm_quotes::{self, VmForm};
use super::{ApiError, List, PAGE_SIZE};
use crate::auth::{CurrentUser, Permission, Require, perm};
use crate::db::main::acceptance::{self, DeclineOutcome, Outcome, Refusal};
use crate::db::main::activity::Actor;
use crate::db::main::quotes::{self as db, NewQuote};
use crate::db::main::{invoices, ledger, wallets};
use crate::domain::ids::{OrganisationId, QuoteId};
use crate::domain::money::{format_decimal, format_plain};
use crate::domain::quote::PricedQuote;
use crate::domain::states::{Billing, QuoteKind, QuoteStatus};
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::QUOTE_READERS;

#[derive(Serialize, ToSchema)]
pub struct Line {
    pub line_no: i32,
    pub sku: String,
    pub description: String,
    pub billing: Billing,
    pub unit_price: String,
    pub quantity: i32,
    pub amount: String,
}

/// A quote with its lines and totals (VAT included where named `_total`).
#[derive(Serialize, ToSchema)]
pub struct Quote {
    pub id: QuoteId,
    pub number: String,
    pub organisation_id: OrganisationId,
    pub kind: QuoteKind,
    pub status: QuoteStatus,
    pub title: String,
    pub term_months: Option<i32>,
    pub site_address: Option<String>,
    pub site_suburb: Option<String>,
    pub valid_until: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    /// Percent.
    pub vat_rate: String,
    pub once_off_subtotal: String,
    pub monthly_subtotal: String,
    pub once_off_vat: String,
    pub monthly_vat: String,
    pub once_off_total: String,
    pub monthly_total: String,
    /// Once-off plus the first month, VAT included: what acceptance debits.
    pub amount_due: String,
    pub lines: Vec<Line>,
}

fn quote_json(q: db::Quote, lines: Vec<db::QuoteLine>) -> Quote {
    Quote {
        status: q.status_now(),
        id: q.id,
        number: q.number,
        organisation_id: q.organisation_id,
        kind: q.kind,
        title: q.title,
        term_months: q.term_months,
        site_address: q.site_address,
        site_suburb: q.site_suburb,
        valid_until: q.valid_until,
        created_at: q.created_at,
        accepted_at: q.accepted_at,
        vat_rate: format_plain(q.vat_rate),
        once_off_subtotal: format_decimal(q.once_off_subtotal),
        monthly_subtotal: format_decimal(q.monthly_subtotal),
        once_off_vat: format_decimal(q.once_off_vat),
        monthly_vat: format_decimal(q.monthly_vat),
        once_off_total: format_decimal(q.once_off_total),
        monthly_total: format_decimal(q.monthly_total),
        amount_due: format_decimal(q.amount_due),
        lines: lines
            .into_iter()
            .map(|l| Line {
                line_no: l.line_no,
                sku: l.sku,
                description: l.description,
                billing: l.billing,
                unit_price: format_decimal(l.unit_price),
                quantity: l.quantity,
                amount: format_decimal(l.amount),
            })
            .collect(),
    }
}

/// A quote the user may read: their organisation's, or any with `quote.view_all`.
async fn readable(state: &AppState, user: &CurrentUser, id: QuoteId) -> Result<Quote, ApiError> {
    let mut conn = state.pools.main.get().await?;
    let quote = db::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    if quote.organisation_id != user.organisation_id && !user.can(Permission::QuoteViewAll) {
        return Err(AppError::NotFound.into());
    }
    let lines = db::lines(&conn, id).await?;
    Ok(quote_json(quote, lines))
}

#[utoipa::path(
    get,
    path = "/api/v1/quotes/{id}",
    tag = "quotes",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The quote's id")),
    responses(
        (status = 200, description = "The quote", body = Quote),
        (status = 401, description = "No valid API key", body = super::ErrorBody),
        (status = 403, description = "The key's user lacks the permission", body = super::ErrorBody),
        (status = 404, description = "Not found, or another organisation's", body = super::ErrorBody),
        (status = 429, description = "Too many requests with this key: see `Retry-After`", body = super::ErrorBody),
    ),
)]
pub async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<QuoteId>,
) -> Result<web::Json<Quote>, ApiError> {
    user.require_any(QUOTE_READERS)?;
    Ok(web::Json(readable(&state, &user, id.into_inner()).await?))
}

// ---------------------------------------------------------------- the list

#[derive(Serialize, ToSchema)]
pub struct QuoteSummary {
    pub id: QuoteId,
    pub number: String,
    pub organisation: String,
    pub kind: QuoteKind,
    pub status: QuoteStatus,
    pub title: String,
    pub valid_until: DateTime<Utc>,
    pub amount_due: String,
    pub created_at: DateTime<Utc>,
}

#[utoipa::path(
    get,
    path = "/api/v1/quotes",
    tag = "quotes",
    security(("bearer" = [])),
    params(("status" = Option<String>, Query, description = "pending, accepted, declined, expired or cancelled"), ("kind" = Option<String>, Query, description = "vm, service or network"), ("q" = Option<String>, Query, description = "Part of the number or title"), ("org" = Option<String>, Query, description = "With `quote.view_all`: an organisation's id or name"), ("before" = Option<i64>, Query, description = "The `next_before` of the page before")),
    responses(
        (status = 200, description = "Quotes, newest first", body = super::List<QuoteSummary>),
        (status = 401, description = "No valid API key", body = super::ErrorBody),
        (status = 403, description = "The key's user lacks the permission", body = super::ErrorBody),
        (status = 422, description = "Input or state refused: `field` names what to change", body = super::ErrorBody),
        (status = 429, description = "Too many requests with this key: see `Retry-After`", body = super::ErrorBody),
    ),
)]
/// `GET /api/v1/quotes?status=&kind=&q=&org=&before=`: the list page's filters (`org`
/// only for holders of `quote.view_all`), newest first.
pub async fn list(
    user: CurrentUser,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<List<QuoteSummary>>, ApiError> {
    user.require_any(QUOTE_READERS)?;
    let query = query.into_inner();
    let before = super::cursor(Some(&query.before))?;
    let mut conn = state.pools.main.get().await?;
    let org = match user.can(Permission::QuoteViewAll) {
        true => pickers::resolve_organisation(&mut conn, &query.org).await?,
        false => Resolved { id: Some(user.organisation_id), shown: String::new(), error: None },
    };
    if let Some(error) = &org.error {
        return Err(ApiError::invalid("org", error.clone()));
    }
    let mut filter = query.parse(&org).map_err(|errors| match errors.first() {
        Some((field, message)) => ApiError::invalid(field, message),
        None => ApiError::invalid("org", "Choose an organisation."),
    })?;
    filter.before = before.map(QuoteId);
    let now = Utc::now();
    let rows = db::list(&mut conn, &filter, PAGE_SIZE)
        .await?
        .into_iter()
        .map(|q| QuoteSummary {
            status: q.status.at(q.valid_until, now),
            id: q.id,
            number: q.number,
            organisation: q.organisation_name,
            kind: q.kind,
            title: q.title,
            valid_until: q.valid_until,
            amount_due: format_decimal(q.amount_due),
            created_at: q.created_at,
        })
        .collect();
    Ok(web::Json(List::of(rows, |q: &QuoteSummary| q.id.0)))
}

// ---------------------------------------------------------------- creating one

/// A line of a service quote.
#[derive(Deserialize, ToSchema)]
pub struct LineRequest {
    #[serde(default)]
    #[schema(value_type = i64)]
    product_id: Value,
    /// 1 to 10 000.
    #[serde(default)]
    #[schema(value_type = i64)]
    quantity: Value,
}

/// `POST /api/v1/quotes`: `kind` and the fields of that kind's form. Fields are read as
/// the forms read them (a number or a string of one), so that a wrong value gets the
/// form's message, by its field, rather than a parse error.
#[derive(Deserialize, ToSchema)]
pub struct NewQuoteRequest {
    /// `vm`, `service` or `network`.
    #[serde(default)]
    #[schema(value_type = String)]
    kind: Value,
    /// Service: the products and their quantities.
    #[serde(default)]
    lines: Option<Vec<LineRequest>>,
    /// VM: a template's id, or `custom` for a custom size.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    template_id: Value,
    /// VM: how many, 1 to 50.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    count: Value,
    /// VM and network: 12, 24 or 36.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    term_months: Value,
    /// Custom VM: 1 to 64.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    vcpu: Value,
    /// Custom VM: 1 to 512.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    ram_gb: Value,
    /// Custom VM: 20 to 8000.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    disk_gb: Value,
    /// Custom VM: `ssd`, `nvme` or `hdd`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    disk_type: Value,
    /// Custom VM: `linux` or `windows`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    os: Value,
    /// Network: the offer's provider (`provider` of a network offer).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    provider: Value,
    /// Network: a speed the providers sell.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    speed_mbps: Value,
    /// Network: `fit` (the default: the largest tier up to the speed), `none`, or a tier in Mbps.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    bandwidth_mbps: Value,
    /// Network: a router, or none.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    cpe_id: Value,
    /// Network, with a router: `once_off` (buy) or `monthly` (rent).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    cpe_billing: Value,
    /// Network: the site's street address.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    site_address: Value,
    /// Network: the site's suburb.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    site_suburb: Value,
}

/// A JSON value as a form field would hold it.
fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/quotes",
    tag = "quotes",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeats with this key and the same request get the first answer (kept 24 hours).")),
    request_body = NewQuoteRequest,
    responses(
        (status = 201, description = "The new pending quote", body = Quote),
        (status = 400, description = "Unreadable body", body = super::ErrorBody),
        (status = 401, description = "No valid API key", body = super::ErrorBody),
        (status = 403, description = "The key's user lacks the permission", body = super::ErrorBody),
        (status = 409, description = "A request with this idempotency key is still being answered", body = super::ErrorBody),
        (status = 422, description = "Input or state refused: `field` names what to change", body = super::ErrorBody),
        (status = 429, description = "Too many requests with this key: see `Retry-After`", body = super::ErrorBody),
    ),
)]
pub async fn create(
    required: Require<perm::QuoteCreate>,
    state: web::Data<AppState>,
    body: web::Json<NewQuoteRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = required.user;
    let body = body.into_inner();
    let quote = match QuoteKind::parse(&text(&body.kind)) {
        Some(QuoteKind::Service) => service_quote(&state, &body).await?,
        Some(QuoteKind::Vm) => vm_quote(&state, &body).await?,
        Some(QuoteKind::Network) => network_quote(&state, &body).await?,
        None => return Err(ApiError::invalid("kind", "Choose the kind of quote: vm, service or network.")),
    };
    let new = NewQuote { organisation_id: user.organisation_id, created_by: user.id, quote: &quote };
    let mut conn = state.pools.main.get().await?;
    let id = db::create(&mut conn, &new).await?;
    drop(conn);
    let created = readable(&state, &user, id).await?;
    Ok(HttpResponse::Created().insert_header((header::LOCATION, format!("/api/v1/quotes/{id}"))).json(created))
}

async fn service_quote(state: &AppState, body: &NewQuoteRequest) -> Result<PricedQuote, ApiError> {
    let lines = body.lines.as_deref().unwrap_or_default();
    let chosen: Vec<(String, String)> = lines.iter().map(|l| (text(&l.product_id), text(&l.quantity))).collect();
    match price_service_order(state, &chosen, None).await? {
        Ok(quote) => Ok(quote),
        Err(refused) => {
            // A quantity's own message first, by its line; else the order's.
            let by_line = chosen.iter().enumerate().find_map(|(i, (id, _))| {
                let message = refused.quantities.get(&id.trim().parse::<i64>().ok()?)?;
                Some(ApiError::invalid(format!("lines[{i}].quantity"), message.clone()))
            });
            Err(by_line.unwrap_or_else(|| {
                ApiError::invalid("lines", refused.form.unwrap_or_else(|| "Choose at least one product.".into()))
            }))
        }
    }
}

async fn vm_quote(state: &AppState, body: &NewQuoteRequest) -> Result<PricedQuote, ApiError> {
    let form = VmForm {
        template_id: text(&body.template_id),
        count: text(&body.count),
        term_months: text(&body.term_months),
        vcpu: text(&body.vcpu),
        ram_gb: text(&body.ram_gb),
        disk_gb: text(&body.disk_gb),
        disk_type: text(&body.disk_type),
        os: text(&body.os),
        action: String::new(),
    };
    let refused = |errors: vm_quotes::VmErrors| {
        let (field, message) = errors.first().unwrap_or(("template_id", "Choose a VM template from the list."));
        ApiError::invalid(field, message)
    };
    let order = form.parse(state).await?.map_err(refused)?;
    vm_quotes::priced(&order, state.vat_rate).map_err(|errors| refused(*errors))
}

async fn network_quote(state: &AppState, body: &NewQuoteRequest) -> Result<PricedQuote, ApiError> {
    let form = NetworkForm {
        site_address: text(&body.site_address),
        site_suburb: text(&body.site_suburb),
        speed_mbps: text(&body.speed_mbps),
        term_months: text(&body.term_months),
        bandwidth_mbps: text(&body.bandwidth_mbps),
        cpe_id: text(&body.cpe_id),
        cpe_billing: text(&body.cpe_billing),
        provider: text(&body.provider),
    };
    price_network_order(state, &form.with_default_bandwidth()).await?.map_err(|errors| {
        let (field, message) = errors.first().unwrap_or(("provider", "Choose one of the offers."));
        ApiError::invalid(field, message)
    })
}

// ---------------------------------------------------------------- accept and decline

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    pub status: QuoteStatus,
    /// The wallet's balance after the debit.
    pub balance_after: String,
    /// The tax invoice of the debit (none for a quote of nothing due).
    pub invoice_number: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Declined {
    pub status: QuoteStatus,
}

/// A refusal as the API answers it: 404 for a quote that is not the user's to act on
/// (403 for staff who may read it), 422 with the page's message otherwise.
async fn refused(state: &AppState, user: &CurrentUser, id: QuoteId, refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::NotFound => {
            let exists = match state.pools.main.get().await {
                Ok(mut conn) => db::find(&mut conn, id).await.map(|q| q.is_some()),
                Err(e) => return e.into(),
            };
            match exists {
                Ok(true) if user.can(Permission::QuoteViewAll) => AppError::Forbidden.into(),
                Ok(_) => AppError::NotFound.into(),
                Err(e) => e.into(),
            }
        }
        Refusal::Database(e) => e.into(),
        other => {
            let code = match other {
                Refusal::InsufficientFunds { .. } => "insufficient_funds",
                _ => "not_acceptable",
            };
            let message = refusal_message(&other);
            ApiError { field: Some("status".into()), ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message) }
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/quotes/{id}/accept",
    tag = "quotes",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The quote's id"), ("Idempotency-Key" = Option<String>, Header, description = "Repeats with this key and the same request get the first answer (kept 24 hours).")),
    responses(
        (status = 200, description = "Accepted: the wallet was debited (once, whatever the retries)", body = Accepted),
        (status = 401, description = "No valid API key", body = super::ErrorBody),
        (status = 403, description = "The key's user lacks the permission", body = super::ErrorBody),
        (status = 404, description = "Not found, or another organisation's", body = super::ErrorBody),
        (status = 409, description = "A request with this idempotency key is still being answered", body = super::ErrorBody),
        (status = 422, description = "Input or state refused: `field` names what to change", body = super::ErrorBody),
        (status = 429, description = "Too many requests with this key: see `Retry-After`", body = super::ErrorBody),
    ),
)]
pub async fn accept(
    actor: Actor,
    required: Require<perm::QuoteAccept>,
    state: web::Data<AppState>,
    id: web::Path<QuoteId>,
) -> Result<web::Json<Accepted>, ApiError> {
    let id = id.into_inner();
    let (_turn, mut conn) = state.money_connection(actor.organisation_id).await?;
    match acceptance::accept(&mut conn, id, &actor).await {
        Ok(Outcome::Accepted { balance_after, invoice }) => {
            state.metrics.count_acceptance();
            Ok(web::Json(Accepted {
                status: QuoteStatus::Accepted,
                balance_after: format_decimal(balance_after),
                invoice_number: invoice.map(|i| i.number),
            }))
        }
        // Accepted before (a retry without an idempotency key): the first answer, from
        // its debit (a quote of nothing due moved no money: the balance now).
        Ok(Outcome::AlreadyAccepted) => {
            let balance_after = match ledger::balance_after_debit(&mut conn, id).await? {
                Some(balance) => balance,
                None => wallets::for_organisation(&mut conn, actor.organisation_id)
                    .await?
                    .map(|w| w.balance)
                    .unwrap_or_default(),
            };
            let invoice = invoices::of_quote(&mut conn, id).await?.into_iter().next();
            Ok(web::Json(Accepted {
                status: QuoteStatus::Accepted,
                balance_after: format_decimal(balance_after),
                invoice_number: invoice.map(|(_, number, _)| number),
            }))
        }
        Err(refusal) => {
            if matches!(refusal, Refusal::InsufficientFunds { .. }) {
                state.metrics.count_insufficient_funds();
            }
            drop(conn);
            Err(refused(&state, &required.user, id, refusal).await)
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/quotes/{id}/decline",
    tag = "quotes",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The quote's id"), ("Idempotency-Key" = Option<String>, Header, description = "Repeats with this key and the same request get the first answer (kept 24 hours).")),
    responses(
        (status = 200, description = "Declined", body = Declined),
        (status = 401, description = "No valid API key", body = super::ErrorBody),
        (status = 403, description = "The key's user lacks the permission", body = super::ErrorBody),
        (status = 404, description = "Not found, or another organisation's", body = super::ErrorBody),
        (status = 409, description = "A request with this idempotency key is still being answered", body = super::ErrorBody),
        (status = 422, description = "Input or state refused: `field` names what to change", body = super::ErrorBody),
        (status = 429, description = "Too many requests with this key: see `Retry-After`", body = super::ErrorBody),
    ),
)]
pub async fn decline(
    actor: Actor,
    required: Require<perm::QuoteAccept>,
    state: web::Data<AppState>,
    id: web::Path<QuoteId>,
) -> Result<web::Json<Declined>, ApiError> {
    let id = id.into_inner();
    let (_turn, mut conn) = state.money_connection(actor.organisation_id).await?;
    match acceptance::decline(&mut conn, id, &actor).await {
        Ok(DeclineOutcome::Declined | DeclineOutcome::AlreadyDeclined) => {
            Ok(web::Json(Declined { status: QuoteStatus::Declined }))
        }
        Err(refusal) => {
            drop(conn);
            Err(refused(&state, &required.user, id, refusal).await)
        }
    }
}
