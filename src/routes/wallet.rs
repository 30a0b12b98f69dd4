//! `/wallet`: the organisation's balance and its own transactions, newest first.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::{Require, perm};
use crate::db::main::wallets::{self, LedgerRow};
use crate::domain::ids::{QuoteId, TransactionId};
use crate::domain::money::format_zar;
use crate::domain::time::format_sast;
use crate::error::AppError;
use crate::startup::AppState;
use crate::templates::Page;

const PAGE_SIZE: i64 = 25;

/// A ledger row ready to show: signed amount, formatted money and time.
pub struct LedgerView {
    pub id: TransactionId,
    pub when: String,
    pub kind: String,
    pub amount: String,
    pub balance_after: String,
    pub reference: String,
    pub description: String,
    pub quote: Option<(QuoteId, String)>,
}

impl From<LedgerRow> for LedgerView {
    fn from(row: LedgerRow) -> Self {
        let signed = row.amount * rust_decimal::Decimal::from(row.direction);
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
    rows: Vec<LedgerView>,
    older: Option<TransactionId>,
}

#[derive(Deserialize)]
pub struct WalletQuery {
    before: Option<i64>,
}

pub async fn show(
    required: Require<perm::WalletView>,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<WalletQuery>,
) -> Result<WalletPage, AppError> {
    let org = required.user.organisation_id;
    let mut conn = state.pools.main.get().await?;
    let wallet = wallets::for_organisation(&mut conn, org).await?.ok_or(AppError::NotFound)?;
    let rows = wallets::ledger(&mut conn, org, query.before.map(TransactionId), PAGE_SIZE).await?;
    let older = (rows.len() as i64 == PAGE_SIZE).then(|| rows.last().map(|r| r.id)).flatten();
    Ok(WalletPage {
        page,
        balance: format_zar(wallet.balance),
        threshold: format_zar(wallet.low_balance_threshold),
        below_threshold: wallet.balance < wallet.low_balance_threshold,
        rows: rows.into_iter().map(LedgerView::from).collect(),
        older,
    })
}
