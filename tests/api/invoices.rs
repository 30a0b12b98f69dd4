//! Tax documents (DESIGN.md §10): a tax invoice for every debit from one gap-free
//! series, a credit note for every refund, stored as issued, the R 5 000 address rule,
//! statements, the customer's CSV ledger and the VAT report; and who may read them.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::main::schema::{invoice_lines, invoices, organisations};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::admin_helpers::flash_after;
use crate::helpers::{CUSTOMER, STAFF, TestApp, spawn_app};
use crate::support::{
    ACCEPTED, ACME, BONGANI, UBUNTU, accept, credit_directly, insert_quote, org_id, quote_id, submit, text_of,
    wallet_verify,
};

/// The document issued for quote `quote`'s debit (or refund): (id, number, total).
async fn document_of(app: &TestApp, quote: i64, kind: &str) -> (i64, String, Decimal) {
    use portal::db::main::schema::wallet_transactions as tx;
    invoices::table
        .inner_join(tx::table)
        .filter(tx::quote_id.eq(quote))
        .filter(invoices::kind.eq(kind))
        .select((invoices::id, invoices::number, invoices::total))
        .first(&mut app.main_conn().await)
        .await
        .unwrap()
}

/// A quote of R 1 150.00 (R 150.00 VAT) accepted by Acme's customer, then R 230.00 of it
/// refunded by staff for `reason`: a month with a tax invoice and a credit note. The
/// quote, and the customer and staff signed in.
async fn accepted_and_refunded(app: &TestApp, reason: &str) -> (i64, crate::helpers::Browser, crate::helpers::Browser) {
    let acme = org_id(app, ACME).await;
    let customer = app.signed_in(CUSTOMER).await;
    let (quote, _) = insert_quote(app, acme, dec!(1150.00), dec!(0), chrono::Duration::days(5)).await;
    accept(&customer, quote).await;
    let staff = app.signed_in(STAFF).await;
    let path = format!("/quotes/{quote}/refund");
    let refunded = submit(&staff, &path, &path, &[("amount", "230.00"), ("reason", reason)]).await;
    assert_eq!(refunded.status, StatusCode::SEE_OTHER, "{}", refunded.body);
    (quote, customer, staff)
}

async fn serials(app: &TestApp) -> Vec<i64> {
    invoices::table
        .order(invoices::serial.asc())
        .select(invoices::serial)
        .load(&mut app.main_conn().await)
        .await
        .unwrap()
}

