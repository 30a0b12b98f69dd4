//! The organisation wallet: `/wallet` for customers, the top-up form on
//! `/admin/organisations/{id}` and its `credit` route (exactly once per form).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::main::schema::wallet_transactions as tx;
use portal::db::main::schema::{in_app_alerts, user_activity_log};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::helpers::{ADMIN, Browser, CUSTOMER, Page, STAFF, TestApp, spawn_app};
use crate::support::{balance, credit_directly, org_id, user_id};

/// The ids of the table's rows, in page order.
fn row_ids_of(page: &Page) -> Vec<i64> {
    crate::support::row_ids(page, "table.ledger tbody tr", "tx-")
}

const BONGANI: &str = "bongani@ubuntu-freight.demo.test";
const AYESHA: &str = "ayesha@acme-logistics.demo.test";
const ACME: &str = "Acme Logistics";
const UBUNTU: &str = "Ubuntu Freight Services";

/// The organisation's ledger ids, newest first.
async fn ledger_ids(app: &TestApp, org: i64) -> Vec<i64> {
    let mut conn = app.main_conn().await;
    tx::table.filter(tx::organisation_id.eq(org)).order(tx::id.desc()).select(tx::id).load(&mut conn).await.unwrap()
}

/// What a refused top-up must leave untouched: ledger rows, credit log rows, alerts, balance.
#[derive(Debug, PartialEq)]
struct Footprint {
    ledger_rows: i64,
    credit_log_rows: i64,
    alerts: i64,
    balance: Decimal,
}

async fn footprint(app: &TestApp, org: i64) -> Footprint {
    let mut conn = app.main_conn().await;
    Footprint {
        ledger_rows: tx::table.count().get_result(&mut conn).await.unwrap(),
        credit_log_rows: user_activity_log::table
            .filter(user_activity_log::action.eq("wallet.credit"))
            .count()
            .get_result(&mut conn)
            .await
            .unwrap(),
        alerts: in_app_alerts::table.count().get_result(&mut conn).await.unwrap(),
        balance: balance(app, org).await,
    }
}

/// The cells of the ledger row of transaction `id`.
fn row_cells(page: &Page, id: i64) -> Vec<String> {
    let selector = scraper::Selector::parse(&format!("tr#tx-{id} td")).unwrap();
    page.html().select(&selector).map(|td| td.text().collect::<String>().trim().to_owned()).collect()
}

fn balance_figure(page: &Page) -> String {
    let selector = scraper::Selector::parse("#balance").unwrap();
    page.html().select(&selector).next().expect("a balance figure").text().collect::<String>().trim().to_owned()
}

