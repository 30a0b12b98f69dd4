//! Pricing management (`pricing.manage`): every priced row of both catalogs with its
//! cost, margin and sell price; edit one (cost, margin, active). Each change is logged
//! with its old and new values and empties the pricing cache. Issued quotes keep their
//! snapshot, so nothing here changes what a customer was quoted.

use actix_session::Session;
use actix_web::{Either, web};
use askama::Template;
use askama_web::WebTemplate;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::see_other;
use super::{PageOr303, unprocessable};
use crate::auth::session::{Flash, push_flash};
use crate::auth::{Require, perm};
use crate::db::PooledConn;
use crate::db::main::activity::Actor;
use crate::db::main::activity::{self, NewActivity};
use crate::db::price_editor::{self, PriceTable, PricedRow, TABLES};
use crate::domain::money::{format_zar, parse_amount};
use crate::domain::pricing::sell_price;
use crate::domain::states::Catalog;
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Page, SelectOption, sentence};

/// A cost above this is a typo, not a price.
const MAX_COST: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

async fn conn_for(state: &AppState, catalog: Catalog) -> Result<PooledConn, AppError> {
    Ok(match catalog {
        Catalog::Aas => state.pools.aas.get().await?,
        Catalog::Enetworks => state.pools.enetworks.get().await?,
    })
}

pub struct RowView {
    id: i64,
    label: String,
    costs: Vec<String>,
    margin: String,
    sells: Vec<String>,
    active: bool,
}

fn money(value: Option<Decimal>) -> String {
    value.map(format_zar).unwrap_or_else(|| "—".into())
}

fn row_view(table: &PriceTable, row: PricedRow) -> RowView {
    let costs: Vec<Option<Decimal>> = [row.cost_a, row.cost_b].into_iter().take(table.costs.len()).collect();
    RowView {
        id: row.id,
        label: row.label,
        sells: costs.iter().map(|c| money(c.map(|c| sell_price(c, row.margin_pct)))).collect(),
        costs: costs.into_iter().map(money).collect(),
        margin: format!("{} %", row.margin_pct.normalize()),
        active: row.active,
    }
}

pub struct TableView {
    key: &'static str,
    title: &'static str,
    cost_labels: Vec<&'static str>,
    rows: Vec<RowView>,
}

/// The list's filters as typed.
#[derive(Deserialize, Default)]
pub struct PricingQuery {
    /// One table's key, or every table.
    #[serde(default)]
    table: String,
    /// Part of a row's name.
    #[serde(default)]
    q: String,
    /// `on_sale`, `inactive`, or both.
    #[serde(default)]
    status: String,
    /// From 1.
    #[serde(default)]
    page: String,
}

