//! Staff corrections to a wallet: refunds of an accepted quote and manual adjustments.
//! Both are new ledger rows (the ledger is append-only), written exactly once per
//! idempotency key, in one transaction holding the wallet row lock. A refund locks the
//! quote first, then the wallet: the same order as accepting, so they cannot deadlock.
//! A refund issues a credit note (VAT Act s21) against the debit's tax invoice.
//! A full refund also ends the quote's services; a partial one may end one of them (staff
//! ending a service at once, refunding its unused part).

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::activity::{self, NewActivity};
use super::alerts::{self, NewAlert};
use super::invoices::{self, NewDocument};
use super::ledger::{self, Direction, Posting, PostingError, Transaction};
use super::schema::quotes;
use super::services;
use crate::domain::documents::refund_line;
use crate::domain::ids::{OrganisationId, QuoteId, ServiceId, UserId};
use crate::domain::money::format_zar;
use crate::domain::states::{InvoiceKind, QuoteStatus, TransactionKind};

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
    NotAccepted(QuoteStatus),
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
    #[error("this organisation has no tax invoice with that number")]
    UnknownInvoice,
    #[error("at most {} (the total of the invoice it corrects)", format_zar(*.max))]
    MoreThanInvoiced { max: Decimal },
    #[error("that service is not a running service of this quote")]
    NoSuchService,
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
    /// A service of the quote to end at once (the refund being its unused part).
    pub end_service: Option<ServiceId>,
}

pub struct NewAdjustment<'a> {
    pub organisation_id: OrganisationId,
    pub direction: Direction,
    pub amount: Decimal,
    pub reason: &'a str,
    pub idempotency_key: &'a str,
    /// The number of the tax invoice this adjustment corrects (money back): a credit note
    /// is issued against it.
    pub corrects: Option<&'a str>,
}

/// What a quote's refund form needs: its debit and any refund already made.
#[derive(Debug)]
pub struct Refundable {
    pub organisation_id: OrganisationId,
    pub number: String,
    pub status: QuoteStatus,
    pub debited: Option<Decimal>,
    pub refunded: Option<Decimal>,
}

