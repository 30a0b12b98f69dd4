//! Accepting a quote: the transaction that matters (DESIGN.md §5).
//!
//! In one main-database transaction: lock the quote row, check its organisation, status,
//! validity and the organisation's status; lock the wallet row; if the balance covers
//! the amount due, insert the debit with its `balance_after`, lower the balance, mark
//! the quote accepted, and write the alert(s), the activity row and the provisioning
//! log rows. Lock order is always quote, then wallet (top-ups lock only the wallet), so
//! concurrent acceptances cannot deadlock. The statements are pipelined: the locks go in
//! one round trip and the writes in about two, so an acceptance costs five round trips
//! (with BEGIN and COMMIT), not fourteen. The schema backs every invariant: one debit
//! per quote (unique index), balance never negative (check), ledger chain (triggers).

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::future::{try_join, try_join3, try_join5};
use rust_decimal::Decimal;

use super::activity::{self, Actor, NewActivity};
use super::alerts::{self, NewAlert};
use super::quotes::{self, Quote};
use super::schema::{disk_logs, organisation_wallets, organisations, quotes as q, vm_logs, wallet_transactions};
use super::wallets::{self, Wallet};
use crate::domain::ids::{QuoteId, UserId};
use crate::domain::money::format_zar;

#[derive(Debug)]
pub enum Outcome {
    /// This request accepted it; the wallet now holds `balance_after`.
    Accepted { balance_after: Decimal },
    /// An earlier request (a double click, another tab, a retry) accepted it: nothing changed.
    AlreadyAccepted,
}

#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("quote not found")]
    NotFound,
    #[error("this quote is {0} and can no longer be accepted or declined")]
    NotPending(String),
    #[error("this quote has expired; ask for a new one")]
    Expired,
    #[error("your organisation's account is suspended, so it cannot accept quotes")]
    Suspended,
    #[error("insufficient funds: {} short", format_zar(*.short))]
    InsufficientFunds { short: Decimal },
    #[error("the organisation has no wallet")]
    NoWallet,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Locks the quote row and checks that it belongs to the actor's organisation.
async fn lock_own_quote(conn: &mut AsyncPgConnection, id: QuoteId, actor: &Actor<'_>) -> Result<Quote, Refusal> {
    let quote = q::table.find(id).select(Quote::as_select()).for_update().first(conn).await.optional()?;
    match quote {
        Some(quote) if quote.organisation_id == actor.organisation_id => Ok(quote),
        _ => Err(Refusal::NotFound),
    }
}

fn check_open(quote: &Quote) -> Result<(), Refusal> {
    match quote.status_now() {
        "pending" => Ok(()),
        "expired" => Err(Refusal::Expired),
        other => Err(Refusal::NotPending(other.to_owned())),
    }
}

pub async fn accept(conn: &mut AsyncPgConnection, id: QuoteId, actor: &Actor<'_>) -> Result<Outcome, Refusal> {
    let result = conn
        .transaction(async |conn| {
            let (quote, org_status, wallet) = lock_for_acceptance(conn, id, actor).await?;
            let quote = quote.ok_or(Refusal::NotFound)?;
            if quote.status == "accepted" {
                return Ok(Outcome::AlreadyAccepted);
            }
            check_open(&quote)?;
            if org_status.as_deref() != Some("active") {
                return Err(Refusal::Suspended);
            }
            let wallet = wallet.ok_or(Refusal::NoWallet)?;
            if wallet.balance < quote.amount_due {
                return Err(Refusal::InsufficientFunds { short: quote.amount_due - wallet.balance });
            }
            let balance_after = wallet.balance - quote.amount_due;
            record_acceptance(conn, &quote, &wallet, actor, balance_after).await?;
            if quote.kind == "vm" {
                request_provisioning(conn, &quote, actor.user_id).await?;
            }
            Ok(Outcome::Accepted { balance_after })
        })
        .await;
    if let Err(Refusal::InsufficientFunds { short }) = &result {
        // The acceptance rolled back; only the refusal is recorded.
        activity::record(
            conn,
            &NewActivity {
                user_id: Some(actor.user_id),
                organisation_id: Some(actor.organisation_id),
                action: "quote.accept_refused",
                target: Some(&format!("quote:{id}")),
                ip: actor.ip,
                detail: serde_json::json!({ "reason": "insufficient funds", "short": short.to_string() }),
                ..Default::default()
            },
        )
        .await?;
    }
    result
}

