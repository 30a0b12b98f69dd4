//! `GET /api/v1/wallet` (the balance, the low-balance threshold and what running
//! services commit to each month, as `/wallet` shows them) and
//! `GET /api/v1/wallet/transactions` (the organisation's ledger, newest first).

use actix_web::web;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, List, PAGE_SIZE, cursor};
use crate::auth::{Require, perm};
use crate::copies::{Fenced, WalletFigures};
use crate::db::main::{services, wallets};
use crate::domain::ids::{QuoteId, TransactionId};
use crate::domain::money::format_decimal;
use crate::domain::states::TransactionKind;
use crate::domain::wallet_stats;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Wallet {
    pub balance: String,
    pub low_balance_threshold: String,
    /// What the organisation's running services charge each month, VAT included.
    pub committed_monthly: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/wallet",
    tag = "wallet",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organisation's wallet", body = Wallet),
        (status = 401, description = "No valid API key", body = super::ErrorBody),
        (status = 403, description = "The key's user lacks the permission", body = super::ErrorBody),
        (status = 404, description = "Not found, or another organisation's", body = super::ErrorBody),
        (status = 429, description = "Too many requests with this key: see `Retry-After`", body = super::ErrorBody),
    ),
)]
pub async fn show(
    required: Require<perm::WalletView>,
    fenced: Option<web::ReqData<Fenced>>,
    state: web::Data<AppState>,
) -> Result<web::Json<Wallet>, ApiError> {
    let org = required.user.organisation_id;
    let copies = &state.copies;
    // The worker's copy once a fence (the key check's, or one of its own) has passed.
    let figures = match copies.wallet(org, fenced.is_some()).await {
        Some(figures) => figures,
        None => {
            let ticket = copies.ticket();
            let mut conn = state.pools.main.get().await?;
            // The operator buys nothing from itself: it has no wallet.
            let (wallet, running) = services::wallet_and_billable(&mut conn, org).await?.ok_or(AppError::NotFound)?;
            let figures = WalletFigures {
                balance: wallet.balance,
                low_balance_threshold: wallet.low_balance_threshold,
                committed_monthly: wallet_stats::committed(&running),
            };
            copies.keep_wallet(ticket, org, figures);
            figures
        }
    };
    Ok(web::Json(Wallet {
        balance: format_decimal(figures.balance),
        low_balance_threshold: format_decimal(figures.low_balance_threshold),
        committed_monthly: format_decimal(figures.committed_monthly),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Transaction {
    pub id: TransactionId,
    pub kind: TransactionKind,
    /// Signed: money out is negative.
    pub amount: String,
    pub balance_after: String,
    pub reference: String,
    pub description: String,
    pub quote_id: Option<QuoteId>,
    pub quote_number: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
pub struct TransactionsQuery {
    before: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/wallet/transactions",
    tag = "wallet",
    security(("bearer" = [])),
    params(("before" = Option<i64>, Query, description = "The `next_before` of the page before")),
    responses(
        (status = 200, description = "Ledger rows, newest first", body = super::List<Transaction>),
        (status = 401, description = "No valid API key", body = super::ErrorBody),
        (status = 403, description = "The key's user lacks the permission", body = super::ErrorBody),
        (status = 422, description = "Input or state refused: `field` names what to change", body = super::ErrorBody),
        (status = 429, description = "Too many requests with this key: see `Retry-After`", body = super::ErrorBody),
    ),
)]
pub async fn transactions(
    required: Require<perm::WalletView>,
    state: web::Data<AppState>,
    query: web::Query<TransactionsQuery>,
) -> Result<web::Json<List<Transaction>>, ApiError> {
    let before = cursor(query.before.as_deref())?.map(TransactionId);
    let mut conn = state.pools.main.get().await?;
    let rows = wallets::ledger(&mut conn, required.user.organisation_id, before, PAGE_SIZE).await?;
    let rows = rows
        .into_iter()
        .map(|r| Transaction {
            id: r.id,
            kind: r.kind,
            amount: format_decimal(r.amount * Decimal::from(r.direction)),
            balance_after: format_decimal(r.balance_after),
            reference: r.reference,
            description: r.description,
            quote_id: r.quote_id,
            quote_number: r.quote_number,
            created_at: r.created_at,
        })
        .collect();
    Ok(web::Json(List::of(rows, |t: &Transaction| t.id.0)))
}