#[actix_web::test]
async fn accepting_issues_a_tax_invoice_that_adds_up() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let customer = app.signed_in(CUSTOMER).await;
    let (quote, number) = insert_quote(&app, acme, dec!(1150.00), dec!(575.00), chrono::Duration::days(5)).await;
    let before = serials(&app).await;
    let response = customer.post(&format!("/quotes/{quote}/accept"), &[]).await;
    let flash = flash_after(&customer, &response).await;
    let (id, invoice_number, total) = document_of(&app, quote, "tax_invoice").await;
    assert!(flash.contains(&format!("Tax invoice {invoice_number} was issued")), "{flash}");
    assert_eq!(total, dec!(1725.00));
    assert_eq!(invoice_number, format!("INV-{:06}", before.len() + 1), "the next number of the series");

    let lines: Vec<(Decimal, Decimal)> = invoice_lines::table
        .filter(invoice_lines::invoice_id.eq(id))
        .select((invoice_lines::amount, invoice_lines::vat))
        .load(&mut app.main_conn().await)
        .await
        .unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines.iter().map(|l| l.0 + l.1).sum::<Decimal>(), dec!(1725.00));
    assert_eq!(lines.iter().map(|l| l.1).sum::<Decimal>(), dec!(225.00), "VAT inside R 1 725.00 at 15 %");

    let page = customer.get(&format!("/invoices/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(text_of(&page, "document-title").unwrap(), "Tax Invoice");
    assert_eq!(text_of(&page, "document-number").unwrap(), invoice_number);
    assert_eq!(text_of(&page, "total").unwrap(), "R 1 725.00");
    assert!(page.body.contains("Kopano Cloud (Pty) Ltd") && page.body.contains("4870263154"), "the supplier");
    assert!(page.body.contains(&number));
    let quote_page = customer.get(&format!("/quotes/{quote}")).await;
    assert!(text_of(&quote_page, "documents").unwrap().contains(&invoice_number));
    let (ok, report) = wallet_verify(&app);
    assert!(ok, "{report}");
    assert!(report.contains("ok    invoice series"), "{report}");
}

#[actix_web::test]
async fn concurrent_acceptances_take_consecutive_numbers_and_a_refusal_takes_none() {
    let app = spawn_app().await;
    let (acme, ubuntu) = (org_id(&app, ACME).await, org_id(&app, UBUNTU).await);
    credit_directly(&app, ubuntu, dec!(10000.00), "EFT for the race").await;
    let (customer, bongani) = (app.signed_in(CUSTOMER).await, app.signed_in(BONGANI).await);
    let mut quotes = Vec::new();
    for i in 0..30 {
        let org = if i % 2 == 0 { acme } else { ubuntu };
        quotes.push((org, insert_quote(&app, org, dec!(115.00), dec!(0), chrono::Duration::days(5)).await.0));
    }
    // A quote Ubuntu cannot pay, accepted in the middle of the race: refused, and it
    // takes no number.
    let (too_big, _) = insert_quote(&app, ubuntu, dec!(900000.00), dec!(0), chrono::Duration::days(5)).await;
    let before = serials(&app).await;
    let accepts = quotes.iter().map(|(org, quote)| {
        let browser = if *org == acme { &customer } else { &bongani };
        accept(browser, *quote)
    });
    let refusal_path = format!("/quotes/{too_big}/accept");
    let refusal = bongani.post(&refusal_path, &[]);
    let (_, refused) = tokio::join!(futures_util::future::join_all(accepts), refusal);
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "insufficient funds");

    let after = serials(&app).await;
    let new: Vec<i64> = after[before.len()..].to_vec();
    let first = before.len() as i64 + 1;
    assert_eq!(new, (first..first + 30).collect::<Vec<_>>(), "30 debits, 30 consecutive numbers, none for the refusal");
    let (ok, report) = wallet_verify(&app);
    assert!(ok, "{report}");
}

#[actix_web::test]
async fn an_issued_document_does_not_change_when_the_organisation_does() {
    let app = spawn_app().await;
    let accepted = quote_id(&app, ACCEPTED).await;
    let (id, _, _) = document_of(&app, accepted, "tax_invoice").await;
    let customer = app.signed_in(CUSTOMER).await;
    let before = customer.get(&format!("/invoices/{id}")).await;
    assert!(before.body.contains("Acme Logistics") && before.body.contains("14 Jet Park Road"));
    assert!(before.body.contains("issued late"), "the seeded debit's invoice was backfilled");
    diesel::update(organisations::table.filter(organisations::name.eq(ACME)))
        .set((organisations::name.eq("Acme Logistics Renamed"), organisations::address.eq("1 New Street")))
        .execute(&mut app.main_conn().await)
        .await
        .unwrap();
    let after = text_of(&customer.get(&format!("/invoices/{id}")).await, "document").unwrap();
    assert!(after.contains("Acme Logistics") && after.contains("14 Jet Park Road"), "{after}");
    assert!(!after.contains("1 New Street") && !after.contains("Renamed"), "{after}");
    // And the rows themselves refuse to change.
    let changed = diesel::sql_query("UPDATE invoices SET total = total + 1").execute(&mut app.main_conn().await).await;
    assert!(changed.is_err(), "documents are append-only");
}

