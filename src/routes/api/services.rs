//! The organisation's services over the API (`/services`), and cancelling one, which
//! takes effect as the page's button does: at the term's end inside the term, else at
//! the end of the paid month.

use actix_web::http::StatusCode;
use actix_web::web;
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiError;
use crate::auth::{Require, perm};
use crate::db::main::activity::Actor;
use crate::db::main::services::{self, CancelRefusal, Cancelled};
use crate::domain::ids::{QuoteId, ServiceId};
use crate::domain::money::format_decimal;
use crate::domain::states::ServiceStatus;
use crate::domain::time::today_sast;
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::sentence;

#[derive(Serialize, ToSchema)]
pub struct Service {
    pub id: ServiceId,
    pub description: String,
    pub quote_id: QuoteId,
    pub quote_number: String,
    /// VAT included.
    pub monthly_amount: String,
    pub status: ServiceStatus,
    pub started_on: NaiveDate,
    pub term_months: i32,
    pub term_ends_on: NaiveDate,
    /// The last day already paid.
    pub paid_through: NaiveDate,
    /// The day a cancelled service stops; no month starting later is charged.
    pub cancel_at: Option<NaiveDate>,
}

#[utoipa::path(
    get,
    path = "/api/v1/services",
    tag = "services",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organisation's services, newest first", body = Vec<Service>),
        (status = 401, description = "No valid API key", body = super::ErrorBody),
        (status = 403, description = "The key's user lacks the permission", body = super::ErrorBody),
        (status = 429, description = "Too many requests with this key: see `Retry-After`", body = super::ErrorBody),
    ),
)]
/// Newest first.
pub async fn list(
    required: Require<perm::WalletView>,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<Service>>, ApiError> {
    let mut conn = state.pools.main.get().await?;
    let rows = services::for_organisation(&mut conn, required.user.organisation_id)
        .await?
        .into_iter()
        .map(|(s, quote_number)| Service {
            id: s.id,
            description: s.description,
            quote_id: s.quote_id,
            quote_number,
            monthly_amount: format_decimal(s.monthly_amount),
            status: s.status,
            started_on: s.started_on,
            term_months: s.term_months,
            term_ends_on: s.term_ends_on,
            paid_through: s.paid_through,
            cancel_at: s.cancel_at,
        })
        .collect();
    Ok(web::Json(rows))
}

#[derive(Serialize, ToSchema)]
pub struct CancelledService {
    pub id: ServiceId,
    /// The service runs to this day; no later month is charged.
    pub cancel_at: NaiveDate,
}

#[utoipa::path(
    post,
    path = "/api/v1/services/{id}/cancel",
    tag = "services",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The service's id"), ("Idempotency-Key" = Option<String>, Header, description = "Repeats with this key and the same request get the first answer (kept 24 hours).")),
    responses(
        (status = 200, description = "Cancelled: the day it stops", body = CancelledService),
        (status = 401, description = "No valid API key", body = super::ErrorBody),
        (status = 403, description = "The key's user lacks the permission", body = super::ErrorBody),
        (status = 404, description = "Not found, or another organisation's", body = super::ErrorBody),
        (status = 409, description = "A request with this idempotency key is still being answered", body = super::ErrorBody),
        (status = 422, description = "Input or state refused: `field` names what to change", body = super::ErrorBody),
        (status = 429, description = "Too many requests with this key: see `Retry-After`", body = super::ErrorBody),
    ),
)]
pub async fn cancel(
    actor: Actor,
    _: Require<perm::QuoteAccept>,
    state: web::Data<AppState>,
    id: web::Path<ServiceId>,
) -> Result<web::Json<CancelledService>, ApiError> {
    let id = id.into_inner();
    let mut conn = state.pools.main.get().await?;
    match services::cancel(&mut conn, id, &actor, today_sast()).await {
        Ok(Cancelled::At(day)) => Ok(web::Json(CancelledService { id, cancel_at: day })),
        Err(CancelRefusal::NotFound) => Err(AppError::NotFound.into()),
        Err(CancelRefusal::Database(e)) => Err(e.into()),
        Err(refusal) => {
            let error =
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "not_cancellable", sentence(&refusal.to_string()));
            Err(ApiError { field: Some("status".into()), ..error })
        }
    }
}
