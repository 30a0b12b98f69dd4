//! The wallet page's figures (chart, committed monthly spend, runway) for known
//! ledgers, and the organisation's own low-balance threshold form.

use chrono::Duration;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::main::schema::{in_app_alerts, organisation_wallets};
use portal::domain::time::today_sast;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::helpers::{CUSTOMER, Page, STAFF, TestApp, spawn_app};
use crate::support::{ACME, BONGANI, UBUNTU, accept, insert_quote, org_id, text_of};

fn attrs(page: &Page, css: &str, attr: &str) -> Vec<String> {
    let selector = scraper::Selector::parse(css).unwrap();
    page.html().select(&selector).map(|e| e.value().attr(attr).unwrap_or("").to_owned()).collect()
}

fn cells(page: &Page, css: &str) -> Vec<String> {
    let selector = scraper::Selector::parse(css).unwrap();
    page.html().select(&selector).map(|e| e.text().collect::<String>().trim().to_owned()).collect()
}

async fn wallet_state(app: &TestApp, org: i64) -> (Decimal, bool) {
    let mut conn = app.main_conn().await;
    organisation_wallets::table
        .filter(organisation_wallets::organisation_id.eq(org))
        .select((organisation_wallets::low_balance_threshold, organisation_wallets::low_balance_alerted))
        .first(&mut conn)
        .await
        .unwrap()
}

