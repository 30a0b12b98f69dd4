//! Tax invoices and credit notes (DESIGN.md §10): issued inside the transaction of the
//! debit or refund they stand for, numbered from one gap-free series, stored as issued
//! (supplier and recipient copied in; the rows are append-only), and read back for the
//! pages, the PDFs, statements and the VAT report.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Numeric, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::schema::{invoice_lines, invoices, organisations, wallet_transactions};
use crate::db::Prepared;
use crate::domain::documents::{DocumentLine, Original, Party, TaxDocument};
use crate::domain::ids::{InvoiceId, OrganisationId, TransactionId};
use crate::domain::states::InvoiceKind;

/// A document to issue for the ledger row written under `idempotency_key` earlier in
/// the same transaction (so the two can be sent in one pipeline).
pub struct NewDocument<'a> {
    pub kind: InvoiceKind,
    pub organisation_id: OrganisationId,
    pub idempotency_key: &'a str,
    pub original_invoice_id: Option<InvoiceId>,
    pub reason: Option<&'a str>,
    pub reference: &'a str,
    pub vat_rate: Decimal,
    pub lines: &'a [DocumentLine],
    pub subtotal: Decimal,
    pub vat: Decimal,
    pub total: Decimal,
}

#[derive(QueryableByName, Debug, Clone)]
pub struct Issued {
    #[diesel(sql_type = BigInt)]
    pub id: InvoiceId,
    #[diesel(sql_type = Text)]
    pub number: String,
}

/// Takes the series' next number and writes the document and its lines, copying the
/// supplier (the operator organisation) and the recipient as they are now: one
/// statement. The series row stays locked until the transaction ends, so send this
/// last: concurrent debits queue for as short a time as possible.
pub async fn issue(mut conn: &AsyncPgConnection, doc: &NewDocument<'_>) -> QueryResult<Issued> {
    let column = |f: fn(&DocumentLine) -> Decimal| doc.lines.iter().map(f).collect::<Vec<_>>();
    Prepared::new(
        "WITH n AS (UPDATE invoice_series SET last_number = last_number + 1 RETURNING last_number),
              inv AS (
                INSERT INTO invoices (serial, number, kind, organisation_id, wallet_transaction_id,
                    original_invoice_id, reason, reference, vat_rate, subtotal, vat, total,
                    supplier_name, supplier_address, supplier_vat_number, supplier_registration_number,
                    recipient_name, recipient_address, recipient_vat_number, recipient_registration_number)
                SELECT n.last_number, 'INV-' || lpad(n.last_number::text, greatest(6, length(n.last_number::text)), '0'),
                       $1, r.id, (SELECT id FROM wallet_transactions WHERE idempotency_key = $3),
                       $4, $5, $6, $7, $8, $9, $10,
                       s.name, s.address, s.vat_number, s.registration_number,
                       r.name, r.address, r.vat_number, r.registration_number
                FROM n, organisations r
                LEFT JOIN LATERAL (SELECT * FROM organisations WHERE is_operator ORDER BY id LIMIT 1) s ON true
                WHERE r.id = $2
                RETURNING id, number),
              lines AS (
                INSERT INTO invoice_lines (invoice_id, line_no, description, quantity, unit_price, amount, vat)
                SELECT inv.id, l.line_no, l.description, l.quantity, l.unit_price, l.amount, l.vat
                FROM inv, unnest($11::text[], $12::numeric[], $13::numeric[], $14::numeric[], $15::numeric[])
                     WITH ORDINALITY AS l (description, quantity, unit_price, amount, vat, line_no))
         SELECT id, number FROM inv",
    )
    .bind::<Text, _>(doc.kind)
    .bind::<BigInt, _>(doc.organisation_id)
    .bind::<Text, _>(doc.idempotency_key)
    .bind::<Nullable<BigInt>, _>(doc.original_invoice_id)
    .bind::<Nullable<Text>, _>(doc.reason)
    .bind::<Text, _>(doc.reference)
    .bind::<Numeric, _>(doc.vat_rate)
    .bind::<Numeric, _>(doc.subtotal)
    .bind::<Numeric, _>(doc.vat)
    .bind::<Numeric, _>(doc.total)
    .bind::<Array<Text>, _>(doc.lines.iter().map(|l| l.description.as_str()).collect::<Vec<_>>())
    .bind::<Array<Numeric>, _>(column(|l| l.quantity))
    .bind::<Array<Numeric>, _>(column(|l| l.unit_price))
    .bind::<Array<Numeric>, _>(column(|l| l.amount))
    .bind::<Array<Numeric>, _>(column(|l| l.vat))
    .get_result(&mut conn)
    .await
}

