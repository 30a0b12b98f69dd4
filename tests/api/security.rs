//! The security round's regression tests (issue 13): each attack that once worked,
//! replayed against the real application.

use reqwest::StatusCode;

use crate::helpers::{CUSTOMER, DEMO_PASSWORD, Page, spawn_app, spawn_app_with};

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
    use portal::state::Shared;
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

// ------------------------------------------------------------ 4. control characters

/// A form to post, with valid values, and the text fields to poison one at a time
/// (field, the id of its message).
struct TextForm {
    who: Option<&'static str>,
    page: String,
    action: String,
    fields: Vec<(&'static str, String)>,
    text_fields: Vec<(&'static str, String)>,
}

async fn role_id(app: &crate::helpers::TestApp, name: &str) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use portal::db::main::schema::roles;
    let mut conn = app.main_conn().await;
    roles::table.filter(roles::name.eq(name)).select(roles::id).first(&mut conn).await.unwrap()
}

async fn text_forms(app: &crate::helpers::TestApp) -> Vec<TextForm> {
    use crate::helpers::{ADMIN, STAFF};
    use crate::support::{ACCEPTED, ACME, UBUNTU, org_id, quote_id, user_id};
    let acme = org_id(app, ACME).await;
    let ubuntu = org_id(app, UBUNTU).await;
    let customer = user_id(app, CUSTOMER).await;
    let customer_role = role_id(app, "customer").await;
    let accepted = quote_id(app, ACCEPTED).await;
    let s = |v: &str| v.to_owned();
    let org_fields = |name: &str| {
        vec![
            ("name", s(name)),
            ("registration_number", s("2020/123456/07")),
            ("vat_number", s("4123456789")),
            ("billing_email", s("billing@nul.test")),
            ("low_balance_threshold", s("100")),
        ]
    };
    let org_text = vec![("name", s("name-error")), ("registration_number", s("registration_number-error"))];
    let user_fields = |name: &str, email: &str| {
        vec![
            ("name", s(name)),
            ("email", s(email)),
            ("organisation_id", acme.to_string()),
            ("role_id", customer_role.to_string()),
        ]
    };
    let one = |field: &'static str| vec![(field, format!("{field}-error"))];
    vec![
        TextForm {
            who: None,
            page: s("/login"),
            action: s("/login"),
            fields: vec![("email", s(CUSTOMER)), ("password", s(DEMO_PASSWORD))],
            text_fields: one("email"),
        },
        TextForm {
            who: Some(CUSTOMER),
            page: s("/account/password"),
            action: s("/account/password"),
            fields: vec![
                ("current_password", s(DEMO_PASSWORD)),
                ("new_password", s("a long and unusual passphrase")),
                ("confirm_password", s("a long and unusual passphrase")),
            ],
            text_fields: one("new_password"),
        },
        TextForm {
            who: Some(ADMIN),
            page: s("/admin/organisations"),
            action: s("/admin/organisations"),
            fields: org_fields("Nul Testing (Pty) Ltd"),
            text_fields: org_text.clone(),
        },
        TextForm {
            who: Some(ADMIN),
            page: format!("/admin/organisations/{acme}"),
            action: format!("/admin/organisations/{acme}"),
            fields: org_fields(ACME),
            text_fields: org_text,
        },
        TextForm {
            who: Some(ADMIN),
            page: format!("/admin/organisations/{ubuntu}"),
            action: format!("/admin/organisations/{ubuntu}/suspend"),
            fields: vec![("reason", s("Unpaid invoices"))],
            text_fields: one("reason"),
        },
        TextForm {
            who: Some(STAFF),
            page: format!("/admin/organisations/{acme}"),
            action: format!("/admin/organisations/{acme}/credit"),
            fields: vec![("amount", s("10.00")), ("reference", s("EFT NUL"))],
            text_fields: one("reference"),
        },
        TextForm {
            who: Some(STAFF),
            page: format!("/quotes/{accepted}/refund"),
            action: format!("/quotes/{accepted}/refund"),
            fields: vec![("amount", s("1.00")), ("reason", s("Goodwill"))],
            text_fields: one("reason"),
        },
        TextForm {
            who: Some(STAFF),
            page: format!("/admin/organisations/{acme}/adjust"),
            action: format!("/admin/organisations/{acme}/adjust"),
            fields: vec![("direction", s("in")), ("amount", s("1.00")), ("reason", s("Correction"))],
            text_fields: one("reason"),
        },
        TextForm {
            who: Some(ADMIN),
            page: s("/admin/users"),
            action: s("/admin/users"),
            fields: [user_fields("Nul User", "nul.user@acme.test"), vec![("password", s(""))]].concat(),
            text_fields: vec![
                ("name", s("name-error")),
                ("email", s("email-error")),
                ("password", s("password-error")),
            ],
        },
        TextForm {
            who: Some(ADMIN),
            page: format!("/admin/users/{customer}"),
            action: format!("/admin/users/{customer}"),
            fields: user_fields("Sipho Ndlovu", CUSTOMER),
            text_fields: vec![("name", s("name-error")), ("email", s("email-error"))],
        },
        TextForm {
            who: Some(ADMIN),
            page: s("/admin/roles"),
            action: s("/admin/roles/new"),
            fields: vec![("name", s("Auditor")), ("description", s("Reads everything"))],
            text_fields: vec![("name", s("name-error")), ("description", s("description-error"))],
        },
        TextForm {
            who: Some(ADMIN),
            page: s("/admin/roles"),
            action: format!("/admin/roles/{customer_role}/rename"),
            fields: vec![("name", s("customer")), ("description", s("Customers"))],
            text_fields: vec![
                ("name", format!("name-{customer_role}-error")),
                ("description", format!("description-{customer_role}-error")),
            ],
        },
        TextForm {
            who: Some(CUSTOMER),
            page: s("/cards"),
            action: s("/cards"),
            fields: vec![
                ("brand", s("Visa")),
                ("last_four", s("4242")),
                ("exp_month", s("12")),
                ("exp_year", s("2099")),
                ("holder_name", s("Thabo Mokoena")),
                ("gateway_token", s("tok_live_acme_1")),
            ],
            text_fields: vec![("holder_name", s("holder_name-error")), ("gateway_token", s("gateway_token-error"))],
        },
        TextForm {
            who: Some(CUSTOMER),
            page: s("/quotes/new/network"),
            action: s("/quotes/network"),
            fields: vec![
                ("site_address", s("12 Rivonia Road")),
                ("site_suburb", s("Sandton")),
                ("speed_mbps", s("100")),
                ("term_months", s("36")),
                ("with_bandwidth", s("on")),
                ("cpe_id", s("")),
                ("cpe_billing", s("monthly")),
                ("provider", s("liquid")),
            ],
            text_fields: vec![("site_address", s("site_address-error")), ("site_suburb", s("site_suburb-error"))],
        },
    ]
}

/// Opens `page`, then posts `fields` to `action` with its CSRF token and, when the page
/// has one, its idempotency key.
async fn submit(browser: &crate::helpers::Browser, page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
    let form = browser.get(page).await;
    assert_eq!(form.status, StatusCode::OK, "{page}: {}", form.body);
    let token = form.csrf_token().unwrap();
    let key = form.body.split(r#"name="idempotency_key" value=""#).nth(1).and_then(|rest| rest.split('"').next());
    let mut all = fields.to_vec();
    all.push(("csrf_token", &token));
    if let Some(key) = key {
        all.push(("idempotency_key", key));
    }
    browser.post_raw(action, &all).await
}

#[actix_web::test]
async fn control_characters_in_a_form_field_get_a_message_next_to_it() {
    let app = spawn_app().await;
    let mut browsers = std::collections::HashMap::new();
    for who in [crate::helpers::ADMIN, crate::helpers::STAFF, CUSTOMER] {
        browsers.insert(who, app.signed_in(who).await);
    }
    let anonymous = app.browser();
    for form in text_forms(&app).await {
        let browser = form.who.map_or(&anonymous, |who| &browsers[who]);
        for (field, error_id) in &form.text_fields {
            for poison in ["ab\0cd", "ab\u{1b}[2Jcd", "ab\u{9b}cd"] {
                let fields: Vec<(&str, &str)> = form
                    .fields
                    .iter()
                    .map(|(name, value)| (*name, if name == field { poison } else { value.as_str() }))
                    .collect();
                let page = submit(browser, &form.page, &form.action, &fields).await;
                let what = format!("{} {field}={poison:?}", form.action);
                assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {}", page.body);
                let message = crate::support::text_of(&page, error_id).unwrap_or_default();
                assert!(message.contains("control character"), "{what}: #{error_id} says {message:?}");
                let kept = form
                    .fields
                    .iter()
                    .find(|(name, value)| name != field && value.len() > 3 && !name.contains("password"));
                if let Some((name, value)) = kept {
                    assert!(page.body.contains(&format!(r#"value="{value}""#)), "{what}: {name} is kept");
                }
            }
        }
    }
    let still = browsers[CUSTOMER].get("/").await;
    assert_eq!(still.status, StatusCode::OK, "the customer's password did not change");
}

#[actix_web::test]
async fn a_multi_line_field_keeps_its_line_breaks_and_a_one_line_field_refuses_them() {
    use crate::support::{UBUNTU, org_id};
    let app = spawn_app().await;
    let ubuntu = org_id(&app, UBUNTU).await;
    let admin = app.signed_in(crate::helpers::ADMIN).await;
    let page = format!("/admin/organisations/{ubuntu}");
    let reason = "Unpaid invoices:\r\n\tMarch and April";
    let response = submit(&admin, &page, &format!("{page}/suspend"), &[("reason", reason)]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let fields = [("name", "Two\nLines Ltd"), ("low_balance_threshold", "0")];
    let response = submit(&admin, "/admin/organisations", "/admin/organisations", &fields).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        crate::support::text_of(&response, "name-error").as_deref(),
        Some("Keep this to one line, without tabs or line breaks.")
    );
}

#[actix_web::test]
async fn control_characters_in_any_query_get_a_422_page_and_never_reach_a_search() {
    let app = spawn_app().await;
    let admin = app.signed_in(crate::helpers::ADMIN).await;
    for path in crate::access::GET_ROUTES {
        for query in ["q=%00", "q=a%1Bb", "user=%00&action=login", "org=%09", "site_address=%00", "%00=x"] {
            let separator = if path.contains('?') { '&' } else { '?' };
            let url = format!("{path}{separator}{query}");
            let page = admin.get(&url).await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {}", page.body);
            assert!(page.body.contains("invisible control character"), "{url}: {}", page.body);
            assert!(page.body.contains("<html"), "{url}: a page of the portal");
        }
    }
    // The CSV export is refused before it starts, not cut short.
    let csv = admin.get("/transactions.csv?q=%00").await;
    assert_eq!(csv.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!csv.headers.get("content-type").unwrap().to_str().unwrap().contains("csv"));
    // A search without one still works, and the sign-in page keeps showing its form.
    assert_eq!(admin.get("/transactions.csv?q=EFT").await.status, StatusCode::OK);
    assert_eq!(app.browser().get("/login?next=%2F%00").await.status, StatusCode::OK);
}

#[actix_web::test]
async fn no_post_route_answers_500_to_control_characters() {
    let app = spawn_app().await;
    let names = [
        "name",
        "description",
        "email",
        "password",
        "current_password",
        "new_password",
        "confirm_password",
        "registration_number",
        "vat_number",
        "billing_email",
        "low_balance_threshold",
        "reason",
        "reference",
        "amount",
        "direction",
        "idempotency_key",
        "threshold",
        "category",
        "product_id",
        "quantity",
        "template_id",
        "count",
        "term_months",
        "vcpu",
        "ram_gb",
        "disk_gb",
        "disk_type",
        "os",
        "action",
        "site_address",
        "site_suburb",
        "speed_mbps",
        "with_bandwidth",
        "cpe_id",
        "cpe_billing",
        "provider",
        "brand",
        "last_four",
        "exp_month",
        "exp_year",
        "holder_name",
        "gateway_token",
        "cost_a",
        "cost_b",
        "margin_pct",
        "active",
        "organisation_id",
        "role_id",
        "role",
        "grant",
    ];
    // Signing out comes last.
    let mut routes: Vec<&str> = crate::access::ALL_POST_ROUTES.iter().copied().filter(|r| *r != "/logout").collect();
    routes.push("/logout");
    for poison in ["\0", "a\u{1b}b"] {
        let admin = app.signed_in(crate::helpers::ADMIN).await;
        for path in &routes {
            let fields: Vec<(&str, &str)> = names.iter().map(|name| (*name, poison)).collect();
            let page = admin.post(path, &fields).await;
            assert_ne!(page.status, StatusCode::INTERNAL_SERVER_ERROR, "POST {path} with {poison:?}: {}", page.body);
        }
    }
}

#[actix_web::test]
async fn a_stored_escape_sequence_never_reaches_the_terminal_raw() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use portal::db::main::schema::organisations;
    let app = spawn_app().await;
    // Stored before names were checked: clears the screen and retitles the terminal.
    let hostile = "Acme \u{1b}[2J\u{1b}]0;pwned\u{7}Logistics\u{9b}31m";
    let mut conn = app.main_conn().await;
    diesel::update(organisations::table.filter(organisations::name.eq(crate::support::ACME)))
        .set(organisations::name.eq(hostile))
        .execute(&mut conn)
        .await
        .unwrap();
    let (passed, report) = crate::support::wallet_verify(&app);
    assert!(passed, "{report}");
    assert!(!report.chars().any(|c| c.is_control() && c != '\n'), "no control character is printed: {report:?}");
    assert!(report.contains("(Acme \\u{1b}[2J\\u{1b}]0;pwned\\u{7}Logistics\\u{9b}31m)"), "{report}");
}

// ------------------------------------------------------------ 8. sign-in throttling

/// (status, the sign-in form's message, Retry-After) of each of `attempts` sign-ins.
async fn sign_in_answers(
    browser: &crate::helpers::Browser,
    email: &str,
    attempts: &[&str],
) -> Vec<(u16, String, bool)> {
    let mut answers = Vec::new();
    for password in attempts {
        let page = browser.login(email, password).await;
        let message = page
            .html()
            .select(&scraper::Selector::parse("p.form-error").unwrap())
            .next()
            .map(|p| p.text().collect::<String>())
            .unwrap_or_default();
        answers.push((page.status.as_u16(), message, page.headers.contains_key("retry-after")));
    }
    answers
}

#[actix_web::test]
async fn known_and_unknown_addresses_get_the_same_answers() {
    let app = spawn_app().await;
    let wrong = ["wrong password 1"; 6];
    let known = sign_in_answers(&app.browser(), CUSTOMER, &wrong).await;
    let unknown = sign_in_answers(&app.browser(), "nobody@demo.test", &wrong).await;
    // The wait names a clock time, which may pass a minute between the two sign-ins.
    let without_clock = |answers: &[(u16, String, bool)]| -> Vec<(u16, String, bool)> {
        answers
            .iter()
            .map(|(status, message, retry)| {
                let message = match message.split_once(" (until ") {
                    Some((before, after)) => format!("{before}{}", after.split_once(')').map_or("", |(_, rest)| rest)),
                    None => message.clone(),
                };
                (*status, message, *retry)
            })
            .collect()
    };
    assert_eq!(without_clock(&known), without_clock(&unknown), "nothing tells an account from no account");
    let statuses: Vec<u16> = known.iter().map(|a| a.0).collect();
    assert_eq!(statuses, [422, 422, 422, 422, 429, 429]);
    assert_eq!(known[0].1, "The email address or password is incorrect.");
    assert!(known[4].1.starts_with("Too many failed attempts with this email address"), "{}", known[4].1);
    assert!(known[4].2 && known[5].2, "Retry-After is sent");
    assert!(!known.iter().any(|a| a.1.contains("locked")));
}

#[actix_web::test]
async fn a_stranger_cannot_lock_the_owner_out_and_waits_grow() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use portal::db::main::schema::login_throttles;
    let app = spawn_app().await;
    let stranger = app.browser_at("127.0.0.2".parse().unwrap());
    let answers = sign_in_answers(&stranger, CUSTOMER, &["guess"; 12]).await;
    assert!(answers[5..].iter().all(|a| a.0 == 429), "{answers:?}");
    // The owner, from their own address, signs in at once.
    let owner = app.browser();
    assert_eq!(owner.login(CUSTOMER, DEMO_PASSWORD).await.status, StatusCode::SEE_OTHER);
    // The stranger's own waits double with each failure: 30 s after the fifth, 60 s after the sixth.
    let retry_after = |page: &Page| page.headers["retry-after"].to_str().unwrap().parse::<i64>().unwrap();
    let mut conn = app.main_conn().await;
    let expire = || {
        diesel::update(login_throttles::table)
            .set(login_throttles::blocked_until.eq(chrono::Utc::now() - chrono::Duration::seconds(1)))
    };
    expire().execute(&mut conn).await.unwrap();
    let sixth = stranger.login(CUSTOMER, "guess").await;
    assert_eq!(sixth.status, StatusCode::TOO_MANY_REQUESTS);
    assert!((55..=60).contains(&retry_after(&sixth)), "{:?}", sixth.headers);
    expire().execute(&mut conn).await.unwrap();
    let seventh = stranger.login(CUSTOMER, "guess").await;
    assert!((115..=120).contains(&retry_after(&seventh)), "{:?}", seventh.headers);
    let failures: i32 = login_throttles::table
        .filter(login_throttles::ip.eq("127.0.0.2"))
        .select(login_throttles::failures)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(failures, 7, "attempts during a wait are not checked, so not counted");
    // An administrator's unlock clears the stranger's wait too.
    let id = crate::support::user_id(&app, CUSTOMER).await;
    let admin = app.signed_in(crate::helpers::ADMIN).await;
    assert_eq!(admin.post(&format!("/admin/users/{id}/unlock"), &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(stranger.login(CUSTOMER, DEMO_PASSWORD).await.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_full_hashing_queue_answers_503_and_counts_nothing() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use portal::auth::password::Hasher;
    use portal::db::main::schema::{login_throttles, user_activity_log};
    use portal::state::Shared;
    // One hashing thread, one waiting place: both taken by checks that wait for us.
    let hasher = std::sync::Arc::new(Hasher::start(1, 1));
    let shared = Shared { hasher: hasher.clone(), ..Shared::new(rust_decimal::Decimal::from(15)) };
    let app = spawn_app_with(shared).await;
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let first = hasher.run(move || {
        started_tx.send(()).unwrap();
        release_rx.recv().unwrap();
    });
    started_rx.recv().unwrap();
    let second = hasher.run(|| ());
    let browser = app.browser();
    for password in [DEMO_PASSWORD, "wrong password"] {
        let page = browser.login(CUSTOMER, password).await;
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{}", page.body);
        assert!(page.headers.contains_key("retry-after"));
        assert!(page.body.contains("The portal is busy"), "{}", page.body);
    }
    let mut conn = app.main_conn().await;
    let throttled: i64 = login_throttles::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(throttled, 0, "nothing was counted as a wrong password");
    let failed: i64 = user_activity_log::table
        .filter(user_activity_log::action.eq("login.failed"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(failed, 0);
    release_tx.send(()).unwrap();
    first.await.unwrap();
    second.await.unwrap();
    assert_eq!(browser.login(CUSTOMER, DEMO_PASSWORD).await.status, StatusCode::SEE_OTHER);
}

// ------------------------------------------------------------ 7. passwords

#[actix_web::test]
async fn weak_passwords_are_refused_saying_why() {
    use crate::cli::{run, stderr};
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    for (weak, why) in [
        ("aaaaaaaaaaaa", "too easy to guess"),
        ("password1234", "one of the most common passwords"),
        ("            ", "spaces alone"),
        ("customer1234", "too easy to guess"),
    ] {
        let fields = [("current_password", DEMO_PASSWORD), ("new_password", weak), ("confirm_password", weak)];
        let page = submit(&customer, "/account/password", "/account/password", &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{weak:?}");
        let message = crate::support::text_of(&page, "new_password-error").unwrap_or_default();
        assert!(message.contains(why), "{weak:?}: {message}");
    }
    let admin = app.signed_in(crate::helpers::ADMIN).await;
    let acme = crate::support::org_id(&app, crate::support::ACME).await;
    let customer_role = role_id(&app, "customer").await.to_string();
    let fields = [
        ("name", "Weak Password"),
        ("email", "weak@acme.test"),
        ("organisation_id", &acme.to_string()),
        ("role_id", &customer_role),
        ("password", "password1234"),
    ];
    let page = submit(&admin, "/admin/users", "/admin/users", &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = crate::support::text_of(&page, "password-error").unwrap_or_default();
    assert!(message.contains("one of the most common passwords"), "{message}");
    let args = ["user", "create", "--email", "weak@acme.test", "--name", "Weak", "--role", "customer"];
    let cli = run(&app, &[&args[..], &["--org", "Acme Logistics", "--password", "aaaaaaaaaaaa"]].concat());
    assert_eq!(cli.status.code(), Some(2));
    assert!(stderr(&cli).contains("--password: it is too easy to guess"), "{}", stderr(&cli));
    // The demo users keep their password: the rule applies only to a new one.
    assert_eq!(app.browser().login(CUSTOMER, DEMO_PASSWORD).await.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn wrong_current_passwords_count_like_failed_sign_ins() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let new = "a fresh and unusual passphrase";
    let mut statuses = Vec::new();
    for guess in 1..=6 {
        let current = format!("guess number {guess}");
        let fields = [("current_password", current.as_str()), ("new_password", new), ("confirm_password", new)];
        let page = submit(&customer, "/account/password", "/account/password", &fields).await;
        statuses.push(page.status.as_u16());
        if guess == 5 {
            let message = crate::support::text_of(&page, "current_password-error").unwrap_or_default();
            assert!(message.starts_with("Too many failed attempts"), "{message}");
        }
    }
    assert_eq!(statuses, [422, 422, 422, 422, 429, 429]);
    // The right current password waits too, and so does the sign-in form from here.
    let fields = [("current_password", DEMO_PASSWORD), ("new_password", new), ("confirm_password", new)];
    let page = submit(&customer, "/account/password", "/account/password", &fields).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.browser().login(CUSTOMER, DEMO_PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
    // From another address the owner is not held up.
    let elsewhere = app.browser_at("127.0.0.3".parse().unwrap());
    assert_eq!(elsewhere.login(CUSTOMER, DEMO_PASSWORD).await.status, StatusCode::SEE_OTHER);
    let page = submit(&elsewhere, "/account/password", "/account/password", &fields).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}
