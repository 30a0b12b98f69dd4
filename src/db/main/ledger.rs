//! The ledger: the one place a wallet's balance moves. Top-ups, acceptances, refunds and
//! adjustments (and every future money path) describe a [`Posting`] and call [`post`]
//! with the wallet row they have locked; [`post`] owns the direction, `balance_after`,
//! the balance limits and the low-balance alert.
//!
//! A posting is two or three statements, pipelined in this order (see [`ORDER`]): the
//! ledger row, then the wallet's new balance, then the low-balance alert. The ledger
//! row must go first: its trigger checks that it continues the balance it finds in the
//! wallet row, and the deferred triggers check at commit that the balance matches the
//! newest row. The schema backs every rule here (balance ≥ 0, one debit and one refund
//! per quote, one row per idempotency key, the chain); this module says them first so
//! that a person gets a clear answer instead of a constraint error.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{BigInt, Bool, Nullable, Numeric, SmallInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::alerts::{self, NewAlert};
use super::schema::{organisation_wallets, wallet_transactions};
use crate::db::Prepared;
use crate::db::pipeline::Pipeline;
use crate::domain::ids::{OrganisationId, QuoteId, TransactionId, UserId, WalletId};
use crate::domain::money::{WALLET_LIMIT, format_zar};
use crate::domain::states::TransactionKind;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = organisation_wallets)]
pub struct Wallet {
    pub id: WalletId,
    pub organisation_id: OrganisationId,
    pub balance: Decimal,
    pub low_balance_threshold: Decimal,
    pub low_balance_alerted: bool,
}

#[derive(Queryable, QueryableByName, Selectable, Debug, Clone)]
#[diesel(table_name = wallet_transactions)]
pub struct Transaction {
    pub id: TransactionId,
    pub kind: TransactionKind,
    pub amount: Decimal,
    pub balance_after: Decimal,
    pub reference: String,
    pub created_at: DateTime<Utc>,
}

/// Which way money moves: `wallet_transactions.direction` is +1 or −1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn sign(self) -> i16 {
        match self {
            Direction::In => 1,
            Direction::Out => -1,
        }
    }

    pub fn from_sign(sign: i16) -> Direction {
        if sign < 0 { Direction::Out } else { Direction::In }
    }
}

/// One movement of money, as the caller describes it.
pub struct Posting<'a> {
    pub kind: TransactionKind,
    pub direction: Direction,
    pub amount: Decimal,
    pub quote_id: Option<QuoteId>,
    pub reference: &'a str,
    pub description: &'a str,
    /// Unique across the ledger: the same key never posts twice.
    pub idempotency_key: &'a str,
    pub created_by: Option<UserId>,
}

#[derive(Debug, thiserror::Error)]
pub enum PostingError {
    #[error("the balance is {}: this would take it below zero", format_zar(*.balance))]
    BelowZero { balance: Decimal },
    #[error("the balance would exceed the largest amount a wallet can hold")]
    TooLarge,
    /// Another posting already used this idempotency key (a race the caller's own
    /// check could not see, when it locks another wallet).
    #[error("this idempotency key was already used")]
    KeyTaken,
    #[error(transparent)]
    Database(#[from] DieselError),
}

/// The statements of a posting, in the order they are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statement {
    LedgerRow,
    Balance,
    LowBalanceAlert,
}

/// The ledger row first (its trigger checks it continues the balance it finds), then
/// the balance, then the alert.
pub const ORDER: [Statement; 3] = [Statement::LedgerRow, Statement::Balance, Statement::LowBalanceAlert];

/// What a posting does to a locked wallet, worked out before anything is written.
pub struct Effect {
    pub balance_after: Decimal,
    /// The wallet's `low_balance_alerted` flag afterwards.
    pub low_balance_alerted: bool,
    pub alert: Option<NewAlert>,
}

/// Checks the limits and works out the new balance and the low-balance alert state.
pub fn effect(wallet: &Wallet, direction: Direction, amount: Decimal) -> Result<Effect, PostingError> {
    let balance_after = wallet.balance + Decimal::from(direction.sign()) * amount;
    if balance_after < Decimal::ZERO {
        return Err(PostingError::BelowZero { balance: wallet.balance });
    }
    if balance_after >= WALLET_LIMIT {
        return Err(PostingError::TooLarge);
    }
    let (low_balance_alerted, alert) = match direction {
        // Money coming in never alerts; it re-arms the alert once the balance is back.
        Direction::In => (wallet.low_balance_alerted && balance_after < wallet.low_balance_threshold, None),
        Direction::Out => low_balance_state(wallet, balance_after),
    };
    Ok(Effect { balance_after, low_balance_alerted, alert })
}

