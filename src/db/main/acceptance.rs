//! Accepting a quote: the transaction that matters (DESIGN.md §5).
//!
//! In one main-database transaction: lock the quote row, check its organisation, status,
//! validity and the organisation's status; lock the wallet row; if the balance covers
//! the amount due, insert the debit with its `balance_after`, lower the balance, mark
//! the quote accepted, make its services (first month paid), and write the alert(s),
//! the activity row and the provisioning log rows. Lock order is always quote, then wallet (top-ups lock only the wallet), so
//! concurrent acceptances cannot deadlock. Who may accept is `domain::states::may_accept`;
//! the debit goes through `ledger::post`. The statements are pipelined in a stated
//! order (`db::pipeline`): `BEGIN` and the locks go in one round trip, the writes and
//! `COMMIT` in one more, so the tax invoice's number (taken last) is held only while the
//! server records the commit: the commit does not wait for the disk, the statement
//! pipelined after it does, before any answer (`pipeline::transaction::push_commit`).
//! The schema backs every invariant: one debit per quote (unique index), balance never
//! negative (check), ledger chain (triggers).

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Jsonb, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::activity::{self, Actor, NewActivity};
use super::alerts::{self, NewAlert};
use super::invoices::{self, Issued, NewDocument};
use super::ledger::{self, Direction, Posting, PostingError, Wallet};
use super::quotes::{self, Quote, QuoteLine};
use super::schema::{organisations, quotes as q};
use super::services;
use crate::db::Prepared;
use crate::db::pipeline::{Pipeline, transaction};
use crate::domain::documents::{ChargedLine, FULL_INVOICE_ABOVE, acceptance_lines};
use crate::domain::ids::{OrganisationId, QuoteId, UserId};
use crate::domain::money::format_zar;
use crate::domain::quote::VmSpec;
use crate::domain::states::{
    Billing, InvoiceKind, NotAcceptable, OrganisationStatus, QuoteKind, QuoteStatus, TransactionKind, may_accept,
    may_decline,
};

#[derive(Debug)]
pub enum Outcome {
    /// This request accepted it; the wallet now holds `balance_after`, and the debit's
    /// tax invoice is `invoice` (none for a free quote: no money moved).
    Accepted { balance_after: Decimal, invoice: Option<Issued> },
    /// An earlier request (a double click, another tab, a retry) accepted it: nothing changed.
    AlreadyAccepted,
}

#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("quote not found")]
    NotFound,
    #[error(transparent)]
    NotAcceptable(#[from] NotAcceptable),
    #[error("insufficient funds: {} short", format_zar(*.short))]
    InsufficientFunds { short: Decimal },
    #[error("the organisation has no wallet")]
    NoWallet,
    /// A tax invoice over R 5 000 names the recipient's address (VAT Act s20(4)).
    #[error(
        "a tax invoice over {} must show your organisation's address, and it has none yet: add it below, then accept again",
        format_zar(FULL_INVOICE_ABOVE)
    )]
    AddressNeeded,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl From<PostingError> for Refusal {
    fn from(e: PostingError) -> Self {
        match e {
            PostingError::Database(e) => Refusal::Database(e),
            // The balance was checked under the same lock, and the debit's key is unique
            // per quote, which is locked: neither can happen, but neither may pass.
            other => Refusal::Database(diesel::result::Error::QueryBuilderError(other.into())),
        }
    }
}

/// Locks the quote row and checks that it belongs to the actor's organisation.
async fn lock_own_quote(conn: &mut AsyncPgConnection, id: QuoteId, actor: &Actor) -> Result<Quote, Refusal> {
    let quote = q::table.find(id).select(Quote::as_select()).for_update().first(conn).await.optional()?;
    match quote {
        Some(quote) if quote.organisation_id == actor.organisation_id => Ok(quote),
        _ => Err(Refusal::NotFound),
    }
}

