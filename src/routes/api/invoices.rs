//! Tax invoices and credit notes over the API, as `/invoices` shows them: customers
//! their own organisation's, holders of `transactions.view_all` every one. The PDF is
//! the one the page serves, as stored when issued.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::invoices::{LIST_LIMIT, readable, scope, stored_pdf};
use super::super::pickers;
use super::ApiError;
use crate::auth::CurrentUser;
use crate::db::main::invoices::{self, Filter, Listed};
use crate::domain::ids::{InvoiceId, OrganisationId};
use crate::domain::money::{format_decimal, format_plain};
use crate::domain::states::InvoiceKind;
use crate::domain::time::parse_month;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct InvoiceSummary {
    pub id: InvoiceId,
    pub number: String,
    pub kind: InvoiceKind,
    pub organisation_id: OrganisationId,
    pub recipient_name: String,
    pub issued_at: DateTime<Utc>,
    pub reference: String,
    pub subtotal: String,
    pub vat: String,
    pub total: String,
}

impl From<Listed> for InvoiceSummary {
    fn from(d: Listed) -> Self {
        InvoiceSummary {
            id: d.id,
            number: d.number,
            kind: d.kind,
            organisation_id: d.organisation_id,
            recipient_name: d.recipient_name,
            issued_at: d.issued_at,
            reference: d.reference,
            subtotal: format_decimal(d.subtotal),
            vat: format_decimal(d.vat),
            total: format_decimal(d.total),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceList {
    /// Newest first.
    pub data: Vec<InvoiceSummary>,
    /// More documents match than the list holds: narrow it by month.
    pub limited: bool,
}

#[derive(Deserialize)]
pub struct ListQuery {
    /// `YYYY-MM`.
    #[serde(default)]
    month: String,
    /// Staff: an organisation's id or name.
    #[serde(default)]
    organisation: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/invoices",
    tag = "invoices",
    security(("bearer" = [])),
    params(("month" = Option<String>, Query, description = "YYYY-MM"), ("organisation" = Option<String>, Query, description = "With `transactions.view_all`: an organisation's id or name")),
    responses(
        (status = 200, description = "Tax invoices and credit notes, newest first", body = InvoiceList),
        (status = 401, description = "No valid API key", body = super::ErrorBody),
        (status = 403, description = "The key's user lacks the permission", body = super::ErrorBody),
        (status = 422, description = "Input or state refused: `field` names what to change", body = super::ErrorBody),
        (status = 429, description = "Too many requests with this key: see `Retry-After`", body = super::ErrorBody),
    ),
)]
pub async fn list(
    user: CurrentUser,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<InvoiceList>, ApiError> {
    let own = scope(&user)?;
    let month = match query.month.trim() {
        "" => None,
        raw => Some(parse_month(raw).map_err(|e| ApiError::invalid("month", e))?),
    };
    let mut conn = state.pools.main.get().await?;
    let organisation = match own {
        Some(own) => Some(own),
        None => {
            let org = pickers::resolve_organisation(&mut conn, &query.organisation).await?;
            if let Some(error) = org.error {
                return Err(ApiError::invalid("organisation", error));
            }
            org.id
        }
    };
    let rows = invoices::list(&mut conn, &Filter { organisation, month }, LIST_LIMIT).await?;
    let limited = rows.len() as i64 == LIST_LIMIT;
    Ok(web::Json(InvoiceList { data: rows.into_iter().map(InvoiceSummary::from).collect(), limited }))
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceLine {
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub amount: String,
    pub vat: String,
}

#[derive(Serialize, ToSchema)]
pub struct Invoice {
    pub id: InvoiceId,
    pub number: String,
    pub kind: InvoiceKind,
    pub organisation_id: OrganisationId,
    pub issued_at: DateTime<Utc>,
    pub supplier_name: String,
    pub recipient_name: String,
    /// Percent.
    pub vat_rate: String,
    pub subtotal: String,
    pub vat: String,
    pub total: String,
    /// The invoice a credit note corrects.
    pub original_invoice_id: Option<InvoiceId>,
    pub reference: String,
    pub lines: Vec<InvoiceLine>,
}

#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}",
    tag = "invoices",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The invoice's id")),
    responses(
        (status = 200, description = "The document as issued", body = Invoice),
        (status = 401, description = "No valid API key", body = super::ErrorBody),
        (status = 403, description = "The key's user lacks the permission", body = super::ErrorBody),
        (status = 404, description = "Not found, or another organisation's", body = super::ErrorBody),
        (status = 429, description = "Too many requests with this key: see `Retry-After`", body = super::ErrorBody),
    ),
)]
pub async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<InvoiceId>,
) -> Result<web::Json<Invoice>, ApiError> {
    let mut conn = state.pools.main.get().await?;
    let stored = readable(&mut conn, &user, id.into_inner()).await?;
    let doc = stored.document;
    Ok(web::Json(Invoice {
        id: stored.id,
        organisation_id: stored.organisation_id,
        original_invoice_id: stored.original_invoice_id,
        number: doc.number,
        kind: doc.kind,
        issued_at: doc.issued_at,
        supplier_name: doc.supplier.name,
        recipient_name: doc.recipient.name,
        vat_rate: format_plain(doc.vat_rate),
        subtotal: format_decimal(doc.subtotal),
        vat: format_decimal(doc.vat),
        total: format_decimal(doc.total),
        reference: doc.reference,
        lines: doc
            .lines
            .into_iter()
            .map(|l| InvoiceLine {
                description: l.description,
                quantity: format_plain(l.quantity),
                unit_price: format_decimal(l.unit_price),
                amount: format_decimal(l.amount),
                vat: format_decimal(l.vat),
            })
            .collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}.pdf",
    tag = "invoices",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The invoice's id")),
    responses(
        (status = 200, description = "The document as PDF", content_type = "application/pdf"),
        (status = 401, description = "No valid API key", body = super::ErrorBody),
        (status = 403, description = "The key's user lacks the permission", body = super::ErrorBody),
        (status = 404, description = "Not found, or another organisation's", body = super::ErrorBody),
        (status = 429, description = "Too many requests with this key: see `Retry-After`", body = super::ErrorBody),
    ),
)]
pub async fn pdf(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<InvoiceId>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pools.main.get().await?;
    let stored = readable(&mut conn, &user, id.into_inner()).await?;
    drop(conn);
    Ok(stored_pdf(stored).await?)
}
