//! Refunds of accepted quotes and wallet adjustments by staff: once per quote, at most
//! the debit, never below zero, idempotent per form, logged, alerted, and verified.

use diesel::prelude::*;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use portal::db::main::schema::wallet_transactions as tx;
use portal::db::main::schema::{in_app_alerts, user_activity_log};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::helpers::{ADMIN, CUSTOMER, STAFF, TestApp, spawn_app};
use crate::support::{
    ACCEPTED, ACME, PENDING, UBUNTU, balance, footprint, input_value, org_id, quote_id, submit, text_of, wallet_verify,
};

async fn refunds_of(app: &TestApp, quote: i64) -> Vec<(Decimal, Decimal, String)> {
    let mut conn = app.main_conn().await;
    tx::table
        .filter(tx::quote_id.eq(quote))
        .filter(tx::kind.eq("refund"))
        .select((tx::amount, tx::balance_after, tx::description))
        .load(&mut conn)
        .await
        .unwrap()
}

async fn activity(app: &TestApp, action: &str) -> Vec<serde_json::Value> {
    let mut conn = app.main_conn().await;
    user_activity_log::table
        .filter(user_activity_log::action.eq(action))
        .select(user_activity_log::detail)
        .load(&mut conn)
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_quote_refunded_twice_is_refunded_once() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let quote = quote_id(&app, ACCEPTED).await;
    let before = balance(&app, acme).await;
    let staff = app.signed_in(STAFF).await;

    // The quote page links the refund form for staff.
    let page = staff.get(&format!("/quotes/{quote}")).await;
    assert!(page.body.contains(&format!(r#"href="/quotes/{quote}/refund""#)), "{}", page.body);
    let form_path = format!("/quotes/{quote}/refund");
    let form = staff.get(&form_path).await;
    assert_eq!(text_of(&form, "debited").as_deref(), Some("R 8 618.51"));
    assert_eq!(input_value(&form, "amount"), "8618.51", "the form offers the whole debit");
    let key = input_value(&form, "idempotency_key");
    let token = form.csrf_token().unwrap();
    let fields = [
        ("amount", "1000.00"),
        ("reason", "One VM was never delivered"),
        ("idempotency_key", key.as_str()),
        ("csrf_token", token.as_str()),
    ];

    let first = staff.post_raw(&form_path, &fields).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    assert_eq!(first.location(), format!("/quotes/{quote}"));
    let shown = staff.get(first.location()).await;
    assert!(
        shown.body.contains("Recorded the refund of R 1 000.00. The balance is now R 67 381.49."),
        "{}",
        shown.body
    );

    // The same form again (a double click): the first result, nothing more.
    let again = staff.post_raw(&form_path, &fields).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(staff.get(again.location()).await.body.contains("This refund was already recorded; nothing changed."));

    // A fresh form for the same quote: refused, the quote is refunded at most once.
    let closed = staff.get(&form_path).await;
    assert_eq!(text_of(&closed, "refund-closed").as_deref(), Some("This quote was already refunded (R 1 000.00)."));
    let token = closed.csrf_token().unwrap();
    let fresh = uuid::Uuid::new_v4().to_string();
    let third = staff
        .post_raw(
            &form_path,
            &[("amount", "50.00"), ("reason", "Again"), ("idempotency_key", &fresh), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(third.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(third.body.contains("This quote was already refunded (R 1 000.00); a quote is refunded at most once."));

    assert_eq!(
        refunds_of(&app, quote).await,
        [(dec!(1000.00), dec!(67381.49), "One VM was never delivered".to_owned())]
    );
    assert_eq!(balance(&app, acme).await, before + dec!(1000.00));
    let logged = activity(&app, "wallet.refund").await;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0]["amount"], "1000.00");
    assert_eq!(logged[0]["reason"], "One VM was never delivered");
    let mut conn = app.main_conn().await;
    let alerts: Vec<(Option<i64>, String)> = in_app_alerts::table
        .filter(in_app_alerts::kind.eq("refund"))
        .select((in_app_alerts::organisation_id, in_app_alerts::title))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(alerts, [(Some(acme), "Refund of R 1 000.00 for quote Q-2026-000006".to_owned())]);
    drop(conn);

    // The customer sees the refund in the ledger; the quote stays accepted.
    let wallet = app.signed_in(CUSTOMER).await.get("/wallet").await;
    assert!(wallet.body.contains("One VM was never delivered"));
    let (ok, report) = wallet_verify(&app);
    assert!(ok, "{report}");
}

#[actix_web::test]
async fn two_concurrent_refunds_of_one_quote_make_one() {
    let app = spawn_app().await;
    let quote = quote_id(&app, ACCEPTED).await;
    let staff = app.signed_in(STAFF).await;
    let token = staff.csrf_token().await;
    let path = format!("/quotes/{quote}/refund");
    let keys: Vec<String> = (0..4).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let responses = futures_util::future::join_all(keys.iter().map(|key| {
        let fields = [("amount", "10.00"), ("reason", "Race"), ("idempotency_key", key), ("csrf_token", &token)];
        let (staff, path) = (&staff, &path);
        async move { staff.post_raw(path, &fields).await.status }
    }))
    .await;
    assert_eq!(responses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count(), 1, "{responses:?}");
    assert_eq!(responses.iter().filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY).count(), 3);
    assert_eq!(refunds_of(&app, quote).await.len(), 1);
    assert!(wallet_verify(&app).0);
}

#[actix_web::test]
async fn a_refund_above_the_debit_is_refused_and_the_whole_debit_is_fine() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let quote = quote_id(&app, ACCEPTED).await;
    let before = footprint(&app, acme).await;
    let staff = app.signed_in(STAFF).await;
    let path = format!("/quotes/{quote}/refund");
    let page = submit(&staff, &path, &path, &[("amount", "8618.52"), ("reason", "Too much")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        text_of(&page, "amount-error").as_deref(),
        Some("At most R 8 618.51 (what was debited for this quote).")
    );
    assert!(page.body.contains(r#"value="Too much""#), "the typed reason is kept");
    assert_eq!(footprint(&app, acme).await, before, "nothing written");

    let page = submit(&staff, &path, &path, &[("amount", "8618.51"), ("reason", "Cancelled in full")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(balance(&app, acme).await, before.balance + dec!(8618.51));
    assert!(wallet_verify(&app).0);
}

#[actix_web::test]
async fn a_quote_that_is_not_accepted_cannot_be_refunded() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let before = footprint(&app, acme).await;
    let staff = app.signed_in(STAFF).await;
    for number in [PENDING, "Q-2026-000004", "Q-2026-000002"] {
        let quote = quote_id(&app, number).await;
        let path = format!("/quotes/{quote}/refund");
        let form = staff.get(&path).await;
        assert_eq!(form.status, StatusCode::OK);
        let closed = text_of(&form, "refund-closed").unwrap();
        assert!(closed.starts_with("Only an accepted quote can be refunded"), "{number}: {closed}");
        assert!(!staff.get(&format!("/quotes/{quote}")).await.body.contains("refund-link"));
        let token = form.csrf_token().unwrap();
        let key = uuid::Uuid::new_v4().to_string();
        let fields = [("amount", "10.00"), ("reason", "Why not"), ("idempotency_key", &key), ("csrf_token", &token)];
        let page = staff.post_raw(&path, &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{number}");
        assert!(
            text_of(&page, "refund-closed").unwrap().starts_with("Only an accepted quote can be refunded"),
            "{number}"
        );
    }
    assert_eq!(footprint(&app, acme).await, before);
}

#[actix_web::test]
async fn bad_refund_and_adjustment_input_gets_messages_and_writes_nothing() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let quote = quote_id(&app, ACCEPTED).await;
    let before = footprint(&app, acme).await;
    let staff = app.signed_in(STAFF).await;
    let refund = format!("/quotes/{quote}/refund");
    let adjust = format!("/admin/organisations/{acme}/adjust");
    let long = "r".repeat(201);
    // (form, fields, where the message goes, how it starts)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (&refund, vec![("amount", ""), ("reason", "x")], "amount-error", "Enter an amount."),
        (
            &refund,
            vec![("amount", "abc"), ("reason", "x")],
            "amount-error",
            "Use digits and a decimal point or comma only",
        ),
        (&refund, vec![("amount", "0"), ("reason", "x")], "amount-error", "Must be more than zero."),
        (&refund, vec![("amount", "1.234"), ("reason", "x")], "amount-error", "At most two decimals (cents)."),
        (&refund, vec![("amount", "10"), ("reason", "  ")], "reason-error", "Say why"),
        (&refund, vec![("amount", "10"), ("reason", &long)], "reason-error", "Use at most 200 characters."),
        (
            &refund,
            vec![("amount", "10"), ("reason", "x"), ("idempotency_key", "")],
            "form-error",
            "This form is incomplete.",
        ),
        (
            &adjust,
            vec![("direction", "in"), ("amount", "-5"), ("reason", "x")],
            "amount-error",
            "Must be more than zero.",
        ),
        (
            &adjust,
            vec![("direction", "sideways"), ("amount", "5"), ("reason", "x")],
            "direction-error",
            "Choose whether",
        ),
        (&adjust, vec![("amount", "5"), ("reason", "x")], "direction-error", "Choose whether"),
        (&adjust, vec![("direction", "in"), ("amount", "5"), ("reason", "")], "reason-error", "Say why"),
        (
            &adjust,
            vec![("direction", "in"), ("amount", "10000000.01"), ("reason", "x")],
            "amount-error",
            "At most R 10 000 000.00 in one correction.",
        ),
    ];
    for (path, fields, id, message) in &cases {
        let page = submit(&staff, path, path, fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{path} {fields:?}: {}", page.body);
        let text = text_of(&page, id).unwrap_or_else(|| panic!("{path} {fields:?}: no #{id}: {}", page.body));
        assert!(text.starts_with(message), "{path} {fields:?}: {text}");
        if *id != "form-error" {
            assert!(page.body.contains(&format!(r#"aria-describedby="{id}""#)), "{path} {fields:?}");
        }
    }
    assert_eq!(footprint(&app, acme).await, before, "nothing written");
}

#[actix_web::test]
async fn adjustments_move_the_balance_either_way_but_never_below_zero() {
    let app = spawn_app().await;
    let ubuntu = org_id(&app, UBUNTU).await;
    let staff = app.signed_in(STAFF).await;
    let path = format!("/admin/organisations/{ubuntu}/adjust");
    let org_page = staff.get(&format!("/admin/organisations/{ubuntu}")).await;
    assert!(org_page.body.contains(&format!(r#"href="{path}""#)), "the organisation page links the form");

    // Ubuntu Freight's wallet is empty: taking anything is refused.
    let before = footprint(&app, ubuntu).await;
    let page = submit(&staff, &path, &path, &[("direction", "out"), ("amount", "0.01"), ("reason", "Fee")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        text_of(&page, "amount-error").as_deref(),
        Some("The balance is R 0.00: an adjustment may not take it below zero.")
    );
    assert!(page.body.contains(r#"<option value="out" selected>"#), "the chosen direction is kept");
    assert_eq!(footprint(&app, ubuntu).await, before);

    let page = submit(&staff, &path, &path, &[("direction", "in"), ("amount", "500.00"), ("reason", "Goodwill")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), format!("/admin/organisations/{ubuntu}"));
    assert!(staff.get(page.location()).await.body.contains("Recorded the adjustment of R 500.00."));
    let page = submit(&staff, &path, &path, &[("direction", "out"), ("amount", "500.01"), ("reason", "Fee")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = submit(&staff, &path, &path, &[("direction", "out"), ("amount", "500.00"), ("reason", "Fee")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "down to exactly zero is fine");
    assert_eq!(balance(&app, ubuntu).await, Decimal::ZERO);

    // The same form twice adjusts once.
    let form = staff.get(&path).await;
    let key = input_value(&form, "idempotency_key");
    let token = form.csrf_token().unwrap();
    let fields = [
        ("direction", "in"),
        ("amount", "75.00"),
        ("reason", "Credit note"),
        ("idempotency_key", &key),
        ("csrf_token", &token),
    ];
    assert_eq!(staff.post_raw(&path, &fields).await.status, StatusCode::SEE_OTHER);
    let again = staff.post_raw(&path, &fields).await;
    assert!(staff.get(again.location()).await.body.contains("This adjustment was already recorded; nothing changed."));
    assert_eq!(balance(&app, ubuntu).await, dec!(75.00));

    let logged = activity(&app, "wallet.adjust").await;
    assert_eq!(logged.len(), 3);
    assert_eq!((logged[1]["direction"].as_i64(), logged[1]["reason"].as_str()), (Some(-1), Some("Fee")));
    let mut conn = app.main_conn().await;
    let rows: Vec<(String, i16, Decimal, String)> = tx::table
        .filter(tx::organisation_id.eq(ubuntu))
        .order(tx::id.asc())
        .select((tx::kind, tx::direction, tx::balance_after, tx::description))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        rows,
        [
            ("adjustment".to_owned(), 1, dec!(500.00), "Goodwill".to_owned()),
            ("adjustment".to_owned(), -1, dec!(0.00), "Fee".to_owned()),
            ("adjustment".to_owned(), 1, dec!(75.00), "Credit note".to_owned()),
        ]
    );
    drop(conn);
    let (ok, report) = wallet_verify(&app);
    assert!(ok, "{report}");
}

#[actix_web::test]
async fn customers_cannot_refund_or_adjust_and_unknown_ids_are_not_found() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let quote = quote_id(&app, ACCEPTED).await;
    let before = footprint(&app, acme).await;
    let customer = app.signed_in(CUSTOMER).await;
    let key = uuid::Uuid::new_v4().to_string();
    let refund = [("amount", "10.00"), ("reason", "Mine"), ("idempotency_key", key.as_str())];
    let adjust = [("direction", "in"), ("amount", "10.00"), ("reason", "Mine"), ("idempotency_key", key.as_str())];
    for path in [format!("/quotes/{quote}/refund"), format!("/admin/organisations/{acme}/adjust")] {
        assert_eq!(customer.get(&path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(customer.post(&format!("/quotes/{quote}/refund"), &refund).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        customer.post(&format!("/admin/organisations/{acme}/adjust"), &adjust).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(!customer.get(&format!("/quotes/{quote}")).await.body.contains("refund-link"));

    let admin = app.signed_in(ADMIN).await;
    assert_eq!(admin.get("/quotes/999999/refund").await.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.get("/admin/organisations/999999/adjust").await.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.post("/quotes/999999/refund", &refund).await.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.post("/admin/organisations/999999/adjust", &adjust).await.status, StatusCode::NOT_FOUND);

    // Without the CSRF token nothing happens.
    let staff = app.signed_in(STAFF).await;
    assert_eq!(staff.post_raw(&format!("/quotes/{quote}/refund"), &refund).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        staff.post_raw(&format!("/admin/organisations/{acme}/adjust"), &adjust).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(footprint(&app, acme).await, before);
}

#[actix_web::test]
async fn verify_names_a_refund_larger_than_its_debit() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let quote = quote_id(&app, ACCEPTED).await;
    assert!(wallet_verify(&app).0);
    // Written behind the application's back: the chain is right, the refund is not.
    let mut conn = app.main_conn().await;
    conn.batch_execute(&format!(
        "BEGIN;
         INSERT INTO wallet_transactions (wallet_id, organisation_id, kind, direction, amount, balance_after, quote_id, description)
         SELECT id, organisation_id, 'refund', 1, 9000.00, balance + 9000.00, {quote}, 'Too generous'
         FROM organisation_wallets WHERE organisation_id = {acme};
         UPDATE organisation_wallets SET balance = balance + 9000.00 WHERE organisation_id = {acme};
         COMMIT;"
    ))
    .await
    .unwrap();
    drop(conn);
    let (ok, report) = wallet_verify(&app);
    assert!(!ok, "{report}");
    assert!(report.contains("1 refunds larger than their quote's debit"), "{report}");
}
