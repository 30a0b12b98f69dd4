//! `/`: the signed-in person's starting point: balance, the services' next charge (and
//! what they owe), open quotes, unread alerts.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::{CurrentUser, Permission};
use rust_decimal::Decimal;

use crate::db::main::{alerts, quotes, services, wallets};
use crate::domain::billing;
use crate::domain::ids::QuoteId;
use crate::domain::money::format_zar;
use crate::domain::time::{format_day, format_sast, today_sast};
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Bell, Page, filters, unread_label};

/// How many open quotes and alerts the dashboard lists.
const LATEST: i64 = 5;

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    page: Page,
    balance: Option<String>,
    /// The next charge of the organisation's services: (day, amount).
    next_charge: Option<(String, String)>,
    /// What its services owe, and since when.
    owed: Option<(String, String)>,
    open_quotes: Option<i64>,
    unread_alerts: Option<String>,
    /// (id, number, title, amount due, valid until)
    pending: Vec<(QuoteId, String, String, String, String)>,
    alerts: Vec<AlertView>,
}

pub struct AlertView {
    level: String,
    title: String,
    body: String,
    is_read: bool,
    when: String,
}

pub async fn show(user: CurrentUser, mut page: Page, state: web::Data<AppState>) -> Result<DashboardPage, AppError> {
    let mut conn = state.pools.main.get().await?;
    let (balance, next_charge, owed) = match user.can(Permission::WalletView) {
        true => {
            let balance =
                wallets::for_organisation(&mut conn, user.organisation_id).await?.map(|w| format_zar(w.balance));
            let running = services::billable(&mut conn, user.organisation_id).await?;
            let today = today_sast();
            let next = billing::next_charge(&running, today).map(|(day, amount)| {
                (if day <= today { "due now".to_owned() } else { format_day(day) }, format_zar(amount))
            });
            let outlooks: Vec<_> = running.iter().map(|s| s.outlook(today)).collect();
            let owed: Decimal = outlooks.iter().map(|o| o.owed).sum();
            let since = outlooks.iter().filter_map(|o| o.owed_since).min();
            (balance, next, since.map(|since| (format_zar(owed), format_day(since))))
        }
        false => (None, None, None),
    };
    let (open_quotes, pending) = match user.can(Permission::QuoteCreate) || user.can(Permission::QuoteAccept) {
        true => {
            let count = quotes::count_open(&mut conn, user.organisation_id).await?;
            let latest = quotes::open(&mut conn, user.organisation_id, LATEST).await?;
            let latest = latest
                .into_iter()
                .map(|q| (q.id, q.number, q.title, format_zar(q.amount_due), format_sast(q.valid_until)))
                .collect();
            (Some(count), latest)
        }
        false => (None, Vec::new()),
    };
    let (unread_alerts, alerts) = match user.can(Permission::AlertsView) {
        true => {
            let count = alerts::count_unread(&mut conn, user.organisation_id, user.id).await?;
            page.bell = Some(Bell { unread: count });
            let latest = alerts::latest(&mut conn, user.organisation_id, user.id, LATEST).await?;
            let latest = latest
                .into_iter()
                .map(|a| AlertView {
                    level: a.level,
                    title: a.title,
                    body: a.body,
                    is_read: a.is_read,
                    when: format_sast(a.created_at),
                })
                .collect();
            (Some(unread_label(count)), latest)
        }
        false => (None, Vec::new()),
    };
    Ok(DashboardPage { page, balance, next_charge, owed, open_quotes, unread_alerts, pending, alerts })
}
