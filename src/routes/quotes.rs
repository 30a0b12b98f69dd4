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
use super::pickers::{self, Picker, Resolved};
use super::see_other;
use crate::auth::session::{Flash, push_flash};
use crate::auth::{CurrentUser, Permission, Require, perm};
use crate::db::main::acceptance::{self, DeclineOutcome, Outcome, Refusal};
use crate::db::main::activity::Actor;
use crate::db::main::organisations::{self, Letterhead};
use crate::db::main::quotes::{self as db, Quote};
use crate::db::main::{invoices, ops_logs, wallets};
use crate::domain::documents::FULL_INVOICE_ABOVE;
use crate::domain::ids::{InvoiceId, OrganisationId, QuoteId};
use crate::domain::money::format_zar;
use crate::domain::pricing::Totals;
use crate::domain::states::{InvoiceKind, QuoteKind, QuoteStatus, may_accept};
use crate::domain::text::{self, Lines};
use crate::domain::time::format_sast;
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{ContractValueView, Page, QUOTE_READERS, SelectOption, sentence};

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
    /// Only while the quote is pending: afterwards the date means nothing.
    valid_until: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "quotes.html")]
pub struct QuotesPage {
    page: Page,
    form: ListQuery,
    errors: ListErrors,
    statuses: Vec<SelectOption>,
    kinds: Vec<SelectOption>,
    /// Staff who see every organisation's quotes filter by one.
    organisation: Option<Picker>,
    rows: Vec<QuoteRow>,
    all_organisations: bool,
    can_create: bool,
    older: Option<String>,
}

/// The list's filters as typed (kept as text, so bad input comes back as it was).
#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub org: String,
    /// Part of the number or title.
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub before: String,
}

#[derive(Default)]
pub struct ListErrors {
    status: Option<&'static str>,
    kind: Option<&'static str>,
    q: Option<String>,
}

impl ListErrors {
    /// The first message, by the name of its field.
    pub fn first(&self) -> Option<(&'static str, String)> {
        let status = self.status.map(|e| ("status", e.to_owned()));
        status.or_else(|| self.kind.map(|e| ("kind", e.to_owned()))).or_else(|| self.q.clone().map(|e| ("q", e)))
    }
}

const MAX_SEARCH_CHARS: usize = 100;

impl ListQuery {
    pub fn parse(&self, org: &Resolved<OrganisationId>) -> Result<db::ListFilter, ListErrors> {
        let mut errors = ListErrors::default();
        let status = match self.status.trim() {
            "" => None,
            raw => QuoteStatus::parse(raw).or_else(|| {
                errors.status = Some("Choose one of the statuses listed.");
                None
            }),
        };
        let kind = match self.kind.trim() {
            "" => None,
            raw => QuoteKind::parse(raw).or_else(|| {
                errors.kind = Some("Choose virtual machines, services or connectivity.");
                None
            }),
        };
        let text = self.q.trim();
        if let Err(e) = text::check(text, Lines::One) {
            errors.q = Some(sentence(e));
        } else if text.chars().count() > MAX_SEARCH_CHARS {
            errors.q = Some(format!("Search for at most {MAX_SEARCH_CHARS} characters."));
        }
        if errors.status.is_some() || errors.kind.is_some() || errors.q.is_some() || org.error.is_some() {
            return Err(errors);
        }
        Ok(db::ListFilter {
            organisation: org.id,
            status,
            kind,
            text: (!text.is_empty()).then(|| text.to_owned()),
            // A malformed cursor is ignored: it only ever comes from our own links.
            before: self.before.trim().parse().ok().map(QuoteId),
        })
    }

    /// These filters as a query string (without the cursor), for the next page's link.
    fn query_string(&self, org: &Resolved<OrganisationId>) -> String {
        serde_urlencoded::to_string([
            ("status", self.status.trim()),
            ("kind", self.kind.trim()),
            ("org", org.link_value().as_str()),
            ("q", self.q.trim()),
        ])
        .unwrap_or_default()
    }
}

pub async fn list(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<Either<QuotesPage, CustomizeResponder<QuotesPage>>, AppError> {
    user.require_any(QUOTE_READERS)?;
    let form = query.into_inner();
    let all = user.can(Permission::QuoteViewAll);
    let mut conn = state.pools.main.get().await?;
    // A customer's list is their organisation's, whatever the link says.
    let org = match all {
        true => pickers::resolve_organisation(&mut conn, &form.org).await?,
        false => Resolved { id: Some(user.organisation_id), shown: String::new(), error: None },
    };
    let mut view = QuotesPage {
        page,
        statuses: QuoteStatus::ALL
            .iter()
            .filter(|s| **s != QuoteStatus::Draft)
            .map(|s| SelectOption::new(s.as_str(), sentence(s.as_str()).trim_end_matches('.'), &form.status))
            .collect(),
        kinds: QuoteKind::ALL.iter().map(|k| SelectOption::new(k.as_str(), k.label(), &form.kind)).collect(),
        organisation: all.then(|| Picker::organisation("org", "Organisation", &org)),
        rows: Vec::new(),
        all_organisations: all,
        can_create: user.can(Permission::QuoteCreate),
        older: None,
        errors: ListErrors::default(),
        form: form.clone(),
    };
    let filter = match form.parse(&org) {
        Ok(filter) => filter,
        Err(errors) => {
            view.errors = errors;
            return Ok(Either::Right(view.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY)));
        }
    };
    let quotes = db::list(&mut conn, &filter, PAGE_SIZE).await?;
    let now = chrono::Utc::now();
    if quotes.len() as i64 == PAGE_SIZE
        && let Some(last) = quotes.last()
    {
        let filters = if all { form.query_string(&org) } else { form.query_string(&Resolved::default()) };
        view.older = Some(format!("/quotes?{filters}&before={}", last.id));
    }
    view.rows = quotes
        .into_iter()
        .map(|q| {
            let status = q.status.at(q.valid_until, now);
            QuoteRow {
                id: q.id,
                valid_until: status.is_pending().then(|| format_sast(q.valid_until)),
                status,
                number: q.number,
                organisation: q.organisation_name,
                kind: q.kind,
                title: q.title,
                amount_due: format_zar(q.amount_due),
            }
        })
        .collect();
    Ok(Either::Left(view))
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
    site_suburb: Option<String>,
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
    /// For a quote with a term: the term, and the once-off plus every month of it.
    contract_value: Option<(i32, ContractValueView)>,
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
    let totals = Totals {
        once_off_subtotal: q.once_off_subtotal,
        monthly_subtotal: q.monthly_subtotal,
        once_off_vat: q.once_off_vat,
        monthly_vat: q.monthly_vat,
        once_off_total: q.once_off_total,
        monthly_total: q.monthly_total,
        amount_due: q.amount_due,
    };
    QuoteView {
        contract_value: q.term_months.map(|term| (term, totals.contract_value(term).into())),
        id: q.id,
        number: q.number,
        title: q.title,
        kind: q.kind,
        status,
        term_months: q.term_months,
        site_address: q.site_address,
        site_suburb: q.site_suburb,
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
        vat_rate: crate::domain::money::format_plain(q.vat_rate),
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

/// What a refusal to accept or decline says (on the quote page, and from the API).
pub fn refusal_message(refusal: &Refusal) -> String {
    match refusal {
        Refusal::InsufficientFunds { short } => {
            format!("Insufficient funds: {} short. Top up the wallet, then accept again.", format_zar(*short))
        }
        other => {
            let text = other.to_string();
            let mut chars = text.chars();
            chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str() + ".").unwrap_or_default()
        }
    }
}

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
        other => refusal_message(&other),
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
