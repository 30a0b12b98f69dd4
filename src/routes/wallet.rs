//! `/wallet`: the organisation's balance, its money in and out over the last twelve
//! months (a server-rendered SVG chart), what it has committed to each month and how
//! long the balance lasts at that rate, its low-balance threshold (editable by the
//! organisation), and its own transactions, newest first.

use actix_session::Session;
use actix_web::{Either, web};
use askama::Template;
use askama_web::WebTemplate;
use diesel_async::AsyncPgConnection;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::see_other;
use super::{PageOr303, unprocessable};
use crate::auth::session::{Flash, push_flash};
use crate::auth::{Require, perm};
use crate::db::main::activity::Actor;
use crate::db::main::services;
use crate::db::main::wallets::{self, LedgerRow};
use crate::domain::ids::{OrganisationId, QuoteId, TransactionId};
use crate::domain::money::{MAX_TOP_UP, format_zar, parse_amount};
use crate::domain::states::TransactionKind;
use crate::domain::time::{format_sast, sast_midnight, today_sast};
use crate::domain::wallet_stats::{self, Chart, Runway};
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Page, sentence};

const PAGE_SIZE: i64 = 25;

/// A ledger row ready to show: signed amount, formatted money and time.
pub struct LedgerView {
    pub id: TransactionId,
    pub when: String,
    pub kind: TransactionKind,
    pub amount: String,
    pub balance_after: String,
    pub reference: String,
    pub description: String,
    pub quote: Option<(QuoteId, String)>,
}

impl From<LedgerRow> for LedgerView {
    fn from(row: LedgerRow) -> Self {
        let signed = row.amount * Decimal::from(row.direction);
        LedgerView {
            id: row.id,
            when: format_sast(row.created_at),
            kind: row.kind,
            amount: format_zar(signed),
            balance_after: format_zar(row.balance_after),
            reference: row.reference,
            description: row.description,
            quote: row.quote_id.zip(row.quote_number),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "wallet.html")]
pub struct WalletPage {
    page: Page,
    balance: String,
    threshold: String,
    below_threshold: bool,
    committed_monthly: String,
    runway: RunwayView,
    chart: Chart,
    chart_width: i64,
    chart_height: i64,
    baseline: i64,
    plot_height: i64,
    axis_x: i64,
    form: ThresholdForm,
    threshold_error: Option<String>,
    rows: Vec<LedgerView>,
    older: Option<TransactionId>,
    /// `2026-12`: the statement link's month.
    this_month: String,
}

/// The runway as the page says it: a figure, a sentence, and whether to warn.
pub struct RunwayView {
    pub figure: String,
    pub note: String,
    pub warn: bool,
}

impl From<Runway> for RunwayView {
    fn from(runway: Runway) -> Self {
        match runway {
            Runway::Until { date, days } => RunwayView {
                figure: date.format("%-d %B %Y").to_string(),
                note: format!("The balance pays the services' charges for {days} more days."),
                warn: days < 31,
            },
            Runway::Empty => RunwayView {
                figure: "Now".into(),
                note: "A monthly charge is due that the balance does not cover.".into(),
                warn: true,
            },
            Runway::NoCommitments => RunwayView {
                figure: "No end date".into(),
                note: "No running services draw on the balance.".into(),
                warn: false,
            },
        }
    }
}

#[derive(Deserialize)]
pub struct WalletQuery {
    before: Option<i64>,
}

#[derive(Deserialize, Default)]
pub struct ThresholdForm {
    #[serde(default)]
    threshold: String,
}

async fn wallet_page(
    conn: &mut AsyncPgConnection,
    org: OrganisationId,
    page: Page,
    before: Option<TransactionId>,
    form: Option<ThresholdForm>,
    threshold_error: Option<String>,
) -> Result<WalletPage, AppError> {
    let (wallet, running) = services::wallet_and_billable(conn, org).await?.ok_or(AppError::NotFound)?;
    let rows = wallets::ledger(conn, org, before, PAGE_SIZE).await?;
    let older = (rows.len() as i64 == PAGE_SIZE).then(|| rows.last().map(|r| r.id)).flatten();
    let today = today_sast();
    let sums = wallets::monthly_totals(conn, org, sast_midnight(wallet_stats::window_start(today))).await?;
    Ok(WalletPage {
        page,
        balance: format_zar(wallet.balance),
        threshold: format_zar(wallet.low_balance_threshold),
        below_threshold: wallet.balance < wallet.low_balance_threshold,
        committed_monthly: format_zar(wallet_stats::committed(&running)),
        runway: wallet_stats::runway(wallet.balance, &running, today).into(),
        chart: wallet_stats::chart(&wallet_stats::last_twelve_months(&sums, today)),
        chart_width: wallet_stats::CHART_WIDTH,
        chart_height: wallet_stats::CHART_HEIGHT,
        baseline: wallet_stats::BASELINE,
        plot_height: wallet_stats::PLOT_HEIGHT,
        axis_x: wallet_stats::AXIS_X,
        form: form.unwrap_or_else(|| ThresholdForm { threshold: wallet.low_balance_threshold.to_string() }),
        threshold_error,
        rows: rows.into_iter().map(LedgerView::from).collect(),
        older,
        this_month: crate::domain::time::month_key(today),
    })
}

pub async fn show(
    required: Require<perm::WalletView>,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<WalletQuery>,
) -> Result<WalletPage, AppError> {
    let mut conn = state.pools.main.get().await?;
    wallet_page(&mut conn, required.user.organisation_id, page, query.before.map(TransactionId), None, None).await
}

/// A threshold typed by a person: zero or more, in cents, within what a top-up may be.
fn parse_threshold(input: &str) -> Result<Decimal, String> {
    let amount = parse_amount(input).map_err(|e| sentence(&e))?;
    if amount < Decimal::ZERO {
        return Err("Must be zero or more (zero turns the alert off).".into());
    }
    if amount > MAX_TOP_UP {
        return Err(format!("At most {}.", format_zar(MAX_TOP_UP)));
    }
    Ok(amount)
}

/// `POST /wallet/threshold`: the organisation's own low-balance threshold.
pub async fn set_threshold(
    actor: Actor,
    required: Require<perm::WalletView>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<ThresholdForm>,
) -> Result<PageOr303<WalletPage>, AppError> {
    let user = required.user;
    let form = form.into_inner();
    let (_turn, mut conn) = state.money_connection(user.organisation_id).await?;
    match parse_threshold(&form.threshold) {
        Ok(threshold) => {
            wallets::set_threshold(&mut conn, user.organisation_id, threshold, user.id, actor.ip.as_deref()).await?;
            push_flash(
                &session,
                Flash::success(format!("You will be alerted when the balance falls below {}.", format_zar(threshold))),
            );
            Ok(Either::Left(see_other("/wallet")))
        }
        Err(error) => {
            let page = wallet_page(&mut conn, user.organisation_id, page, None, Some(form), Some(error)).await?;
            unprocessable(page)
        }
    }
}
