//! The catalogs. `/catalog/vm`: the VM templates with their sell prices.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::{Permission, Require, perm};
use crate::db::aas::templates;
use crate::domain::ids::TemplateId;
use crate::domain::money::format_zar;
use crate::domain::pricing::sell_price;
use crate::error::AppError;
use crate::startup::AppState;
use crate::templates::Page;

pub struct TemplateRow {
    id: TemplateId,
    name: String,
    description: String,
    vcpu: i32,
    ram_gb: i32,
    disk: String,
    os: String,
    monthly: String,
    setup: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "catalog_vm.html")]
pub struct VmCatalogPage {
    page: Page,
    rows: Vec<TemplateRow>,
    can_quote: bool,
}

pub async fn vm_templates(
    required: Require<perm::CatalogView>,
    page: Page,
    state: web::Data<AppState>,
) -> Result<VmCatalogPage, AppError> {
    let mut conn = state.pools.aas.get().await?;
    let rows = templates::list_active(&mut conn)
        .await?
        .into_iter()
        .map(|t| TemplateRow {
            id: t.id,
            disk: format!("{} GB {}", t.disk_gb, t.disk_type.to_uppercase()),
            monthly: format_zar(sell_price(t.cost, t.margin_pct)),
            setup: (!t.setup_cost.is_zero()).then(|| format_zar(sell_price(t.setup_cost, t.margin_pct))),
            name: t.name,
            description: t.description,
            vcpu: t.vcpu,
            ram_gb: t.ram_gb,
            os: t.os,
        })
        .collect();
    Ok(VmCatalogPage { page, rows, can_quote: required.user.can(Permission::QuoteCreate) })
}