/// The value of the form's hidden `idempotency_key` input.
fn idempotency_key(page: &Page) -> String {
    let selector = scraper::Selector::parse(r#"input[name="idempotency_key"]"#).unwrap();
    let html = page.html();
    let input = html.select(&selector).next().expect("the top-up form has an idempotency key");
    input.value().attr("value").unwrap_or("").to_owned()
}

/// Opens the organisation page and submits its top-up form as a browser would.
async fn top_up(browser: &Browser, org: i64, amount: &str, reference: &str) -> Page {
    let form = browser.get(&format!("/admin/organisations/{org}")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let key = idempotency_key(&form);
    let token = form.csrf_token().unwrap();
    let fields = [("amount", amount), ("reference", reference), ("idempotency_key", &key), ("csrf_token", &token)];
    browser.post_raw(&format!("/admin/organisations/{org}/credit"), &fields).await
}

#[actix_web::test]
async fn an_acme_customer_sees_the_balance_and_every_ledger_row_newest_first() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let browser = app.signed_in(CUSTOMER).await;
    let page = browser.get("/wallet").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(balance_figure(&page), "R 66 381.49");
    let note = crate::support::text_of(&page, "threshold-note");
    assert_eq!(note.as_deref(), Some("Low-balance alert under R 5 000.00."), "{}", page.body);

    let ids = row_ids_of(&page);
    assert_eq!(ids, ledger_ids(&app, acme).await, "every row of Acme's ledger, newest first");
    let [debit, second, first] = ids[..] else { panic!("three seeded rows: {ids:?}") };
    assert_eq!(
        row_cells(&page, debit)[1..],
        [
            "debit",
            "Q-2026-000006",
            "Quote accepted: WMS application and database servers",
            "-R 8 618.51",
            "R 66 381.49"
        ]
    );
    assert_eq!(
        row_cells(&page, second)[1..],
        ["credit", "EFT ACME-2026-11", "EFT received", "R 25 000.00", "R 75 000.00"]
    );
    assert_eq!(
        row_cells(&page, first)[1..],
        ["credit", "EFT ACME-2026-10", "EFT received", "R 50 000.00", "R 50 000.00"]
    );
    assert!(page.body.contains(r#"href="/quotes/"#), "the debit links its quote");
    assert!(!page.body.contains("Older transactions"), "one page holds three rows");

    // Another member of the same organisation sees the same wallet.
    let ayesha = app.signed_in(AYESHA).await.get("/wallet").await;
    assert_eq!(balance_figure(&ayesha), "R 66 381.49");
    assert_eq!(row_ids_of(&ayesha), ids);
}

#[actix_web::test]
async fn a_customer_of_another_organisation_sees_only_its_own_wallet() {
    let app = spawn_app().await;
    let acme_ids = ledger_ids(&app, org_id(&app, ACME).await).await;
    let browser = app.signed_in(BONGANI).await;
    let page = browser.get("/wallet").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(balance_figure(&page), "R 0.00");
    assert!(page.body.contains("No transactions yet."));
    assert!(row_ids_of(&page).is_empty());
    for leak in ["66 381.49", "ACME-2026", "Q-2026-000006", "Acme Logistics"] {
        assert!(!page.body.contains(leak), "{leak} leaked into Ubuntu Freight's wallet");
    }

    // Once Ubuntu Freight has a row of its own, that is all it sees, on any page.
    let ubuntu = org_id(&app, UBUNTU).await;
    let own = credit_directly(&app, ubuntu, dec!(1200.00), "EFT UBUNTU-1").await;
    let page = browser.get("/wallet").await;
    assert_eq!(balance_figure(&page), "R 1 200.00");
    assert_eq!(row_ids_of(&page), [own]);
    let cursor = acme_ids.iter().max().unwrap() + 1000;
    let older = browser.get(&format!("/wallet?before={cursor}")).await;
    assert_eq!(row_ids_of(&older), [own], "the cursor never reaches into another organisation's ledger");
    let acme_page = app.signed_in(CUSTOMER).await.get("/wallet").await;
    assert!(!row_ids_of(&acme_page).contains(&own));
    assert!(!acme_page.body.contains("EFT UBUNTU-1"));
}

#[actix_web::test]
async fn the_ledger_pages_back_with_before() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    for n in 1..=30 {
        credit_directly(&app, acme, dec!(10.00), &format!("EFT PAGE-{n:02}")).await;
    }
    let all = ledger_ids(&app, acme).await;
    assert_eq!(all.len(), 33);
    let browser = app.signed_in(CUSTOMER).await;

    let first = browser.get("/wallet").await;
    assert_eq!(balance_figure(&first), "R 66 681.49");
    assert_eq!(row_ids_of(&first), all[..25], "the 25 newest rows, newest first");
    assert_eq!(row_cells(&first, all[0])[5], "R 66 681.49", "the newest row's balance_after is the balance");
    let link = format!(r#"href="/wallet?before={}""#, all[24]);
    assert!(first.body.contains(&link), "an older-page link after the last row shown: {}", first.body);

    let second = browser.get(&format!("/wallet?before={}", all[24])).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(row_ids_of(&second), all[25..], "the remaining 8 rows, none repeated");
    assert!(!second.body.contains("Older transactions"), "the last page has no older link");
    assert_eq!(row_cells(&second, all[32])[4..], ["R 50 000.00", "R 50 000.00"], "down to the first top-up");
    assert!(row_ids_of(&browser.get(&format!("/wallet?before={}", all[32])).await).is_empty());
}

#[actix_web::test]
async fn a_staff_top_up_raises_the_balance_by_exactly_the_amount() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let staff_id = user_id(&app, STAFF).await;
    let before = balance(&app, acme).await;
    let staff = app.signed_in(STAFF).await;

    let response = top_up(&staff, acme, "1500.50", "EFT ACME-2026-12").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(response.location(), format!("/admin/organisations/{acme}"));
    let page = staff.get(&format!("/admin/organisations/{acme}")).await;
    assert!(
        page.body.contains("Recorded a top-up of R 1 500.50. The balance is now R 67 881.99."),
        "the flash confirms: {}",
        page.body
    );
    assert_eq!(balance_figure(&page), "R 67 881.99");
    assert_eq!(balance(&app, acme).await, before + dec!(1500.50));

    let mut conn = app.main_conn().await;
    let (id, kind, amount, after, reference, description, created_by): (
        i64,
        String,
        Decimal,
        Decimal,
        String,
        String,
        Option<i64>,
    ) = tx::table
        .filter(tx::organisation_id.eq(acme))
        .order(tx::id.desc())
        .select((tx::id, tx::kind, tx::amount, tx::balance_after, tx::reference, tx::description, tx::created_by))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!((kind.as_str(), amount, after), ("credit", dec!(1500.50), dec!(67881.99)));
    assert_eq!(
        (reference.as_str(), description.as_str(), created_by),
        ("EFT ACME-2026-12", "EFT received", Some(staff_id))
    );

    let (user, org, target, detail): (Option<i64>, Option<i64>, Option<String>, serde_json::Value) =
        user_activity_log::table
            .filter(user_activity_log::action.eq("wallet.credit"))
            .select((
                user_activity_log::user_id,
                user_activity_log::organisation_id,
                user_activity_log::target,
                user_activity_log::detail,
            ))
            .first(&mut conn)
            .await
            .unwrap();
    assert_eq!((user, org), (Some(staff_id), Some(acme)));
    assert_eq!(target, Some(format!("wallet_transaction:{id}")));
    assert_eq!(detail["amount"], "1500.50");
    assert_eq!(detail["reference"], "EFT ACME-2026-12");

    let alerts: Vec<(Option<i64>, String, Option<String>)> = in_app_alerts::table
        .filter(in_app_alerts::kind.eq("topup"))
        .filter(in_app_alerts::dedupe_key.eq(format!("topup:{id}")))
        .select((in_app_alerts::organisation_id, in_app_alerts::title, in_app_alerts::link))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(alerts, [(Some(acme), "Top-up of R 1 500.50 received".to_owned(), Some("/wallet".to_owned()))]);

    // The customer sees it on their wallet, newest first.
    let wallet = app.signed_in(CUSTOMER).await.get("/wallet").await;
    assert_eq!(balance_figure(&wallet), "R 67 881.99");
    assert_eq!(row_ids_of(&wallet)[0], id);
    assert_eq!(
        row_cells(&wallet, id)[1..],
        ["credit", "EFT ACME-2026-12", "EFT received", "R 1 500.50", "R 67 881.99"]
    );
}

#[actix_web::test]
async fn the_same_form_submitted_twice_credits_once() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let before = footprint(&app, acme).await;
    let staff = app.signed_in(STAFF).await;
    let form = staff.get(&format!("/admin/organisations/{acme}")).await;
    let key = idempotency_key(&form);
    let fields = [("amount", "250.00"), ("reference", "EFT TWICE"), ("idempotency_key", key.as_str())];
    let path = format!("/admin/organisations/{acme}/credit");

    let first = staff.post(&path, &fields).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let second = staff.post(&path, &fields).await;
    assert_eq!(second.status, StatusCode::SEE_OTHER, "{}", second.body);
    let page = staff.get(second.location()).await;
    assert!(page.body.contains("This top-up was already recorded; nothing changed."), "{}", page.body);

    let after = footprint(&app, acme).await;
    assert_eq!(after.ledger_rows, before.ledger_rows + 1);
    assert_eq!(after.credit_log_rows, before.credit_log_rows + 1);
    assert_eq!(after.alerts, before.alerts + 1);
    assert_eq!(after.balance, before.balance + dec!(250.00));

    // The same key with a different amount is another top-up: refused, not merged.
    let other = [("amount", "999.00"), ("reference", "EFT TWICE"), ("idempotency_key", key.as_str())];
    let reused = staff.post(&path, &other).await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reused.body.contains("This form was already used for another top-up."), "{}", reused.body);
    assert_eq!(footprint(&app, acme).await, after);
}