/// The quote (when it is the actor's organisation's), the organisation's status and its
/// wallet, locked in that order, in one round trip: the three statements are pipelined,
/// and PostgreSQL runs a connection's statements one after another, so the lock order
/// is the one every money path keeps (quote, then wallet).
async fn lock_for_acceptance(
    mut conn: &AsyncPgConnection,
    id: QuoteId,
    actor: &Actor<'_>,
) -> QueryResult<(Option<Quote>, Option<String>, Option<Wallet>)> {
    let org = actor.organisation_id;
    let quote = q::table
        .find(id)
        .filter(q::organisation_id.eq(org))
        .select(Quote::as_select())
        .for_update()
        .load::<Quote>(&mut conn);
    let status = organisations::table.find(org).select(organisations::status).for_share().load::<String>(&mut conn);
    let wallet = organisation_wallets::table
        .filter(organisation_wallets::organisation_id.eq(org))
        .select(Wallet::as_select())
        .for_update()
        .load::<Wallet>(&mut conn);
    let (quote, status, wallet) = try_join3(quote, status, wallet).await?;
    Ok((quote.into_iter().next(), status.into_iter().next(), wallet.into_iter().next()))
}

/// The writes of an acceptance, pipelined in one round trip: the debit, then the new
/// balance (in this order, which PostgreSQL keeps: the ledger trigger checks that the
/// row continues the balance it finds), and beside them the quote's status, the alerts
/// and the activity row.
async fn record_acceptance(
    conn: &AsyncPgConnection,
    quote: &Quote,
    wallet: &Wallet,
    actor: &Actor<'_>,
    balance_after: Decimal,
) -> QueryResult<()> {
    let low_alert = wallets::low_balance_alert(wallet, balance_after);
    let description = format!("Quote {} accepted", quote.number);
    let idempotency_key = format!("quote-accept:{}", quote.id);
    let debit = async {
        if quote.amount_due == Decimal::ZERO {
            return Ok(0);
        }
        diesel::insert_into(wallet_transactions::table)
            .values((
                wallet_transactions::wallet_id.eq(wallet.id),
                wallet_transactions::organisation_id.eq(quote.organisation_id),
                wallet_transactions::kind.eq("debit"),
                wallet_transactions::direction.eq(-1i16),
                wallet_transactions::amount.eq(quote.amount_due),
                wallet_transactions::balance_after.eq(balance_after),
                wallet_transactions::quote_id.eq(quote.id),
                wallet_transactions::reference.eq(&quote.number),
                wallet_transactions::description.eq(&description),
                wallet_transactions::idempotency_key.eq(&idempotency_key),
                wallet_transactions::created_by.eq(actor.user_id),
            ))
            .execute(&mut &*conn)
            .await
    };
    // Sent after the debit on the same connection, so PostgreSQL runs it after the debit;
    // the low-balance flag is set in the same statement when this debit crosses the
    // threshold. (A free quote leaves the balance as it is.)
    let balance = diesel::update(organisation_wallets::table.find(wallet.id))
        .set((
            organisation_wallets::balance.eq(balance_after),
            organisation_wallets::low_balance_alerted.eq(wallet.low_balance_alerted || low_alert.is_some()),
            organisation_wallets::updated_at.eq(diesel::dsl::now),
        ))
        .execute(&mut &*conn);
    let status = diesel::update(q::table.find(quote.id))
        .set((
            q::status.eq("accepted"),
            q::accepted_by.eq(actor.user_id),
            q::accepted_at.eq(diesel::dsl::now),
            q::updated_at.eq(diesel::dsl::now),
        ))
        .execute(&mut &*conn);
    let accepted = NewAlert {
        organisation_id: Some(quote.organisation_id),
        level: "info",
        kind: "quote_accepted",
        title: format!("Quote {} accepted", quote.number),
        body: format!("{} was debited from the wallet.", format_zar(quote.amount_due)),
        link: Some(format!("/quotes/{}", quote.id)),
        dedupe_key: Some(format!("quote-accepted:{}", quote.id)),
    };
    let alerts = try_join(alerts::raise(conn, &accepted), async {
        match &low_alert {
            Some(low) => alerts::raise(conn, low).await,
            None => Ok(()),
        }
    });
    let target = format!("quote:{}", quote.id);
    let log = NewActivity {
        user_id: Some(actor.user_id),
        organisation_id: Some(quote.organisation_id),
        action: "quote.accept",
        target: Some(&target),
        ip: actor.ip,
        detail: serde_json::json!({
            "number": quote.number,
            "amount_due": quote.amount_due.to_string(),
            "balance_after": balance_after.to_string(),
        }),
        ..Default::default()
    };
    try_join5(debit, balance, status, alerts, activity::record(conn, &log)).await.map(drop)
}

