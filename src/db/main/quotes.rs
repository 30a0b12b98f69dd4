//! Quotes and their snapshot lines. A line copies what it was priced from (catalog,
//! item, SKU, description, cost, margin, unit price), so later catalog changes never
//! change an issued quote.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::schema::{organisations, quote_lines, quotes, vm_quotes};
use crate::db::record;
use crate::domain::ids::{OrganisationId, QuoteId, TemplateId, UserId};
use crate::domain::pricing::Billing;
use crate::domain::quote::{PricedQuote, VmSpec};
use crate::domain::states::{QuoteKind, QuoteStatus};

/// How long a new quote stays valid.
pub const VALIDITY_DAYS: i64 = 30;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = quotes)]
pub struct Quote {
    pub id: QuoteId,
    pub number: String,
    pub organisation_id: OrganisationId,
    pub kind: QuoteKind,
    pub status: QuoteStatus,
    pub title: String,
    pub term_months: Option<i32>,
    pub site_address: Option<String>,
    pub site_suburb: Option<String>,
    pub valid_until: DateTime<Utc>,
    pub vat_rate: Decimal,
    pub once_off_subtotal: Decimal,
    pub monthly_subtotal: Decimal,
    pub once_off_vat: Decimal,
    pub monthly_vat: Decimal,
    pub once_off_total: Decimal,
    pub monthly_total: Decimal,
    pub amount_due: Decimal,
    pub accepted_at: Option<DateTime<Utc>>,
    pub declined_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Quote {
    /// The status now: a pending quote past its validity is expired.
    pub fn status_now(&self) -> QuoteStatus {
        self.status.at(self.valid_until, Utc::now())
    }
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = quote_lines)]
pub struct QuoteLine {
    pub line_no: i32,
    pub sku: String,
    pub description: String,
    pub billing: Billing,
    pub unit_price: Decimal,
    pub quantity: i32,
    pub amount: Decimal,
}

record!(
    /// A `vm_quotes` row: the VM configuration a quote line provisions.
    VmSpecRecord from vm_quotes into VmSpec {
        template_id: Option<TemplateId>,
        name: String,
        vcpu: i32,
        ram_gb: i32,
        disk_gb: i32,
        disk_type: String,
        os: String,
        count: i32,
    }
);

/// A priced quote to store for an organisation.
pub struct NewQuote<'a> {
    pub organisation_id: OrganisationId,
    pub created_by: UserId,
    pub quote: &'a PricedQuote,
}

/// Creates a pending quote with its lines (and VM configurations) in one transaction.
pub async fn create(conn: &mut AsyncPgConnection, new: &NewQuote<'_>) -> QueryResult<QuoteId> {
    let quote = new.quote;
    conn.transaction(async |conn| {
        let t = &quote.totals;
        let id: QuoteId = diesel::insert_into(quotes::table)
            .values((
                quotes::organisation_id.eq(new.organisation_id),
                quotes::created_by.eq(new.created_by),
                quotes::kind.eq(quote.kind),
                quotes::title.eq(&quote.title),
                quotes::term_months.eq(quote.term_months),
                quotes::site_address.eq(quote.site.as_ref().map(|site| &site.address)),
                quotes::site_suburb.eq(quote.site.as_ref().map(|site| &site.suburb)),
                quotes::valid_until.eq(Utc::now() + chrono::Duration::days(VALIDITY_DAYS)),
                quotes::vat_rate.eq(quote.vat_rate),
                quotes::once_off_subtotal.eq(t.once_off_subtotal),
                quotes::monthly_subtotal.eq(t.monthly_subtotal),
                quotes::once_off_vat.eq(t.once_off_vat),
                quotes::monthly_vat.eq(t.monthly_vat),
                quotes::once_off_total.eq(t.once_off_total),
                quotes::monthly_total.eq(t.monthly_total),
                quotes::amount_due.eq(t.amount_due),
            ))
            .returning(quotes::id)
            .get_result(conn)
            .await?;
        for (no, line) in (1..).zip(&quote.lines) {
            let p = &line.priced;
            let line_id: i64 = diesel::insert_into(quote_lines::table)
                .values((
                    quote_lines::quote_id.eq(id),
                    quote_lines::line_no.eq(no),
                    quote_lines::catalog.eq(line.catalog),
                    quote_lines::item_kind.eq(line.item_kind),
                    quote_lines::item_id.eq(line.item_id),
                    quote_lines::sku.eq(&line.sku),
                    quote_lines::description.eq(&line.description),
                    quote_lines::billing.eq(p.billing),
                    quote_lines::unit_cost.eq(p.unit_cost),
                    quote_lines::margin_pct.eq(p.margin_pct),
                    quote_lines::unit_price.eq(p.unit_price),
                    quote_lines::quantity.eq(p.quantity),
                    quote_lines::amount.eq(p.amount),
                ))
                .returning(quote_lines::id)
                .get_result(conn)
                .await?;
            if let Some(vm) = &line.vm {
                diesel::insert_into(vm_quotes::table)
                    .values((
                        vm_quotes::quote_id.eq(id),
                        vm_quotes::quote_line_id.eq(line_id),
                        vm_quotes::template_id.eq(vm.template_id),
                        vm_quotes::name.eq(&vm.name),
                        vm_quotes::vcpu.eq(vm.vcpu),
                        vm_quotes::ram_gb.eq(vm.ram_gb),
                        vm_quotes::disk_gb.eq(vm.disk_gb),
                        vm_quotes::disk_type.eq(&vm.disk_type),
                        vm_quotes::os.eq(&vm.os),
                        vm_quotes::count.eq(vm.count),
                    ))
                    .execute(conn)
                    .await?;
            }
        }
        Ok(id)
    })
    .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: QuoteId) -> QueryResult<Option<Quote>> {
    quotes::table.find(id).select(Quote::as_select()).first(conn).await.optional()
}

