//! Tax documents (DESIGN.md §10): `/invoices` and `/invoices/{id}` (and `.pdf`; customers
//! their own organisation's, `transactions.view_all` every one), monthly statements at
//! `/statements/{YYYY-MM}` (and `.pdf`), the VAT report `/admin/vat` (and `.csv`), and
//! the address a tax invoice over R 5 000 needs, asked for on the quote page.

use std::time::Duration;

use actix_session::Session;
use actix_web::http::{StatusCode, header};
use actix_web::{CustomizeResponder, Either, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::{Months, NaiveDate};
use chrono_tz::Africa::Johannesburg;
use rust_decimal::Decimal;
use serde::Deserialize;
use tokio::sync::Semaphore;

use super::pickers::{self, Picker};
use super::{PageOr303, done, transactions, unprocessable};
use crate::auth::session::Flash;
use crate::auth::{CurrentUser, Permission, Require, perm};
use crate::db::PooledConn;
use crate::db::main::activity::Actor;
use crate::db::main::invoices::{self, Filter, Listed, Stored};
use crate::db::main::{quotes, services};
use crate::documents::{self, PdfError};
use crate::domain::documents::{Statement, StatementRow, TaxDocument};
use crate::domain::ids::{InvoiceId, OrganisationId, QuoteId};
use crate::domain::money::{format_plain, format_zar};
use crate::domain::organisation::parse_address;
use crate::domain::states::InvoiceKind;
use crate::domain::time::{format_month, format_sast, month_key, parse_month, today_sast};
use crate::domain::wallet_stats;
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Page, sentence};

pub const LIST_LIMIT: i64 = 200;
const READERS: &[Permission] = &[Permission::WalletView, Permission::TransactionsViewAll];

/// Whose documents the user may read: every organisation's, or their own.
pub fn scope(user: &CurrentUser) -> Result<Option<OrganisationId>, AppError> {
    user.require_any(READERS)?;
    Ok((!user.can(Permission::TransactionsViewAll)).then_some(user.organisation_id))
}

pub struct DocumentRow {
    id: InvoiceId,
    number: String,
    title: &'static str,
    organisation: String,
    issued: String,
    issued_late: bool,
    reference: String,
    subtotal: String,
    vat: String,
    total: String,
}

impl From<Listed> for DocumentRow {
    fn from(d: Listed) -> Self {
        DocumentRow {
            id: d.id,
            title: title(d.kind),
            number: d.number,
            organisation: d.recipient_name,
            issued: format_sast(d.issued_at),
            issued_late: d.issued_late,
            reference: d.reference,
            subtotal: format_zar(d.subtotal),
            vat: format_zar(d.vat),
            total: format_zar(d.total),
        }
    }
}

fn title(kind: InvoiceKind) -> &'static str {
    match kind {
        InvoiceKind::TaxInvoice => "Tax invoice",
        InvoiceKind::CreditNote => "Credit note",
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    month: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "invoices.html")]
pub struct InvoicesPage {
    page: Page,
    rows: Vec<DocumentRow>,
    all_organisations: bool,
    /// Staff's organisation filter (a typed picker: there may be thousands).
    filter_organisation: Option<Picker>,
    month: String,
    month_error: Option<String>,
    limited: bool,
}

pub async fn list(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<PageOr422<InvoicesPage>, AppError> {
    let own = scope(&user)?;
    let mut conn = state.pools.main.get().await?;
    let month = (!query.month.trim().is_empty()).then(|| parse_month(&query.month)).transpose();
    let (organisation, filter_organisation) = match own {
        Some(own) => (Ok(Some(own)), None),
        None => {
            let org = pickers::resolve_organisation(&mut conn, &query.organisation).await?;
            let picked = match org.error {
                None => Ok(org.id),
                Some(_) => Err(()),
            };
            (picked, Some(Picker::organisation("organisation", "Organisation", &org)))
        }
    };
    let mut view = InvoicesPage {
        page,
        rows: Vec::new(),
        all_organisations: own.is_none(),
        filter_organisation,
        month: query.month.clone(),
        month_error: month.as_ref().err().map(|e| (*e).to_owned()),
        limited: false,
    };
    let (Ok(month), Ok(organisation)) = (month, organisation) else { return Ok(Either::Right(invalid(view))) };
    let rows = invoices::list(&mut conn, &Filter { organisation, month }, LIST_LIMIT).await?;
    view.limited = rows.len() as i64 == LIST_LIMIT;
    view.rows = rows.into_iter().map(DocumentRow::from).collect();
    Ok(Either::Left(view))
}

/// A page with a filter that does not parse: the page again, 422, with the message.
fn invalid<P: actix_web::Responder>(page: P) -> CustomizeResponder<P> {
    page.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY)
}

