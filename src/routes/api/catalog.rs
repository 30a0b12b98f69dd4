//! The catalogs over the API, priced as their pages price them: AAS products with sell
//! prices (`/catalog`), VM templates (`/catalog/vm`), and the network offers for a site
//! (`/quotes/new/network`'s comparison: every provider that can serve it, cheapest
//! contract first, and why the others cannot).

use actix_web::web;
use serde::Serialize;
use utoipa::ToSchema;

use super::super::network::NetworkForm;
use super::ApiError;
use crate::auth::{Permission, Require, perm};
use crate::db::aas::templates;
use crate::domain::ids::{CategoryId, ProductId, TemplateId};
use crate::domain::money::format_decimal;
use crate::domain::network::Provider;
use crate::domain::states::Billing;
use crate::state::AppState;
use crate::templates::sentence;

#[derive(Serialize, ToSchema)]
pub struct Product {
    pub id: ProductId,
    pub category_id: CategoryId,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub unit: String,
    pub billing: Billing,
    /// One unit, excl. VAT.
    pub unit_price: String,
    pub active: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/catalog/products",
    tag = "catalog",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Products with sell prices", body = Vec<Product>),
        (status = 401, description = "No valid API key", body = super::ErrorBody),
        (status = 403, description = "The key's user lacks the permission", body = super::ErrorBody),
        (status = 429, description = "Too many requests with this key: see `Retry-After`", body = super::ErrorBody),
    ),
)]
/// Active products (inactive ones too for those who manage prices, as on the page).
pub async fn products(
    required: Require<perm::CatalogView>,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<Product>>, ApiError> {
    let staff = required.user.can(Permission::PricingManage);
    let catalog = state.prices.catalog(&state.pools.aas).await??;
    let products = catalog
        .products(None, staff)
        .into_iter()
        .map(|p| Product {
            unit_price: format_decimal(p.unit_price()),
            id: p.id,
            category_id: p.category_id,
            sku: p.sku,
            name: p.name,
            description: p.description,
            unit: p.unit,
            billing: p.billing,
            active: p.active,
        })
        .collect();
    Ok(web::Json(products))
}

#[derive(Serialize, ToSchema)]
pub struct VmTemplate {
    pub id: TemplateId,
    pub name: String,
    pub description: String,
    pub vcpu: i32,
    pub ram_gb: i32,
    pub disk_gb: i32,
    pub disk_type: String,
    pub os: String,
    /// One VM a month, excl. VAT.
    pub monthly_price: String,
    /// Setting one VM up, excl. VAT; null when there is nothing to pay.
    pub setup_price: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/catalog/vm-templates",
    tag = "catalog",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "VM templates with prices", body = Vec<VmTemplate>),
        (status = 401, description = "No valid API key", body = super::ErrorBody),
        (status = 403, description = "The key's user lacks the permission", body = super::ErrorBody),
        (status = 429, description = "Too many requests with this key: see `Retry-After`", body = super::ErrorBody),
    ),
)]
pub async fn vm_templates(
    _: Require<perm::CatalogView>,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<VmTemplate>>, ApiError> {
    let mut conn = state.pools.aas.get().await?;
    let rows = templates::list_active(&mut conn)
        .await?
        .into_iter()
        .map(|t| VmTemplate {
            monthly_price: format_decimal(t.monthly_price()),
            setup_price: t.setup_price().map(format_decimal),
            id: t.id,
            name: t.name,
            description: t.description,
            vcpu: t.vcpu,
            ram_gb: t.ram_gb,
            disk_gb: t.disk_gb,
            disk_type: t.disk_type,
            os: t.os,
        })
        .collect();
    Ok(web::Json(rows))
}

#[derive(Serialize, ToSchema)]
pub struct OfferLine {
    pub description: String,
    pub billing: Billing,
    pub amount: String,
}

#[derive(Serialize, ToSchema)]
pub struct Offer {
    /// The slug a network quote's `provider` takes.
    pub provider: &'static str,
    pub provider_name: &'static str,
    pub speed_mbps: i32,
    pub term_months: i32,
    /// Monthly and once-off, excl. VAT.
    pub mrc: String,
    pub nrc: String,
    /// What accepting would debit: once-off plus the first month, VAT included.
    pub amount_due: String,
    pub lines: Vec<OfferLine>,
}

#[derive(Serialize, ToSchema)]
pub struct NoOffer {
    pub provider: &'static str,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct Offers {
    /// Cheapest contract first.
    pub offers: Vec<Offer>,
    pub unavailable: Vec<NoOffer>,
}

#[utoipa::path(
    get,
    path = "/api/v1/catalog/network-offers",
    tag = "catalog",
    security(("bearer" = [])),
    params(("site_address" = String, Query, description = "The site's street address"), ("site_suburb" = String, Query, description = "The site's suburb"), ("speed_mbps" = i64, Query, description = "A speed the providers sell"), ("term_months" = i64, Query, description = "12, 24 or 36"), ("bandwidth_mbps" = Option<String>, Query, description = "`fit` (default), `none` or a tier in Mbps"), ("cpe_id" = Option<i64>, Query, description = "A router"), ("cpe_billing" = Option<String>, Query, description = "`once_off` or `monthly`")),
    responses(
        (status = 200, description = "Every provider's offer for the site, cheapest contract first", body = Offers),
        (status = 401, description = "No valid API key", body = super::ErrorBody),
        (status = 403, description = "The key's user lacks the permission", body = super::ErrorBody),
        (status = 422, description = "Input or state refused: `field` names what to change", body = super::ErrorBody),
        (status = 429, description = "Too many requests with this key: see `Retry-After`", body = super::ErrorBody),
    ),
)]
/// `?site_address=&site_suburb=&speed_mbps=&term_months=` (and `bandwidth_mbps`,
/// default `fit`; `cpe_id` and `cpe_billing`), the network form's fields.
pub async fn network_offers(
    _: Require<perm::QuoteCreate>,
    state: web::Data<AppState>,
    query: web::Query<NetworkForm>,
) -> Result<web::Json<Offers>, ApiError> {
    let form = query.into_inner().with_default_bandwidth();
    let tables = state.prices.network(&state.pools.enetworks).await??;
    let parsed = form.parse(&tables).map_err(|errors| match errors.first() {
        Some((field, message)) => ApiError::invalid(field, message),
        None => ApiError::invalid("speed_mbps", "Choose a speed from the list."),
    })?;
    let request = form.request(&parsed);
    let offers = tables
        .offers(&request)
        .into_iter()
        .map(|offer| Offer {
            provider: offer.provider.slug(),
            provider_name: offer.provider.label(),
            speed_mbps: offer.speed_mbps,
            term_months: offer.term_months,
            mrc: format_decimal(offer.mrc()),
            nrc: format_decimal(offer.nrc()),
            amount_due: format_decimal(offer.totals(state.vat_rate).amount_due),
            lines: offer
                .lines
                .iter()
                .map(|l| OfferLine {
                    description: l.description.clone(),
                    billing: l.priced.billing,
                    amount: format_decimal(l.priced.amount),
                })
                .collect(),
        })
        .collect();
    let unavailable = Provider::ALL
        .iter()
        .filter_map(|p| {
            tables.offer(*p, &request).err().map(|e| NoOffer { provider: p.slug(), reason: sentence(&e.to_string()) })
        })
        .collect();
    Ok(web::Json(Offers { offers, unavailable }))
}