/// The tax invoice of a quote's debit, and its VAT rate: what a refund's credit note
/// corrects.
pub async fn of_quote_debit(
    conn: &mut AsyncPgConnection,
    quote: crate::domain::ids::QuoteId,
) -> QueryResult<Option<(InvoiceId, Decimal)>> {
    invoices::table
        .inner_join(wallet_transactions::table)
        .filter(wallet_transactions::quote_id.eq(quote))
        .filter(wallet_transactions::kind.eq(crate::domain::states::TransactionKind::Debit))
        .select((invoices::id, invoices::vat_rate))
        .first(conn)
        .await
        .optional()
}

/// An organisation's tax invoice by number: (id, total, VAT rate).
pub async fn tax_invoice_numbered(
    conn: &mut AsyncPgConnection,
    org: OrganisationId,
    number: &str,
) -> QueryResult<Option<(InvoiceId, Decimal, Decimal)>> {
    invoices::table
        .filter(invoices::number.eq(number))
        .filter(invoices::organisation_id.eq(org))
        .filter(invoices::kind.eq(InvoiceKind::TaxInvoice))
        .select((invoices::id, invoices::total, invoices::vat_rate))
        .first(conn)
        .await
        .optional()
}

/// The documents issued for a quote's debit and refund: (id, number, kind), in order.
pub async fn of_quote(
    conn: &mut AsyncPgConnection,
    quote: crate::domain::ids::QuoteId,
) -> QueryResult<Vec<(InvoiceId, String, InvoiceKind)>> {
    invoices::table
        .inner_join(wallet_transactions::table)
        .filter(wallet_transactions::quote_id.eq(quote))
        .order(invoices::serial.asc())
        .select((invoices::id, invoices::number, invoices::kind))
        .load(conn)
        .await
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = invoices)]
struct Row {
    id: InvoiceId,
    number: String,
    kind: InvoiceKind,
    organisation_id: OrganisationId,
    issued_at: DateTime<Utc>,
    issued_late: bool,
    wallet_transaction_id: TransactionId,
    original_invoice_id: Option<InvoiceId>,
    reason: Option<String>,
    reference: String,
    vat_rate: Decimal,
    subtotal: Decimal,
    vat: Decimal,
    total: Decimal,
    supplier_name: String,
    supplier_address: Option<String>,
    supplier_vat_number: Option<String>,
    supplier_registration_number: Option<String>,
    recipient_name: String,
    recipient_address: Option<String>,
    recipient_vat_number: Option<String>,
    recipient_registration_number: Option<String>,
}

/// A stored document with what the pages need around it.
pub struct Stored {
    pub id: InvoiceId,
    pub organisation_id: OrganisationId,
    pub wallet_transaction_id: TransactionId,
    pub original_invoice_id: Option<InvoiceId>,
    pub document: TaxDocument,
}

/// One stored document, lines and all (and the invoice a credit note corrects).
pub async fn find(conn: &mut AsyncPgConnection, id: InvoiceId) -> QueryResult<Option<Stored>> {
    let Some(row) = invoices::table.find(id).select(Row::as_select()).first(conn).await.optional()? else {
        return Ok(None);
    };
    let lines = invoice_lines::table
        .filter(invoice_lines::invoice_id.eq(id))
        .order(invoice_lines::line_no.asc())
        .select((
            invoice_lines::description,
            invoice_lines::quantity,
            invoice_lines::unit_price,
            invoice_lines::amount,
            invoice_lines::vat,
        ))
        .load::<(String, Decimal, Decimal, Decimal, Decimal)>(conn)
        .await?
        .into_iter()
        .map(|(description, quantity, unit_price, amount, vat)| DocumentLine {
            description,
            quantity,
            unit_price,
            amount,
            vat,
        })
        .collect();
    let original = match row.original_invoice_id {
        Some(original) => invoices::table
            .find(original)
            .select((invoices::number, invoices::issued_at))
            .first::<(String, DateTime<Utc>)>(conn)
            .await
            .optional()?
            .map(|(number, issued_at)| Original { number, issued_at }),
        None => None,
    };
    Ok(Some(Stored {
        id: row.id,
        organisation_id: row.organisation_id,
        wallet_transaction_id: row.wallet_transaction_id,
        original_invoice_id: row.original_invoice_id,
        document: TaxDocument {
            kind: row.kind,
            number: row.number,
            issued_at: row.issued_at,
            issued_late: row.issued_late,
            supplier: Party {
                name: row.supplier_name,
                address: row.supplier_address.unwrap_or_default(),
                vat_number: row.supplier_vat_number,
                registration_number: row.supplier_registration_number,
            },
            recipient: Party {
                name: row.recipient_name,
                address: row.recipient_address.unwrap_or_default(),
                vat_number: row.recipient_vat_number,
                registration_number: row.recipient_registration_number,
            },
            vat_rate: row.vat_rate,
            lines,
            subtotal: row.subtotal,
            vat: row.vat,
            total: row.total,
            original,
            reason: row.reason,
            reference: row.reference,
        },
    }))
}