type PageOr422<P> = Either<P, CustomizeResponder<P>>;

// ---------------------------------------------------------------- one document

pub struct LineView {
    description: String,
    quantity: String,
    unit_price: String,
    amount: String,
    vat: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "invoice.html")]
pub struct InvoicePage {
    page: Page,
    id: InvoiceId,
    doc: TaxDocument,
    issued: String,
    original: Option<(InvoiceId, String, String)>,
    lines: Vec<LineView>,
    subtotal: String,
    vat: String,
    total: String,
    vat_rate: String,
}

/// A document the user may read, or 404 (another organisation's looks like none).
pub async fn readable(conn: &mut PooledConn, user: &CurrentUser, id: InvoiceId) -> Result<Stored, AppError> {
    let own = scope(user)?;
    match invoices::find(conn, id).await? {
        Some(stored) if own.is_none_or(|own| own == stored.organisation_id) => Ok(stored),
        _ => Err(AppError::NotFound),
    }
}

pub async fn show(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    id: web::Path<InvoiceId>,
) -> Result<InvoicePage, AppError> {
    let mut conn = state.pools.main.get().await?;
    let stored = readable(&mut conn, &user, id.into_inner()).await?;
    let doc = stored.document;
    let original = match (stored.original_invoice_id, &doc.original) {
        (Some(id), Some(o)) => Some((id, o.number.clone(), format_sast(o.issued_at))),
        _ => None,
    };
    Ok(InvoicePage {
        page,
        id: stored.id,
        issued: format_sast(doc.issued_at),
        original,
        lines: doc
            .lines
            .iter()
            .map(|l| LineView {
                description: l.description.clone(),
                quantity: format_plain(l.quantity),
                unit_price: format_zar(l.unit_price),
                amount: format_zar(l.amount),
                vat: format_zar(l.vat),
            })
            .collect(),
        subtotal: format_zar(doc.subtotal),
        vat: format_zar(doc.vat),
        total: format_zar(doc.total),
        vat_rate: format_plain(doc.vat_rate),
        doc,
    })
}

/// The document as a PDF (`/invoices/{id}.pdf`), as stored when it was issued.
pub async fn pdf(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<InvoiceId>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pools.main.get().await?;
    let stored = readable(&mut conn, &user, id.into_inner()).await?;
    drop(conn);
    stored_pdf(stored).await
}

/// A readable document as its PDF.
pub async fn stored_pdf(stored: Stored) -> Result<HttpResponse, AppError> {
    let name = format!("{}.pdf", stored.document.number);
    pdf_response(name, Weight::Invoice, move || documents::invoice_pdf(&stored.document)).await
}

/// PDF renders running at once in this process: the rest wait their turn (at most
/// [`RENDER_WAIT`]), so a burst of downloads cannot fill the blocking thread pool.
static RENDERS: Semaphore = Semaphore::const_new(RENDER_PERMITS as usize);
const RENDER_PERMITS: u32 = 2;

/// What a render takes of [`RENDERS`]: an invoice one permit; a statement (a month of
/// rows, the most memory a render needs: BENCHMARKS.md) all of them, so at most one
/// statement renders at a time, and never beside an invoice.
#[derive(Clone, Copy)]
enum Weight {
    Invoice = 1,
    Statement = RENDER_PERMITS as isize,
}
const RENDER_WAIT: Duration = Duration::from_secs(10);