/// "Provision requested" rows for every VM (and its disk) of an accepted VM quote.
async fn request_provisioning(conn: &mut AsyncPgConnection, quote: &Quote, user: UserId) -> QueryResult<()> {
    for (vm_quote_id, spec) in quotes::vm_specs(conn, quote.id).await? {
        for n in 1..=spec.count {
            let vm_name = format!("{}-vm{:02}", quote.number.to_lowercase(), n);
            let vm_log_id: i64 = diesel::insert_into(vm_logs::table)
                .values((
                    vm_logs::organisation_id.eq(quote.organisation_id),
                    vm_logs::quote_id.eq(quote.id),
                    vm_logs::vm_quote_id.eq(vm_quote_id),
                    vm_logs::vm_name.eq(&vm_name),
                    vm_logs::event.eq("provision requested"),
                    vm_logs::detail.eq(serde_json::json!({
                        "template": spec.name, "vcpu": spec.vcpu, "ram_gb": spec.ram_gb, "os": spec.os,
                    })),
                    vm_logs::created_by.eq(user),
                ))
                .returning(vm_logs::id)
                .get_result(conn)
                .await?;
            diesel::insert_into(disk_logs::table)
                .values((
                    disk_logs::organisation_id.eq(quote.organisation_id),
                    disk_logs::quote_id.eq(quote.id),
                    disk_logs::vm_log_id.eq(vm_log_id),
                    disk_logs::vm_name.eq(&vm_name),
                    disk_logs::disk_name.eq(format!("{vm_name}-disk0")),
                    disk_logs::size_gb.eq(spec.disk_gb),
                    disk_logs::disk_type.eq(&spec.disk_type),
                    disk_logs::event.eq("provision requested"),
                ))
                .execute(conn)
                .await?;
        }
    }
    Ok(())
}

#[derive(Debug)]
pub enum DeclineOutcome {
    Declined,
    AlreadyDeclined,
}

pub async fn decline(conn: &mut AsyncPgConnection, id: QuoteId, actor: &Actor<'_>) -> Result<DeclineOutcome, Refusal> {
    conn.transaction(async |conn| {
        let quote = lock_own_quote(conn, id, actor).await?;
        if quote.status == "declined" {
            return Ok(DeclineOutcome::AlreadyDeclined);
        }
        check_open(&quote)?;
        diesel::update(q::table.find(id))
            .set((
                q::status.eq("declined"),
                q::declined_by.eq(actor.user_id),
                q::declined_at.eq(Utc::now()),
                q::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        activity::record(
            conn,
            &NewActivity {
                user_id: Some(actor.user_id),
                organisation_id: Some(quote.organisation_id),
                action: "quote.decline",
                target: Some(&format!("quote:{}", quote.id)),
                ip: actor.ip,
                detail: serde_json::json!({ "number": quote.number }),
                ..Default::default()
            },
        )
        .await?;
        Ok(DeclineOutcome::Declined)
    })
    .await
}