pub async fn refundable(conn: &mut AsyncPgConnection, quote: QuoteId) -> QueryResult<Option<Refundable>> {
    let Some((organisation_id, number, status)) = quotes::table
        .find(quote)
        .select((quotes::organisation_id, quotes::number, quotes::status))
        .first::<(OrganisationId, String, QuoteStatus)>(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let debited = ledger::movement_of(conn, quote, TransactionKind::Debit).await?;
    let refunded = ledger::movement_of(conn, quote, TransactionKind::Refund).await?;
    Ok(Some(Refundable { organisation_id, number, status, debited, refunded }))
}

/// Maps the ledger's refusals to a correction's.
fn refused(e: PostingError) -> Refused {
    match e {
        PostingError::BelowZero { balance } => Refused::BelowZero { balance },
        PostingError::TooLarge => Refused::TooLarge,
        PostingError::KeyTaken => Refused::KeyReused,
        PostingError::Database(e) => Refused::Database(e),
    }
}

/// The row the posting's idempotency key already wrote: the same correction again is
/// answered with it; anything else under the same key is refused.
async fn earlier(
    conn: &mut AsyncPgConnection,
    org: OrganisationId,
    posting: &Posting<'_>,
) -> Result<Option<Outcome>, Refused> {
    match ledger::earlier(conn, posting.idempotency_key).await? {
        Some(earlier) if earlier.repeats(org, posting) => Ok(Some(Outcome::AlreadyRecorded(earlier.transaction))),
        Some(_) => Err(Refused::KeyReused),
        None => Ok(None),
    }
}

/// Refunds (part of) an accepted quote's debit to its organisation's wallet, once.
pub async fn refund(
    conn: &mut AsyncPgConnection,
    refund: &NewRefund<'_>,
    clerk: &Clerk<'_>,
) -> Result<Outcome, Refused> {
    conn.transaction(async |conn| {
        ledger::bound_lock_waits(conn).await?;
        let (org, number, status): (OrganisationId, String, QuoteStatus) = quotes::table
            .find(refund.quote_id)
            .select((quotes::organisation_id, quotes::number, quotes::status))
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(Refused::NotFound)?;
        let wallet = ledger::lock_wallet(conn, org).await?.ok_or(Refused::NotFound)?;
        let posting = Posting {
            kind: TransactionKind::Refund,
            direction: Direction::In,
            amount: refund.amount,
            quote_id: Some(refund.quote_id),
            reference: &number,
            description: refund.reason,
            idempotency_key: refund.idempotency_key,
            created_by: Some(clerk.user_id),
        };
        if let Some(outcome) = earlier(conn, org, &posting).await? {
            return Ok(outcome);
        }
        if !status.is_accepted() {
            return Err(Refused::NotAccepted(status));
        }
        if let Some(refunded) = ledger::movement_of(conn, refund.quote_id, TransactionKind::Refund).await? {
            return Err(Refused::AlreadyRefunded(refunded));
        }
        let debited =
            ledger::movement_of(conn, refund.quote_id, TransactionKind::Debit).await?.ok_or(Refused::NothingDebited)?;
        if refund.amount > debited {
            return Err(Refused::MoreThanDebited { max: debited });
        }
        let (original, vat_rate) =
            invoices::of_quote_debit(conn, refund.quote_id).await?.ok_or(Refused::NothingDebited)?;
        let tx = ledger::post(conn, &wallet, &posting).await.map_err(refused)?;
        let line = refund_line(format!("Refund for quote {number}: {}", refund.reason), tx.amount, vat_rate);
        let credit_note = invoices::issue(
            conn,
            &NewDocument {
                kind: InvoiceKind::CreditNote,
                organisation_id: org,
                idempotency_key: refund.idempotency_key,
                original_invoice_id: Some(original),
                reason: Some(refund.reason),
                reference: &number,
                vat_rate,
                subtotal: line.amount,
                vat: line.vat,
                total: tx.amount,
                lines: std::slice::from_ref(&line),
            },
        )
        .await?;
        // A full refund ends the quote's services at once (and deprovisions its VMs); a
        // partial one may end one of them.
        if refund.amount == debited {
            services::end_for_quote(conn, refund.quote_id).await?;
        } else if let Some(service) = refund.end_service
            && !services::end_one(conn, refund.quote_id, service).await?
        {
            return Err(Refused::NoSuchService);
        }
        alerts::raise(
            conn,
            &NewAlert {
                organisation_id: Some(org),
                level: "info",
                kind: "refund",
                title: format!("Refund of {} for quote {number}", format_zar(tx.amount)),
                body: format!("{} The balance is now {}.", full_stop(refund.reason), format_zar(tx.balance_after)),
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
                    "credit_note": credit_note.number,
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
        ledger::bound_lock_waits(conn).await?;
        let wallet = ledger::lock_wallet(conn, adjustment.organisation_id).await?.ok_or(Refused::NotFound)?;
        let posting = Posting {
            kind: TransactionKind::Adjustment,
            direction: adjustment.direction,
            amount: adjustment.amount,
            quote_id: None,
            reference: "Adjustment",
            description: adjustment.reason,
            idempotency_key: adjustment.idempotency_key,
            created_by: Some(clerk.user_id),
        };
        if let Some(outcome) = earlier(conn, adjustment.organisation_id, &posting).await? {
            return Ok(outcome);
        }
        let corrected = match adjustment.corrects {
            Some(number) => {
                let (invoice, total, vat_rate) =
                    invoices::tax_invoice_numbered(conn, adjustment.organisation_id, number)
                        .await?
                        .ok_or(Refused::UnknownInvoice)?;
                if adjustment.amount > total {
                    return Err(Refused::MoreThanInvoiced { max: total });
                }
                Some((invoice, vat_rate, number))
            }
            None => None,
        };
        let tx = ledger::post(conn, &wallet, &posting).await.map_err(refused)?;
        if let Some((invoice, vat_rate, number)) = corrected {
            let line = refund_line(format!("Correction of {number}: {}", adjustment.reason), tx.amount, vat_rate);
            invoices::issue(
                conn,
                &NewDocument {
                    kind: InvoiceKind::CreditNote,
                    organisation_id: adjustment.organisation_id,
                    idempotency_key: adjustment.idempotency_key,
                    original_invoice_id: Some(invoice),
                    reason: Some(adjustment.reason),
                    reference: number,
                    vat_rate,
                    subtotal: line.amount,
                    vat: line.vat,
                    total: tx.amount,
                    lines: std::slice::from_ref(&line),
                },
            )
            .await?;
        }
        activity::record(
            conn,
            &NewActivity {
                user_id: Some(clerk.user_id),
                organisation_id: Some(adjustment.organisation_id),
                action: "wallet.adjust",
                target: Some(&format!("wallet_transaction:{}", tx.id)),
                ip: clerk.ip,
                detail: serde_json::json!({
                    "direction": adjustment.direction.sign(),
                    "corrects": adjustment.corrects,
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

/// A reason as typed, ended with a full stop when it has none, so the sentence after
/// it in an alert reads as a second sentence.
fn full_stop(reason: &str) -> String {
    let reason = reason.trim_end();
    if reason.ends_with(['.', '!', '?']) { reason.to_owned() } else { format!("{reason}.") }
}