/// The filters of `/invoices`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub organisation: Option<OrganisationId>,
    /// The first day of a month.
    pub month: Option<NaiveDate>,
}

/// A document in a list.
#[derive(QueryableByName, Debug, Clone)]
pub struct Listed {
    #[diesel(sql_type = BigInt)]
    pub id: InvoiceId,
    #[diesel(sql_type = Text)]
    pub number: String,
    #[diesel(sql_type = Text)]
    pub kind: InvoiceKind,
    #[diesel(sql_type = BigInt)]
    pub organisation_id: OrganisationId,
    #[diesel(sql_type = Text)]
    pub recipient_name: String,
    #[diesel(sql_type = Timestamptz)]
    pub issued_at: DateTime<Utc>,
    #[diesel(sql_type = Bool)]
    pub issued_late: bool,
    #[diesel(sql_type = Text)]
    pub reference: String,
    #[diesel(sql_type = Numeric)]
    pub subtotal: Decimal,
    #[diesel(sql_type = Numeric)]
    pub vat: Decimal,
    #[diesel(sql_type = Numeric)]
    pub total: Decimal,
    #[diesel(sql_type = Numeric)]
    pub vat_rate: Decimal,
}

/// The start of the month whose first day is the date parameter `param` (`$2`), in South
/// African time.
fn month_start(param: &str) -> String {
    format!("({param}::date::timestamp AT TIME ZONE 'Africa/Johannesburg')")
}

/// `column` falls in the month whose first day is the date parameter `param`.
fn within_month(column: &str, param: &str) -> String {
    format!(
        "{column} >= {} AND {column} < (({param}::date + interval '1 month')::timestamp AT TIME ZONE 'Africa/Johannesburg')",
        month_start(param)
    )
}

/// Documents matching `filter`, newest first, at most `limit`.
pub async fn list(conn: &mut AsyncPgConnection, filter: &Filter, limit: i64) -> QueryResult<Vec<Listed>> {
    diesel::sql_query(format!(
        "SELECT id, number, kind, organisation_id, recipient_name, issued_at, issued_late, reference,
                subtotal, vat, total, vat_rate
         FROM invoices
         WHERE ($1::bigint IS NULL OR organisation_id = $1)
           AND ($2::date IS NULL OR ({}))
         ORDER BY issued_at DESC, id DESC
         LIMIT $3",
        within_month("issued_at", "$2")
    ))
    .bind::<Nullable<BigInt>, _>(filter.organisation)
    .bind::<Nullable<diesel::sql_types::Date>, _>(filter.month)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// The documents issued in the month starting on `month`, in the order of their numbers,
/// `limit` at a time after `after`: the VAT report's CSV.
pub async fn of_month(
    conn: &mut AsyncPgConnection,
    month: NaiveDate,
    after: InvoiceId,
    limit: i64,
) -> QueryResult<Vec<Listed>> {
    diesel::sql_query(format!(
        "SELECT id, number, kind, organisation_id, recipient_name, issued_at, issued_late, reference,
                subtotal, vat, total, vat_rate
         FROM invoices
         WHERE ({}) AND id > $1
         ORDER BY id
         LIMIT $3",
        within_month("issued_at", "$2")
    ))
    .bind::<BigInt, _>(after)
    .bind::<diesel::sql_types::Date, _>(month)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// One ledger row of a month, with the document issued for it.
#[derive(QueryableByName, Debug, Clone)]
pub struct StatementRow {
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub description: String,
    #[diesel(sql_type = Text)]
    pub reference: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub document: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub document_id: Option<InvoiceId>,
    #[diesel(sql_type = Numeric)]
    pub signed_amount: Decimal,
    #[diesel(sql_type = Numeric)]
    pub balance_after: Decimal,
}

/// The balance before the month (`month`: its first day), and the month's rows in ledger order.
pub async fn statement(
    conn: &mut AsyncPgConnection,
    org: OrganisationId,
    month: NaiveDate,
) -> QueryResult<(Decimal, Vec<StatementRow>)> {
    #[derive(QueryableByName)]
    struct Opening {
        #[diesel(sql_type = Numeric)]
        balance: Decimal,
    }
    let opening: Opening = diesel::sql_query(format!(
        "SELECT COALESCE((SELECT balance_after FROM wallet_transactions
                          WHERE organisation_id = $1 AND created_at < {}
                          ORDER BY id DESC LIMIT 1), 0) AS balance",
        month_start("$2")
    ))
    .bind::<BigInt, _>(org)
    .bind::<diesel::sql_types::Date, _>(month)
    .get_result(conn)
    .await?;
    let rows = diesel::sql_query(format!(
        "SELECT t.created_at, t.description, t.reference, i.number AS document, i.id AS document_id,
                t.direction * t.amount AS signed_amount, t.balance_after
         FROM wallet_transactions t LEFT JOIN invoices i ON i.wallet_transaction_id = t.id
         WHERE t.organisation_id = $1 AND {}
         ORDER BY t.id",
        within_month("t.created_at", "$2")
    ))
    .bind::<BigInt, _>(org)
    .bind::<diesel::sql_types::Date, _>(month)
    .load(conn)
    .await?;
    Ok((opening.balance, rows))
}