/// A quote's lines in order. Takes a shared connection so that it can be pipelined.
pub async fn lines(mut conn: &AsyncPgConnection, id: QuoteId) -> QueryResult<Vec<QuoteLine>> {
    quote_lines::table
        .filter(quote_lines::quote_id.eq(id))
        .order(quote_lines::line_no.asc())
        .select(QuoteLine::as_select())
        .load(&mut conn)
        .await
}

pub async fn vm_specs(conn: &mut AsyncPgConnection, id: QuoteId) -> QueryResult<Vec<(i64, VmSpec)>> {
    vm_quotes::table
        .filter(vm_quotes::quote_id.eq(id))
        .order(vm_quotes::id.asc())
        .select((vm_quotes::id, VmSpecRecord::as_select()))
        .load::<(i64, VmSpecRecord)>(conn)
        .await
        .map(|rows| rows.into_iter().map(|(id, row)| (id, row.into())).collect())
}

/// A row of the quotes list.
#[derive(Queryable, Debug)]
pub struct QuoteSummary {
    pub id: QuoteId,
    pub number: String,
    pub organisation_name: String,
    pub kind: QuoteKind,
    pub status: QuoteStatus,
    pub title: String,
    pub valid_until: DateTime<Utc>,
    pub amount_due: Decimal,
    pub created_at: DateTime<Utc>,
}

/// What the quotes list shows: every field optional.
#[derive(Debug, Default)]
pub struct ListFilter {
    pub organisation: Option<OrganisationId>,
    /// As people see it: `Pending` is pending and still valid, `Expired` includes the
    /// pending quotes past their validity (see [`QuoteStatus::at`]).
    pub status: Option<QuoteStatus>,
    pub kind: Option<QuoteKind>,
    /// Part of the number (`000123`) or of the title.
    pub text: Option<String>,
    /// Keyset paging: quotes older than this one.
    pub before: Option<QuoteId>,
}

/// Newest first, `limit` at a time: the quotes the filter matches.
pub async fn list(conn: &mut AsyncPgConnection, filter: &ListFilter, limit: i64) -> QueryResult<Vec<QuoteSummary>> {
    let mut query = quotes::table
        .inner_join(organisations::table)
        .select((
            quotes::id,
            quotes::number,
            organisations::name,
            quotes::kind,
            quotes::status,
            quotes::title,
            quotes::valid_until,
            quotes::amount_due,
            quotes::created_at,
        ))
        .order(quotes::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(org) = filter.organisation {
        query = query.filter(quotes::organisation_id.eq(org));
    }
    if let Some(before) = filter.before {
        query = query.filter(quotes::id.lt(before));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(quotes::kind.eq(kind));
    }
    if let Some(text) = &filter.text {
        let pattern = crate::db::like_pattern(text);
        query = query.filter(quotes::number.ilike(pattern.clone()).or(quotes::title.ilike(pattern)));
    }
    let now = diesel::dsl::now;
    match filter.status {
        None => {}
        Some(QuoteStatus::Pending) => {
            query = query.filter(quotes::status.eq(QuoteStatus::Pending)).filter(quotes::valid_until.gt(now));
        }
        Some(QuoteStatus::Expired) => {
            query = query.filter(
                quotes::status
                    .eq(QuoteStatus::Expired)
                    .or(quotes::status.eq(QuoteStatus::Pending).and(quotes::valid_until.le(now))),
            );
        }
        Some(status) => query = query.filter(quotes::status.eq(status)),
    }
    query.load(conn).await
}

/// Pending quotes of an organisation that have not passed their validity, newest first.
pub async fn open(conn: &mut AsyncPgConnection, org: OrganisationId, limit: i64) -> QueryResult<Vec<Quote>> {
    quotes::table
        .filter(quotes::organisation_id.eq(org))
        .filter(quotes::status.eq(QuoteStatus::Pending))
        .filter(quotes::valid_until.gt(diesel::dsl::now))
        .order(quotes::id.desc())
        .limit(limit)
        .select(Quote::as_select())
        .load(conn)
        .await
}

/// The dashboard's count of open quotes stops here (shown as "1000+").
pub const OPEN_COUNT_CAP: i64 = 1000;

/// Pending, still valid quotes of an organisation, counted up to [`OPEN_COUNT_CAP`] (an
/// index-only scan of at most that many entries, however many quotes it has).
pub async fn count_open(conn: &mut AsyncPgConnection, org: OrganisationId) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(
        "SELECT count(*) AS n FROM (SELECT 1 FROM quotes
                                    WHERE organisation_id = $1 AND status = 'pending' AND valid_until > now()
                                    LIMIT $2) q",
    )
    .bind::<diesel::sql_types::BigInt, _>(org)
    .bind::<diesel::sql_types::BigInt, _>(OPEN_COUNT_CAP)
    .get_result::<Count>(conn)
    .await
    .map(|c| c.n)
}