/// Renders on a blocking thread, in turn, and answers with the PDF, named `name`.
async fn pdf_response(
    name: String,
    weight: Weight,
    render: impl FnOnce() -> Result<Vec<u8>, PdfError> + Send + 'static,
) -> Result<HttpResponse, AppError> {
    let turn = tokio::time::timeout(RENDER_WAIT, RENDERS.acquire_many(weight as u32))
        .await
        .map_err(|_| AppError::Unavailable("every PDF renderer stayed busy".into()))?
        .map_err(|e| AppError::Internal(e.into()))?;
    let pdf = web::block(render).await.map_err(|e| AppError::Internal(e.into()))?.map_err(anyhow::Error::from)?;
    drop(turn);
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, format!("inline; filename=\"{name}\"")))
        .body(pdf))
}

// ---------------------------------------------------------------- statements

pub struct StatementLine {
    date: String,
    description: String,
    document: Option<(InvoiceId, String)>,
    money_in: String,
    money_out: String,
    balance: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "statement.html")]
pub struct StatementPage {
    page: Page,
    month: String,
    month_key: String,
    previous: String,
    next: Option<String>,
    /// `?organisation=N` when staff read another organisation's statement, for the links.
    scope_query: String,
    organisation: String,
    opening: String,
    closing: String,
    committed: String,
    lines: Vec<StatementLine>,
}

#[derive(Deserialize, Default)]
pub struct StatementQuery {
    organisation: Option<i64>,
}

/// A month of the wallet: the user's own organisation's, or (staff) `?organisation=`.
pub async fn statement(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    month: web::Path<String>,
    query: web::Query<StatementQuery>,
) -> Result<StatementPage, AppError> {
    let (org, first) = statement_of(&user, &month, &query)?;
    let mut conn = state.pools.main.get().await?;
    let (statement, statement_ids) = load_statement(&mut conn, org, first).await?;
    let (previous, next) = neighbours(first);
    Ok(StatementPage {
        page,
        month: format_month(first),
        month_key: month_key(first),
        previous: month_key(previous),
        next: (next <= today_sast()).then(|| month_key(next)),
        scope_query: query.organisation.map(|o| format!("?organisation={o}")).unwrap_or_default(),
        organisation: statement.recipient.name.clone(),
        opening: format_zar(statement.opening_balance),
        closing: format_zar(statement.closing_balance),
        committed: format_zar(statement.committed_monthly),
        lines: statement
            .rows
            .iter()
            .zip(&statement_ids)
            .map(|(r, id)| {
                let (money_in, money_out) = r.money_in_out();
                StatementLine {
                    date: format_sast(r.at),
                    description: r.description.clone(),
                    document: r.document.clone().zip(*id).map(|(n, id)| (id, n)),
                    money_in,
                    money_out,
                    balance: format_zar(r.balance_after),
                }
            })
            .collect(),
    })
}

/// Whose statement and which month: the user's own organisation's, or (staff)
/// `?organisation=`; a month that is not `YYYY-MM` is a page that does not exist.
fn statement_of(
    user: &CurrentUser,
    month: &str,
    query: &StatementQuery,
) -> Result<(OrganisationId, NaiveDate), AppError> {
    let org = match (scope(user)?, query.organisation) {
        (Some(own), _) => own,
        (None, Some(other)) => OrganisationId(other),
        (None, None) => user.organisation_id,
    };
    Ok((org, parse_month(month).map_err(|_| AppError::NotFound)?))
}

/// The month's statement as a PDF (`/statements/{YYYY-MM}.pdf`).
pub async fn statement_pdf(
    user: CurrentUser,
    state: web::Data<AppState>,
    month: web::Path<String>,
    query: web::Query<StatementQuery>,
) -> Result<HttpResponse, AppError> {
    let (org, first) = statement_of(&user, &month, &query)?;
    let mut conn = state.pools.main.get().await?;
    let (statement, _) = load_statement(&mut conn, org, first).await?;
    drop(conn);
    let name = format!("statement-{}.pdf", month_key(first));
    pdf_response(name, Weight::Statement, move || documents::statement_pdf(&statement)).await
}

