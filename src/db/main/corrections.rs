//! Staff corrections to a wallet: refunds of an accepted quote and manual adjustments.
//! Both are new ledger rows (the ledger is append-only), written exactly once per
//! idempotency key, in one transaction holding the wallet row lock. A refund locks the
//! quote first, then the wallet: the same order as accepting, so they cannot deadlock.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::activity::{self, NewActivity};
use super::alerts::{self, NewAlert};
use super::schema::{organisation_wallets, quotes, wallet_transactions};
use super::wallets::{self, Transaction, Wallet};
use crate::domain::ids::{OrganisationId, QuoteId, UserId, WalletId};
use crate::domain::money::{WALLET_LIMIT, format_zar};

#[derive(Debug)]
pub enum Outcome {
    Recorded(Transaction),
    /// The idempotency key was used before for this same correction: nothing changed.
    AlreadyRecorded(Transaction),
}

#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("not found")]
    NotFound,
    #[error("only an accepted quote can be refunded; this one is {0}")]
    NotAccepted(String),
    #[error("nothing was debited for this quote, so there is nothing to refund")]
    NothingDebited,
    #[error("this quote was already refunded ({}); a quote is refunded at most once", format_zar(*.0))]
    AlreadyRefunded(Decimal),
    #[error("at most {} (what was debited for this quote)", format_zar(*.max))]
    MoreThanDebited { max: Decimal },
    #[error("the balance is {}: an adjustment may not take it below zero", format_zar(*.balance))]
    BelowZero { balance: Decimal },
    #[error("the balance would exceed what a wallet can hold")]
    TooLarge,
    #[error("this form was already used for another correction")]
    KeyReused,
    #[error(transparent)]
    Database(#[from] DieselError),
}

/// Who records the correction, for the ledger row and the activity log.
pub struct Clerk<'a> {
    pub user_id: UserId,
    pub ip: Option<&'a str>,
}

pub struct NewRefund<'a> {
    pub quote_id: QuoteId,
    pub amount: Decimal,
    pub reason: &'a str,
    pub idempotency_key: &'a str,
}

pub struct NewAdjustment<'a> {
    pub organisation_id: OrganisationId,
    /// +1 adds to the balance, -1 takes from it.
    pub direction: i16,
    pub amount: Decimal,
    pub reason: &'a str,
    pub idempotency_key: &'a str,
}

/// What a quote's refund form needs: its debit and any refund already made.
#[derive(Debug)]
pub struct Refundable {
    pub organisation_id: OrganisationId,
    pub number: String,
    pub status: String,
    pub debited: Option<Decimal>,
    pub refunded: Option<Decimal>,
}

