//! `/`: the signed-in person's starting point: balance, open quotes, unread alerts.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::{CurrentUser, Permission};
use crate::db::main::{alerts, quotes, wallets};
use crate::domain::money::format_zar;
use crate::error::AppError;
use crate::startup::AppState;
use crate::templates::Page;

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    page: Page,
    balance: Option<String>,
    open_quotes: Option<i64>,
    unread_alerts: Option<i64>,
}

pub async fn show(user: CurrentUser, page: Page, state: web::Data<AppState>) -> Result<DashboardPage, AppError> {
    let mut conn = state.pools.main.get().await?;
    let balance = match user.can(Permission::WalletView) {
        true => wallets::for_organisation(&mut conn, user.organisation_id).await?.map(|w| format_zar(w.balance)),
        false => None,
    };
    let open_quotes = match user.can(Permission::QuoteCreate) || user.can(Permission::QuoteAccept) {
        true => Some(quotes::count_open(&mut conn, user.organisation_id).await?),
        false => None,
    };
    let unread_alerts = match user.can(Permission::AlertsView) {
        true => Some(alerts::count_unread(&mut conn, user.organisation_id, user.id).await?),
        false => None,
    };
    Ok(DashboardPage { page, balance, open_quotes, unread_alerts })
}
