//! `/`: the signed-in person's starting point. A customer sees their organisation:
//! balance, the services' next charge (and what they owe), open quotes, unread alerts.
//! Staff (who see every organisation's ledger) see the workspace instead: pending
//! quotes, low balances, organisations in arrears and recent top-ups across every
//! organisation. Every query is bounded, so the page costs the same with a long history.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::{CurrentUser, Permission};
use rust_decimal::Decimal;

use crate::db::main::{alerts, quotes, services, wallets, workspace};
use crate::domain::billing;
use crate::domain::ids::{OrganisationId, QuoteId};
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
    open_quotes: Option<String>,
    unread_alerts: Option<String>,
    /// (id, number, title, amount due, valid until)
    pending: Vec<(QuoteId, String, String, String, String)>,
    alerts: Vec<AlertView>,
    staff: Option<StaffView>,
}

/// Across every organisation, for staff.
pub struct StaffView {
    /// None without `quote.view_all`.
    pending_quotes: Option<String>,
    low_balances: String,
    /// (id, name, balance)
    lowest: Vec<(OrganisationId, String, String)>,
    in_arrears: String,
    /// (id, name, what their services in arrears cost a month)
    arrears: Vec<(OrganisationId, String, String)>,
    /// (organisation id, name, amount, reference, when)
    top_ups: Vec<(OrganisationId, String, String, String, String)>,
}

/// A count as shown: "1000+" once it reaches its cap.
fn capped(count: i64, cap: i64) -> String {
    if count >= cap { format!("{cap}+") } else { count.to_string() }
}

async fn staff_view(conn: &mut diesel_async::AsyncPgConnection, user: &CurrentUser) -> Result<StaffView, AppError> {
    let pending_quotes = match user.can(Permission::QuoteViewAll) {
        true => Some(capped(workspace::pending_quotes(conn).await?, workspace::COUNT_CAP)),
        false => None,
    };
    let (lowest, low_count) = workspace::low_balances(conn, LATEST).await?;
    let (arrears, arrears_count) = workspace::in_arrears(conn, LATEST).await?;
    let top_ups = workspace::recent_top_ups(conn, LATEST).await?;
    Ok(StaffView {
        pending_quotes,
        low_balances: capped(low_count, workspace::COUNT_CAP),
        lowest: lowest.into_iter().map(|o| (o.id, o.name, format_zar(o.amount))).collect(),
        in_arrears: capped(arrears_count, workspace::COUNT_CAP),
        arrears: arrears.into_iter().map(|o| (o.id, o.name, format_zar(o.amount))).collect(),
        top_ups: top_ups
            .into_iter()
            .map(|t| (t.organisation_id, t.name, format_zar(t.amount), t.reference, format_sast(t.created_at)))
            .collect(),
    })
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
    // Staff work across organisations: their own (operator) wallet and quotes are empty.
    let staff = match user.can(Permission::TransactionsViewAll) {
        true => Some(staff_view(&mut conn, &user).await?),
        false => None,
    };
    let own = staff.is_none();
    let (balance, next_charge, owed) = match own && user.can(Permission::WalletView) {
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
    let (open_quotes, pending) = match own && (user.can(Permission::QuoteCreate) || user.can(Permission::QuoteAccept)) {
        true => {
            let count = quotes::count_open(&mut conn, user.organisation_id).await?;
            let latest = quotes::open(&mut conn, user.organisation_id, LATEST).await?;
            let latest = latest
                .into_iter()
                .map(|q| (q.id, q.number, q.title, format_zar(q.amount_due), format_sast(q.valid_until)))
                .collect();
            (Some(capped(count, quotes::OPEN_COUNT_CAP)), latest)
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
    Ok(DashboardPage { page, balance, next_charge, owed, open_quotes, unread_alerts, pending, alerts, staff })
}
