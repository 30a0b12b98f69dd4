//! `/transactions` and `/transactions.csv`: every organisation's ledger for staff and
//! admins, its filters, keyset paging and the streamed CSV export.

use std::collections::HashSet;

use chrono::{DateTime, Days, FixedOffset, NaiveDate, TimeZone, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl, SimpleAsyncConnection};
use portal::db::main::schema::organisation_wallets;
use portal::db::main::schema::wallet_transactions as tx;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::helpers::{ADMIN, Browser, CUSTOMER, Page, STAFF, TestApp, spawn_app};
use crate::support::{credit_directly, input_value, org_id};

/// The ids of the table's rows, in page order.
fn row_ids_of(page: &Page) -> Vec<i64> {
    crate::support::row_ids(page, "main table tbody tr", "tx-")
}

const ACME: &str = "Acme Logistics";
const UBUNTU: &str = "Ubuntu Freight Services";
const KAROO: &str = "Karoo Solar Installations";
const CSV_HEADER: &str =
    "id,created_at,organisation,kind,amount,direction,balance_after,quote,reference,description,created_by";

/// South African time: UTC+2 all year (no daylight saving).
fn sast() -> FixedOffset {
    FixedOffset::east_opt(2 * 3600).unwrap()
}

fn sa_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&sast()).date_naive()
}

/// Every ledger row's id and time, newest first.
async fn all_rows(app: &TestApp) -> Vec<(i64, DateTime<Utc>)> {
    let mut conn = app.main_conn().await;
    tx::table.order(tx::id.desc()).select((tx::id, tx::created_at)).load(&mut conn).await.unwrap()
}

async fn all_ids(app: &TestApp) -> Vec<i64> {
    all_rows(app).await.into_iter().map(|(id, _)| id).collect()
}

async fn ids_where_org(app: &TestApp, org: i64) -> Vec<i64> {
    let mut conn = app.main_conn().await;
    tx::table.filter(tx::organisation_id.eq(org)).order(tx::id.desc()).select(tx::id).load(&mut conn).await.unwrap()
}

async fn ids_where_kind(app: &TestApp, kind: &str) -> Vec<i64> {
    let mut conn = app.main_conn().await;
    tx::table.filter(tx::kind.eq(kind)).order(tx::id.desc()).select(tx::id).load(&mut conn).await.unwrap()
}

async fn id_with_reference(app: &TestApp, reference: &str) -> i64 {
    let mut conn = app.main_conn().await;
    tx::table.filter(tx::reference.eq(reference)).select(tx::id).first(&mut conn).await.unwrap()
}

/// A credit whose `created_at` the test chooses: the ledger row and the balance
/// together, in one transaction, as the schema's triggers demand.
async fn credit_at(app: &TestApp, org: i64, amount: Decimal, reference: &str, at: DateTime<Utc>) -> i64 {
    let mut conn = app.main_conn().await;
    conn.transaction::<i64, diesel::result::Error, _>(async |conn| {
        let (wallet, balance): (i64, Decimal) = organisation_wallets::table
            .filter(organisation_wallets::organisation_id.eq(org))
            .select((organisation_wallets::id, organisation_wallets::balance))
            .for_update()
            .first(conn)
            .await?;
        let id = diesel::insert_into(tx::table)
            .values((
                tx::wallet_id.eq(wallet),
                tx::organisation_id.eq(org),
                tx::kind.eq("credit"),
                tx::direction.eq(1i16),
                tx::amount.eq(amount),
                tx::balance_after.eq(balance + amount),
                tx::reference.eq(reference),
                tx::description.eq("EFT received"),
                tx::created_at.eq(at),
            ))
            .returning(tx::id)
            .get_result(conn)
            .await?;
        diesel::update(organisation_wallets::table.find(wallet))
            .set(organisation_wallets::balance.eq(balance + amount))
            .execute(conn)
            .await?;
        Ok(id)
    })
    .await
    .unwrap()
}

fn row_cells(page: &Page, id: i64) -> Vec<String> {
    let selector = scraper::Selector::parse(&format!("tr#tx-{id} td")).unwrap();
    page.html().select(&selector).map(|td| td.text().collect::<String>().trim().to_owned()).collect()
}