/// The low-balance alert is raised once per crossing below the threshold: the flag
/// stays set until the balance is back at or above the threshold, which re-arms it.
pub fn low_balance_state(wallet: &Wallet, balance: Decimal) -> (bool, Option<NewAlert>) {
    if balance >= wallet.low_balance_threshold {
        return (false, None);
    }
    if wallet.low_balance_alerted {
        return (true, None);
    }
    let alert = NewAlert {
        organisation_id: Some(wallet.organisation_id),
        level: "warning",
        kind: "low_balance",
        title: format!("Balance below {}", format_zar(wallet.low_balance_threshold)),
        body: format!("The wallet holds {}. Top up to keep accepting quotes.", format_zar(balance)),
        link: Some("/wallet".into()),
        dedupe_key: None,
    };
    (true, Some(alert))
}

/// How long a money transaction waits for a row lock (2 s): a wallet or quote row held
/// elsewhere (a stuck job, a manual SQL session) makes the request give up after this
/// ("busy, try again", 503) instead of holding its pooled connection while it waits. A
/// constant text, so it is prepared once per connection.
const SET_LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '2s'";

/// Bounds the lock waits of the rest of this transaction ([`SET_LOCK_TIMEOUT`]). The first
/// statement of every money transaction; takes a shared connection so that it can be
/// pipelined before the locks.
pub async fn bound_lock_waits(mut conn: &AsyncPgConnection) -> QueryResult<()> {
    Prepared::new(SET_LOCK_TIMEOUT).execute(&mut conn).await.map(drop)
}

/// Runs the transaction's deferred checks (every wallet touched matches its ledger) now
/// rather than at `COMMIT`. Sent right before a tax document takes the series' next
/// number, so that the checks do not run while every other debit waits for that row.
pub async fn check_balances_now(mut conn: &AsyncPgConnection) -> QueryResult<()> {
    Prepared::new("SET CONSTRAINTS ALL IMMEDIATE").execute(&mut conn).await.map(drop)
}

/// Locks an organisation's wallet row for the rest of the transaction. Every money
/// path that also locks a quote locks the quote first, so none can deadlock. Takes a
/// shared connection so that it can be pipelined.
pub async fn lock_wallet(mut conn: &AsyncPgConnection, org: OrganisationId) -> QueryResult<Option<Wallet>> {
    organisation_wallets::table
        .filter(organisation_wallets::organisation_id.eq(org))
        .select(Wallet::as_select())
        .for_update()
        .first(&mut conn)
        .await
        .optional()
}

/// Appends `posting` to the locked `wallet`'s ledger and moves the balance to match,
/// in one round trip. Must run inside the transaction that locked the wallet.
pub async fn post(
    conn: &AsyncPgConnection,
    wallet: &Wallet,
    posting: &Posting<'_>,
) -> Result<Transaction, PostingError> {
    let effect = effect(wallet, posting.direction, posting.amount)?;
    let mut row = None;
    let mut row_slot = Some(&mut row);
    let mut pipeline = Pipeline::<PostingError>::default();
    for statement in ORDER {
        match statement {
            Statement::LedgerRow => {
                let row = row_slot.take().expect("ORDER names the ledger row once");
                pipeline.push(async move {
                    *row = Some(insert_row(conn, wallet, posting, effect.balance_after).await?);
                    Ok::<_, PostingError>(())
                });
            }
            Statement::Balance => pipeline.push(set_balance(conn, wallet.id, &effect)),
            Statement::LowBalanceAlert => {
                if let Some(alert) = &effect.alert {
                    pipeline.push(alerts::raise(conn, alert));
                }
            }
        }
    }
    pipeline.run().await?;
    Ok(row.expect("the ledger row is the pipeline's first step"))
}

async fn insert_row(
    mut conn: &AsyncPgConnection,
    wallet: &Wallet,
    posting: &Posting<'_>,
    balance_after: Decimal,
) -> Result<Transaction, PostingError> {
    Prepared::new(
        "INSERT INTO wallet_transactions (wallet_id, organisation_id, kind, direction, amount, balance_after,
             quote_id, reference, description, idempotency_key, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         RETURNING id, kind, amount, balance_after, reference, created_at",
    )
    .bind::<BigInt, _>(wallet.id)
    .bind::<BigInt, _>(wallet.organisation_id)
    .bind::<Text, _>(posting.kind)
    .bind::<SmallInt, _>(posting.direction.sign())
    .bind::<Numeric, _>(posting.amount)
    .bind::<Numeric, _>(balance_after)
    .bind::<Nullable<BigInt>, _>(posting.quote_id)
    .bind::<Text, _>(posting.reference)
    .bind::<Text, _>(posting.description)
    .bind::<Text, _>(posting.idempotency_key)
    .bind::<Nullable<BigInt>, _>(posting.created_by)
    .get_result(&mut conn)
    .await
    .map_err(|e| match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => PostingError::KeyTaken,
        e => PostingError::Database(e),
    })
}

