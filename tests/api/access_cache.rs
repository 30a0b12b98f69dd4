//! The per-process copies of sessions and API keys (`portal::auth::cache`): a change
//! written straight to the database, behind the app's back, holds on the very next
//! request; the copies are used; and while the listening connection is away every
//! request asks the database.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use portal::copies::LISTENER_NAME;
use portal::db::main::schema::{api_keys, in_app_alerts, users};
use reqwest::StatusCode;

use crate::helpers::{Browser, CUSTOMER, TestApp, spawn_app};
use crate::support::{ACME, org_id, text_of};

/// An unread alert for the whole of Acme, written with SQL.
async fn alert_acme(app: &TestApp, acme: i64) {
    diesel::insert_into(in_app_alerts::table)
        .values((
            in_app_alerts::organisation_id.eq(acme),
            in_app_alerts::level.eq("info"),
            in_app_alerts::kind.eq("test"),
            in_app_alerts::title.eq("Behind the app's back"),
            in_app_alerts::body.eq("Written with SQL"),
        ))
        .execute(&mut app.main_conn().await)
        .await
        .unwrap();
}

async fn bell(customer: &Browser) -> Option<String> {
    text_of(&customer.get("/catalog").await, "alert-count")
}

/// How many checks this process answered from its copies so far.
async fn answered_from_copies(app: &TestApp) -> u64 {
    let metrics = app.browser().get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    metrics
        .body
        .lines()
        .find(|l| l.starts_with(r#"portal_access_checks_total{answered_by="cache"}"#))
        .and_then(|l| l.rsplit(' ').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// The listening connection's server process, once it is listening.
async fn listener_pid(app: &TestApp) -> Option<i32> {
    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    diesel::sql_query("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()")
        .bind::<Text, _>(LISTENER_NAME)
        .get_result::<Pid>(&mut app.main_conn().await)
        .await
        .optional()
        .unwrap()
        .map(|p| p.pid)
}

async fn wait_for_listener(app: &TestApp, not: Option<i32>) -> i32 {
    let started = Instant::now();
    loop {
        if let Some(pid) = listener_pid(app).await.filter(|pid| Some(*pid) != not) {
            return pid;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the listener did not connect");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn a_change_written_with_sql_holds_on_the_very_next_request() {
    let app = spawn_app().await;
    wait_for_listener(&app, None).await;
    let acme = org_id(&app, ACME).await;
    let customer = app.signed_in(CUSTOMER).await;
    assert_eq!(bell(&customer).await.as_deref(), Some("1"), "the seed's one unread alert");
    let before = answered_from_copies(&app).await;
    // Each alert is committed, then the page asked for at once: the bell must count it.
    for n in 2..=30 {
        alert_acme(&app, acme).await;
        assert_eq!(bell(&customer).await, Some(n.to_string()));
        assert_eq!(bell(&customer).await, Some(n.to_string()), "and again, from the copy");
    }
    assert!(answered_from_copies(&app).await >= before + 29, "the second look each time came from the copy");

    // Deactivated with SQL: the next request is signed out.
    diesel::update(users::table.filter(users::email.eq(CUSTOMER)))
        .set(users::is_active.eq(false))
        .execute(&mut app.main_conn().await)
        .await
        .unwrap();
    let page = customer.get("/catalog").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().starts_with("/login"), "{}", page.location());
}

#[actix_web::test]
async fn a_key_revoked_with_sql_is_refused_on_the_very_next_request() {
    let app = spawn_app().await;
    wait_for_listener(&app, None).await;
    let customer = app.signed_in(CUSTOMER).await;
    let page = customer.post("/account/api-keys", &[("name", "cache")]).await;
    let key = text_of(&page, "new-key-value").expect("the new key");
    let client = reqwest::Client::new();
    let wallet = async || {
        let url = format!("{}/api/v1/wallet", app.address);
        client.get(url).bearer_auth(&key).send().await.unwrap().status()
    };
    for _ in 0..3 {
        assert_eq!(wallet().await, StatusCode::OK);
    }
    diesel::update(api_keys::table.filter(api_keys::name.eq("cache")))
        .set(api_keys::revoked_at.eq(diesel::dsl::now))
        .execute(&mut app.main_conn().await)
        .await
        .unwrap();
    assert_eq!(wallet().await, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn while_the_listener_is_away_every_request_asks_the_database() {
    let app = spawn_app().await;
    let first = wait_for_listener(&app, None).await;
    let acme = org_id(&app, ACME).await;
    let customer = app.signed_in(CUSTOMER).await;
    assert_eq!(bell(&customer).await.as_deref(), Some("1"));
    assert_eq!(bell(&customer).await.as_deref(), Some("1"));

    // The listening connection ends; a change made meanwhile reaches no listener, yet
    // the next page shows it.
    diesel::sql_query("SELECT pg_terminate_backend($1)")
        .bind::<diesel::sql_types::Integer, _>(first)
        .execute(&mut app.main_conn().await)
        .await
        .unwrap();
    alert_acme(&app, acme).await;
    assert_eq!(bell(&customer).await.as_deref(), Some("2"));

    // It comes back on its own, and the copies are used again.
    wait_for_listener(&app, Some(first)).await;
    alert_acme(&app, acme).await;
    assert_eq!(bell(&customer).await.as_deref(), Some("3"));
    // The alert's notification may reach the worker after the copy this page loaded, and
    // drop it at the next fence (harmless: the copy is loaded again); then it stays.
    assert_eq!(bell(&customer).await.as_deref(), Some("3"));
    let before = answered_from_copies(&app).await;
    assert_eq!(bell(&customer).await.as_deref(), Some("3"));
    assert_eq!(answered_from_copies(&app).await, before + 1, "the second look came from the copy");
}

#[actix_web::test]
async fn the_api_wallet_shows_a_top_up_made_elsewhere_on_the_very_next_request() {
    use portal::db::main::wallets;
    let app = spawn_app().await;
    wait_for_listener(&app, None).await;
    let acme = portal::domain::ids::OrganisationId(org_id(&app, ACME).await);
    let customer = app.signed_in(CUSTOMER).await;
    let page = customer.post("/account/api-keys", &[("name", "wallet")]).await;
    let key = text_of(&page, "new-key-value").expect("the new key");
    let client = reqwest::Client::new();
    let balance = async || -> rust_decimal::Decimal {
        let url = format!("{}/api/v1/wallet", app.address);
        let text = client.get(url).bearer_auth(&key).send().await.unwrap().text().await.unwrap();
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        body["balance"].as_str().unwrap().parse().unwrap()
    };
    let mut expected = balance().await;
    assert_eq!(balance().await, expected);
    let before = answered_from_copies(&app).await;
    for n in 0..10 {
        // A top-up as another instance (or an operator's command) makes it.
        let credit = wallets::NewCredit {
            organisation_id: acme,
            amount: rust_decimal::Decimal::from(100),
            reference: "ELSEWHERE",
            description: "Top-up made behind this instance's back",
            idempotency_key: &format!("elsewhere-{n}"),
            created_by: None,
            ip: None,
        };
        wallets::credit(&mut *app.main_conn().await, &credit).await.unwrap();
        expected += rust_decimal::Decimal::from(100);
        assert_eq!(balance().await, expected, "at once");
        assert_eq!(balance().await, expected, "and from the copy");
    }
    assert!(answered_from_copies(&app).await >= before + 10, "the keys were answered from the copies");
}