/// The "Older transactions" link, if the page has one.
fn next_link(page: &Page) -> Option<String> {
    let selector = scraper::Selector::parse("a#next-page").unwrap();
    page.html().select(&selector).next().map(|a| a.value().attr("href").unwrap().to_owned())
}

/// The field messages of a refused filter form.
fn field_errors(page: &Page) -> Vec<String> {
    let selector = scraper::Selector::parse("p.field-error").unwrap();
    page.html().select(&selector).map(|p| p.text().collect::<String>().trim().to_owned()).collect()
}

/// A filtered history page that must be a 200; its row ids.
async fn listed(browser: &Browser, query: &str) -> Vec<i64> {
    let page = browser.get(&format!("/transactions?{query}")).await;
    assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.body);
    row_ids_of(&page)
}

/// A CSV export that must be a 200: its lines without the header (and without the
/// empty string after the final line break).
async fn csv_lines(browser: &Browser, query: &str) -> Vec<String> {
    let page = browser.get(&format!("/transactions.csv?{query}")).await;
    assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.body);
    assert!(page.body.ends_with("\r\n"), "every line ends with CRLF");
    let mut lines: Vec<String> = page.body.split("\r\n").map(str::to_owned).collect();
    assert_eq!(lines.pop().as_deref(), Some(""));
    assert_eq!(lines.remove(0), CSV_HEADER);
    lines
}

/// The id of a CSV line.
fn line_id(line: &str) -> i64 {
    line.split(',').next().unwrap().parse().unwrap()
}

/// The ids of CSV lines, in file order.
fn csv_ids(lines: &[String]) -> Vec<i64> {
    lines.iter().map(|line| line_id(line)).collect()
}

/// The CSV line of transaction `id`, split into its id, its created_at and the rest.
fn csv_line(lines: &[String], id: i64) -> (DateTime<FixedOffset>, String) {
    let prefix = format!("{id},");
    let line = lines.iter().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no line for {id}"));
    let mut parts = line.splitn(3, ',');
    parts.next();
    let created_at = parts.next().unwrap();
    assert!(created_at.ends_with("+02:00"), "created_at in South African time: {created_at}");
    (DateTime::parse_from_rfc3339(created_at).unwrap(), parts.next().unwrap().to_owned())
}

