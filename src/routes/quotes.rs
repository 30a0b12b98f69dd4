//! Quotes: the list, one quote, the VM quote builder (with its live price panel), and
//! accepting or declining, which moves money (see `db::main::acceptance`).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{CustomizeResponder, Either, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use diesel_async::AsyncPgConnection;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::PageOr303;
use super::see_other;
use crate::auth::session::{Flash, push_flash};
use crate::auth::{CurrentUser, Permission, Require, perm};
use crate::db::main::acceptance::{self, DeclineOutcome, Outcome, Refusal};
use crate::db::main::activity::Actor;
use crate::db::main::organisations::{self, Letterhead};
use crate::db::main::quotes::{self as db, Quote};
use crate::db::main::{invoices, ops_logs, wallets};
use crate::domain::documents::FULL_INVOICE_ABOVE;
use crate::domain::ids::{InvoiceId, QuoteId};
use crate::domain::money::format_zar;
use crate::domain::states::{InvoiceKind, QuoteKind, QuoteStatus, may_accept};
use crate::domain::time::format_sast;
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Page, QUOTE_READERS};

const PAGE_SIZE: i64 = 25;

// ---------------------------------------------------------------- the list

pub struct QuoteRow {
    id: QuoteId,
    number: String,
    organisation: String,
    kind: QuoteKind,
    status: QuoteStatus,
    title: String,
    amount_due: String,
    valid_until: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "quotes.html")]
pub struct QuotesPage {
    page: Page,
    rows: Vec<QuoteRow>,
    all_organisations: bool,
    can_create: bool,
    older: Option<QuoteId>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    before: Option<i64>,
}

pub async fn list(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<QuotesPage, AppError> {
    user.require_any(QUOTE_READERS)?;
    let all = user.can(Permission::QuoteViewAll);
    let mut conn = state.pools.main.get().await?;
    let scope = (!all).then_some(user.organisation_id);
    let quotes = db::list(&mut conn, scope, query.before.map(QuoteId), PAGE_SIZE).await?;
    let now = chrono::Utc::now();
    let older = (quotes.len() as i64 == PAGE_SIZE).then(|| quotes.last().map(|q| q.id)).flatten();
    let rows = quotes
        .into_iter()
        .map(|q| QuoteRow {
            id: q.id,
            status: q.status.at(q.valid_until, now),
            number: q.number,
            organisation: q.organisation_name,
            kind: q.kind,
            title: q.title,
            amount_due: format_zar(q.amount_due),
            valid_until: format_sast(q.valid_until),
        })
        .collect();
    Ok(QuotesPage { page, rows, all_organisations: all, can_create: user.can(Permission::QuoteCreate), older })
}

// ---------------------------------------------------------------- one quote

pub struct LineView {
    line_no: i32,
    sku: String,
    description: String,
    billing: &'static str,
    unit_price: String,
    quantity: i32,
    amount: String,
}

pub struct QuoteView {
    id: QuoteId,
    number: String,
    title: String,
    kind: QuoteKind,
    status: QuoteStatus,
    term_months: Option<i32>,
    site_address: Option<String>,
    valid_until: String,
    created_at: String,
    lines: Vec<LineView>,
    vat_rate: String,
    once_off_subtotal: String,
    monthly_subtotal: String,
    once_off_vat: String,
    monthly_vat: String,
    once_off_total: String,
    monthly_total: String,
    amount_due: String,
    accepted_at: Option<String>,
}

/// For a pending quote of the viewer's own organisation: what accepting would do.
pub struct Payment {
    balance: String,
    balance_after: String,
    covered: bool,
    short: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "quote.html")]
