//! The security round's regression tests (issue 13): each attack that once worked,
//! replayed against the real application.

use reqwest::StatusCode;

use crate::helpers::{CUSTOMER, DEMO_PASSWORD, spawn_app, spawn_app_with};

// ------------------------------------------------------------ 1. open redirect

#[actix_web::test]
async fn sign_in_never_redirects_off_site() {
    let app = spawn_app().await;
    let form = app.browser().get("/login?next=%2F%09%2Fevil.example").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"name="next" value="""#), "the tampered next is dropped: {}", form.body);
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\\evil.example",
        "/..//evil.example",
        "/\r\nSet-Cookie: stolen=1",
        "/%0d%0aSet-Cookie:%20stolen=1\r\n",
        "https://evil.example/",
    ] {
        let browser = app.browser();
        let token = browser.get("/login").await.csrf_token().unwrap();
        let fields = [("email", CUSTOMER), ("password", DEMO_PASSWORD), ("next", next), ("csrf_token", &token)];
        let response = browser.post_raw("/login", &fields).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{next:?}: {}", response.body);
        assert_eq!(response.location(), "/", "{next:?}");
        assert!(response.headers.get("set-cookie").is_some_and(|c| !c.to_str().unwrap().contains("stolen")));
    }
    let browser = app.browser();
    let token = browser.get("/login").await.csrf_token().unwrap();
    let fields =
        [("email", CUSTOMER), ("password", DEMO_PASSWORD), ("next", "/quotes?x=1#top"), ("csrf_token", &token)];
    assert_eq!(browser.post_raw("/login", &fields).await.location(), "/quotes?x=1#top", "a path on the site is kept");
}

// ------------------------------------------------------------ 13. HSTS

#[actix_web::test]
async fn hsts_only_when_the_public_url_is_https() {
    use portal::startup::Shared;
    use rust_decimal::Decimal;
    let hsts = |page: &crate::helpers::Page| {
        page.headers.get("strict-transport-security").map(|v| v.to_str().unwrap().to_owned())
    };
    let https =
        spawn_app_with(Shared::new(Decimal::from(15)).with_public_url(Some("https://portal.example.co.za"))).await;
    let anonymous = https.browser();
    for page in [anonymous.get("/login").await, anonymous.get("/").await, anonymous.get("/healthz").await] {
        assert_eq!(hsts(&page).as_deref(), Some("max-age=31536000; includeSubDomains"));
    }
    let signed_in = https.signed_in(CUSTOMER).await;
    assert_eq!(hsts(&signed_in.get("/wallet").await).as_deref(), Some("max-age=31536000; includeSubDomains"));
    assert_eq!(hsts(&signed_in.get("/no/such/page").await).as_deref(), Some("max-age=31536000; includeSubDomains"));

    let http =
        spawn_app_with(Shared::new(Decimal::from(15)).with_public_url(Some("http://portal.example.co.za"))).await;
    assert_eq!(hsts(&http.browser().get("/login").await), None, "not over plain HTTP");
    let unset = spawn_app().await;
    assert_eq!(hsts(&unset.browser().get("/login").await), None, "not without PORTAL_PUBLIC_URL");
}

// ------------------------------------------------------------ 6. idempotency keys

/// One UUID, written five ways.
const SPELLINGS: [&str; 5] = [
    "5f0c8a3e-2b7d-4e1a-9c6f-0d8e7b6a5c41",
    "5F0C8A3E-2B7D-4E1A-9C6F-0D8E7B6A5C41",
    "{5f0c8a3e-2b7d-4e1a-9c6f-0d8e7b6a5c41}",
    "5f0c8a3e2b7d4e1a9c6f0d8e7b6a5c41",
    "urn:uuid:5f0c8a3e-2b7d-4e1a-9c6f-0d8e7b6a5c41",
];

async fn credits_with_reference(app: &crate::helpers::TestApp, reference: &str) -> Vec<Option<String>> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use portal::db::main::schema::wallet_transactions as tx;
    let mut conn = app.main_conn().await;
    tx::table.filter(tx::reference.eq(reference)).select(tx::idempotency_key).load(&mut conn).await.unwrap()
}

#[actix_web::test]
async fn one_uuid_however_written_credits_once_on_the_web() {
    let app = spawn_app().await;
    let acme = crate::support::org_id(&app, crate::support::ACME).await;
    let before = crate::support::balance(&app, acme).await;
    let staff = app.signed_in(crate::helpers::STAFF).await;
    let form = format!("/admin/organisations/{acme}");
    let action = format!("{form}/credit");
    for (i, key) in SPELLINGS.iter().enumerate() {
        let fields = [("amount", "100.00"), ("reference", "EFT KEYS"), ("idempotency_key", *key)];
        let response = crate::support::submit(&staff, &form, &action, &fields).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{key}: {}", response.body);
        let flash = crate::admin_helpers::flash_after(&staff, &response).await;
        let expected = if i == 0 { "Recorded a top-up" } else { "already recorded" };
        assert!(flash.contains(expected), "{key}: {flash}");
    }
    assert_eq!(crate::support::balance(&app, acme).await, before + rust_decimal::Decimal::from(100));
    assert_eq!(credits_with_reference(&app, "EFT KEYS").await, [Some(SPELLINGS[0].to_owned())], "stored canonical");
    let bad = [("amount", "100.00"), ("reference", "EFT KEYS"), ("idempotency_key", "k-1")];
    let refused = crate::support::submit(&staff, &form, &action, &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("This form is incomplete"), "{}", refused.body);
}

