//! `/transactions` and `/transactions.csv`: every organisation's ledger for staff, with
//! filters (`org`, `kind`, `from`, `to`, `q`), the totals of what they match, newest
//! or oldest first (`sort`), and keyset paging (`after`) in either order. The CSV
//! export streams in batches through a small channel: memory stays flat however many
//! rows match.

use std::borrow::Cow;

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{CustomizeResponder, Either, HttpRequest, HttpResponse, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::Utc;
use chrono_tz::Africa::Johannesburg;
use serde::Deserialize;

use super::is_htmx;
use super::pickers::{self, Picker, Resolved};
use crate::auth::{Require, perm};
use crate::db::main::wallets::{self, HistoryFilter, HistoryRow, HistoryTotals};
use crate::domain::ids::{OrganisationId, QuoteId, TransactionId};
use crate::domain::money::format_zar;
use crate::domain::states::TransactionKind;
use crate::domain::time::{format_sast, parse_date, sast_midnight};
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Page, SelectOption};

const PAGE_SIZE: i64 = 50;
const CSV_BATCH: i64 = 1000;
const MAX_QUERY_CHARS: usize = 100;
const QUERY_TOO_LONG: &str = "Search for at most 100 characters.";

/// The filter form as typed; kept as text so bad input comes back as it was.
#[derive(Deserialize, Default, Clone)]
pub struct FilterForm {
    #[serde(default)]
    org: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    q: String,
    /// `newest` (the default) or `oldest` first.
    #[serde(default)]
    sort: String,
    #[serde(default)]
    after: String,
}

#[derive(Default)]
pub struct FilterErrors {
    org: Option<String>,
    kind: Option<&'static str>,
    from: Option<&'static str>,
    to: Option<&'static str>,
    q: Option<&'static str>,
    sort: Option<&'static str>,
}

impl FilterErrors {
    fn any(&self) -> bool {
        self.org.is_some()
            || self.kind.is_some()
            || self.from.is_some()
            || self.to.is_some()
            || self.q.is_some()
            || self.sort.is_some()
    }
}

impl FilterForm {
    /// The organisation field, resolved: typed by name, or an id from our own links.
    async fn organisation(&self, state: &AppState) -> Result<Resolved<OrganisationId>, AppError> {
        let mut conn = state.pools.main.get().await?;
        Ok(pickers::resolve_organisation(&mut conn, &self.org).await?)
    }

    fn parse(&self, org: &Resolved<OrganisationId>) -> Result<HistoryFilter, FilterErrors> {
        let mut errors = FilterErrors { org: org.error.clone(), ..Default::default() };
        let organisation = org.id;
        let kind = match self.kind.trim() {
            "" => None,
            raw => {
                let kind = TransactionKind::parse(raw);
                if kind.is_none() {
                    errors.kind = Some("Choose credit, debit, refund or adjustment.");
                }
                kind
            }
        };
        let from = parse_date(&self.from).map_err(|e| errors.from = Some(e)).ok().flatten();
        let to = parse_date(&self.to).map_err(|e| errors.to = Some(e)).ok().flatten();
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            errors.to = Some("The end date is before the start date.");
        }
        let text = self.q.trim();
        if text.chars().count() > MAX_QUERY_CHARS {
            errors.q = Some(QUERY_TOO_LONG);
        }
        let oldest_first = match self.sort.trim() {
            "" | "newest" => false,
            "oldest" => true,
            _ => {
                errors.sort = Some("Choose newest or oldest first.");
                false
            }
        };
        // A malformed cursor is ignored: it only ever comes from our own links.
        let after = self.after.trim().parse().ok().map(TransactionId);
        if errors.any() {
            return Err(errors);
        }
        Ok(HistoryFilter {
            organisation,
            kind,
            from: from.map(sast_midnight),
            until: to.map(|d| sast_midnight(d + chrono::Days::new(1))),
            text: (!text.is_empty()).then(|| text.to_owned()),
            oldest_first,
            after,
        })
    }

    /// The query string of these filters (without the cursor), for links: the
    /// organisation by its id once resolved.
    fn query_string(&self, org: &Resolved<OrganisationId>) -> String {
        serde_urlencoded::to_string([
            ("org", org.link_value().as_str()),
            ("kind", self.kind.trim()),
            ("from", self.from.trim()),
            ("to", self.to.trim()),
            ("q", self.q.trim()),
            ("sort", self.sort.trim()),
        ])
        .unwrap_or_default()
    }
}

pub struct HistoryView {
    id: TransactionId,
    when: String,
    organisation_id: OrganisationId,
    organisation: String,
    kind: TransactionKind,
    amount: String,
    balance_after: String,
    quote: Option<(QuoteId, String)>,
    reference: String,
    description: String,
}