/// A line of the VAT report: the month's documents of one kind at one rate.
#[derive(QueryableByName, Debug, Clone)]
pub struct VatLine {
    #[diesel(sql_type = Text)]
    pub kind: InvoiceKind,
    #[diesel(sql_type = Numeric)]
    pub vat_rate: Decimal,
    #[diesel(sql_type = BigInt)]
    pub documents: i64,
    #[diesel(sql_type = Numeric)]
    pub subtotal: Decimal,
    #[diesel(sql_type = Numeric)]
    pub vat: Decimal,
    #[diesel(sql_type = Numeric)]
    pub total: Decimal,
}

/// The month's documents summed per kind and rate.
pub async fn vat_lines(conn: &mut AsyncPgConnection, month: NaiveDate) -> QueryResult<Vec<VatLine>> {
    diesel::sql_query(format!(
        "SELECT kind, vat_rate, count(*) AS documents, sum(subtotal) AS subtotal, sum(vat) AS vat, sum(total) AS total
         FROM invoices
         WHERE {}
         GROUP BY kind, vat_rate
         ORDER BY vat_rate DESC, kind DESC",
        within_month("issued_at", "$1")
    ))
    .bind::<diesel::sql_types::Date, _>(month)
    .load(conn)
    .await
}

/// The operator organisation: the supplier on every document.
pub async fn supplier(conn: &mut AsyncPgConnection) -> QueryResult<Party> {
    party(conn, None).await
}

/// An organisation as a party to a document (or the operator, for `None`).
pub async fn party(conn: &mut AsyncPgConnection, org: Option<OrganisationId>) -> QueryResult<Party> {
    let mut query = organisations::table
        .select((
            organisations::name,
            organisations::address,
            organisations::vat_number,
            organisations::registration_number,
        ))
        .order(organisations::id.asc())
        .into_boxed();
    query = match org {
        Some(org) => query.filter(organisations::id.eq(org)),
        None => query.filter(organisations::is_operator.eq(true)),
    };
    #[derive(Queryable)]
    struct Row {
        name: String,
        address: Option<String>,
        vat_number: Option<String>,
        registration_number: Option<String>,
    }
    let row: Option<Row> = query.first(conn).await.optional()?;
    Ok(row
        .map(|r| Party {
            name: r.name,
            address: r.address.unwrap_or_default(),
            vat_number: r.vat_number,
            registration_number: r.registration_number,
        })
        .unwrap_or_default())
}

/// Sets an organisation's address for tax invoices, logged with the one before.
pub async fn set_address(
    conn: &mut AsyncPgConnection,
    org: OrganisationId,
    address: &str,
    actor: &super::activity::Actor,
) -> QueryResult<()> {
    use diesel_async::AsyncConnection;
    conn.transaction(async |conn| {
        let before: Option<String> =
            organisations::table.find(org).select(organisations::address).for_update().first(conn).await?;
        diesel::update(organisations::table.find(org))
            .set((organisations::address.eq(address), organisations::updated_at.eq(diesel::dsl::now)))
            .execute(conn)
            .await?;
        let detail = serde_json::json!({ "before": { "address": before }, "after": { "address": address } });
        actor.record(conn, "organisation.address_set", Some(org), &format!("organisation:{org}"), detail).await
    })
    .await
}