pub async fn accept(conn: &mut AsyncPgConnection, id: QuoteId, actor: &Actor) -> Result<Outcome, Refusal> {
    transaction::open(conn)?;
    let result = accept_in_transaction(conn, id, actor).await;
    // Only an acceptance's write pipeline carries the COMMIT; everything else rolls back.
    let committed = matches!(result, Ok(Outcome::Accepted { .. }));
    let closed = transaction::close(conn, committed).await;
    if let (Err(Refusal::InsufficientFunds { short }), Ok(())) = (&result, &closed) {
        // The acceptance rolled back; only the refusal is recorded.
        activity::record(
            conn,
            &NewActivity {
                user_id: Some(actor.user_id),
                organisation_id: Some(actor.organisation_id),
                action: "quote.accept_refused",
                target: Some(&format!("quote:{id}")),
                ip: actor.ip.as_deref(),
                detail: serde_json::json!({ "reason": "insufficient funds", "short": short.to_string() }),
                ..Default::default()
            },
        )
        .await?;
    }
    let outcome = result?;
    closed?;
    Ok(outcome)
}

/// The acceptance in two round trips: `BEGIN` and the locks, then the writes and
/// `COMMIT` (a VM quote reads its VMs' specifications in between).
async fn accept_in_transaction(conn: &mut AsyncPgConnection, id: QuoteId, actor: &Actor) -> Result<Outcome, Refusal> {
    let locked = lock_for_acceptance(conn, id, actor).await?;
    let quote = locked.quote.ok_or(Refusal::NotFound)?;
    if quote.status.is_accepted() {
        return Ok(Outcome::AlreadyAccepted);
    }
    let (org_status, has_address) = locked.organisation.ok_or(Refusal::NotFound)?;
    may_accept(quote.status, quote.valid_until, org_status, Utc::now())?;
    let wallet = locked.wallet.ok_or(Refusal::NoWallet)?;
    if wallet.balance < quote.amount_due {
        return Err(Refusal::InsufficientFunds { short: quote.amount_due - wallet.balance });
    }
    if quote.amount_due > FULL_INVOICE_ABOVE && !has_address {
        return Err(Refusal::AddressNeeded);
    }
    let vms = if quote.kind == QuoteKind::Vm { quotes::vm_specs(conn, quote.id).await? } else { Vec::new() };
    let (balance_after, invoice) = record_acceptance(conn, &quote, &locked.lines, &vms, &wallet, actor).await?;
    Ok(Outcome::Accepted { balance_after, invoice })
}

/// What an acceptance reads under its locks.
struct Locked {
    quote: Option<Quote>,
    /// The organisation's status, and whether it has an address for tax invoices.
    organisation: Option<(OrganisationStatus, bool)>,
    wallet: Option<Wallet>,
    lines: Vec<QuoteLine>,
}

/// `BEGIN`, then the quote (when it is the actor's organisation's), the organisation's
/// status and its wallet, locked in that order (quote, then wallet: the order every
/// money path keeps), and the quote's lines for its tax invoice, pipelined in one round
/// trip.
async fn lock_for_acceptance(conn: &AsyncPgConnection, id: QuoteId, actor: &Actor) -> QueryResult<Locked> {
    let org = actor.organisation_id;
    let mut locked = Locked { quote: None, organisation: None, wallet: None, lines: Vec::new() };
    let Locked { quote, organisation, wallet, lines } = &mut locked;
    let mut pipeline = Pipeline::<diesel::result::Error>::default();
    pipeline.push(transaction::begin(conn));
    pipeline.push(ledger::bound_lock_waits(conn));
    pipeline.push(async {
        let mut c = conn;
        *quote = q::table
            .find(id)
            .filter(q::organisation_id.eq(org))
            .select(Quote::as_select())
            .for_update()
            .first::<Quote>(&mut c)
            .await
            .optional()?;
        QueryResult::Ok(())
    });
    pipeline.push(async {
        let mut c = conn;
        *organisation = organisations::table
            .find(org)
            .select((organisations::status, organisations::address.is_not_null()))
            .for_share()
            .first(&mut c)
            .await
            .optional()?;
        QueryResult::Ok(())
    });
    pipeline.push(async {
        *wallet = ledger::lock_wallet(conn, org).await?;
        QueryResult::Ok(())
    });
    pipeline.push(async {
        *lines = quotes::lines(conn, id).await?;
        QueryResult::Ok(())
    });
    pipeline.run().await?;
    Ok(locked)
}