impl From<HistoryRow> for HistoryView {
    fn from(row: HistoryRow) -> Self {
        HistoryView {
            id: row.id,
            when: format_sast(row.created_at),
            organisation_id: row.organisation_id,
            organisation: row.organisation_name,
            kind: row.kind,
            amount: format_zar(row.amount * rust_decimal::Decimal::from(row.direction)),
            balance_after: format_zar(row.balance_after),
            quote: row.quote_id.zip(row.quote_number),
            reference: row.reference,
            description: row.description,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "transactions.html")]
pub struct TransactionsPage {
    page: Page,
    form: FilterForm,
    errors: FilterErrors,
    organisation: Picker,
    kinds: Vec<SelectOption>,
    sorts: Vec<SelectOption>,
    rows: Vec<HistoryView>,
    /// Where the totals of the filter come from: they scan every matching row, so the
    /// page asks for them separately (htmx on load, a link without JavaScript) and its
    /// own answer stays as fast as one keyset page, however long the ledger.
    totals_link: Option<String>,
    /// One organisation selected: its balance after each row is a running balance.
    one_organisation: bool,
    oldest_first: bool,
    next: Option<String>,
    csv_link: String,
}

/// The totals of everything the filters match.
#[derive(Template, WebTemplate)]
#[template(path = "transactions_totals_partial.html")]
pub struct TotalsView {
    rows: i64,
    money_in: String,
    money_out: String,
    net: String,
}

impl From<HistoryTotals> for TotalsView {
    fn from(t: HistoryTotals) -> Self {
        TotalsView {
            rows: t.rows,
            money_in: format_zar(t.money_in),
            money_out: format_zar(-t.money_out),
            net: format_zar(t.money_in - t.money_out),
        }
    }
}

/// The same totals as a page of their own, for a browser without JavaScript.
#[derive(Template, WebTemplate)]
#[template(path = "transactions_totals.html")]
pub struct TotalsPage {
    page: Page,
    totals: TotalsView,
    back: String,
}

/// `GET /transactions/totals`: the totals of the filters, as a fragment for htmx or a page.
pub async fn totals(
    req: HttpRequest,
    _: Require<perm::TransactionsViewAll>,
    page: Page,
    state: web::Data<AppState>,
    form: web::Query<FilterForm>,
) -> Result<Either<TotalsView, TotalsPage>, AppError> {
    let org = form.organisation(&state).await?;
    let Ok(filter) = form.parse(&org) else { return Err(AppError::NotFound) };
    let mut conn = state.pools.main.get().await?;
    let totals: TotalsView = wallets::history_totals(&mut conn, &filter).await?.into();
    if is_htmx(&req) {
        return Ok(Either::Left(totals));
    }
    Ok(Either::Right(TotalsPage { page, totals, back: format!("/transactions?{}", form.query_string(&org)) }))
}

pub async fn list(
    _: Require<perm::TransactionsViewAll>,
    page: Page,
    state: web::Data<AppState>,
    form: web::Query<FilterForm>,
) -> Result<Either<TransactionsPage, CustomizeResponder<TransactionsPage>>, AppError> {
    let form = form.into_inner();
    let mut conn = state.pools.main.get().await?;
    let org = pickers::resolve_organisation(&mut conn, &form.org).await?;
    let filters = form.query_string(&org);
    let mut view = TransactionsPage {
        page,
        csv_link: format!("/transactions.csv?{filters}"),
        form: form.clone(),
        errors: FilterErrors::default(),
        organisation: Picker::organisation("org", "Organisation", &org),
        kinds: TransactionKind::ALL.iter().map(|k| SelectOption::new(k.as_str(), k.as_str(), &form.kind)).collect(),
        sorts: vec![
            SelectOption::new("newest", "Newest first", &form.sort),
            SelectOption::new("oldest", "Oldest first", &form.sort),
        ],
        rows: Vec::new(),
        totals_link: None,
        one_organisation: false,
        oldest_first: false,
        next: None,
    };
    match form.parse(&org) {
        Ok(filter) => {
            view.totals_link = Some(format!("/transactions/totals?{filters}"));
            view.one_organisation = filter.organisation.is_some();
            view.oldest_first = filter.oldest_first;
            let rows = wallets::history(&mut conn, &filter, PAGE_SIZE).await?;
            if rows.len() as i64 == PAGE_SIZE {
                view.next = rows.last().map(|r| format!("/transactions?{filters}&after={}", r.id));
            }
            view.rows = rows.into_iter().map(HistoryView::from).collect();
            Ok(Either::Left(view))
        }
        Err(errors) => {
            view.errors = errors;
            Ok(Either::Right(view.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY)))
        }
    }
}

/// A text cell made safe for spreadsheets: one that starts like a formula gets a `'`
/// in front, so Excel and LibreOffice show it as text instead of running it.
pub(super) fn defused(value: &str) -> Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{value}")),
        _ => Cow::Borrowed(value),
    }
}

const CSV_HEADER: [&str; 11] = [
    "id",
    "created_at",
    "organisation",
    "kind",
    "amount",
    "direction",
    "balance_after",
    "quote",
    "reference",
    "description",
    "created_by",
];

/// A CSV writer into memory, quoting as needed and ending lines with CRLF (RFC 4180).
pub(super) fn csv_writer(capacity: usize) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::with_capacity(capacity))
}