#[actix_web::test]
async fn a_refund_issues_a_credit_note_against_the_invoice() {
    let app = spawn_app().await;
    let accepted = quote_id(&app, ACCEPTED).await;
    let (invoice, invoice_number, _) = document_of(&app, accepted, "tax_invoice").await;
    let staff = app.signed_in(STAFF).await;
    let path = format!("/quotes/{accepted}/refund");
    let page = submit(&staff, &path, &path, &[("amount", "1150.00"), ("reason", "Two VMs were never delivered")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let (id, number, total) = document_of(&app, accepted, "credit_note").await;
    assert_eq!(total, dec!(1150.00));
    let (original, vat, reason): (Option<i64>, Decimal, Option<String>) = invoices::table
        .find(id)
        .select((invoices::original_invoice_id, invoices::vat, invoices::reason))
        .first(&mut app.main_conn().await)
        .await
        .unwrap();
    assert_eq!(original, Some(invoice));
    assert_eq!(vat, dec!(150.00), "the VAT inside the refund reverses");
    assert_eq!(reason.as_deref(), Some("Two VMs were never delivered"));

    let customer = app.signed_in(CUSTOMER).await;
    let note = customer.get(&format!("/invoices/{id}")).await;
    assert_eq!(text_of(&note, "document-title").unwrap(), "Credit Note");
    assert!(text_of(&note, "original").unwrap().contains(&invoice_number));
    assert!(text_of(&note, "original").unwrap().contains("Two VMs were never delivered"));
    assert!(customer.get("/invoices").await.body.contains(&number));
    let (ok, report) = wallet_verify(&app);
    assert!(ok, "{report}");
}

#[actix_web::test]
async fn over_5000_the_organisation_gives_its_address_first() {
    let app = spawn_app().await;
    let ubuntu = org_id(&app, UBUNTU).await;
    credit_directly(&app, ubuntu, dec!(20000.00), "EFT").await;
    let bongani = app.signed_in(BONGANI).await;
    let (small, _) = insert_quote(&app, ubuntu, dec!(5000.00), dec!(0), chrono::Duration::days(5)).await;
    let (big, _) = insert_quote(&app, ubuntu, dec!(5000.01), dec!(0), chrono::Duration::days(5)).await;
    accept(&bongani, small).await;
    let page = bongani.get(&format!("/quotes/{big}")).await;
    assert!(text_of(&page, "address-needed").is_some(), "the quote page asks for the address");
    let refused = bongani.post(&format!("/quotes/{big}/accept"), &[]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&refused, "quote-error").unwrap().contains("address"));

    // Bad input: the form comes back with the value and a message; nothing saved.
    let empty = bongani.post(&format!("/quotes/{big}/address"), &[("address", "  \n ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&empty, "address-error").is_some());
    let escape = bongani.post(&format!("/quotes/{big}/address"), &[("address", "1 Road\u{1b}[2J")]).await;
    assert_eq!(escape.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(escape.body.contains("1 Road"), "the value is kept");
    // Not allowed: another organisation's quote, no CSRF token.
    let acme_quote = quote_id(&app, ACCEPTED).await;
    let other = bongani.post(&format!("/quotes/{acme_quote}/address"), &[("address", "Somewhere")]).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let forged = bongani.post_raw(&format!("/quotes/{big}/address"), &[("address", "Somewhere")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let saved = bongani.post(&format!("/quotes/{big}/address"), &[("address", "9 Harbour Road\nDurban\n4001")]).await;
    assert!(flash_after(&bongani, &saved).await.contains("address is saved"));
    accept(&bongani, big).await;
    let (id, _, _) = document_of(&app, big, "tax_invoice").await;
    let invoice = bongani.get(&format!("/invoices/{id}")).await;
    assert!(invoice.body.contains("9 Harbour Road") && invoice.body.contains("4310982746"), "a full tax invoice");
    let (abridged, _, _) = document_of(&app, small, "tax_invoice").await;
    assert!(
        !bongani.get(&format!("/invoices/{abridged}")).await.body.contains("4310982746"),
        "R 5 000 or less: abridged"
    );
}

#[actix_web::test]
async fn documents_statements_and_the_csv_are_the_organisations_own() {
    let app = spawn_app().await;
    let accepted = quote_id(&app, ACCEPTED).await;
    let (acme_invoice, acme_number, _) = document_of(&app, accepted, "tax_invoice").await;
    let bongani = app.signed_in(BONGANI).await;
    assert_eq!(bongani.get(&format!("/invoices/{acme_invoice}")).await.status, StatusCode::NOT_FOUND);
    assert!(!bongani.get("/invoices").await.body.contains(&acme_number));
    let month = portal::domain::time::month_key(portal::domain::time::today_sast());
    let acme = org_id(&app, ACME).await;
    let statement = bongani.get(&format!("/statements/{month}?organisation={acme}")).await;
    assert_eq!(statement.status, StatusCode::OK);
    assert!(statement.body.contains("Ubuntu Freight") && !statement.body.contains("Acme Logistics"), "their own");
    let csv = bongani.get("/wallet.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(!csv.body.contains("Acme Logistics"));

    // Staff read every organisation's, and filter.
    let staff = app.signed_in(STAFF).await;
    assert_eq!(staff.get(&format!("/invoices/{acme_invoice}")).await.status, StatusCode::OK);
    let filtered = staff.get(&format!("/invoices?organisation={acme}")).await;
    assert!(filtered.body.contains(&acme_number));
    // The filter is a typed picker: part of a name finds the organisation…
    let typed = staff.get("/invoices?organisation=acme+log").await;
    assert_eq!(typed.status, StatusCode::OK);
    assert!(typed.body.contains(&acme_number) && typed.body.contains("value=\"Acme Logistics\""), "{}", typed.body);
    // …and a name that matches none is said next to the field, with nothing listed.
    let unknown = staff.get("/invoices?organisation=Nobody+Ltd").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&unknown, "organisation-error").unwrap().contains("No organisation matches"));
    assert!(!unknown.body.contains(&acme_number));
    let staff_statement = staff.get(&format!("/statements/{month}?organisation={acme}")).await;
    assert!(staff_statement.body.contains("Acme Logistics"));

    // Bad input.
    let customer = app.signed_in(CUSTOMER).await;
    let bad = customer.get("/invoices?month=2026-13").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&bad, "month-error").unwrap().contains("2026-11"));
    assert_eq!(customer.get("/statements/2026-13").await.status, StatusCode::NOT_FOUND);
    assert_eq!(customer.get("/invoices/999999").await.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_statement_runs_from_opening_to_closing_balance_with_document_numbers() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let customer = app.signed_in(CUSTOMER).await;
    let (quote, _) = insert_quote(&app, acme, dec!(230.00), dec!(0), chrono::Duration::days(5)).await;
    accept(&customer, quote).await;
    let (_, number, _) = document_of(&app, quote, "tax_invoice").await;
    let month = portal::domain::time::month_key(portal::domain::time::today_sast());
    let page = customer.get(&format!("/statements/{month}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(text_of(&page, "statement").unwrap().contains(&number));
    let opening = text_of(&page, "opening").unwrap();
    let closing = text_of(&page, "closing").unwrap();
    assert_ne!(opening, closing);
    assert!(customer.get("/wallet").await.body.contains(&format!("/statements/{month}")), "linked from the wallet");

    let csv = customer.get("/wallet.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(csv.body.starts_with("id,created_at,organisation,kind"));
    assert!(csv.body.contains("Acme Logistics") && csv.body.contains("230.00"));
}

#[actix_web::test]
async fn the_vat_report_is_output_tax_less_credit_notes() {
    let app = spawn_app().await;
    let (_, customer, staff) = accepted_and_refunded(&app, "Discount agreed").await;

    let month = portal::domain::time::month_key(portal::domain::time::today_sast());
    let report = staff.get(&format!("/admin/vat?month={month}")).await;
    assert_eq!(report.status, StatusCode::OK);
    // The month's other documents are the seed's (issued late, in past months) or none.
    let (vat, credit): (Decimal, Decimal) = {
        let rows: Vec<(String, Decimal)> = diesel::sql_query(
            "SELECT kind, vat FROM invoices WHERE issued_at >= date_trunc('month', now() AT TIME ZONE 'Africa/Johannesburg') AT TIME ZONE 'Africa/Johannesburg'",
        )
        .load::<VatRow>(&mut app.main_conn().await)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.kind, r.vat))
        .collect();
        let sum = |k: &str| rows.iter().filter(|r| r.0 == k).map(|r| r.1).sum::<Decimal>();
        (sum("tax_invoice"), sum("credit_note"))
    };
    assert!(vat >= dec!(150.00) && credit >= dec!(30.00));
    let expected = portal::domain::money::format_zar(vat - credit);
    assert_eq!(text_of(&report, "output-vat").unwrap(), expected);
    assert!(text_of(&report, "vat-documents").is_some());

    let bad = staff.get("/admin/vat?month=December").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&bad, "month-error").is_some());
    assert_eq!(customer.get("/admin/vat").await.status, StatusCode::FORBIDDEN);
}

#[derive(diesel::QueryableByName)]
struct VatRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    vat: Decimal,
}

#[actix_web::test]
async fn admins_edit_the_suppliers_details_which_later_documents_carry() {
    let app = spawn_app().await;
    let operator = org_id(&app, "Kopano Cloud (Pty) Ltd").await;
    let admin = app.signed_in(crate::helpers::ADMIN).await;
    let path = format!("/admin/organisations/{operator}");
    let fields = |address: &'static str| {
        [
            ("name", "Kopano Cloud (Pty) Ltd"),
            ("registration_number", "2012/087341/07"),
            ("vat_number", "4870263154"),
            ("billing_email", "accounts@kopanocloud.co.za"),
            ("address", address),
            ("low_balance_threshold", "0"),
        ]
    };
    let bad = admin.post(&path, &fields("Unit 1\u{7}")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&bad, "address-error").is_some());
    let saved = admin.post(&path, &fields("2 Fredman Drive\nSandton\n2196")).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);

    let acme = org_id(&app, ACME).await;
    let customer = app.signed_in(CUSTOMER).await;
    let (quote, _) = insert_quote(&app, acme, dec!(115.00), dec!(0), chrono::Duration::days(5)).await;
    accept(&customer, quote).await;
    let (id, _, _) = document_of(&app, quote, "tax_invoice").await;
    let new = text_of(&customer.get(&format!("/invoices/{id}")).await, "document").unwrap();
    assert!(new.contains("2 Fredman Drive"), "{new}");
    let (old, _, _) = document_of(&app, quote_id(&app, ACCEPTED).await, "tax_invoice").await;
    let old = text_of(&customer.get(&format!("/invoices/{old}")).await, "document").unwrap();
    assert!(old.contains("101 Rivonia Road") && !old.contains("Fredman"), "issued documents keep theirs");
}