pub struct QuotePage {
    page: Page,
    quote: QuoteView,
    reseller: Option<Letterhead>,
    customer: Letterhead,
    payment: Option<Payment>,
    can_accept: bool,
    /// Staff who record money may refund an accepted quote.
    can_refund: bool,
    /// The quote's VM provisioning rows: (VM, event, status, when).
    provisioning: Vec<(String, String, String, String)>,
    error: Option<String>,
    /// The organisation's address, asked for before a tax invoice over R 5 000.
    address: Option<AddressView>,
    /// The tax invoice and credit note issued for the quote: (id, number, kind).
    documents: Vec<(InvoiceId, String, &'static str)>,
}

pub struct AddressView {
    value: String,
    error: Option<String>,
}

/// The quote page again with a message by the address field (the form sent it).
pub async fn page_with_address_error(
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    page: Page,
    id: QuoteId,
    value: &str,
    error: String,
) -> Result<QuotePage, AppError> {
    let mut view = quote_page(conn, user, page, id, None).await?;
    view.address = Some(AddressView { value: value.to_owned(), error: Some(error) });
    Ok(view)
}

async fn quote_page(
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    page: Page,
    id: QuoteId,
    error: Option<String>,
) -> Result<QuotePage, AppError> {
    let quote = db::find(conn, id).await?.ok_or(AppError::NotFound)?;
    let own = quote.organisation_id == user.organisation_id;
    if !own && !user.can(Permission::QuoteViewAll) {
        return Err(AppError::NotFound);
    }
    let lines = db::lines(conn, id).await?;
    let now = chrono::Utc::now();
    let status = quote.status.at(quote.valid_until, now);
    let payment = match (own && status.is_pending() && user.can(Permission::WalletView), quote.amount_due) {
        (true, due) => wallets::for_organisation(conn, quote.organisation_id).await?.map(|w| Payment {
            balance: format_zar(w.balance),
            balance_after: format_zar(w.balance - due),
            covered: w.balance >= due,
            short: format_zar((due - w.balance).max(Decimal::ZERO)),
        }),
        _ => None,
    };
    let can_accept = own
        && user.can(Permission::QuoteAccept)
        && may_accept(quote.status, quote.valid_until, user.organisation_status, now).is_ok();
    let can_refund = status.is_accepted() && user.can(Permission::WalletCredit);
    let provisioning = ops_logs::vm_logs_of_quote(conn, id)
        .await?
        .into_iter()
        .map(|(vm, event, status, at)| (vm, event, status, format_sast(at)))
        .collect();
    let reseller = organisations::operator_letterhead(conn).await?;
    let customer = organisations::letterhead(conn, quote.organisation_id).await?;
    let address = (can_accept && quote.amount_due > FULL_INVOICE_ABOVE && customer.address.is_none())
        .then(|| AddressView { value: String::new(), error: None });
    let documents = invoices::of_quote(conn, id)
        .await?
        .into_iter()
        .map(|(id, number, kind)| {
            (id, number, if kind == InvoiceKind::TaxInvoice { "Tax invoice" } else { "Credit note" })
        })
        .collect();
    Ok(QuotePage {
        page,
        quote: quote_view(quote, lines, status),
        reseller,
        customer,
        payment,
        can_accept,
        can_refund,
        provisioning,
        error,
        address,
        documents,
    })
}

fn quote_view(q: Quote, lines: Vec<db::QuoteLine>, status: QuoteStatus) -> QuoteView {
    QuoteView {
        id: q.id,
        number: q.number,
        title: q.title,
        kind: q.kind,
        status,
        term_months: q.term_months,
        site_address: q.site_address,
        valid_until: format_sast(q.valid_until),
        created_at: format_sast(q.created_at),
        lines: lines
            .into_iter()
            .map(|l| LineView {
                line_no: l.line_no,
                billing: l.billing.label(),
                sku: l.sku,
                description: l.description,
                unit_price: format_zar(l.unit_price),
                quantity: l.quantity,
                amount: format_zar(l.amount),
            })
            .collect(),
        vat_rate: q.vat_rate.normalize().to_string(),
        once_off_subtotal: format_zar(q.once_off_subtotal),
        monthly_subtotal: format_zar(q.monthly_subtotal),
        once_off_vat: format_zar(q.once_off_vat),
        monthly_vat: format_zar(q.monthly_vat),
        once_off_total: format_zar(q.once_off_total),
        monthly_total: format_zar(q.monthly_total),
        amount_due: format_zar(q.amount_due),
        accepted_at: q.accepted_at.map(format_sast),
    }
}

pub async fn show(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    id: web::Path<QuoteId>,
) -> Result<QuotePage, AppError> {
    user.require_any(QUOTE_READERS)?;
    let mut conn = state.pools.main.get().await?;
    quote_page(&mut conn, &user, page, id.into_inner(), None).await
}

// ---------------------------------------------------------------- accept and decline

/// A refusal on the quote page (422), or 404 for a quote that is not the user's to act on.
async fn refused(
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    page: Page,
    id: QuoteId,
    refusal: Refusal,
) -> Result<CustomizeResponder<QuotePage>, AppError> {
    let message = match refusal {
        Refusal::NotFound => {
            // Staff may see another organisation's quote, but only its members accept it.
            let exists = db::find(conn, id).await?.is_some();
            return Err(if exists && user.can(Permission::QuoteViewAll) {
                AppError::Forbidden
            } else {
                AppError::NotFound
            });
        }
        Refusal::Database(e) => return Err(e.into()),
        Refusal::InsufficientFunds { short } => {
            format!("Insufficient funds: {} short. Top up the wallet, then accept again.", format_zar(short))
        }
        other => {
            let text = other.to_string();
            let mut chars = text.chars();
            chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str() + ".").unwrap_or_default()
        }
    };
    let page = quote_page(conn, user, page, id, Some(message)).await?;
    Ok(page.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY))
}

// ---------------------------------------------------------------- confirmations