fn csv_row(row: &HistoryRow, out: &mut csv::Writer<Vec<u8>>) -> csv::Result<()> {
    out.write_record([
        row.id.to_string().as_str(),
        &row.created_at.with_timezone(&Johannesburg).to_rfc3339(),
        &defused(&row.organisation_name),
        row.kind.as_str(),
        &row.amount.to_string(),
        if row.direction > 0 { "in" } else { "out" },
        &row.balance_after.to_string(),
        &defused(row.quote_number.as_deref().unwrap_or("")),
        &defused(&row.reference),
        &defused(&row.description),
        &defused(row.created_by.as_deref().unwrap_or("")),
    ])
}

/// The bytes of a batch of CSV records, once `written` succeeded.
fn csv_bytes(written: csv::Result<()>, out: csv::Writer<Vec<u8>>) -> Result<Bytes, actix_web::Error> {
    let failed = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "CSV export failed");
        actix_web::error::ErrorInternalServerError("export failed")
    };
    written.map_err(|e| failed(&e))?;
    out.into_inner().map(Bytes::from).map_err(|e| failed(&e))
}

pub async fn csv(
    _: Require<perm::TransactionsViewAll>,
    state: web::Data<AppState>,
    form: web::Query<FilterForm>,
) -> Result<HttpResponse, AppError> {
    let org = form.organisation(&state).await?;
    let filter = match form.parse(&org) {
        Ok(filter) => filter,
        Err(_) => {
            return Ok(HttpResponse::UnprocessableEntity()
                .content_type("text/plain; charset=utf-8")
                .body("The filters are not valid; correct them on the transactions page."));
        }
    };
    stream_csv(&state, filter, "transactions").await
}

/// The customer's own ledger, as the staff export writes it.
pub async fn wallet_csv(
    required: Require<perm::WalletView>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let filter = HistoryFilter { organisation: Some(required.user.organisation_id), ..HistoryFilter::default() };
    stream_csv(&state, filter, "wallet").await
}

/// Streams the rows `filter` selects as CSV, in batches, as `{name}-<date>.csv`.
async fn stream_csv(state: &AppState, mut filter: HistoryFilter, name: &str) -> Result<HttpResponse, AppError> {
    // Take the connection before answering, so that a busy pool is a clean 503. Exports
    // have their own small pool: slow downloads never hold the connections pages need.
    let mut conn = state.pools.exports.get().await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, actix_web::Error>>(2);
    actix_web::rt::spawn(async move {
        let mut header = csv_writer(128);
        let written = header.write_record(CSV_HEADER);
        let header = csv_bytes(written, header);
        if tx.send(header).await.is_err() {
            return;
        }
        loop {
            let rows = match wallets::history(&mut conn, &filter, CSV_BATCH).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(error = %e, "CSV export failed");
                    let _ = tx.send(Err(actix_web::error::ErrorInternalServerError("export failed"))).await;
                    return;
                }
            };
            let Some(last) = rows.last() else { return };
            filter.after = Some(last.id);
            let mut chunk = csv_writer(rows.len() * 160);
            let written = rows.iter().try_for_each(|row| csv_row(row, &mut chunk));
            let chunk = csv_bytes(written, chunk);
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                return; // the client went away, or the batch could not be written
            }
            if (rows.len() as i64) < CSV_BATCH {
                return;
            }
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let filename = format!("{name}-{}.csv", Utc::now().with_timezone(&Johannesburg).format("%Y%m%d-%H%M"));
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{filename}\"")))
        .streaming(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        let cell = |value: &str| {
            let mut out = csv_writer(64);
            out.write_record([defused(value).as_ref()]).unwrap();
            String::from_utf8(out.into_inner().unwrap()).unwrap().trim_end_matches("\r\n").to_owned()
        };
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=SUM(A1:A9)"), "'=SUM(A1:A9)");
        assert_eq!(cell("+27 11"), "'+27 11");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("@cmd"), "'@cmd");
        assert_eq!(cell("=1,2"), "\"'=1,2\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn filters_parse_dates_in_south_african_time() {
        let form = FilterForm { from: "2026-11-01".into(), to: "2026-11-30".into(), ..Default::default() };
        let nobody = Resolved { id: None, shown: String::new(), error: None };
        let filter = form.parse(&nobody).ok().unwrap();
        assert_eq!(filter.from.unwrap().to_rfc3339(), "2026-10-31T22:00:00+00:00");
        assert_eq!(filter.until.unwrap().to_rfc3339(), "2026-11-30T22:00:00+00:00");
        let backwards = FilterForm { from: "2026-11-30".into(), to: "2026-11-01".into(), ..Default::default() };
        assert!(backwards.parse(&nobody).err().unwrap().to.is_some());
        let bad = FilterForm { kind: "theft".into(), from: "yesterday".into(), org: "x".into(), ..Default::default() };
        let unknown = Resolved { id: None, shown: "x".into(), error: Some("No organisation matches “x”.".into()) };
        let errors = bad.parse(&unknown).err().unwrap();
        assert!(errors.kind.is_some() && errors.from.is_some() && errors.org.is_some());
    }
}