async fn set_balance(mut conn: &AsyncPgConnection, wallet: WalletId, effect: &Effect) -> QueryResult<usize> {
    Prepared::new(
        "UPDATE organisation_wallets SET balance = $1, low_balance_alerted = $2, updated_at = now() WHERE id = $3",
    )
    .bind::<Numeric, _>(effect.balance_after)
    .bind::<Bool, _>(effect.low_balance_alerted)
    .bind::<BigInt, _>(wallet)
    .execute(&mut conn)
    .await
}

/// A row an idempotency key already wrote.
pub struct Earlier {
    pub organisation_id: OrganisationId,
    pub direction: Direction,
    pub quote_id: Option<QuoteId>,
    pub transaction: Transaction,
}

impl Earlier {
    /// Whether the earlier row is this same posting (the retry of a form or a command),
    /// which is answered with it, rather than another one under a reused key.
    pub fn repeats(&self, org: OrganisationId, posting: &Posting<'_>) -> bool {
        self.organisation_id == org
            && self.transaction.kind == posting.kind
            && self.direction == posting.direction
            && self.quote_id == posting.quote_id
            && self.transaction.amount == posting.amount
    }
}

/// The row `key` already wrote, if any.
pub async fn earlier(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<Option<Earlier>> {
    let row: Option<(OrganisationId, i16, Option<QuoteId>, Transaction)> = wallet_transactions::table
        .filter(wallet_transactions::idempotency_key.eq(key))
        .select((
            wallet_transactions::organisation_id,
            wallet_transactions::direction,
            wallet_transactions::quote_id,
            Transaction::as_select(),
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(organisation_id, direction, quote_id, transaction)| Earlier {
        organisation_id,
        direction: Direction::from_sign(direction),
        quote_id,
        transaction,
    }))
}

/// The amount of a quote's debit or refund, if there is one (at most one of each).
pub async fn movement_of(
    conn: &mut AsyncPgConnection,
    quote: QuoteId,
    kind: TransactionKind,
) -> QueryResult<Option<Decimal>> {
    wallet_transactions::table
        .filter(wallet_transactions::quote_id.eq(quote))
        .filter(wallet_transactions::kind.eq(kind))
        .select(wallet_transactions::amount)
        .first(conn)
        .await
        .optional()
}

/// The balance a quote's debit left, if it was debited: what its acceptance answered.
pub async fn balance_after_debit(conn: &mut AsyncPgConnection, quote: QuoteId) -> QueryResult<Option<Decimal>> {
    wallet_transactions::table
        .filter(wallet_transactions::quote_id.eq(quote))
        .filter(wallet_transactions::kind.eq(TransactionKind::Debit))
        .select(wallet_transactions::balance_after)
        .first(conn)
        .await
        .optional()
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn wallet(balance: Decimal, threshold: Decimal, alerted: bool) -> Wallet {
        Wallet {
            id: WalletId(1),
            organisation_id: OrganisationId(1),
            balance,
            low_balance_threshold: threshold,
            low_balance_alerted: alerted,
        }
    }

    #[test]
    fn the_ledger_row_goes_before_the_balance() {
        assert_eq!(ORDER, [Statement::LedgerRow, Statement::Balance, Statement::LowBalanceAlert]);
    }

    #[test]
    fn a_debit_that_crosses_the_threshold_alerts_once() {
        let e = effect(&wallet(dec!(150), dec!(100), false), Direction::Out, dec!(60)).unwrap();
        assert_eq!(e.balance_after, dec!(90));
        assert!(e.low_balance_alerted && e.alert.is_some());
        let again = effect(&wallet(dec!(90), dec!(100), true), Direction::Out, dec!(10)).unwrap();
        assert!(again.low_balance_alerted && again.alert.is_none());
    }

    #[test]
    fn money_in_rearms_the_alert_once_back_at_the_threshold() {
        let below = effect(&wallet(dec!(50), dec!(100), true), Direction::In, dec!(49.99)).unwrap();
        assert!(below.low_balance_alerted && below.alert.is_none());
        let back = effect(&wallet(dec!(50), dec!(100), true), Direction::In, dec!(50)).unwrap();
        assert!(!back.low_balance_alerted && back.alert.is_none());
    }

    #[test]
    fn money_in_below_the_threshold_does_not_alert() {
        let e = effect(&wallet(dec!(0), dec!(500), false), Direction::In, dec!(100)).unwrap();
        assert!(!e.low_balance_alerted && e.alert.is_none());
    }

    #[test]
    fn limits() {
        assert!(matches!(
            effect(&wallet(dec!(10), dec!(0), false), Direction::Out, dec!(10.01)),
            Err(PostingError::BelowZero { balance }) if balance == dec!(10)
        ));
        assert!(effect(&wallet(dec!(10), dec!(0), false), Direction::Out, dec!(10)).is_ok());
        assert!(matches!(
            effect(&wallet(WALLET_LIMIT - dec!(1), dec!(0), false), Direction::In, dec!(1)),
            Err(PostingError::TooLarge)
        ));
    }
}