async fn low_balance_alerts(app: &TestApp, org: i64) -> i64 {
    let mut conn = app.main_conn().await;
    in_app_alerts::table
        .filter(in_app_alerts::organisation_id.eq(org))
        .filter(in_app_alerts::kind.eq("low_balance"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

#[actix_web::test]
async fn the_chart_committed_spend_and_runway_follow_the_ledger() {
    let app = spawn_app().await;
    let ubuntu = org_id(&app, UBUNTU).await;
    let bongani = app.signed_in(BONGANI).await;

    // Nothing yet: an empty chart, nothing committed, no end date.
    let page = bongani.get("/wallet").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(text_of(&page, "committed").as_deref(), Some("R 0.00"));
    assert_eq!(text_of(&page, "runway").as_deref(), Some("No end date"));
    assert_eq!(attrs(&page, "rect.bar-in", "height"), vec!["0"; 12]);

    // R 12 000 in, then a quote of R 1 000 a month accepted (debited R 1 000 now).
    let staff = app.signed_in(STAFF).await;
    let form = staff.get(&format!("/admin/organisations/{ubuntu}")).await;
    let key = crate::support::input_value(&form, "idempotency_key");
    let token = form.csrf_token().unwrap();
    let fields = [("amount", "12000"), ("reference", "EFT UB-1"), ("idempotency_key", &key), ("csrf_token", &token)];
    assert_eq!(
        staff.post_raw(&format!("/admin/organisations/{ubuntu}/credit"), &fields).await.status,
        StatusCode::SEE_OTHER
    );
    let (quote, _) = insert_quote(&app, ubuntu, Decimal::ZERO, dec!(1000.00), Duration::days(30)).await;
    accept(&bongani, quote).await;

    let page = bongani.get("/wallet").await;
    assert_eq!(text_of(&page, "balance").as_deref(), Some("R 11 000.00"));
    assert_eq!(text_of(&page, "committed").as_deref(), Some("R 1 000.00"));
    // The first month is paid; 11 000 pays the next eleven, so the twelfth month's
    // charge, a year from today, is the first it cannot pay.
    let until = portal::domain::billing::period_start(today_sast(), 12);
    let days = (until - today_sast()).num_days();
    assert_eq!(text_of(&page, "runway"), Some(until.format("%-d %B %Y").to_string()));
    assert!(text_of(&page, "runway-note").unwrap().contains(&format!("{days} more days")));

    // This month (the last of the twelve) holds both movements; the in-bar is the tallest.
    let heights_in = attrs(&page, "rect.bar-in", "height");
    let heights_out = attrs(&page, "rect.bar-out", "height");
    assert_eq!(heights_in.len(), 12);
    assert_eq!(heights_in[11], "180");
    assert_eq!(heights_out[11], "15", "1 000 / 12 000 of 180 pixels");
    assert!(heights_in[..11].iter().chain(&heights_out[..11]).all(|h| h == "0"));
    assert_eq!(attrs(&page, "rect.bar-out", "y")[11], "195");
    let data = cells(&page, "table.chart-data tbody tr:last-child td");
    assert_eq!(data[0], today_sast().format("%B %Y").to_string());
    assert_eq!(data[1..], ["R 12 000.00", "R 1 000.00"]);
    assert!(!page.body.contains("style="), "no inline style: the chart uses SVG attributes");
}

#[actix_web::test]
async fn acmes_seeded_ledger_draws_its_months() {
    let app = spawn_app().await;
    let page = app.signed_in(CUSTOMER).await.get("/wallet").await;
    // Seeded: R 50 000 in 40 days ago, R 25 000 in 12 days ago, R 8 618.51 out 9 days ago.
    let ins: Vec<i64> = attrs(&page, "rect.bar-in", "height").iter().map(|h| h.parse().unwrap()).collect();
    let outs: Vec<i64> = attrs(&page, "rect.bar-out", "height").iter().map(|h| h.parse().unwrap()).collect();
    assert!(outs.iter().any(|h| *h > 0), "the debit shows");
    assert_eq!(*ins.iter().max().unwrap(), 180, "the largest month is full height");
    let data = cells(&page, "table.chart-data tbody td");
    assert_eq!(data.len(), 36);
    let total_in: Decimal =
        data.chunks(3).map(|row| row[1].trim_start_matches("R ").replace(' ', "").parse::<Decimal>().unwrap()).sum();
    let total_out: Decimal =
        data.chunks(3).map(|row| row[2].trim_start_matches("R ").replace(' ', "").parse::<Decimal>().unwrap()).sum();
    assert_eq!((total_in, total_out), (dec!(75000.00), dec!(8618.51)));
}

#[actix_web::test]
async fn the_organisation_sets_its_own_threshold_and_crossing_it_alerts_once() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let ubuntu = org_id(&app, UBUNTU).await;
    let customer = app.signed_in(CUSTOMER).await;
    let page = customer.get("/wallet").await;
    assert_eq!(crate::support::input_value(&page, "threshold"), "5000.00");

    // Raising it above the balance (R 66 381.49) is a crossing: one alert.
    let response = customer.post("/wallet/threshold", &[("threshold", "70000")]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(response.location(), "/wallet");
    let page = customer.get("/wallet").await;
    assert!(page.body.contains("You will be alerted when the balance falls below R 70 000.00."));
    let note = crate::support::text_of(&page, "threshold-note");
    assert_eq!(note.as_deref(), Some("Below your low-balance threshold of R 70 000.00."));
    assert_eq!(wallet_state(&app, acme).await, (dec!(70000.00), true));
    assert_eq!(low_balance_alerts(&app, acme).await, 1);
    // Still below after another change: the same crossing, no second alert.
    customer.post("/wallet/threshold", &[("threshold", "80000.50")]).await;
    assert_eq!(low_balance_alerts(&app, acme).await, 1);
    // Back under the balance: re-armed.
    customer.post("/wallet/threshold", &[("threshold", "1000")]).await;
    assert_eq!(wallet_state(&app, acme).await, (dec!(1000.00), false));

    // Another organisation's member changes only their own wallet.
    let bongani = app.signed_in(BONGANI).await;
    assert_eq!(bongani.post("/wallet/threshold", &[("threshold", "250")]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(wallet_state(&app, ubuntu).await.0, dec!(250.00));
    assert_eq!(wallet_state(&app, acme).await.0, dec!(1000.00));

    // Without the CSRF token nothing changes.
    assert_eq!(customer.post_raw("/wallet/threshold", &[("threshold", "5")]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(wallet_state(&app, acme).await.0, dec!(1000.00));
}

#[actix_web::test]
async fn a_bad_threshold_comes_back_with_a_message_and_changes_nothing() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let customer = app.signed_in(CUSTOMER).await;
    for (input, message) in [
        ("", "Enter an amount."),
        ("abc", "Use digits and a decimal point or comma only, e.g. 1 500.00 or 1 500,00."),
        ("-1", "Must be zero or more (zero turns the alert off)."),
        ("1.234", "At most two decimals (cents)."),
        ("10000000.01", "At most R 10 000 000.00."),
    ] {
        let page = customer.post("/wallet/threshold", &[("threshold", input)]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{input}");
        assert_eq!(text_of(&page, "threshold-error").as_deref(), Some(message), "{input}");
        assert!(page.body.contains(&format!(r#"value="{input}""#)), "{input}: the typed value is kept");
        assert!(page.body.contains(r#"aria-invalid="true""#));
        assert_eq!(text_of(&page, "balance").as_deref(), Some("R 66 381.49"), "the page is whole");
    }
    assert_eq!(wallet_state(&app, acme).await, (dec!(5000.00), false));
    assert_eq!(low_balance_alerts(&app, acme).await, 0);
}

#[actix_web::test]
async fn staff_see_an_organisations_committed_spend_and_runway_on_its_page() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let customer_view = app.signed_in(CUSTOMER).await.get("/wallet").await;
    let staff_view = app.signed_in(STAFF).await.get(&format!("/admin/organisations/{acme}")).await;
    assert_eq!(staff_view.status, StatusCode::OK);
    for id in ["committed", "runway"] {
        let staff_figure = text_of(&staff_view, id);
        assert!(staff_figure.is_some(), "{id} on the organisation page");
        assert_eq!(staff_figure, text_of(&customer_view, id), "{id}: the same figure as the wallet page");
    }
}