impl PricingQuery {
    fn query_string(&self) -> String {
        serde_urlencoded::to_string([
            ("table", self.table.trim()),
            ("q", self.q.trim()),
            ("status", self.status.trim()),
        ])
        .unwrap_or_default()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pricing.html")]
pub struct PricingPage {
    page: Page,
    query: PricingQuery,
    table_choices: Vec<SelectOption>,
    statuses: Vec<SelectOption>,
    /// The tables with the rows of this page (tables without any are left out).
    tables: Vec<TableView>,
    /// How many rows match, and which of them this page shows (from, to).
    matching: usize,
    shown: (usize, usize),
    previous: Option<String>,
    next: Option<String>,
}

/// Rows a page shows (across tables, in table order).
const PAGE_SIZE: usize = 50;

pub async fn index(
    _: Require<perm::PricingManage>,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<PricingQuery>,
) -> Result<PricingPage, AppError> {
    let query = query.into_inner();
    // Unknown choices only come from edited links: they filter nothing.
    let only_table = TABLES.iter().find(|t| t.key == query.table.trim()).map(|t| t.key);
    let status = match query.status.trim() {
        "on_sale" => Some(true),
        "inactive" => Some(false),
        _ => None,
    };
    let text = query.q.trim().to_lowercase();
    let page_number = query.page.trim().parse::<usize>().unwrap_or(1).clamp(1, 1000);
    let (first, last) = ((page_number - 1) * PAGE_SIZE, page_number * PAGE_SIZE);
    let mut tables = Vec::new();
    let mut matching = 0;
    let mut aas = state.pools.aas.get().await?;
    let mut enetworks = state.pools.enetworks.get().await?;
    for table in TABLES.iter().filter(|t| only_table.is_none_or(|key| key == t.key)) {
        let conn = match table.catalog {
            Catalog::Aas => &mut aas,
            Catalog::Enetworks => &mut enetworks,
        };
        let mut rows = Vec::new();
        for row in table.rows(conn).await? {
            if status.is_some_and(|active| active != row.active) || !row.label.to_lowercase().contains(&text) {
                continue;
            }
            if (first..last).contains(&matching) {
                rows.push(row_view(table, row));
            }
            matching += 1;
        }
        if !rows.is_empty() {
            tables.push(TableView {
                key: table.key,
                title: table.title,
                cost_labels: table.costs.iter().map(|(_, label)| *label).collect(),
                rows,
            });
        }
    }
    let filters = query.query_string();
    Ok(PricingPage {
        page,
        table_choices: TABLES.iter().map(|t| SelectOption::new(t.key, t.title, &query.table)).collect(),
        statuses: [("on_sale", "On sale"), ("inactive", "Inactive")]
            .iter()
            .map(|(value, label)| SelectOption::new(value, *label, &query.status))
            .collect(),
        tables,
        matching,
        shown: (first + 1, last.min(matching)),
        previous: (page_number > 1).then(|| format!("/admin/pricing?{filters}&page={}", page_number - 1)),
        next: (matching > last).then(|| format!("/admin/pricing?{filters}&page={}", page_number + 1)),
        query,
    })
}

#[derive(Deserialize, Default)]
pub struct PriceForm {
    #[serde(default)]
    cost_a: String,
    #[serde(default)]
    cost_b: String,
    #[serde(default)]
    margin_pct: String,
    /// A checkbox: present when the row stays on sale.
    #[serde(default)]
    active: String,
}

#[derive(Default)]
pub struct PriceErrors {
    cost_a: Option<String>,
    cost_b: Option<String>,
    margin_pct: Option<String>,
    form: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pricing_edit.html")]
pub struct PriceEditPage {
    page: Page,
    key: &'static str,
    title: &'static str,
    id: i64,
    label: String,
    cost_labels: Vec<&'static str>,
    form: PriceForm,
    errors: PriceErrors,
}

fn decimal_text(value: Option<Decimal>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn find_table(key: &str) -> Result<&'static PriceTable, AppError> {
    price_editor::table(key).ok_or(AppError::NotFound)
}

pub async fn edit(
    _: Require<perm::PricingManage>,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> Result<PriceEditPage, AppError> {
    let (key, id) = path.into_inner();
    let table = find_table(&key)?;
    let mut conn = conn_for(&state, table.catalog).await?;
    let row = table.row(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let form = PriceForm {
        cost_a: decimal_text(row.cost_a),
        cost_b: decimal_text(row.cost_b),
        margin_pct: crate::domain::money::format_plain(row.margin_pct),
        active: if row.active { "on".into() } else { String::new() },
    };
    Ok(edit_page(table, page, id, row.label, form, PriceErrors::default()))
}

fn edit_page(
    table: &'static PriceTable,
    page: Page,
    id: i64,
    label: String,
    form: PriceForm,
    errors: PriceErrors,
) -> PriceEditPage {
    PriceEditPage {
        page,
        key: table.key,
        title: table.title,
        id,
        label,
        cost_labels: table.costs.iter().map(|(_, label)| *label).collect(),
        form,
        errors,
    }
}

/// A cost as typed: empty is "none" (only where the table allows it), else an amount
/// from 0 up to the typo guard.
fn parse_cost(raw: &str) -> Result<Option<Decimal>, String> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    let cost = parse_amount(raw).map_err(|e| sentence(&e))?;
    if cost < Decimal::ZERO || cost > MAX_COST {
        return Err(format!("Enter a cost from 0 to {}.", format_zar(MAX_COST)));
    }
    Ok(Some(cost))
}

fn parse_margin(raw: &str) -> Result<Decimal, String> {
    let message = "Enter a margin in percent above -100, with at most four decimals, e.g. 27.5.";
    match raw.trim().parse::<Decimal>() {
        Ok(m) if m > Decimal::from(-100) && m <= Decimal::from(1000) && m.normalize().scale() <= 4 => Ok(m),
        _ => Err(message.into()),
    }
}

pub async fn update(
    actor: Actor,
    required: Require<perm::PricingManage>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
    form: web::Form<PriceForm>,
) -> Result<PageOr303<PriceEditPage>, AppError> {
    let (key, id) = path.into_inner();
    let table = find_table(&key)?;
    let form = form.into_inner();
    let mut conn = conn_for(&state, table.catalog).await?;
    let row = table.row(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let mut errors = PriceErrors::default();
    let cost_a = parse_cost(&form.cost_a).map_err(|e| errors.cost_a = Some(e)).ok().flatten();
    let cost_b = if table.costs.len() > 1 {
        parse_cost(&form.cost_b).map_err(|e| errors.cost_b = Some(e)).ok().flatten()
    } else {
        None
    };
    // Only the router table may leave a price empty (and then not both).
    let optional = table.key == "liquid-cpe";
    if cost_a.is_none() && errors.cost_a.is_none() && !optional {
        errors.cost_a = Some("Enter a cost.".into());
    }
    if table.costs.len() > 1 && cost_b.is_none() && errors.cost_b.is_none() && !optional {
        errors.cost_b = Some("Enter a cost.".into());
    }
    if optional && cost_a.is_none() && cost_b.is_none() && errors.cost_a.is_none() && errors.cost_b.is_none() {
        errors.form = Some("A router needs a purchase price, a rental price, or both.".into());
    }
    let margin = parse_margin(&form.margin_pct).map_err(|e| errors.margin_pct = Some(e)).ok();
    let refuse = |errors: PriceErrors, page: Page, form: PriceForm| {
        let page = edit_page(table, page, id, row.label.clone(), form, errors);
        unprocessable(page)
    };
    let Some(margin) = margin else { return refuse(errors, page, form) };
    if errors.cost_a.is_some() || errors.cost_b.is_some() || errors.form.is_some() {
        return refuse(errors, page, form);
    }
    let active = !form.active.trim().is_empty();
    let changed = match table.update(&mut conn, id, (cost_a, cost_b), margin, active).await {
        Ok(changed) => changed,
        // The table's own rules (e.g. MFN waives installation at 36 months).
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::CheckViolation, _)) => {
            let errors = PriceErrors {
                form: Some("These prices break a rule of this provider's table (for example, MFN waives installation at 36 months).".into()),
                ..Default::default()
            };
            return refuse(errors, page, form);
        }
        Err(e) => return Err(e.into()),
    };
    drop(conn);
    let Some((before, after)) = changed else { return Err(AppError::NotFound) };
    state.prices.invalidate();
    let snapshot = |r: &PricedRow| {
        serde_json::json!({
            "cost_a": r.cost_a.map(|c| c.to_string()),
            "cost_b": r.cost_b.map(|c| c.to_string()),
            "margin_pct": r.margin_pct.to_string(),
            "active": r.active,
        })
    };
    let main = state.pools.main.get().await?;
    activity::record(
        &main,
        &NewActivity {
            user_id: Some(required.user.id),
            organisation_id: Some(required.user.organisation_id),
            action: "pricing.update",
            target: Some(&format!("{}:{id}", table.key)),
            ip: actor.ip.as_deref(),
            detail: serde_json::json!({ "row": after.label, "before": snapshot(&before), "after": snapshot(&after) }),
            ..Default::default()
        },
    )
    .await?;
    push_flash(&session, Flash::success(format!("Saved {}: {}.", table.title, after.label)));
    Ok(Either::Left(see_other(&format!("/admin/pricing#{}", table.key))))
}