/// The month before and after the one starting on `first`.
fn neighbours(first: NaiveDate) -> (NaiveDate, NaiveDate) {
    let previous = first.checked_sub_months(Months::new(1)).unwrap_or(first);
    let next = first.checked_add_months(Months::new(1)).unwrap_or(first);
    (previous, next)
}

/// An organisation's statement for the month starting on `first`, and the id of each
/// row's document (for links).
pub async fn load_statement(
    conn: &mut PooledConn,
    org: OrganisationId,
    first: NaiveDate,
) -> Result<(Statement, Vec<Option<InvoiceId>>), AppError> {
    let (opening_balance, rows) = invoices::statement(conn, org, first).await?;
    let closing_balance = rows.last().map_or(opening_balance, |r| r.balance_after);
    let ids = rows.iter().map(|r| r.document_id).collect();
    let statement = Statement {
        supplier: invoices::supplier(conn).await?,
        recipient: invoices::party(conn, Some(org)).await?,
        month: first,
        opening_balance,
        rows: rows
            .into_iter()
            .map(|r| StatementRow {
                at: r.created_at,
                description: if r.reference.is_empty() || r.description.contains(&r.reference) {
                    r.description
                } else {
                    format!("{} ({})", r.description, r.reference)
                },
                document: r.document,
                amount: r.signed_amount,
                balance_after: r.balance_after,
            })
            .collect(),
        closing_balance,
        committed_monthly: wallet_stats::committed(&services::billable(conn, org).await?),
        generated_at: chrono::Utc::now(),
    };
    Ok((statement, ids))
}

// ---------------------------------------------------------------- the VAT report

#[derive(Deserialize, Default)]
pub struct VatQuery {
    #[serde(default)]
    month: String,
}

pub struct VatRow {
    kind: &'static str,
    rate: String,
    documents: i64,
    subtotal: String,
    vat: String,
    total: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "vat.html")]
pub struct VatPage {
    page: Page,
    month: String,
    month_label: String,
    month_error: Option<String>,
    rows: Vec<VatRow>,
    output_vat: String,
    documents: Vec<DocumentRow>,
    limited: bool,
}

/// The VAT of the month's tax invoices less that of its credit notes: what a VAT201
/// return declares as output tax, with the documents behind it.
pub async fn vat(
    _: Require<perm::TransactionsViewAll>,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<VatQuery>,
) -> Result<PageOr422<VatPage>, AppError> {
    let raw = if query.month.trim().is_empty() { month_key(today_sast()) } else { query.month.clone() };
    let mut view = VatPage {
        page,
        month: raw.clone(),
        month_label: String::new(),
        month_error: None,
        rows: Vec::new(),
        output_vat: format_zar(Decimal::ZERO),
        documents: Vec::new(),
        limited: false,
    };
    let first = match parse_month(&raw) {
        Ok(first) => first,
        Err(e) => {
            view.month_error = Some(e.to_owned());
            return Ok(Either::Right(invalid(view)));
        }
    };
    let mut conn = state.pools.main.get().await?;
    let lines = invoices::vat_lines(&mut conn, first).await?;
    let output: Decimal = lines.iter().map(|l| signed(l.kind, l.vat)).sum();
    let documents =
        invoices::list(&mut conn, &Filter { organisation: None, month: Some(first) }, VAT_LIST_LIMIT).await?;
    view.month_label = format_month(first);
    view.output_vat = format_zar(output);
    view.limited = documents.len() as i64 == VAT_LIST_LIMIT;
    view.documents = documents.into_iter().map(DocumentRow::from).collect();
    view.rows = lines
        .into_iter()
        .map(|l| VatRow {
            kind: title(l.kind),
            rate: format!("{} %", format_plain(l.vat_rate)),
            documents: l.documents,
            subtotal: format_zar(signed(l.kind, l.subtotal)),
            vat: format_zar(signed(l.kind, l.vat)),
            total: format_zar(signed(l.kind, l.total)),
        })
        .collect();
    Ok(Either::Left(view))
}

const VAT_LIST_LIMIT: i64 = 1000;
const VAT_CSV_BATCH: i64 = 2000;