#[actix_web::test]
async fn five_concurrent_submissions_of_one_form_credit_once() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let before = footprint(&app, acme).await;
    let staff = app.signed_in(STAFF).await;
    let form = staff.get(&format!("/admin/organisations/{acme}")).await;
    let key = idempotency_key(&form);
    let token = form.csrf_token().unwrap();
    let path = format!("/admin/organisations/{acme}/credit");
    let fields = [("amount", "777.77"), ("reference", "EFT RACE"), ("idempotency_key", &key), ("csrf_token", &token)];

    let responses = futures_util::future::join_all((0..5).map(|_| staff.post_raw(&path, &fields))).await;
    for response in &responses {
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    }

    let mut conn = app.main_conn().await;
    let rows: Vec<Decimal> =
        tx::table.filter(tx::idempotency_key.eq(&key)).select(tx::amount).load(&mut conn).await.unwrap();
    assert_eq!(rows, [dec!(777.77)], "exactly one credit row for the key");
    let after = footprint(&app, acme).await;
    assert_eq!(after.ledger_rows, before.ledger_rows + 1);
    assert_eq!(after.credit_log_rows, before.credit_log_rows + 1);
    assert_eq!(after.balance, before.balance + dec!(777.77));
}

#[actix_web::test]
async fn concurrent_top_ups_with_their_own_keys_all_count_in_one_chain() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let before = balance(&app, acme).await;
    let staff = app.signed_in(STAFF).await;
    let token = staff.csrf_token().await;
    let path = format!("/admin/organisations/{acme}/credit");
    let forms: Vec<(String, String, String)> = (1..=5)
        .map(|n| (format!("{n}00.0{n}"), format!("EFT PARALLEL-{n}"), uuid::Uuid::new_v4().to_string()))
        .collect();
    let (staff, path, token) = (&staff, path.as_str(), token.as_str());
    let responses = futures_util::future::join_all(forms.iter().map(|(amount, reference, key)| async move {
        let fields =
            [("amount", amount.as_str()), ("reference", reference), ("idempotency_key", key), ("csrf_token", token)];
        staff.post_raw(path, &fields).await
    }))
    .await;
    for response in &responses {
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    }
    let total: Decimal = forms.iter().map(|(amount, _, _)| amount.parse::<Decimal>().unwrap()).sum();
    assert_eq!(total, dec!(1500.15));
    assert_eq!(balance(&app, acme).await, before + total);

    // Whatever order they ran in, every row continues the one before it.
    let mut conn = app.main_conn().await;
    let rows: Vec<(Decimal, Decimal)> = tx::table
        .filter(tx::organisation_id.eq(acme))
        .filter(tx::reference.like("EFT PARALLEL-%"))
        .order(tx::id.asc())
        .select((tx::amount, tx::balance_after))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 5);
    let mut running = before;
    for (amount, after) in rows {
        running += amount;
        assert_eq!(after, running);
    }
}