#[actix_web::test]
async fn one_uuid_however_written_credits_once_from_the_command_line() {
    use crate::cli::{run, stderr, stdout};
    let app = spawn_app().await;
    let acme = crate::support::org_id(&app, crate::support::ACME).await;
    let before = crate::support::balance(&app, acme).await;
    let args = ["wallet", "credit", "--org", "Acme Logistics", "--amount", "250", "--reference", "EFT CLI KEYS"];
    for (i, key) in SPELLINGS.iter().enumerate() {
        let output = run(&app, &[&args[..], &["--idempotency-key", key]].concat());
        assert!(output.status.success(), "{key}: {}", stderr(&output));
        let expected = if i == 0 { "Credited R 250.00" } else { "already recorded" };
        assert!(stdout(&output).contains(expected), "{key}: {}", stdout(&output));
    }
    assert_eq!(crate::support::balance(&app, acme).await, before + rust_decimal::Decimal::from(250));
    assert_eq!(credits_with_reference(&app, "EFT CLI KEYS").await, [Some(SPELLINGS[0].to_owned())]);
    let bad = run(&app, &[&args[..], &["--idempotency-key", "retry-1"]].concat());
    assert_eq!(bad.status.code(), Some(2), "refused before anything starts");
    assert!(stderr(&bad).contains("--idempotency-key"), "{}", stderr(&bad));
}

// ------------------------------------------------------------ 3. card numbers in disguise

#[actix_web::test]
async fn a_card_number_in_disguise_is_refused_in_every_card_field() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use portal::db::main::schema::customer_cards;
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let good = [
        ("brand", "Visa"),
        ("last_four", "4242"),
        ("exp_month", "12"),
        ("exp_year", "2099"),
        ("holder_name", "Thabo Mokoena"),
        ("gateway_token", "tok_live_acme_1"),
    ];
    let disguises = [
        "4242.4242.4242.4242",
        "4242/4242/4242/4242",
        "4242_4242_4242_4242",
        "4242,4242,4242,4242",
        "4242+4242+4242+4242",
        "4242\u{200b}4242\u{200b}4242\u{200b}4242",
        "\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}",
        "\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}",
        "tok_4242.4242.4242.4242",
    ];
    for number in disguises {
        for (field, _) in good {
            let fields: Vec<(&str, &str)> =
                good.iter().map(|(name, value)| (*name, if *name == field { number } else { *value })).collect();
            let page = customer.post("/cards", &fields).await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {number:?}");
            assert_eq!(
                crate::support::text_of(&page, &format!("{field}-error")).as_deref(),
                Some(portal::domain::cards::CARD_NUMBER_MESSAGE),
                "{field}: {number:?}"
            );
            assert!(!page.body.contains(number), "{field}: {number:?} is not echoed back");
        }
    }
    let mut conn = app.main_conn().await;
    let stored: i64 = customer_cards::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(stored, 0, "nothing was saved");
    // An ordinary token with digits still saves.
    let page = customer.post("/cards", &[&good[..5], &[("gateway_token", "tok_2026_11_4242")]].concat()).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

// ------------------------------------------------------------ 5. overflowing quotes

async fn product_id(app: &crate::helpers::TestApp, sku: &str) -> String {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use portal::db::aas::schema::products;
    let mut conn = app.pools.aas.get().await.unwrap();
    let id: i64 = products::table.filter(products::sku.eq(sku)).select(products::id).first(&mut conn).await.unwrap();
    id.to_string()
}

async fn quote_count(app: &crate::helpers::TestApp) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use portal::db::main::schema::quotes;
    let mut conn = app.main_conn().await;
    quotes::table.count().get_result(&mut conn).await.unwrap()
}

#[actix_web::test]
async fn a_quote_is_bounded_in_lines_and_total() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let before = quote_count(&app).await;
    let mssql = product_id(&app, "DB-MSSQL").await;
    let lines = |n: usize, quantity: &'static str| {
        let mut fields = vec![("category", "databases")];
        for _ in 0..n {
            fields.extend([("product_id", mssql.as_str()), ("quantity", quantity)]);
        }
        fields
    };
    // 9 000 lines of the most each: once a 500 (numeric field overflow).
    let page = customer.post("/quotes/service", &lines(9_000, "10000")).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", &page.body[..page.body.len().min(500)]);
    assert!(page.body.contains("A quote has at most 100 lines"), "{}", page.body);
    let page = customer.post("/quotes/service", &lines(101, "1")).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("A quote has at most 100 lines"));
    // Three lines of 10 000 managed SQL Servers: R 146 625 000.00 with VAT.
    let page = customer.post("/quotes/service", &lines(3, "10000")).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.body);
    assert!(page.body.contains("This quote would come to R 146 625 000.00"), "{}", page.body);
    assert!(page.body.contains("at most R 100 000 000.00"));
    assert!(page.body.contains(r#"value="10000""#), "the quantities are kept");
    // Quantities beyond the cap are refused per line.
    let page = customer.post("/quotes/service", &lines(1, "10001")).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("Enter a quantity from 1 to 10000."));
    assert_eq!(quote_count(&app).await, before, "no quote was made");
    // At the limits, a quote is made.
    let page = customer.post("/quotes/service", &lines(100, "1")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(quote_count(&app).await, before + 1);
}