#[actix_web::test]
async fn an_adjustment_that_corrects_a_charge_issues_a_credit_note() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let accepted = quote_id(&app, ACCEPTED).await;
    let (invoice, number, total) = document_of(&app, accepted, "tax_invoice").await;
    let staff = app.signed_in(STAFF).await;
    let path = format!("/admin/organisations/{acme}/adjust");
    let adjust = |fields: Vec<(&'static str, String)>| {
        let staff = &staff;
        let path = path.clone();
        async move {
            let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            submit(staff, &path, &path, &borrowed).await
        }
    };
    let base = |direction: &str, amount: &str, corrects: &str| {
        vec![
            ("direction", direction.to_owned()),
            ("amount", amount.to_owned()),
            ("reason", "Overcharged for the database server".to_owned()),
            ("corrects", corrects.to_owned()),
        ]
    };
    // Bad input: not a number, money out, more than the invoice, another organisation's.
    let page = adjust(base("in", "100.00", "12")).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&page, "corrects-error").unwrap().contains("INV-000012"));
    assert_eq!(adjust(base("out", "100.00", &number)).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let over = adjust(base("in", &(total + dec!(0.01)).to_string(), &number)).await;
    assert_eq!(over.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&over, "amount-error").is_some(), "{}", over.body);
    let ubuntu = org_id(&app, UBUNTU).await;
    credit_directly(&app, ubuntu, dec!(1000.00), "EFT").await;
    let bongani = app.signed_in(BONGANI).await;
    let (theirs, _) = insert_quote(&app, ubuntu, dec!(115.00), dec!(0), chrono::Duration::days(5)).await;
    accept(&bongani, theirs).await;
    let (_, their_number, _) = document_of(&app, theirs, "tax_invoice").await;
    let page = adjust(base("in", "10.00", &their_number)).await;
    assert!(text_of(&page, "corrects-error").unwrap().contains("no tax invoice"));

    let done = adjust(base("in", "115.00", &number.to_lowercase())).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let (original, vat, kind): (Option<i64>, Decimal, String) = invoices::table
        .filter(invoices::organisation_id.eq(acme))
        .order(invoices::serial.desc())
        .select((invoices::original_invoice_id, invoices::vat, invoices::kind))
        .first(&mut app.main_conn().await)
        .await
        .unwrap();
    assert_eq!((original, vat, kind.as_str()), (Some(invoice), dec!(15.00), "credit_note"));
    let (ok, report) = wallet_verify(&app);
    assert!(ok, "{report}");
}