/// The writes of an acceptance and its `COMMIT`, pipelined in one round trip: the debit
/// (its ledger row and the new balance, through the ledger), then the quote's status,
/// its services, the alert, the activity row, the VMs' provisioning requests, the
/// debit's tax invoice (it takes the series' next number, whose row stays locked until
/// commit: so it goes last, and the commit right behind it) and `COMMIT`. Returns the
/// balance after and the invoice.
async fn record_acceptance(
    conn: &AsyncPgConnection,
    quote: &Quote,
    lines: &[QuoteLine],
    vms: &[(i64, VmSpec)],
    wallet: &Wallet,
    actor: &Actor,
) -> Result<(Decimal, Option<Issued>), Refusal> {
    let description = format!("Quote {} accepted", quote.number);
    let idempotency_key = format!("quote-accept:{}", quote.id);
    let posting = Posting {
        kind: TransactionKind::Debit,
        direction: Direction::Out,
        amount: quote.amount_due,
        quote_id: Some(quote.id),
        reference: &quote.number,
        description: &description,
        idempotency_key: &idempotency_key,
        created_by: Some(actor.user_id),
    };
    let balance_after = wallet.balance - quote.amount_due;
    let accepted = NewAlert {
        organisation_id: Some(quote.organisation_id),
        level: "info",
        kind: "quote_accepted",
        title: format!("Quote {} accepted", quote.number),
        body: if quote.amount_due > Decimal::ZERO {
            format!("{} was debited from the wallet.", format_zar(quote.amount_due))
        } else {
            "Nothing was due on acceptance, so the wallet was not debited.".to_owned()
        },
        link: Some(format!("/quotes/{}", quote.id)),
        dedupe_key: Some(format!("quote-accepted:{}", quote.id)),
    };
    let target = format!("quote:{}", quote.id);
    let log = NewActivity {
        user_id: Some(actor.user_id),
        organisation_id: Some(quote.organisation_id),
        action: "quote.accept",
        target: Some(&target),
        ip: actor.ip.as_deref(),
        detail: serde_json::json!({
            "number": quote.number,
            "amount_due": quote.amount_due.to_string(),
            "balance_after": balance_after.to_string(),
        }),
        ..Default::default()
    };
    let charged: Vec<ChargedLine<'_>> = lines
        .iter()
        .map(|l| ChargedLine {
            description: &l.description,
            monthly: l.billing == Billing::Monthly,
            quantity: l.quantity,
            unit_price: l.unit_price,
            amount: l.amount,
        })
        .collect();
    let vat = quote.once_off_vat + quote.monthly_vat;
    let document_lines = acceptance_lines(&charged, vat);
    let document = NewDocument {
        kind: InvoiceKind::TaxInvoice,
        organisation_id: quote.organisation_id,
        idempotency_key: &idempotency_key,
        original_invoice_id: None,
        reason: None,
        reference: &quote.number,
        vat_rate: quote.vat_rate,
        lines: &document_lines,
        subtotal: quote.amount_due - vat,
        vat,
        total: quote.amount_due,
    };
    let provisioning = provisioning(quote, vms, actor.user_id);
    let mut invoice = None;
    let mut pipeline = Pipeline::<Refusal>::default();
    // A free quote moves no money, so it has no ledger row and no invoice.
    let debits = quote.amount_due > Decimal::ZERO;
    if debits {
        pipeline.push(ledger::post(conn, wallet, &posting));
    }
    pipeline.push(async {
        let mut c = conn;
        Prepared::new(
            "UPDATE quotes SET status = $1, accepted_by = $2, accepted_at = now(), updated_at = now() WHERE id = $3",
        )
        .bind::<Text, _>(QuoteStatus::Accepted)
        .bind::<BigInt, _>(actor.user_id)
        .bind::<BigInt, _>(quote.id)
        .execute(&mut c)
        .await
    });
    // After the status: the services are made from the accepted quote's monthly lines
    // (a quote without one makes none, and needs no call).
    if lines.iter().any(|l| l.billing == Billing::Monthly && l.amount > Decimal::ZERO) {
        pipeline.push(services::create_for_quote(conn, quote.id));
    }
    pipeline.push(alerts::raise(conn, &accepted));
    pipeline.push(activity::record(conn, &log));
    for request in &provisioning {
        pipeline.push(request_provisioning(conn, request));
    }
    if debits {
        pipeline.push(ledger::check_balances_now(conn));
        pipeline.push(async {
            invoice = Some(invoices::issue(conn, &document).await?);
            QueryResult::Ok(())
        });
    }
    transaction::push_commit(&mut pipeline, conn, debits);
    pipeline.run().await?;
    Ok((balance_after, invoice))
}

