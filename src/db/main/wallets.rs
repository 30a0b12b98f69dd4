//! Organisation wallets and their append-only ledger. Every balance change happens in
//! one transaction that holds the wallet row lock, writes the ledger row with its
//! `balance_after`, and updates the balance; the database triggers refuse anything else.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::activity::{self, NewActivity};
use super::schema::{organisation_wallets, wallet_transactions};
use crate::domain::ids::{OrganisationId, UserId, WalletId};

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = organisation_wallets)]
pub struct Wallet {
    pub id: WalletId,
    pub organisation_id: OrganisationId,
    pub balance: Decimal,
    pub low_balance_threshold: Decimal,
}

pub async fn for_organisation(conn: &mut AsyncPgConnection, org: OrganisationId) -> QueryResult<Option<Wallet>> {
    organisation_wallets::table
        .filter(organisation_wallets::organisation_id.eq(org))
        .select(Wallet::as_select())
        .first(conn)
        .await
        .optional()
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = wallet_transactions)]
pub struct Transaction {
    pub id: i64,
    pub kind: String,
    pub amount: Decimal,
    pub balance_after: Decimal,
    pub reference: String,
    pub created_at: DateTime<Utc>,
}

pub struct NewCredit<'a> {
    pub organisation_id: OrganisationId,
    pub amount: Decimal,
    pub reference: &'a str,
    pub description: &'a str,
    pub idempotency_key: &'a str,
    pub created_by: Option<UserId>,
    pub ip: Option<&'a str>,
}

#[derive(Debug)]
pub enum CreditOutcome {
    Credited(Transaction),
    /// The idempotency key was used before: the first credit stands, nothing changed.
    AlreadyRecorded(Transaction),
}

#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    #[error("the organisation has no wallet")]
    NoWallet,
    #[error("this idempotency key was already used for a different credit")]
    KeyReused,
    #[error("the balance would exceed the largest amount a wallet can hold")]
    TooLarge,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Records a top-up: exactly once per idempotency key, also under concurrent retries
/// (the wallet row lock serialises them; the unique key is the backstop).
pub async fn credit(conn: &mut AsyncPgConnection, credit: &NewCredit<'_>) -> Result<CreditOutcome, CreditError> {
    conn.transaction(async |conn| {
        let wallet: Wallet = organisation_wallets::table
            .filter(organisation_wallets::organisation_id.eq(credit.organisation_id))
            .select(Wallet::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(CreditError::NoWallet)?;
        let earlier: Option<(OrganisationId, String, Transaction)> = wallet_transactions::table
            .filter(wallet_transactions::idempotency_key.eq(credit.idempotency_key))
            .select((wallet_transactions::organisation_id, wallet_transactions::kind, Transaction::as_select()))
            .first(conn)
            .await
            .optional()?;
        if let Some((org, kind, tx)) = earlier {
            return if org == credit.organisation_id && kind == "credit" && tx.amount == credit.amount {
                Ok(CreditOutcome::AlreadyRecorded(tx))
            } else {
                Err(CreditError::KeyReused)
            };
        }
        let balance_after = wallet.balance + credit.amount;
        if balance_after >= Decimal::from(1_000_000_000_000i64) {
            return Err(CreditError::TooLarge);
        }
        let tx: Transaction = diesel::insert_into(wallet_transactions::table)
            .values((
                wallet_transactions::wallet_id.eq(wallet.id),
                wallet_transactions::organisation_id.eq(credit.organisation_id),
                wallet_transactions::kind.eq("credit"),
                wallet_transactions::direction.eq(1i16),
                wallet_transactions::amount.eq(credit.amount),
                wallet_transactions::balance_after.eq(balance_after),
                wallet_transactions::reference.eq(credit.reference),
                wallet_transactions::description.eq(credit.description),
                wallet_transactions::idempotency_key.eq(credit.idempotency_key),
                wallet_transactions::created_by.eq(credit.created_by),
            ))
            .returning(Transaction::as_returning())
            .get_result(conn)
            .await?;
        diesel::update(organisation_wallets::table.find(wallet.id))
            .set((
                organisation_wallets::balance.eq(balance_after),
                organisation_wallets::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        activity::record(
            conn,
            &NewActivity {
                user_id: credit.created_by,
                organisation_id: Some(credit.organisation_id),
                action: "wallet.credit",
                target: Some(&format!("wallet_transaction:{}", tx.id)),
                ip: credit.ip,
                detail: serde_json::json!({
                    "amount": credit.amount.to_string(),
                    "reference": credit.reference,
                    "balance_after": balance_after.to_string(),
                }),
                ..Default::default()
            },
        )
        .await?;
        Ok(CreditOutcome::Credited(tx))
    })
    .await
}