/// The month's documents as CSV (`/admin/vat.csv?month=YYYY-MM`), one row each in the
/// order of their numbers, credit notes negative, then one total row per kind and rate
/// as the page shows them and the output VAT: what an accountant files with a VAT201.
pub async fn vat_csv(
    _: Require<perm::TransactionsViewAll>,
    state: web::Data<AppState>,
    query: web::Query<VatQuery>,
) -> Result<HttpResponse, AppError> {
    let Ok(first) = parse_month(query.month.trim()) else {
        return Ok(HttpResponse::UnprocessableEntity()
            .content_type("text/plain; charset=utf-8")
            .body("The month is not valid (YYYY-MM); correct it on the VAT report page."));
    };
    let mut conn = state.pools.exports.get().await?;
    let mut out = transactions::csv_writer(64 * 1024);
    let mut write = |record: [&str; 9]| out.write_record(record).map_err(|e| AppError::Internal(e.into()));
    write(["number", "issued_at", "kind", "organisation", "reference", "vat_rate", "subtotal", "vat", "total"])?;
    let mut after = InvoiceId(0);
    loop {
        let batch = invoices::of_month(&mut conn, first, after, VAT_CSV_BATCH).await?;
        for d in &batch {
            write([
                &d.number,
                &d.issued_at.with_timezone(&Johannesburg).to_rfc3339(),
                d.kind.as_str(),
                &transactions::defused(&d.recipient_name),
                &transactions::defused(&d.reference),
                &format_plain(d.vat_rate),
                &signed(d.kind, d.subtotal).to_string(),
                &signed(d.kind, d.vat).to_string(),
                &signed(d.kind, d.total).to_string(),
            ])?;
        }
        match batch.last() {
            Some(last) if batch.len() as i64 == VAT_CSV_BATCH => after = last.id,
            _ => break,
        }
    }
    let lines = invoices::vat_lines(&mut conn, first).await?;
    for l in &lines {
        let kind = format!("total {}", l.kind.as_str());
        let documents = format!("{} documents", l.documents);
        let (subtotal, vat, total) = (
            signed(l.kind, l.subtotal).to_string(),
            signed(l.kind, l.vat).to_string(),
            signed(l.kind, l.total).to_string(),
        );
        write(["", "", &kind, "", &documents, &format_plain(l.vat_rate), &subtotal, &vat, &total])?;
    }
    let output: Decimal = lines.iter().map(|l| signed(l.kind, l.vat)).sum();
    write(["", "", "output_vat", "", "", "", "", &output.to_string(), ""])?;
    let body = out.into_inner().map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"vat-{}.csv\"", month_key(first))))
        .body(body))
}

/// Credit notes reduce output tax.
fn signed(kind: InvoiceKind, amount: Decimal) -> Decimal {
    match kind {
        InvoiceKind::TaxInvoice => amount,
        InvoiceKind::CreditNote => -amount,
    }
}

// ---------------------------------------------------------------- the address

#[derive(Deserialize)]
pub struct AddressForm {
    #[serde(default)]
    address: String,
}

/// The organisation's address, from the quote page that asked for it (a tax invoice
/// over R 5 000 names it). Members who may accept quotes may give it.
pub async fn set_address(
    actor: Actor,
    required: Require<perm::QuoteAccept>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<QuoteId>,
    form: web::Form<AddressForm>,
) -> Result<PageOr303<super::quotes::QuotePage>, AppError> {
    let user = required.user;
    let id = id.into_inner();
    let mut conn = state.pools.main.get().await?;
    let quote = quotes::find(&mut conn, id).await?.filter(|q| q.organisation_id == user.organisation_id);
    if quote.is_none() {
        return Err(AppError::NotFound);
    }
    let address = match parse_address(&form.address) {
        Ok(address) => address,
        Err(problem) => {
            let view =
                super::quotes::page_with_address_error(&mut conn, &user, page, id, &form.address, sentence(&problem))
                    .await?;
            return unprocessable(view);
        }
    };
    invoices::set_address(&mut conn, user.organisation_id, &address, &actor).await?;
    done(&session, &format!("/quotes/{id}"), Flash::success("The address is saved; tax invoices name it from now on."))
}
