//! The money path: VM quotes, acceptance (and its concurrency), decline, expiry,
//! access, and `portal wallet verify` afterwards.

use std::time::Instant;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::future::join_all;
use portal::db::aas::schema::terraform_vm_config as templates;
use portal::db::main::schema::{
    disk_logs, in_app_alerts, quote_lines, quotes, user_activity_log, vm_logs, vm_quotes, wallet_transactions,
};
use reqwest::StatusCode;
use rust_decimal::Decimal;

use crate::helpers::{Browser, CUSTOMER, STAFF, TestApp, spawn_app};
use crate::support::wallet_verify;

const UBUNTU_FREIGHT: &str = "bongani@ubuntu-freight.demo.test";

async fn template_id(app: &TestApp, name: &str) -> i64 {
    let mut conn = app.pools.aas.get().await.unwrap();
    templates::table.filter(templates::name.eq(name)).select(templates::id).first(&mut conn).await.unwrap()
}

async fn balance(app: &TestApp, org: &str) -> Decimal {
    crate::support::balance(app, crate::support::org_id(app, org).await).await
}

async fn amount_due(app: &TestApp, quote: i64) -> Decimal {
    let mut conn = app.main_conn().await;
    quotes::table.find(quote).select(quotes::amount_due).first(&mut conn).await.unwrap()
}

async fn status(app: &TestApp, quote: i64) -> String {
    let mut conn = app.main_conn().await;
    quotes::table.find(quote).select(quotes::status).first(&mut conn).await.unwrap()
}