#[actix_web::test]
async fn a_top_up_that_would_overflow_the_wallet_is_refused() {
    let app = spawn_app().await;
    let ubuntu = org_id(&app, UBUNTU).await;
    credit_directly(&app, ubuntu, dec!(999999990000.00), "EFT HUGE").await;
    let before = footprint(&app, ubuntu).await;
    let staff = app.signed_in(STAFF).await;
    let page = top_up(&staff, ubuntu, "10000000", "EFT ONE-TOO-MANY").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.body);
    assert!(
        page.body.contains(r#"id="amount-error">The balance would exceed what a wallet can hold.</p>"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"value="EFT ONE-TOO-MANY""#));
    assert_eq!(footprint(&app, ubuntu).await, before, "nothing written");
}

#[actix_web::test]
async fn bad_top_up_input_comes_back_with_a_message_and_changes_nothing() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let before = footprint(&app, acme).await;
    let staff = app.signed_in(STAFF).await;
    let form = staff.get(&format!("/admin/organisations/{acme}")).await;
    let key = idempotency_key(&form);
    let long_reference = "x".repeat(5000);
    // (amount, reference, idempotency key (None: left out), where the message goes, the message)
    let cases: Vec<(&str, &str, Option<&str>, &str, &str)> = vec![
        ("", "EFT 1", Some(&key), "amount-error", "Enter an amount."),
        ("-5", "EFT 1", Some(&key), "amount-error", "Must be more than zero."),
        ("0", "EFT 1", Some(&key), "amount-error", "Must be more than zero."),
        ("abc", "EFT 1", Some(&key), "amount-error", "Use digits and a decimal point or comma only"),
        ("1.234", "EFT 1", Some(&key), "amount-error", "At most two decimals (cents)."),
        ("100000000000000000000", "EFT 1", Some(&key), "amount-error", "At most R 10 000 000.00 in one top-up."),
        ("10000000.01", "EFT 1", Some(&key), "amount-error", "At most R 10 000 000.00 in one top-up."),
        ("100.00", "", Some(&key), "reference-error", "Enter the payment's bank reference."),
        ("100.00", "   ", Some(&key), "reference-error", "Enter the payment's bank reference."),
        ("100.00", &long_reference, Some(&key), "reference-error", "Use at most 200 characters."),
        ("100.00", "EFT 1", None, "form-error", "This form is incomplete. Reload the page"),
        ("100.00", "EFT 1", Some(""), "form-error", "This form is incomplete. Reload the page"),
        ("100.00", "EFT 1", Some("not-a-uuid"), "form-error", "This form is incomplete. Reload the page"),
    ];
    let path = format!("/admin/organisations/{acme}/credit");
    for (amount, reference, key, place, message) in cases {
        let mut fields = vec![("amount", amount), ("reference", reference)];
        if let Some(key) = key {
            fields.push(("idempotency_key", key));
        }
        let page = staff.post(&path, &fields).await;
        let case = format!("amount {amount:?}, reference of {} chars, key {key:?}", reference.len());
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{case}");
        let html = page.html();
        let selector = if place == "form-error" {
            scraper::Selector::parse("p.form-error").unwrap()
        } else {
            scraper::Selector::parse(&format!("p#{place}")).unwrap()
        };
        let shown = html.select(&selector).next().map(|p| p.text().collect::<String>());
        assert!(shown.as_deref().is_some_and(|s| s.contains(message)), "{case}: {shown:?}");
        if place != "form-error" {
            let field = place.trim_end_matches("-error");
            let input = scraper::Selector::parse(&format!("input#{field}")).unwrap();
            let input = html.select(&input).next().unwrap();
            assert_eq!(input.value().attr("aria-invalid"), Some("true"), "{case}");
            assert_eq!(input.value().attr("aria-describedby"), Some(place), "{case}");
        }
        let value = |name: &str| {
            let selector = scraper::Selector::parse(&format!(r#"form input[name="{name}"]"#)).unwrap();
            html.select(&selector).next().and_then(|i| i.value().attr("value")).map(str::to_owned)
        };
        assert_eq!(value("amount").as_deref(), Some(amount), "{case}: the amount is kept");
        assert_eq!(value("reference").as_deref(), Some(reference), "{case}: the reference is kept");
        assert_eq!(value("idempotency_key").as_deref(), Some(key.unwrap_or("")), "{case}: the key is kept");
        assert_eq!(footprint(&app, acme).await, before, "{case}: nothing written");
    }

    // Markup in the reference comes back as text.
    let page = staff
        .post(&path, &[("amount", "abc"), ("reference", "<script>alert(1)</script>"), ("idempotency_key", &key)])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!page.body.contains("<script>alert(1)</script>"), "the reference is escaped");
    assert!(page.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;") || page.body.contains("&lt;script&gt;"));
    assert_eq!(footprint(&app, acme).await, before);

    // The kept form still carries the first key: correcting it credits once.
    let fixed = staff.post(&path, &[("amount", "100.00"), ("reference", "EFT 1"), ("idempotency_key", &key)]).await;
    assert_eq!(fixed.status, StatusCode::SEE_OTHER, "{}", fixed.body);
    let again = staff.post(&path, &[("amount", "100.00"), ("reference", "EFT 1"), ("idempotency_key", &key)]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(footprint(&app, acme).await.balance, before.balance + dec!(100.00));
}

#[actix_web::test]
async fn a_top_up_reference_with_markup_is_shown_as_text() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let staff = app.signed_in(STAFF).await;
    let response = top_up(&staff, acme, "10", "<script>alert(1)</script>").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    for page in
        [staff.get(&format!("/admin/organisations/{acme}")).await, app.signed_in(CUSTOMER).await.get("/wallet").await]
    {
        assert!(!page.body.contains("<script>alert(1)</script>"), "{}", page.body);
        let newest = row_ids_of(&page)[0];
        assert_eq!(row_cells(&page, newest)[2], "<script>alert(1)</script>", "shown as text");
    }
}

#[actix_web::test]
async fn customers_may_neither_credit_nor_open_the_organisation_page() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let before = footprint(&app, acme).await;
    let customer = app.signed_in(CUSTOMER).await;
    let key = uuid::Uuid::new_v4().to_string();
    let fields = [("amount", "1000.00"), ("reference", "EFT SELF"), ("idempotency_key", key.as_str())];
    let page = customer.post(&format!("/admin/organisations/{acme}/credit"), &fields).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Not allowed"), "{}", page.body);
    assert_eq!(customer.get(&format!("/admin/organisations/{acme}")).await.status, StatusCode::FORBIDDEN);
    let ubuntu = org_id(&app, UBUNTU).await;
    let page = customer.post(&format!("/admin/organisations/{ubuntu}/credit"), &fields).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(footprint(&app, acme).await, before, "nothing written");
    assert_eq!(balance(&app, ubuntu).await, Decimal::ZERO);
}

#[actix_web::test]
async fn staff_and_admins_open_the_organisation_page_with_the_top_up_form() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    for email in [STAFF, ADMIN] {
        let browser = app.signed_in(email).await;
        let page = browser.get(&format!("/admin/organisations/{acme}")).await;
        assert_eq!(page.status, StatusCode::OK, "{email}");
        assert_eq!(balance_figure(&page), "R 66 381.49");
        assert!(page.body.contains(&format!(r#"action="/admin/organisations/{acme}/credit""#)), "{email}");
        assert!(page.body.contains(r#"id="record-top-up""#));
        let key = idempotency_key(&page);
        assert!(uuid::Uuid::parse_str(&key).is_ok(), "{email}: {key}");
        assert_ne!(
            idempotency_key(&browser.get(&format!("/admin/organisations/{acme}")).await),
            key,
            "a fresh key per form"
        );
        assert_eq!(row_ids_of(&page), ledger_ids(&app, acme).await, "the latest transactions");
    }
}

#[actix_web::test]
async fn an_unknown_organisation_is_not_found() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let before = footprint(&app, acme).await;
    let staff = app.signed_in(STAFF).await;
    assert_eq!(staff.get("/admin/organisations/999999").await.status, StatusCode::NOT_FOUND);
    let key = uuid::Uuid::new_v4().to_string();
    let fields = [("amount", "100.00"), ("reference", "EFT GHOST"), ("idempotency_key", key.as_str())];
    let page = staff.post("/admin/organisations/999999/credit", &fields).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let page = staff.post("/admin/organisations/999999/credit", &[("amount", "abc"), ("reference", "x")]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "bad input for an unknown organisation is still a 404");
    assert_eq!(footprint(&app, acme).await, before);
}

#[actix_web::test]
async fn a_top_up_without_the_csrf_token_is_refused() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let before = footprint(&app, acme).await;
    let staff = app.signed_in(STAFF).await;
    let form = staff.get(&format!("/admin/organisations/{acme}")).await;
    let key = idempotency_key(&form);
    let path = format!("/admin/organisations/{acme}/credit");
    let fields = [("amount", "100.00"), ("reference", "EFT NOTOKEN"), ("idempotency_key", key.as_str())];
    let missing = staff.post_raw(&path, &fields).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.body.contains("Form expired"), "{}", missing.body);
    let forged = [fields.as_slice(), &[("csrf_token", "forged")]].concat();
    assert_eq!(staff.post_raw(&path, &forged).await.status, StatusCode::FORBIDDEN);
    assert_eq!(footprint(&app, acme).await, before, "nothing written");
}