/// The body of `path` as `browser` downloads it: (status, content type, bytes).
async fn download(browser: &crate::helpers::Browser, path: &str) -> (StatusCode, String, Vec<u8>) {
    let response = browser.client.get(format!("{}{path}", browser.base)).send().await.unwrap();
    let status = response.status();
    let kind = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, kind, response.bytes().await.unwrap().to_vec())
}

/// The text a PDF reader copies out of it, spaces collapsed.
fn pdf_text(pdf: &[u8]) -> String {
    assert!(pdf.starts_with(b"%PDF"), "not a PDF: {:?}", String::from_utf8_lossy(&pdf[..pdf.len().min(200)]));
    let text = pdf_extract::extract_text_from_mem(pdf).expect("the PDF's text can be read back");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[actix_web::test]
async fn invoices_credit_notes_and_statements_download_as_pdfs() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let customer = app.signed_in(CUSTOMER).await;
    let (quote, _) = insert_quote(&app, acme, dec!(1150.00), dec!(0), chrono::Duration::days(5)).await;
    accept(&customer, quote).await;
    let (invoice, number, _) = document_of(&app, quote, "tax_invoice").await;

    let page = customer.get(&format!("/invoices/{invoice}")).await;
    assert!(page.body.contains(&format!("href=\"/invoices/{invoice}.pdf\"")), "linked from the document");
    let (status, kind, pdf) = download(&customer, &format!("/invoices/{invoice}.pdf")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "application/pdf");
    let text = pdf_text(&pdf);
    for expected in ["Tax Invoice", number.as_str(), "Acme Logistics", "Total R 1 150.00", "VAT at 15% R 150.00"] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }

    // The refund's credit note names the invoice it credits.
    let staff = app.signed_in(STAFF).await;
    let path = format!("/quotes/{quote}/refund");
    let refunded = submit(&staff, &path, &path, &[("amount", "230.00"), ("reason", "Discount agreed")]).await;
    assert_eq!(refunded.status, StatusCode::SEE_OTHER, "{}", refunded.body);
    let (credit, credit_number, _) = document_of(&app, quote, "credit_note").await;
    let (status, _, pdf) = download(&customer, &format!("/invoices/{credit}.pdf")).await;
    assert_eq!(status, StatusCode::OK);
    let text = pdf_text(&pdf);
    for expected in ["Credit Note", credit_number.as_str(), &format!("Credits tax invoice {number}"), "Discount agreed"]
    {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }

    // The month's statement, with the document numbers beside their rows.
    let month = portal::domain::time::month_key(portal::domain::time::today_sast());
    let (status, kind, pdf) = download(&customer, &format!("/statements/{month}.pdf")).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "application/pdf"));
    let text = pdf_text(&pdf);
    for expected in ["Statement", "Acme Logistics", "Opening balance", "Closing balance", &number, &credit_number] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
    // Staff read another organisation's, and its page links the PDF of that one.
    let staff_page = staff.get(&format!("/statements/{month}?organisation={acme}")).await;
    assert!(staff_page.body.contains(&format!("/statements/{month}.pdf?organisation={acme}")), "{}", staff_page.body);
    let (status, _, pdf) = download(&staff, &format!("/statements/{month}.pdf?organisation={acme}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(pdf_text(&pdf).contains("Acme Logistics"));
}

#[actix_web::test]
async fn a_pdf_is_its_organisations_own_and_bad_paths_are_not_found() {
    let app = spawn_app().await;
    let accepted = quote_id(&app, ACCEPTED).await;
    let (acme_invoice, _, _) = document_of(&app, accepted, "tax_invoice").await;
    let bongani = app.signed_in(BONGANI).await;
    let ubuntu = org_id(&app, UBUNTU).await;
    credit_directly(&app, ubuntu, dec!(500.00), "EFT PDF").await;
    let (own_quote, _) = insert_quote(&app, ubuntu, dec!(115.00), dec!(0), chrono::Duration::days(5)).await;
    accept(&bongani, own_quote).await;
    let (status, kind, _) = download(&bongani, &format!("/invoices/{acme_invoice}.pdf")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(kind.starts_with("text/html"), "a page, not a PDF");
    // Another organisation's statement is never theirs: they get their own.
    let month = portal::domain::time::month_key(portal::domain::time::today_sast());
    let acme = org_id(&app, ACME).await;
    let (status, _, pdf) = download(&bongani, &format!("/statements/{month}.pdf?organisation={acme}")).await;
    assert_eq!(status, StatusCode::OK);
    let text = pdf_text(&pdf);
    assert!(text.contains("Ubuntu Freight") && !text.contains("Acme Logistics"), "{text}");

    let customer = app.signed_in(CUSTOMER).await;
    for bad in ["/invoices/999999.pdf", "/invoices/x.pdf", "/statements/2026-13.pdf", "/statements/soon.pdf"] {
        assert_eq!(download(&customer, bad).await.0, StatusCode::NOT_FOUND, "{bad}");
    }
    // Without a permission to read documents: refused. (Taken from Bongani's roles before
    // he signs in again, so no cached permission answers for him.)
    diesel::sql_query(
        "DELETE FROM role_permissions
         WHERE role_id IN (SELECT r.role_id FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.email = $1)
           AND permission_id = (SELECT id FROM permissions WHERE code = 'wallet.view')",
    )
    .bind::<diesel::sql_types::Text, _>(BONGANI)
    .execute(&mut app.main_conn().await)
    .await
    .unwrap();
    let (own, _, _) = document_of(&app, own_quote, "tax_invoice").await;
    let without = app.signed_in(BONGANI).await;
    assert_eq!(download(&without, &format!("/invoices/{own}.pdf")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(download(&without, &format!("/statements/{month}.pdf")).await.0, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn the_vat_report_downloads_as_csv_with_its_totals() {
    let app = spawn_app().await;
    let (quote, customer, staff) = accepted_and_refunded(&app, "=HYPERLINK(\"x\")").await;
    let (_, number, _) = document_of(&app, quote, "tax_invoice").await;
    let (_, credit_number, _) = document_of(&app, quote, "credit_note").await;

    let month = portal::domain::time::month_key(portal::domain::time::today_sast());
    let report = staff.get(&format!("/admin/vat?month={month}")).await;
    assert!(report.body.contains(&format!("/admin/vat.csv?month={month}")), "linked from the report");
    let (status, kind, body) = download(&staff, &format!("/admin/vat.csv?month={month}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/csv"), "{kind}");
    let csv = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "number,issued_at,kind,organisation,reference,vat_rate,subtotal,vat,total");
    let row = |n: &str| lines.iter().find(|l| l.starts_with(n)).copied().unwrap_or_else(|| panic!("{n} in {csv}"));
    assert!(row(&number).contains(",tax_invoice,Acme Logistics,"), "{csv}");
    assert!(row(&number).contains(",15,1000.00,150.00,1150.00"), "{csv}");
    assert!(row(&credit_number).contains(",credit_note,") && row(&credit_number).ends_with(",-200.00,-30.00,-230.00"));
    let output = lines.last().unwrap();
    assert!(output.starts_with(",,output_vat,"), "{csv}");
    let page_vat = text_of(&report, "output-vat").unwrap().replace(['R', ' ', '\u{a0}'], "");
    assert!(output.contains(&format!(",{page_vat},")), "the page's figure: {page_vat} in {output}");

    let bad = download(&staff, "/admin/vat.csv?month=December").await;
    assert_eq!(bad.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(download(&customer, &format!("/admin/vat.csv?month={month}")).await.0, StatusCode::FORBIDDEN);
}