#[actix_web::test]
async fn staff_and_admins_see_every_organisations_transactions() {
    let app = spawn_app().await;
    let ubuntu = org_id(&app, UBUNTU).await;
    let karoo = org_id(&app, KAROO).await;
    let u = credit_directly(&app, ubuntu, dec!(1200.00), "EFT UBUNTU-1").await;
    let k = credit_directly(&app, karoo, dec!(300.00), "EFT KAROO-1").await;
    let every = all_ids(&app).await;
    assert_eq!(every.len(), 5);
    for email in [STAFF, ADMIN] {
        let browser = app.signed_in(email).await;
        let page = browser.get("/transactions").await;
        assert_eq!(page.status, StatusCode::OK, "{email}");
        assert_eq!(row_ids_of(&page), every, "{email}: every organisation's rows, newest first");
        assert_eq!(
            row_cells(&page, k)[1..],
            ["Karoo Solar Installations", "credit", "EFT KAROO-1", "EFT received", "R 300.00", "R 300.00"]
        );
        assert_eq!(row_cells(&page, u)[1], "Ubuntu Freight Services");
        let debit = ids_where_kind(&app, "debit").await[0];
        assert_eq!(
            row_cells(&page, debit)[1..],
            [
                "Acme Logistics",
                "debit",
                "Q-2026-000006",
                "Quote accepted: WMS application and database servers",
                "-R 8 618.51",
                "R 66 381.49"
            ]
        );
        assert!(page.body.contains(&format!(r#"href="/admin/organisations/{ubuntu}""#)));
        assert!(next_link(&page).is_none(), "five rows fit on one page");
        assert!(page.nav().contains(&"Transactions".to_owned()));
    }
}

#[actix_web::test]
async fn customers_are_refused_the_history_and_its_export() {
    let app = spawn_app().await;
    for email in [CUSTOMER, "bongani@ubuntu-freight.demo.test"] {
        let browser = app.signed_in(email).await;
        for path in ["/transactions", "/transactions.csv", "/transactions?org=1", "/transactions.csv?kind=credit"] {
            let page = browser.get(path).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{email} {path}");
            assert!(!page.body.contains("EFT ACME"), "{email} {path}: no rows leak");
            assert!(!page.body.contains(CSV_HEADER));
        }
        assert!(!browser.get("/").await.nav().contains(&"Transactions".to_owned()));
    }
}

#[actix_web::test]
async fn the_organisation_filter_shows_one_organisations_rows() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let ubuntu = org_id(&app, UBUNTU).await;
    credit_directly(&app, ubuntu, dec!(100.00), "EFT UBUNTU-1").await;
    credit_directly(&app, ubuntu, dec!(200.00), "EFT UBUNTU-2").await;
    let staff = app.signed_in(STAFF).await;

    let page = staff.get(&format!("/transactions?org={ubuntu}")).await;
    assert_eq!(row_ids_of(&page), ids_where_org(&app, ubuntu).await);
    assert_eq!(row_ids_of(&page).len(), 2);
    assert_eq!(input_value(&page, "org"), "Ubuntu Freight Services", "the field shows the name");
    assert!(page.body.contains(&format!(r#"href="/transactions.csv?org={ubuntu}&"#)), "the CSV link keeps the filter");
    assert_eq!(listed(&staff, &format!("org={acme}")).await, ids_where_org(&app, acme).await);
    assert_eq!(listed(&staff, &format!("org={}", org_id(&app, KAROO).await)).await, Vec::<i64>::new());
    let unknown = staff.get("/transactions?org=999999").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.body.contains(r#"id="org-error">No organisation matches “999999”."#), "{}", unknown.body);
    assert!(unknown.body.contains("No transactions match."));
}

#[actix_web::test]
async fn the_kind_filter_shows_one_kind() {
    let app = spawn_app().await;
    credit_directly(&app, org_id(&app, UBUNTU).await, dec!(100.00), "EFT UBUNTU-1").await;
    let staff = app.signed_in(STAFF).await;
    let debits = listed(&staff, "kind=debit").await;
    assert_eq!(debits, ids_where_kind(&app, "debit").await);
    assert_eq!(debits.len(), 1);
    let credits = listed(&staff, "kind=credit").await;
    assert_eq!(credits, ids_where_kind(&app, "credit").await);
    assert_eq!(credits.len(), 3);
    for kind in ["refund", "adjustment"] {
        let page = staff.get(&format!("/transactions?kind={kind}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(row_ids_of(&page).is_empty(), "{kind}");
        assert!(page.body.contains("No transactions match."));
        assert!(page.body.contains(&format!(r#"<option value="{kind}" selected>"#)));
    }
    // Filters combine.
    let acme = org_id(&app, ACME).await;
    assert_eq!(listed(&staff, &format!("org={acme}&kind=credit")).await.len(), 2);
}

#[actix_web::test]
async fn the_text_filter_matches_reference_or_description_ignoring_case() {
    let app = spawn_app().await;
    let ubuntu = org_id(&app, UBUNTU).await;
    let special = credit_directly(&app, ubuntu, dec!(100.00), "EFT Ubu-Special 42").await;
    let percent = credit_directly(&app, ubuntu, dec!(100.00), "Discount 100% paid").await;
    let staff = app.signed_in(STAFF).await;
    let seed_first = id_with_reference(&app, "EFT ACME-2026-10").await;
    let seed_second = id_with_reference(&app, "EFT ACME-2026-11").await;
    let debit = ids_where_kind(&app, "debit").await[0];

    assert_eq!(listed(&staff, "q=ubu-special").await, [special], "case-insensitive, in the reference");
    assert_eq!(listed(&staff, "q=UBU-SPECIAL").await, [special]);
    assert_eq!(listed(&staff, "q=acme-2026-1").await, [seed_second, seed_first], "a substring");
    assert_eq!(listed(&staff, "q=wms%20APPLICATION").await, [debit], "in the description");
    assert_eq!(listed(&staff, "q=%20q-2026-000006%20").await, [debit], "trimmed");
    let received = listed(&staff, "q=eft+received").await;
    assert_eq!(received, ids_where_kind(&app, "credit").await, "every credit's description");
    // LIKE wildcards are plain characters.
    assert_eq!(listed(&staff, "q=%25").await, [percent]);
    assert_eq!(listed(&staff, "q=_").await, Vec::<i64>::new());
    assert_eq!(listed(&staff, "q=nothing-like-this").await, Vec::<i64>::new());
    let page = staff.get("/transactions?q=Ubu-Special").await;
    assert!(page.body.contains(r#"value="Ubu-Special""#), "the search is kept in its box");
    assert_eq!(listed(&staff, &format!("org={ubuntu}&q=eft")).await, [percent, special], "filters combine");
}

#[actix_web::test]
async fn the_date_filters_take_south_african_days_inclusively() {
    let app = spawn_app().await;
    let ubuntu = org_id(&app, UBUNTU).await;
    let new = credit_directly(&app, ubuntu, dec!(100.00), "EFT TODAY").await;
    let rows = all_rows(&app).await;
    let today = sa_date(rows[0].1);
    let day = |days: u64| (today - Days::new(days)).to_string();
    let tomorrow = (today + Days::new(1)).to_string();
    let today = today.to_string();
    let seeded: Vec<i64> = rows.iter().map(|(id, _)| *id).filter(|id| *id != new).collect();
    let debit = ids_where_kind(&app, "debit").await[0];
    let staff = app.signed_in(STAFF).await;

    assert_eq!(listed(&staff, &format!("from={today}")).await, [new], "the seeded rows are days old");
    assert_eq!(listed(&staff, &format!("from={today}&to={today}")).await, [new], "one day, both ends inclusive");
    assert_eq!(listed(&staff, &format!("to={today}")).await, all_ids(&app).await);
    assert_eq!(listed(&staff, &format!("to={}", day(1))).await, seeded, "up to yesterday: the seeded rows only");
    assert_eq!(listed(&staff, &format!("from={}&to={today}", day(10))).await, [new, debit], "the debit is 9 days old");
    assert_eq!(listed(&staff, &format!("from={tomorrow}")).await, Vec::<i64>::new());
    // Whatever the time of day: each range lists exactly the rows whose South African date is in it.
    for (from, to) in [(day(12), day(12)), (day(40), day(9)), (day(41), day(39)), (day(13), day(1))] {
        let (a, b): (NaiveDate, NaiveDate) = (from.parse().unwrap(), to.parse().unwrap());
        let expected: Vec<i64> =
            rows.iter().filter(|(_, at)| (a..=b).contains(&sa_date(*at))).map(|(id, _)| *id).collect();
        assert_eq!(listed(&staff, &format!("from={from}&to={to}")).await, expected, "{from}..{to}");
    }
    let page = staff.get(&format!("/transactions?from={today}&to={today}")).await;
    assert!(page.body.contains(&format!(r#"name="from" type="date" value="{today}""#)), "the dates are kept");
}

#[actix_web::test]
async fn a_day_is_midnight_to_midnight_in_south_african_time() {
    let app = spawn_app().await;
    let ubuntu = org_id(&app, UBUNTU).await;
    // 2026-01-15 23:59:59 SAST is still the 15th there (21:59:59 UTC); 22:00 UTC is the 16th.
    let late =
        credit_at(&app, ubuntu, dec!(10.00), "LATE", sast().with_ymd_and_hms(2026, 1, 15, 23, 59, 59).unwrap().into())
            .await;
    let midnight =
        credit_at(&app, ubuntu, dec!(20.00), "MIDNIGHT", sast().with_ymd_and_hms(2026, 1, 16, 0, 0, 0).unwrap().into())
            .await;
    let early =
        credit_at(&app, ubuntu, dec!(30.00), "EARLY", Utc.with_ymd_and_hms(2026, 1, 15, 0, 30, 0).unwrap()).await;
    let staff = app.signed_in(STAFF).await;
    let org = format!("org={ubuntu}");
    assert_eq!(listed(&staff, &format!("{org}&from=2026-01-15&to=2026-01-15")).await, [early, late]);
    assert_eq!(listed(&staff, &format!("{org}&from=2026-01-16&to=2026-01-16")).await, [midnight]);
    assert_eq!(listed(&staff, &format!("{org}&to=2026-01-15")).await, [early, late]);
    assert_eq!(listed(&staff, &format!("{org}&from=2026-01-16")).await, [midnight]);
    assert_eq!(listed(&staff, &format!("{org}&from=2026-01-14&to=2026-01-14")).await, Vec::<i64>::new());
    let page = staff.get(&format!("/transactions?{org}")).await;
    assert_eq!(row_cells(&page, late)[0], "2026-01-15 23:59", "shown in South African time");
    assert_eq!(row_cells(&page, midnight)[0], "2026-01-16 00:00");
    let lines = csv_lines(&staff, &format!("{org}&from=2026-01-16")).await;
    assert_eq!(csv_ids(&lines), [midnight]);
    assert_eq!(csv_line(&lines, midnight).0.to_rfc3339(), "2026-01-16T00:00:00+02:00");
}

/// Follows the "Older transactions" links from `first` to the end; every page's ids.
async fn walk(browser: &Browser, first: &str) -> Vec<Vec<i64>> {
    let mut pages = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(path) = next {
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        pages.push(row_ids_of(&page));
        next = next_link(&page);
        assert!(pages.len() <= 10, "the links end");
    }
    pages
}

#[actix_web::test]
async fn keyset_paging_shows_every_row_exactly_once() {
    let app = spawn_app().await;
    let ubuntu = org_id(&app, UBUNTU).await;
    for n in 1..=101 {
        credit_directly(&app, ubuntu, dec!(1.00), &format!("EFT PAGE-{n:03}")).await;
    }
    let staff = app.signed_in(STAFF).await;

    let expected = ids_where_org(&app, ubuntu).await;
    assert_eq!(expected.len(), 101);
    let pages = walk(&staff, &format!("/transactions?org={ubuntu}")).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 1]);
    assert_eq!(pages.concat(), expected, "each row once, newest first across pages");

    let everything = all_ids(&app).await;
    let pages = walk(&staff, "/transactions").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 4]);
    let seen = pages.concat();
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len(), "no row twice");
    assert_eq!(seen, everything);

    // The links keep the filters, and a row recorded mid-walk does not shift the pages.
    let first = staff.get(&format!("/transactions?org={ubuntu}&q=page")).await;
    let link = next_link(&first).unwrap();
    assert!(link.starts_with(&format!("/transactions?org={ubuntu}&kind=&from=&to=&q=page&sort=&after=")), "{link}");
    credit_directly(&app, ubuntu, dec!(1.00), "EFT PAGE-LATE").await;
    let mut rest = walk(&staff, &link).await.concat();
    let mut walked = row_ids_of(&first);
    walked.append(&mut rest);
    assert_eq!(walked, expected);
}

#[actix_web::test]
async fn bad_filters_are_refused_with_messages() {
    let app = spawn_app().await;
    let staff = app.signed_in(STAFF).await;
    let long = "q".repeat(200);
    let cases = [
        ("kind=theft".to_owned(), "Choose credit, debit, refund or adjustment."),
        ("from=yesterday".to_owned(), "Use a date like 2026-11-24."),
        ("to=24/11/2026".to_owned(), "Use a date like 2026-11-24."),
        ("from=2026-02-30".to_owned(), "Use a date like 2026-11-24."),
        ("from=2026-11-30&to=2026-11-01".to_owned(), "The end date is before the start date."),
        ("org=abc".to_owned(), "No organisation matches “abc”. Check the spelling, or type less of it."),
        (format!("q={long}"), "Search for at most 100 characters."),
    ];
    for (query, message) in &cases {
        let page = staff.get(&format!("/transactions?{query}")).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(field_errors(&page), [*message], "{query}");
        assert!(row_ids_of(&page).is_empty(), "{query}: no rows under refused filters");
        let csv = staff.get(&format!("/transactions.csv?{query}")).await;
        assert_eq!(csv.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(!csv.body.contains(CSV_HEADER));
    }
    let page = staff.get("/transactions?from=yesterday&kind=theft&org=abc").await;
    assert_eq!(field_errors(&page).len(), 3, "every bad field gets its message");
    assert!(page.body.contains(r#"value="yesterday""#), "the typed value is kept");
    assert!(page.body.contains(r#"aria-invalid="true""#));
    let page = staff.get("/transactions?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("<script>alert(1)</script>"), "the search is escaped");
    // At the limit is fine.
    assert_eq!(staff.get(&format!("/transactions?q={}", "q".repeat(100))).await.status, StatusCode::OK);
}

async fn credit_through_the_form(app: &TestApp, browser: &Browser, org: i64, amount: &str, reference: &str) -> i64 {
    let form = browser.get(&format!("/admin/organisations/{org}")).await;
    let selector = scraper::Selector::parse(r#"input[name="idempotency_key"]"#).unwrap();
    let key = form.html().select(&selector).next().unwrap().value().attr("value").unwrap().to_owned();
    let token = form.csrf_token().unwrap();
    let fields = [("amount", amount), ("reference", reference), ("idempotency_key", &key), ("csrf_token", &token)];
    let response = browser.post_raw(&format!("/admin/organisations/{org}/credit"), &fields).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    id_with_reference(app, reference).await
}

#[actix_web::test]
async fn the_csv_export_has_a_header_a_line_per_row_and_defused_cells() {
    let app = spawn_app().await;
    let ubuntu = org_id(&app, UBUNTU).await;
    let staff = app.signed_in(STAFF).await;
    let formula = credit_through_the_form(&app, &staff, ubuntu, "1500.50", r#"=HYPERLINK("x")"#).await;
    let plus = credit_directly(&app, ubuntu, dec!(0.10), "+27 11 555 0000").await;
    let at = credit_directly(&app, ubuntu, dec!(7), "@SUM(A1)").await;
    let minus = credit_directly(&app, ubuntu, dec!(1000000), "-1, or so").await;

    let response = staff.get("/transactions.csv").await;
    assert_eq!(response.status, StatusCode::OK);
    let header = |name: &str| response.headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert!(header("content-type").starts_with("text/csv"), "{}", header("content-type"));
    let disposition = header("content-disposition");
    assert!(disposition.starts_with("attachment; filename=\"transactions-") && disposition.ends_with(".csv\""));

    let lines = csv_lines(&staff, "").await;
    let rows = all_rows(&app).await;
    assert_eq!(csv_ids(&lines), rows.iter().map(|(id, _)| *id).collect::<Vec<_>>(), "one line per row, newest first");
    for (id, created_at) in &rows {
        assert_eq!(csv_line(&lines, *id).0, *created_at, "created_at is the row's instant");
    }
    let rest = |id: i64| csv_line(&lines, id).1;
    assert_eq!(
        rest(formula),
        r#"Ubuntu Freight Services,credit,1500.50,in,1500.50,,"'=HYPERLINK(""x"")",EFT received,staff@demo.test"#
    );
    assert_eq!(rest(plus), "Ubuntu Freight Services,credit,0.10,in,1500.60,,'+27 11 555 0000,EFT received,");
    assert_eq!(rest(at), "Ubuntu Freight Services,credit,7.00,in,1507.60,,'@SUM(A1),EFT received,");
    assert_eq!(rest(minus), r#"Ubuntu Freight Services,credit,1000000.00,in,1001507.60,,"'-1, or so",EFT received,"#);
    let debit = ids_where_kind(&app, "debit").await[0];
    assert_eq!(
        rest(debit),
        "Acme Logistics,debit,8618.51,out,66381.49,Q-2026-000006,Q-2026-000006,\
         Quote accepted: WMS application and database servers,customer@demo.test"
    );
    let seed = id_with_reference(&app, "EFT ACME-2026-10").await;
    assert_eq!(rest(seed), "Acme Logistics,credit,50000.00,in,50000.00,,EFT ACME-2026-10,EFT received,staff@demo.test");

    assert_eq!(csv_lines(&app.signed_in(ADMIN).await, "").await, lines, "admins get the same export");
}

#[actix_web::test]
async fn the_csv_export_applies_the_filters() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let ubuntu = org_id(&app, UBUNTU).await;
    let one = credit_directly(&app, ubuntu, dec!(100.00), "EFT UBUNTU-1").await;
    let two = credit_directly(&app, ubuntu, dec!(200.00), r#"=HYPERLINK("x")"#).await;
    let today = sa_date(all_rows(&app).await[0].1);
    let staff = app.signed_in(STAFF).await;

    assert_eq!(csv_ids(&csv_lines(&staff, &format!("org={ubuntu}")).await), [two, one]);
    assert_eq!(csv_ids(&csv_lines(&staff, &format!("org={acme}")).await), ids_where_org(&app, acme).await);
    assert_eq!(csv_ids(&csv_lines(&staff, "kind=debit").await), ids_where_kind(&app, "debit").await);
    assert_eq!(csv_ids(&csv_lines(&staff, "q=hyperlink").await), [two]);
    assert_eq!(csv_ids(&csv_lines(&staff, &format!("from={today}&to={today}")).await), [two, one]);
    assert_eq!(csv_ids(&csv_lines(&staff, &format!("org={acme}&from={today}")).await), Vec::<i64>::new());
    // The page's CSV link carries its filters.
    let page = staff.get(&format!("/transactions?org={ubuntu}&q=ubuntu")).await;
    let selector = scraper::Selector::parse("a#csv-link").unwrap();
    let link = page.html().select(&selector).next().unwrap().value().attr("href").unwrap().to_owned();
    let query = link.strip_prefix("/transactions.csv?").unwrap();
    assert_eq!(csv_ids(&csv_lines(&staff, query).await), [one]);
}

#[actix_web::test]
async fn the_csv_export_streams_more_rows_than_one_batch() {
    let app = spawn_app().await;
    let ubuntu = org_id(&app, UBUNTU).await;
    // 1 998 rows in all: past the export's batch of 1 000, and not a multiple of it. Written
    // in one statement (the credit function would take seconds); the schema's triggers
    // still check every row's chain and the balance at commit.
    let mut conn = app.main_conn().await;
    conn.batch_execute(&format!(
        "DO $$
         DECLARE w organisation_wallets%ROWTYPE;
         BEGIN
             SELECT * INTO w FROM organisation_wallets WHERE organisation_id = {ubuntu} FOR UPDATE;
             FOR n IN 1..1995 LOOP
                 INSERT INTO wallet_transactions
                     (wallet_id, organisation_id, kind, direction, amount, balance_after, reference, description)
                 VALUES (w.id, w.organisation_id, 'credit', 1, 1.00, w.balance + n, 'BULK-' || n, 'EFT received');
                 UPDATE organisation_wallets SET balance = w.balance + n WHERE id = w.id;
             END LOOP;
         END $$"
    ))
    .await
    .unwrap();
    drop(conn);
    let staff = app.signed_in(STAFF).await;
    let lines = csv_lines(&staff, "").await;
    assert_eq!(csv_ids(&lines), all_ids(&app).await);
    assert_eq!(lines.len(), 1998);
    assert_eq!(
        csv_line(&lines, line_id(&lines[0])).1,
        "Ubuntu Freight Services,credit,1.00,in,1995.00,,BULK-1995,EFT received,"
    );
    assert_eq!(
        csv_line(&lines, line_id(&lines[1000])).1,
        "Ubuntu Freight Services,credit,1.00,in,995.00,,BULK-995,EFT received,"
    );
    assert_eq!(csv_ids(&csv_lines(&staff, &format!("org={ubuntu}")).await).len(), 1995);
}

fn text(page: &Page, id: &str) -> String {
    let selector = scraper::Selector::parse(&format!("#{id}")).unwrap();
    page.html().select(&selector).next().map(|e| e.text().collect::<String>().trim().to_owned()).unwrap_or_default()
}

#[actix_web::test]
async fn the_totals_sum_everything_the_filters_match() {
    let app = spawn_app().await;
    let ubuntu = org_id(&app, UBUNTU).await;
    let acme = org_id(&app, ACME).await;
    for n in 1..=60 {
        credit_directly(&app, ubuntu, dec!(10.50), &format!("EFT SUM-{n:02}")).await;
    }
    let staff = app.signed_in(STAFF).await;
    let page = staff.get("/transactions/totals").await;
    assert_eq!(
        ["total-rows", "total-in", "total-out", "total-net"].map(|id| text(&page, id)),
        ["63", "R 75 630.00", "-R 8 618.51", "R 67 011.49"],
        "every page shows the totals of all 63 rows, not of the 50 shown"
    );
    let list = staff.get("/transactions").await;
    assert!(
        list.body.contains(r#"data-hx-get="/transactions/totals?org=&amp;kind=&amp;from=&amp;to=&amp;q=&amp;sort=""#)
            || list.body.contains("/transactions/totals?"),
        "the page fetches its totals"
    );
    assert_eq!(text(&list, "balance-column"), "Balance after");

    let page = staff.get(&format!("/transactions/totals?org={acme}")).await;
    assert_eq!(
        ["total-rows", "total-in", "total-out", "total-net"].map(|id| text(&page, id)),
        ["3", "R 75 000.00", "-R 8 618.51", "R 66 381.49"]
    );
    let list = staff.get(&format!("/transactions?org={acme}")).await;
    assert_eq!(text(&list, "balance-column"), "Running balance", "one organisation: its running balance");
    let page = staff.get("/transactions/totals?kind=debit").await;
    assert_eq!(text(&page, "total-net"), "-R 8 618.51");
    let page = staff.get(&format!("/transactions/totals?org={ubuntu}&q=sum-0")).await;
    assert_eq!([text(&page, "total-rows"), text(&page, "total-in")], ["9", "R 94.50"]);
    // The next page asks for the same totals (the cursor is not part of them).
    let second = staff.get(&next_link(&staff.get("/transactions").await).unwrap()).await;
    let link = second.body.split(r#"data-hx-get=""#).find(|s| s.starts_with("/transactions/totals")).unwrap();
    let link = link.split('"').next().unwrap().replace("&amp;", "&");
    assert!(!link.contains("after="), "{link}");
    assert_eq!(text(&staff.get(&link).await, "total-rows"), "63");
    // htmx gets the fragment alone; a customer gets nothing.
    let fragment = staff
        .client
        .get(format!("{}/transactions/totals", app.address))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(fragment.contains(r#"id="total-rows">63"#) && !fragment.contains("<html"));
    assert_eq!(app.signed_in(CUSTOMER).await.get("/transactions/totals").await.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn oldest_first_pages_forward_through_every_row_once() {
    let app = spawn_app().await;
    let ubuntu = org_id(&app, UBUNTU).await;
    for n in 1..=101 {
        credit_directly(&app, ubuntu, dec!(1.00), &format!("EFT OLD-{n:03}")).await;
    }
    let staff = app.signed_in(STAFF).await;
    let mut expected = ids_where_org(&app, ubuntu).await;
    expected.reverse();
    let first = staff.get(&format!("/transactions?org={ubuntu}&sort=oldest")).await;
    assert!(first.body.contains(r#"<option value="oldest" selected>"#));
    assert_eq!(text(&first, "next-page"), "Newer transactions");
    let pages = walk(&staff, &format!("/transactions?org={ubuntu}&sort=oldest")).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 1]);
    assert_eq!(pages.concat(), expected, "oldest first, each row once");
    // The running balance climbs by one rand per row, in page order.
    let page = staff.get(&format!("/transactions?org={ubuntu}&sort=oldest")).await;
    assert_eq!(row_cells(&page, expected[0])[6], "R 1.00");
    assert_eq!(row_cells(&page, expected[49])[6], "R 50.00");

    let mut everything = all_ids(&app).await;
    everything.reverse();
    assert_eq!(walk(&staff, "/transactions?sort=oldest").await.concat(), everything);
    assert_eq!(csv_ids(&csv_lines(&staff, "sort=oldest").await), everything, "the export follows the order");

    let bad = staff.get("/transactions?sort=sideways").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_errors(&bad), ["Choose newest or oldest first."]);
    assert_eq!(staff.get("/transactions.csv?sort=sideways").await.status, StatusCode::UNPROCESSABLE_ENTITY);
}