async fn debits(app: &TestApp, quote: i64) -> i64 {
    let mut conn = app.main_conn().await;
    wallet_transactions::table
        .filter(wallet_transactions::quote_id.eq(quote))
        .filter(wallet_transactions::kind.eq("debit"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

async fn quote_count(app: &TestApp) -> i64 {
    let mut conn = app.main_conn().await;
    quotes::table.count().get_result(&mut conn).await.unwrap()
}

/// Creates a VM quote through the form; returns its id.
async fn create_vm_quote(browser: &Browser, template: i64, count: u32, term: u32) -> i64 {
    let page = browser
        .post(
            "/quotes/vm",
            &[
                ("template_id", &template.to_string()),
                ("count", &count.to_string()),
                ("term_months", &term.to_string()),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    page.location().trim_start_matches("/quotes/").parse().unwrap()
}

#[actix_web::test]
async fn a_customer_quotes_a_vm_accepts_it_and_pays_exactly_the_amount_due() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let catalog = customer.get("/catalog/vm").await;
    assert_eq!(catalog.status, StatusCode::OK);
    assert!(catalog.body.contains("ubuntu-24.04-medium"));
    let template = template_id(&app, "win2022-std-medium").await;

    // The live price panel, as htmx asks for it.
    let panel = customer
        .client
        .get(format!("{}/quotes/new/vm?template_id={template}&count=2&term_months=24", app.address))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(panel.status(), StatusCode::OK);
    let panel = panel.text().await.unwrap();
    assert!(!panel.contains("<html"), "only the fragment");
    assert!(panel.contains("Due on acceptance"));

    let before = balance(&app, "Acme Logistics").await;
    let id = create_vm_quote(&customer, template, 2, 24).await;
    let due = amount_due(&app, id).await;
    let page = customer.get(&format!("/quotes/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&portal::domain::money::format_zar(due)));
    assert!(page.body.contains(&format!(r#"id="balance-after">{}"#, portal::domain::money::format_zar(before - due))));
    assert!(panel.contains(&portal::domain::money::format_zar(due)), "the panel showed the same amount");

    // The snapshot: a monthly line for 2 VMs and a once-off setup line, and the VM spec.
    let mut conn = app.main_conn().await;
    let lines: Vec<(String, i32, Decimal)> = quote_lines::table
        .filter(quote_lines::quote_id.eq(id))
        .order(quote_lines::line_no)
        .select((quote_lines::billing, quote_lines::quantity, quote_lines::amount))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(lines.iter().map(|l| (l.0.as_str(), l.1)).collect::<Vec<_>>(), [("monthly", 2), ("once_off", 2)]);
    let vms: i64 = vm_quotes::table.filter(vm_quotes::quote_id.eq(id)).count().get_result(&mut conn).await.unwrap();
    assert_eq!(vms, 1);

    let accepted = customer.post(&format!("/quotes/{id}/accept"), &[]).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER);
    assert_eq!(accepted.location(), format!("/quotes/{id}"));
    let page = customer.get(&format!("/quotes/{id}")).await;
    assert!(page.body.contains("Quote accepted."), "{}", page.body);
    assert!(page.body.contains(r#"id="quote-status">accepted"#));
    assert_eq!(balance(&app, "Acme Logistics").await, before - due);
    assert_eq!(debits(&app, id).await, 1);

    let wallet = customer.get("/wallet").await;
    assert!(wallet.body.contains(&portal::domain::money::format_zar(-due)), "the debit is on /wallet");
    assert!(wallet.body.contains(&portal::domain::money::format_zar(before - due)));
    let staff = app.signed_in(STAFF).await;
    let history = staff.get("/transactions").await;
    let number: String = quotes::table.find(id).select(quotes::number).first(&mut conn).await.unwrap();
    assert!(history.body.contains(&number), "the debit is on staff /transactions");

    let vm_rows: i64 = vm_logs::table.filter(vm_logs::quote_id.eq(id)).count().get_result(&mut conn).await.unwrap();
    let disk_rows: i64 =
        disk_logs::table.filter(disk_logs::quote_id.eq(id)).count().get_result(&mut conn).await.unwrap();
    assert_eq!((vm_rows, disk_rows), (2, 2), "provisioning requested for each VM and its disk");
    let alert: i64 = in_app_alerts::table
        .filter(in_app_alerts::dedupe_key.eq(format!("quote-accepted:{id}")))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(alert, 1);
    let logged: i64 = user_activity_log::table
        .filter(user_activity_log::action.eq("quote.accept"))
        .filter(user_activity_log::target.eq(format!("quote:{id}")))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(logged, 1);
    assert!(wallet_verify(&app).0);
}

#[actix_web::test]
async fn insufficient_funds_say_how_much_is_missing_and_write_nothing_but_the_activity_row() {
    let app = spawn_app().await;
    let customer = app.signed_in(UBUNTU_FREIGHT).await;
    let template = template_id(&app, "ubuntu-24.04-medium").await;
    let id = create_vm_quote(&customer, template, 1, 12).await;
    let due = amount_due(&app, id).await;
    let page = customer.post(&format!("/quotes/{id}/accept"), &[]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let expected = format!("Insufficient funds: {} short", portal::domain::money::format_zar(due));
    assert!(page.body.contains(&expected), "{}", page.body);
    assert!(page.body.contains(r#"href="/wallet""#), "a way to top up");
    assert_eq!(status(&app, id).await, "pending");
    assert_eq!(debits(&app, id).await, 0);
    let mut conn = app.main_conn().await;
    let alerts: i64 = in_app_alerts::table
        .filter(in_app_alerts::dedupe_key.eq(format!("quote-accepted:{id}")))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(alerts, 0);
    let refused: Vec<serde_json::Value> = user_activity_log::table
        .filter(user_activity_log::action.eq("quote.accept_refused"))
        .select(user_activity_log::detail)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["short"], due.to_string());
}

#[actix_web::test]
async fn a_second_accept_shows_the_accepted_quote_and_changes_nothing() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let template = template_id(&app, "rocky-9-medium").await;
    let id = create_vm_quote(&customer, template, 1, 12).await;
    let before = balance(&app, "Acme Logistics").await;
    assert_eq!(customer.post(&format!("/quotes/{id}/accept"), &[]).await.status, StatusCode::SEE_OTHER);
    let again = customer.post(&format!("/quotes/{id}/accept"), &[]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(customer.get(&format!("/quotes/{id}")).await.body.contains("already accepted; nothing more was debited"));
    assert_eq!(balance(&app, "Acme Logistics").await, before - amount_due(&app, id).await);
    assert_eq!(debits(&app, id).await, 1);
}

#[actix_web::test]
async fn twenty_concurrent_accepts_of_one_quote_debit_it_once() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let template = template_id(&app, "ubuntu-24.04-medium").await;
    let id = create_vm_quote(&customer, template, 3, 36).await;
    let before = balance(&app, "Acme Logistics").await;
    let token = customer.csrf_token().await;
    let path = format!("/quotes/{id}/accept");
    let started = Instant::now();
    let fields = [("csrf_token", token.as_str())];
    let answers = join_all((0..20).map(|_| customer.post_raw(&path, &fields))).await;
    let elapsed = started.elapsed();
    eprintln!("20 concurrent accepts of one quote in {elapsed:?} ({:.0}/s)", 20.0 / elapsed.as_secs_f64());
    assert!(answers.iter().all(|a| a.status == StatusCode::SEE_OTHER), "every answer is the accepted quote");
    assert_eq!(debits(&app, id).await, 1);
    assert_eq!(balance(&app, "Acme Logistics").await, before - amount_due(&app, id).await);
    let (ok, report) = wallet_verify(&app);
    assert!(ok, "{report}");
}

#[actix_web::test]
async fn concurrent_accepts_beyond_the_balance_never_overdraw() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let template = template_id(&app, "win2022-sql-large").await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(create_vm_quote(&customer, template, 2, 12).await);
    }
    let before = balance(&app, "Acme Logistics").await;
    let mut total = Decimal::ZERO;
    for id in &ids {
        total += amount_due(&app, *id).await;
    }
    assert!(total > before, "the quotes together cost more than the wallet holds ({total} > {before})");
    let token = customer.csrf_token().await;
    let paths: Vec<String> = ids.iter().map(|id| format!("/quotes/{id}/accept")).collect();
    let started = Instant::now();
    let fields = [("csrf_token", token.as_str())];
    let answers = join_all(paths.iter().map(|p| customer.post_raw(p, &fields))).await;
    let elapsed = started.elapsed();
    eprintln!("10 concurrent accepts of different quotes in {elapsed:?} ({:.0}/s)", 10.0 / elapsed.as_secs_f64());

    let mut spent = Decimal::ZERO;
    for (id, answer) in ids.iter().zip(&answers) {
        match status(&app, *id).await.as_str() {
            "accepted" => {
                assert_eq!(answer.status, StatusCode::SEE_OTHER);
                assert_eq!(debits(&app, *id).await, 1);
                spent += amount_due(&app, *id).await;
            }
            "pending" => {
                assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
                assert!(answer.body.contains("Insufficient funds"));
                assert_eq!(debits(&app, *id).await, 0);
            }
            other => panic!("quote {id} is {other}"),
        }
    }
    let after = balance(&app, "Acme Logistics").await;
    assert!(after >= Decimal::ZERO);
    assert_eq!(after, before - spent);
    assert!(spent > Decimal::ZERO, "some were accepted");
    let (ok, report) = wallet_verify(&app);
    assert!(ok, "{report}");
    assert!(report.contains("11 wallets checked, 0 failed."), "{report}");
    eprintln!("portal wallet verify after the concurrent accepts:\n{report}");
}

#[actix_web::test]
async fn expired_quotes_show_as_expired_and_cannot_be_accepted() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    // Q-2026-000001 is still 'pending' in the table, but its validity has passed.
    let id = crate::support::quote_id(&app, "Q-2026-000001").await;
    let list = customer.get("/quotes").await;
    let row = list.body.split("Q-2026-000001").nth(1).unwrap().split("</tr>").next().unwrap().to_owned();
    assert!(row.contains("badge-expired"), "{row}");
    let page = customer.get(&format!("/quotes/{id}")).await;
    assert!(page.body.contains(r#"id="quote-status">expired"#));
    assert!(!page.body.contains(r#"id="accept""#), "no accept button");
    let before = balance(&app, "Acme Logistics").await;
    let refused = customer.post(&format!("/quotes/{id}/accept"), &[]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("This quote has expired"));
    assert_eq!(balance(&app, "Acme Logistics").await, before);
}

#[actix_web::test]
async fn a_declined_quote_cannot_be_accepted() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let template = template_id(&app, "ubuntu-24.04-medium").await;
    let id = create_vm_quote(&customer, template, 1, 12).await;
    assert_eq!(customer.post(&format!("/quotes/{id}/decline"), &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(status(&app, id).await, "declined");
    let refused = customer.post(&format!("/quotes/{id}/accept"), &[]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("This quote is declined"));
    assert_eq!(debits(&app, id).await, 0);
    let mut conn = app.main_conn().await;
    let logged: i64 = user_activity_log::table
        .filter(user_activity_log::action.eq("quote.decline"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(logged, 1);
}

#[actix_web::test]
async fn another_organisations_quote_is_not_found_and_staff_cannot_accept_it() {
    let app = spawn_app().await;
    let acme = app.signed_in(CUSTOMER).await;
    let template = template_id(&app, "ubuntu-24.04-medium").await;
    let id = create_vm_quote(&acme, template, 1, 12).await;
    let other = app.signed_in(UBUNTU_FREIGHT).await;
    assert_eq!(other.get(&format!("/quotes/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(other.post(&format!("/quotes/{id}/accept"), &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(other.post(&format!("/quotes/{id}/decline"), &[]).await.status, StatusCode::NOT_FOUND);
    assert!(!other.get("/quotes").await.body.contains(&format!("/quotes/{id}\"")), "not in their list");
    let staff = app.signed_in(STAFF).await;
    assert_eq!(staff.get(&format!("/quotes/{id}")).await.status, StatusCode::OK, "staff see every quote");
    assert_eq!(staff.post(&format!("/quotes/{id}/accept"), &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(other.get("/quotes/999999").await.status, StatusCode::NOT_FOUND);
    assert_eq!(status(&app, id).await, "pending");
    assert_eq!(debits(&app, id).await, 0);
}

#[actix_web::test]
async fn accepting_needs_the_permission_and_the_csrf_token() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let template = template_id(&app, "ubuntu-24.04-medium").await;
    let id = create_vm_quote(&customer, template, 1, 12).await;
    let missing = customer.post_raw(&format!("/quotes/{id}/accept"), &[]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert_eq!(debits(&app, id).await, 0);

    // Take quote.accept away from the customer role: the next request is refused.
    let mut conn = app.main_conn().await;
    diesel::sql_query(
        "DELETE FROM role_permissions WHERE role_id = (SELECT id FROM roles WHERE name = 'customer')
           AND permission_id = (SELECT id FROM permissions WHERE code = 'quote.accept')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(customer.post(&format!("/quotes/{id}/accept"), &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(customer.post(&format!("/quotes/{id}/decline"), &[]).await.status, StatusCode::FORBIDDEN);
    let page = customer.get(&format!("/quotes/{id}")).await;
    assert!(!page.body.contains(r#"id="accept""#), "no button without the permission");
    assert_eq!(status(&app, id).await, "pending");
}

#[actix_web::test]
async fn bad_vm_quote_input_gets_a_message_and_writes_nothing() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let template = template_id(&app, "ubuntu-24.04-medium").await.to_string();
    let inactive: i64 = {
        let mut conn = app.pools.aas.get().await.unwrap();
        templates::table.filter(templates::active.eq(false)).select(templates::id).first(&mut conn).await.unwrap()
    };
    let inactive = inactive.to_string();
    let long = "x".repeat(5000);
    let script = "<script>alert(1)</script>";
    let before = quote_count(&app).await;
    // (form fields, id of the message's element, words of the message)
    type Case<'a> = ([(&'a str, &'a str); 3], &'a str, &'a str);
    let cases: Vec<Case> = vec![
        ([("template_id", ""), ("count", "1"), ("term_months", "12")], "template_id-error", "Choose a VM template"),
        (
            [("template_id", "999999"), ("count", "1"), ("term_months", "12")],
            "template_id-error",
            "Choose a VM template",
        ),
        (
            [("template_id", &inactive), ("count", "1"), ("term_months", "12")],
            "template_id-error",
            "Choose a VM template",
        ),
        ([("template_id", &long), ("count", "1"), ("term_months", "12")], "template_id-error", "Choose a VM template"),
        ([("template_id", script), ("count", "1"), ("term_months", "12")], "template_id-error", "Choose a VM template"),
        ([("template_id", &template), ("count", ""), ("term_months", "12")], "count-error", "Enter how many VMs"),
        ([("template_id", &template), ("count", "0"), ("term_months", "12")], "count-error", "between 1 and 50"),
        ([("template_id", &template), ("count", "-3"), ("term_months", "12")], "count-error", "between 1 and 50"),
        (
            [("template_id", &template), ("count", "100000000000000000000"), ("term_months", "12")],
            "count-error",
            "whole number",
        ),
        ([("template_id", &template), ("count", "two"), ("term_months", "12")], "count-error", "whole number"),
        ([("template_id", &template), ("count", script), ("term_months", "12")], "count-error", "whole number"),
        ([("template_id", &template), ("count", "1"), ("term_months", "7")], "term_months-error", "12, 24 or 36"),
        ([("template_id", &template), ("count", "1"), ("term_months", "")], "term_months-error", "12, 24 or 36"),
    ];
    for (fields, error_id, message) in cases {
        let page = customer.post("/quotes/vm", &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(page.body.contains(&format!(r#"id="{error_id}""#)), "{fields:?}");
        assert!(page.body.contains(message), "{fields:?}: {message}");
        assert!(!page.body.contains(script), "input is escaped");
        if fields[1].1 == script {
            assert!(
                page.body.contains("&#60;script&#62;") || page.body.contains("&lt;script&gt;"),
                "the count is kept"
            );
        }
    }
    assert_eq!(quote_count(&app).await, before, "nothing written");
    // The no-JavaScript "Update price" button shows the price and writes nothing.
    let fields = [("template_id", template.as_str()), ("count", "2"), ("term_months", "12"), ("action", "preview")];
    let preview = customer.post("/quotes/vm", &fields).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(preview.body.contains(r#"id="price-due">R "#));
    assert_eq!(quote_count(&app).await, before);
}

#[actix_web::test]
async fn accepting_and_declining_ask_first_and_say_what_happens() {
    use crate::support::{ACME, BONGANI, PENDING, insert_quote, org_id, quote_id, text_of};
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let pending = quote_id(&app, PENDING).await;
    let quote_page = customer.get(&format!("/quotes/{pending}")).await;
    assert!(
        quote_page.body.contains(&format!("href=\"/quotes/{pending}/accept\"")),
        "Accept leads to the confirmation"
    );
    let page = customer.get(&format!("/quotes/{pending}/accept")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(text_of(&page, "confirm-amount").is_some() && text_of(&page, "confirm-balance-after").is_some());
    assert!(page.body.contains(&format!("action=\"/quotes/{pending}/accept\"")));
    let decline = customer.get(&format!("/quotes/{pending}/decline")).await;
    assert!(decline.body.contains(&format!("action=\"/quotes/{pending}/decline\"")));

    // A short wallet: the button is disabled and says by how much, with a way to top up.
    let acme = org_id(&app, ACME).await;
    let (big, _) = insert_quote(
        &app,
        acme,
        rust_decimal_macros::dec!(900000.00),
        rust_decimal::Decimal::ZERO,
        chrono::Duration::days(3),
    )
    .await;
    let short = customer.get(&format!("/quotes/{big}/accept")).await;
    assert!(text_of(&short, "confirm-short").unwrap().contains("short"));
    assert!(short.body.contains("disabled id=\"confirm-accept\""));

    // Not allowed: another organisation's quote, even for staff who may read it.
    let bongani = app.signed_in(BONGANI).await;
    assert_eq!(bongani.get(&format!("/quotes/{pending}/accept")).await.status, StatusCode::NOT_FOUND);
    let staff = app.signed_in(STAFF).await;
    assert_eq!(staff.get(&format!("/quotes/{pending}/decline")).await.status, StatusCode::NOT_FOUND);
    // Nothing to confirm for an accepted quote: back to the quote.
    let accepted = quote_id(&app, crate::support::ACCEPTED).await;
    assert_eq!(customer.get(&format!("/quotes/{accepted}/accept")).await.location(), format!("/quotes/{accepted}"));
}