pub async fn refundable(conn: &mut AsyncPgConnection, quote: QuoteId) -> QueryResult<Option<Refundable>> {
    let Some((organisation_id, number, status)) = quotes::table
        .find(quote)
        .select((quotes::organisation_id, quotes::number, quotes::status))
        .first::<(OrganisationId, String, String)>(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let debited = movement_of(conn, quote, "debit").await?;
    let refunded = movement_of(conn, quote, "refund").await?;
    Ok(Some(Refundable { organisation_id, number, status, debited, refunded }))
}

async fn movement_of(conn: &mut AsyncPgConnection, quote: QuoteId, kind: &str) -> QueryResult<Option<Decimal>> {
    wallet_transactions::table
        .filter(wallet_transactions::quote_id.eq(quote))
        .filter(wallet_transactions::kind.eq(kind))
        .select(wallet_transactions::amount)
        .first(conn)
        .await
        .optional()
}

async fn lock_wallet(conn: &mut AsyncPgConnection, org: OrganisationId) -> Result<Wallet, Refused> {
    organisation_wallets::table
        .filter(organisation_wallets::organisation_id.eq(org))
        .select(Wallet::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or(Refused::NotFound)
}

/// The row an idempotency key already wrote, if any: the same correction again is
/// answered with it; anything else under the same key is refused.
async fn earlier(
    conn: &mut AsyncPgConnection,
    key: &str,
    same: impl Fn(OrganisationId, &str, i16, Option<QuoteId>, &Transaction) -> bool,
) -> Result<Option<Outcome>, Refused> {
    let row: Option<(OrganisationId, String, i16, Option<QuoteId>, Transaction)> = wallet_transactions::table
        .filter(wallet_transactions::idempotency_key.eq(key))
        .select((
            wallet_transactions::organisation_id,
            wallet_transactions::kind,
            wallet_transactions::direction,
            wallet_transactions::quote_id,
            Transaction::as_select(),
        ))
        .first(conn)
        .await
        .optional()?;
    match row {
        Some((org, kind, direction, quote, tx)) if same(org, &kind, direction, quote, &tx) => {
            Ok(Some(Outcome::AlreadyRecorded(tx)))
        }
        Some(_) => Err(Refused::KeyReused),
        None => Ok(None),
    }
}

struct Row<'a> {
    wallet: &'a Wallet,
    kind: &'static str,
    direction: i16,
    amount: Decimal,
    quote_id: Option<QuoteId>,
    reference: &'a str,
    description: &'a str,
    idempotency_key: &'a str,
    created_by: UserId,
}

/// Appends the ledger row and moves the balance to match; re-arms or raises the
/// low-balance alert as the balance crosses the threshold.
async fn append(conn: &mut AsyncPgConnection, row: Row<'_>) -> Result<Transaction, Refused> {
    let balance_after = row.wallet.balance + Decimal::from(row.direction) * row.amount;
    if balance_after < Decimal::ZERO {
        return Err(Refused::BelowZero { balance: row.wallet.balance });
    }
    if balance_after >= WALLET_LIMIT {
        return Err(Refused::TooLarge);
    }
    let tx = diesel::insert_into(wallet_transactions::table)
        .values((
            wallet_transactions::wallet_id.eq(row.wallet.id),
            wallet_transactions::organisation_id.eq(row.wallet.organisation_id),
            wallet_transactions::kind.eq(row.kind),
            wallet_transactions::direction.eq(row.direction),
            wallet_transactions::amount.eq(row.amount),
            wallet_transactions::balance_after.eq(balance_after),
            wallet_transactions::quote_id.eq(row.quote_id),
            wallet_transactions::reference.eq(row.reference),
            wallet_transactions::description.eq(row.description),
            wallet_transactions::idempotency_key.eq(row.idempotency_key),
            wallet_transactions::created_by.eq(row.created_by),
        ))
        .returning(Transaction::as_returning())
        .get_result(conn)
        .await
        .map_err(|e| match e {
            // Another request with the same key won the race (it holds no lock we share
            // when it corrects another wallet): its row stands, ours is refused.
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => Refused::KeyReused,
            e => Refused::Database(e),
        })?;
    set_balance(conn, row.wallet.id, balance_after).await?;
    if row.direction > 0 {
        wallets::rearm_if_recovered(conn, row.wallet, balance_after).await?;
    } else {
        wallets::alert_if_low(conn, row.wallet, balance_after).await?;
    }
    Ok(tx)
}

async fn set_balance(conn: &mut AsyncPgConnection, wallet: WalletId, balance: Decimal) -> QueryResult<()> {
    diesel::update(organisation_wallets::table.find(wallet))
        .set((organisation_wallets::balance.eq(balance), organisation_wallets::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await
        .map(drop)
}

/// Refunds (part of) an accepted quote's debit to its organisation's wallet, once.
pub async fn refund(
    conn: &mut AsyncPgConnection,
    refund: &NewRefund<'_>,
    clerk: &Clerk<'_>,
) -> Result<Outcome, Refused> {
    conn.transaction(async |conn| {
        let (org, number, status): (OrganisationId, String, String) = quotes::table
            .find(refund.quote_id)
            .select((quotes::organisation_id, quotes::number, quotes::status))
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(Refused::NotFound)?;
        let wallet = lock_wallet(conn, org).await?;
        let same = |o: OrganisationId, kind: &str, _: i16, quote: Option<QuoteId>, tx: &Transaction| {
            o == org && kind == "refund" && quote == Some(refund.quote_id) && tx.amount == refund.amount
        };
        if let Some(outcome) = earlier(conn, refund.idempotency_key, same).await? {
            return Ok(outcome);
        }
        if status != "accepted" {
            return Err(Refused::NotAccepted(status));
        }
        if let Some(refunded) = movement_of(conn, refund.quote_id, "refund").await? {
            return Err(Refused::AlreadyRefunded(refunded));
        }
        let debited = movement_of(conn, refund.quote_id, "debit").await?.ok_or(Refused::NothingDebited)?;
        if refund.amount > debited {
            return Err(Refused::MoreThanDebited { max: debited });
        }
        let tx = append(
            conn,
            Row {
                wallet: &wallet,
                kind: "refund",
                direction: 1,
                amount: refund.amount,
                quote_id: Some(refund.quote_id),
                reference: &number,
                description: refund.reason,
                idempotency_key: refund.idempotency_key,
                created_by: clerk.user_id,
            },
        )
        .await?;
        alerts::raise(
            conn,
            &NewAlert {
                organisation_id: Some(org),
                level: "info",
                kind: "refund",
                title: format!("Refund of {} for quote {number}", format_zar(tx.amount)),
                body: format!("{} The balance is now {}.", refund.reason, format_zar(tx.balance_after)),
                link: Some("/wallet".into()),
                dedupe_key: Some(format!("refund:{}", tx.id)),
            },
        )
        .await?;
        activity::record(
            conn,
            &NewActivity {
                user_id: Some(clerk.user_id),
                organisation_id: Some(org),
                action: "wallet.refund",
                target: Some(&format!("quote:{}", refund.quote_id)),
                ip: clerk.ip,
                detail: serde_json::json!({
                    "transaction": tx.id,
                    "number": number,
                    "amount": tx.amount.to_string(),
                    "reason": refund.reason,
                    "balance_after": tx.balance_after.to_string(),
                }),
                ..Default::default()
            },
        )
        .await?;
        Ok(Outcome::Recorded(tx))
    })
    .await
}

/// Adds to or takes from a wallet with a stated reason; never below zero.
pub async fn adjust(
    conn: &mut AsyncPgConnection,
    adjustment: &NewAdjustment<'_>,
    clerk: &Clerk<'_>,
) -> Result<Outcome, Refused> {
    conn.transaction(async |conn| {
        let wallet = lock_wallet(conn, adjustment.organisation_id).await?;
        let same = |o: OrganisationId, kind: &str, direction: i16, _: Option<QuoteId>, tx: &Transaction| {
            o == adjustment.organisation_id
                && kind == "adjustment"
                && direction == adjustment.direction
                && tx.amount == adjustment.amount
        };
        if let Some(outcome) = earlier(conn, adjustment.idempotency_key, same).await? {
            return Ok(outcome);
        }
        let tx = append(
            conn,
            Row {
                wallet: &wallet,
                kind: "adjustment",
                direction: adjustment.direction,
                amount: adjustment.amount,
                quote_id: None,
                reference: "Adjustment",
                description: adjustment.reason,
                idempotency_key: adjustment.idempotency_key,
                created_by: clerk.user_id,
            },
        )
        .await?;
        activity::record(
            conn,
            &NewActivity {
                user_id: Some(clerk.user_id),
                organisation_id: Some(adjustment.organisation_id),
                action: "wallet.adjust",
                target: Some(&format!("wallet_transaction:{}", tx.id)),
                ip: clerk.ip,
                detail: serde_json::json!({
                    "direction": adjustment.direction,
                    "amount": tx.amount.to_string(),
                    "reason": adjustment.reason,
                    "balance_after": tx.balance_after.to_string(),
                }),
                ..Default::default()
            },
        )
        .await?;
        Ok(Outcome::Recorded(tx))
    })
    .await
}