/// One VM of an accepted VM quote to provision: its name and specification.
struct Provisioning<'a> {
    organisation_id: OrganisationId,
    quote_id: QuoteId,
    vm_quote_id: i64,
    vm_name: String,
    spec: &'a VmSpec,
    detail: serde_json::Value,
    user: UserId,
}

/// The VMs a VM quote's acceptance asks to provision, `count` of each specification.
fn provisioning<'a>(quote: &Quote, vms: &'a [(i64, VmSpec)], user: UserId) -> Vec<Provisioning<'a>> {
    vms.iter()
        .flat_map(|(vm_quote_id, spec)| (1..=spec.count).map(move |n| (*vm_quote_id, spec, n)))
        .map(|(vm_quote_id, spec, n)| Provisioning {
            organisation_id: quote.organisation_id,
            quote_id: quote.id,
            vm_quote_id,
            vm_name: format!("{}-vm{:02}", quote.number.to_lowercase(), n),
            spec,
            detail: serde_json::json!({
                "template": spec.name, "vcpu": spec.vcpu, "ram_gb": spec.ram_gb, "os": spec.os,
            }),
            user,
        })
        .collect()
}

/// The "provision requested" rows of one VM and its disk, in one statement.
async fn request_provisioning(mut conn: &AsyncPgConnection, vm: &Provisioning<'_>) -> QueryResult<usize> {
    Prepared::new(
        "WITH vm AS (
            INSERT INTO vm_logs (organisation_id, quote_id, vm_quote_id, vm_name, event, detail, created_by)
            VALUES ($1, $2, $3, $4, 'provision requested', $5, $6) RETURNING id)
         INSERT INTO disk_logs (organisation_id, quote_id, vm_log_id, vm_name, disk_name, size_gb, disk_type, event)
         SELECT $1, $2, vm.id, $4, $4 || '-disk0', $7, $8, 'provision requested' FROM vm",
    )
    .bind::<BigInt, _>(vm.organisation_id)
    .bind::<BigInt, _>(vm.quote_id)
    .bind::<BigInt, _>(vm.vm_quote_id)
    .bind::<Text, _>(&vm.vm_name)
    .bind::<Jsonb, _>(&vm.detail)
    .bind::<BigInt, _>(vm.user)
    .bind::<Integer, _>(vm.spec.disk_gb)
    .bind::<Text, _>(&vm.spec.disk_type)
    .execute(&mut conn)
    .await
}

#[derive(Debug)]
pub enum DeclineOutcome {
    Declined,
    AlreadyDeclined,
}

pub async fn decline(conn: &mut AsyncPgConnection, id: QuoteId, actor: &Actor) -> Result<DeclineOutcome, Refusal> {
    conn.transaction(async |conn| {
        ledger::bound_lock_waits(conn).await?;
        let quote = lock_own_quote(conn, id, actor).await?;
        if quote.status == QuoteStatus::Declined {
            return Ok(DeclineOutcome::AlreadyDeclined);
        }
        may_decline(quote.status, quote.valid_until, Utc::now())?;
        diesel::update(q::table.find(id))
            .set((
                q::status.eq(QuoteStatus::Declined),
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
                ip: actor.ip.as_deref(),
                detail: serde_json::json!({ "number": quote.number }),
                ..Default::default()
            },
        )
        .await?;
        Ok(DeclineOutcome::Declined)
    })
    .await
}