/// What accepting or declining would do, asked before the POST (which still acts at once
/// when called directly, as tests and integrations do).
#[derive(Template, WebTemplate)]
#[template(path = "quote_confirm.html")]
pub struct ConfirmPage {
    page: Page,
    accepting: bool,
    id: QuoteId,
    number: String,
    title: String,
    amount_due: String,
    balance: String,
    balance_after: String,
    /// How much the wallet is short, when it is.
    short: Option<String>,
    monthly_total: Option<String>,
    term_months: Option<i32>,
}

async fn confirm_page(
    user: &CurrentUser,
    page: Page,
    state: &AppState,
    id: QuoteId,
    accepting: bool,
    session: &Session,
) -> Result<Either<actix_web::HttpResponse, ConfirmPage>, AppError> {
    let mut conn = state.pools.main.get().await?;
    let quote = db::find(&mut conn, id).await?.filter(|q| q.organisation_id == user.organisation_id);
    let quote = quote.ok_or(AppError::NotFound)?;
    let now = chrono::Utc::now();
    let allowed = if accepting {
        may_accept(quote.status, quote.valid_until, user.organisation_status, now).is_ok()
    } else {
        crate::domain::states::may_decline(quote.status, quote.valid_until, now).is_ok()
    };
    if !allowed {
        push_flash(
            session,
            Flash::info(format!("Quote {} is {}: there is nothing to confirm.", quote.number, quote.status_now())),
        );
        return Ok(Either::Left(see_other(&format!("/quotes/{id}"))));
    }
    let balance =
        wallets::for_organisation(&mut conn, quote.organisation_id).await?.map_or(Decimal::ZERO, |w| w.balance);
    Ok(Either::Right(ConfirmPage {
        page,
        accepting,
        id,
        number: quote.number,
        title: quote.title,
        amount_due: format_zar(quote.amount_due),
        balance: format_zar(balance),
        balance_after: format_zar(balance - quote.amount_due),
        short: (balance < quote.amount_due).then(|| format_zar(quote.amount_due - balance)),
        monthly_total: (quote.monthly_total > Decimal::ZERO).then(|| format_zar(quote.monthly_total)),
        term_months: quote.term_months,
    }))
}

pub async fn confirm_accept(
    required: Require<perm::QuoteAccept>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<QuoteId>,
) -> Result<Either<actix_web::HttpResponse, ConfirmPage>, AppError> {
    confirm_page(&required.user, page, &state, id.into_inner(), true, &session).await
}

pub async fn confirm_decline(
    required: Require<perm::QuoteAccept>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<QuoteId>,
) -> Result<Either<actix_web::HttpResponse, ConfirmPage>, AppError> {
    confirm_page(&required.user, page, &state, id.into_inner(), false, &session).await
}

pub async fn accept(
    actor: Actor,
    required: Require<perm::QuoteAccept>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<QuoteId>,
) -> Result<PageOr303<QuotePage>, AppError> {
    let user = required.user;
    let id = id.into_inner();
    let (_turn, mut conn) = state.money_connection(actor.organisation_id).await?;
    match acceptance::accept(&mut conn, id, &actor).await {
        Ok(Outcome::Accepted { balance_after, invoice }) => {
            state.metrics.count_acceptance();
            let invoice = invoice.map(|i| format!(" Tax invoice {} was issued.", i.number)).unwrap_or_default();
            let message = format!("Quote accepted. The wallet balance is now {}.{invoice}", format_zar(balance_after));
            push_flash(&session, Flash::success(message));
        }
        Ok(Outcome::AlreadyAccepted) => {
            push_flash(&session, Flash::info("This quote was already accepted; nothing more was debited."));
        }
        Err(refusal) => {
            if matches!(refusal, Refusal::InsufficientFunds { .. }) {
                state.metrics.count_insufficient_funds();
            }
            return Ok(Either::Right(refused(&mut conn, &user, page, id, refusal).await?));
        }
    }
    Ok(Either::Left(see_other(&format!("/quotes/{id}"))))
}

pub async fn decline(
    actor: Actor,
    required: Require<perm::QuoteAccept>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<QuoteId>,
) -> Result<PageOr303<QuotePage>, AppError> {
    let user = required.user;
    let id = id.into_inner();
    let (_turn, mut conn) = state.money_connection(actor.organisation_id).await?;
    match acceptance::decline(&mut conn, id, &actor).await {
        Ok(DeclineOutcome::Declined) => push_flash(&session, Flash::success("Quote declined.")),
        Ok(DeclineOutcome::AlreadyDeclined) => push_flash(&session, Flash::info("This quote was already declined.")),
        Err(refusal) => return Ok(Either::Right(refused(&mut conn, &user, page, id, refusal).await?)),
    }
    Ok(Either::Left(see_other(&format!("/quotes/{id}"))))
}
