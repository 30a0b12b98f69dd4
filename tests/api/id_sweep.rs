//! Every route that takes an id refuses another organisation's id. A customer of Ubuntu
//! Freight tries each one with Acme Logistics' ids (its quotes, alert, card and service, and for
//! the operator's pages Acme's organisation, user and role): customer pages answer 404
//! (another organisation's row is not theirs to see), operator pages 403, and nothing of
//! Acme's changes. The operator's staff, who may read every organisation's quotes, still
//! cannot act for one. The list is checked against `src/routes/mod.rs`, so a new route
//! with an id cannot be left out.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::main::schema::{
    api_keys, customer_cards, in_app_alerts, organisations, quotes, roles, services, user_activity_log, users,
    wallet_transactions,
};
use reqwest::StatusCode;

use crate::access::routes_in_the_source;
use crate::helpers::{Browser, CUSTOMER, STAFF, TestApp, spawn_app};
use crate::support::{ACCEPTED, ACME, BONGANI, PENDING, org_id, quote_id, user_id};

/// Every route with an id in its path, as (method, pattern). `{file}` and
/// `{category_slug}` are names anyone may ask for, not ids.
const ID_ROUTES: &[(&str, &str)] = &[
    ("GET", "/quotes/{id}"),
    ("GET", "/quotes/{id}/accept"),
    ("POST", "/quotes/{id}/accept"),
    ("GET", "/quotes/{id}/decline"),
    ("POST", "/quotes/{id}/decline"),
    ("GET", "/quotes/{id}/refund"),
    ("POST", "/quotes/{id}/address"),
    ("GET", "/invoices/{id}"),
    ("GET", "/invoices/{id}.pdf"),
    ("POST", "/quotes/{id}/refund"),
    ("GET", "/services/{id}/cancel"),
    ("POST", "/services/{id}/cancel"),
    ("POST", "/alerts/{id}/read"),
    ("POST", "/cards/{id}/default"),
    ("POST", "/cards/{id}/remove"),
    ("GET", "/admin/organisations/{id}"),
    ("POST", "/admin/organisations/{id}"),
    ("POST", "/admin/organisations/{id}/suspend"),
    ("POST", "/admin/organisations/{id}/reactivate"),
    ("POST", "/admin/organisations/{id}/credit"),
    ("GET", "/admin/organisations/{id}/adjust"),
    ("POST", "/admin/organisations/{id}/adjust"),
    ("GET", "/admin/users/{id}"),
    ("POST", "/admin/users/{id}"),
    ("POST", "/admin/users/{id}/deactivate"),
    ("POST", "/admin/users/{id}/reactivate"),
    ("POST", "/admin/users/{id}/unlock"),
    ("POST", "/admin/users/{id}/reset-password"),
    ("POST", "/admin/users/{id}/reset-second-factor"),
    ("POST", "/admin/roles/{id}/rename"),
    ("POST", "/admin/roles/{id}/delete"),
    ("GET", "/admin/pricing/{table}/{id}"),
    ("POST", "/admin/pricing/{table}/{id}"),
    ("POST", "/account/api-keys/{id}/revoke"),
];

/// The routes with ids that `routes::configure` registers. The API's take a key, not
/// a browser: `api_v1.rs` tries them with another organisation's ids.
fn id_routes_in_the_source() -> BTreeSet<(String, String)> {
    let named = |path: &str| path.contains("{file}") || path.contains("{category_slug}") || path.contains("{month}");
    routes_in_the_source()
        .into_iter()
        .filter(|(_, path)| path.contains('{') && !named(path) && !path.starts_with("/api/"))
        .collect()
}

#[test]
fn the_sweep_lists_every_route_that_takes_an_id() {
    let listed: BTreeSet<(String, String)> = ID_ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(listed, id_routes_in_the_source());
}

/// What a refused request must leave as it was: (status of the two quotes, Acme's ledger
/// rows, the alert's read flag, the card's default flag and existence, the organisation's
/// status, the user's active flag, the role's name, activity rows of the intruder).
type Snapshot = (Vec<String>, i64, bool, Vec<bool>, String, bool, String, i64);

struct AcmeIds {
    org: i64,
    pending: i64,
    accepted: i64,
    alert: i64,
    card: i64,
    user: i64,
    role: i64,
    service: i64,
    /// A key of Acme's customer.
    api_key: i64,
}

async fn acme_ids(app: &TestApp) -> AcmeIds {
    let org = org_id(app, ACME).await;
    let mut conn = app.main_conn().await;
    let alert = in_app_alerts::table
        .filter(in_app_alerts::organisation_id.eq(org))
        .filter(in_app_alerts::is_read.eq(false))
        .select(in_app_alerts::id)
        .first(&mut conn)
        .await
        .unwrap();
    let card = diesel::insert_into(customer_cards::table)
        .values((
            customer_cards::organisation_id.eq(org),
            customer_cards::brand.eq("Visa"),
            customer_cards::last_four.eq("4242"),
            customer_cards::exp_month.eq(12i16),
            customer_cards::exp_year.eq(2099i16),
            customer_cards::holder_name.eq("Thabo Mokoena"),
            customer_cards::gateway_token.eq("tok_acme"),
            customer_cards::is_default.eq(false),
        ))
        .returning(customer_cards::id)
        .get_result(&mut conn)
        .await
        .unwrap();
    let role = roles::table.filter(roles::name.eq("customer")).select(roles::id).first(&mut conn).await.unwrap();
    let service =
        services::table.filter(services::organisation_id.eq(org)).select(services::id).first(&mut conn).await.unwrap();
    let api_key = diesel::insert_into(api_keys::table)
        .values((
            api_keys::user_id.eq(user_id(app, CUSTOMER).await),
            api_keys::name.eq("Acme's key"),
            api_keys::prefix.eq("pk_live_sweep000"),
            api_keys::secret_hash.eq(vec![7u8; 32]),
        ))
        .returning(api_keys::id)
        .get_result(&mut conn)
        .await
        .unwrap();
    drop(conn);
    AcmeIds {
        api_key,
        org,
        pending: quote_id(app, PENDING).await,
        accepted: quote_id(app, ACCEPTED).await,
        alert,
        card,
        user: user_id(app, CUSTOMER).await,
        role,
        service,
    }
}

async fn snapshot(app: &TestApp, ids: &AcmeIds, intruder: i64) -> Snapshot {
    let mut conn = app.main_conn().await;
    let statuses = quotes::table
        .filter(quotes::id.eq_any([ids.pending, ids.accepted]))
        .order(quotes::id.asc())
        .select(quotes::status)
        .load(&mut conn)
        .await
        .unwrap();
    let ledger = wallet_transactions::table
        .filter(wallet_transactions::organisation_id.eq(ids.org))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    let read = in_app_alerts::table.find(ids.alert).select(in_app_alerts::is_read).first(&mut conn).await.unwrap();
    let card = customer_cards::table
        .filter(customer_cards::id.eq(ids.card))
        .select(customer_cards::is_default)
        .load(&mut conn)
        .await
        .unwrap();
    let status = organisations::table.find(ids.org).select(organisations::status).first(&mut conn).await.unwrap();
    let active = users::table.find(ids.user).select(users::is_active).first(&mut conn).await.unwrap();
    let role = roles::table.find(ids.role).select(roles::name).first(&mut conn).await.unwrap();
    let logged = user_activity_log::table
        .filter(user_activity_log::user_id.eq(intruder))
        .filter(user_activity_log::action.not_like("login.%"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    (statuses, ledger, read, card, status, active, role, logged)
}

/// The fields a form on that route would send, so that a refusal is about the id and
/// not about missing input.
fn fields(pattern: &str) -> Vec<(&'static str, &'static str)> {
    if pattern.ends_with("/credit") || pattern.ends_with("/adjust") || pattern.ends_with("/refund") {
        vec![
            ("amount", "100.00"),
            ("reference", "EFT-SWEEP"),
            ("reason", "Sweep"),
            ("direction", "in"),
            ("idempotency_key", "6c1e0b8e-8a57-4c1f-9b3e-2f4b1f0e9a11"),
        ]
    } else if pattern == "/admin/roles/{id}/rename" {
        vec![("name", "intruders")]
    } else if pattern.starts_with("/admin/pricing/") {
        vec![("cost_a", "1"), ("margin_pct", "1"), ("active", "on")]
    } else {
        Vec::new()
    }
}

async fn request(browser: &Browser, method: &str, path: &str, pattern: &str) -> StatusCode {
    match method {
        "GET" => browser.get(path).await.status,
        _ => browser.post(path, &fields(pattern)).await.status,
    }
}

#[actix_web::test]
async fn every_route_refuses_another_organisations_id() {
    let app = spawn_app().await;
    let ids = acme_ids(&app).await;
    let intruder = app.signed_in(BONGANI).await;
    let intruder_id = user_id(&app, BONGANI).await;
    let before = snapshot(&app, &ids, intruder_id).await;

    for (method, pattern) in ID_ROUTES {
        let id = match *pattern {
            p if p.ends_with("/refund") => ids.accepted,
            p if p.starts_with("/quotes/") => ids.pending,
            p if p.starts_with("/alerts/") => ids.alert,
            p if p.starts_with("/services/") => ids.service,
            p if p.starts_with("/cards/") => ids.card,
            p if p.starts_with("/admin/organisations/") => ids.org,
            p if p.starts_with("/admin/users/") => ids.user,
            p if p.starts_with("/admin/roles/") => ids.role,
            // The demo ledger's first document is the tax invoice of Acme's accepted quote.
            p if p.starts_with("/invoices/") => 1,
            p if p.starts_with("/account/api-keys/") => ids.api_key,
            // Prices are the operator's, not an organisation's: a product id.
            _ => 1,
        };
        let path = pattern.replace("{table}", "products").replace("{id}", &id.to_string());
        // Refunds and everything under /admin need an operator's permission.
        let expected = if pattern.starts_with("/admin/") || pattern.ends_with("/refund") {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(request(&intruder, method, &path, pattern).await, expected, "{method} {path}");
    }
    assert_eq!(snapshot(&app, &ids, intruder_id).await, before, "nothing of Acme's changed, nothing was logged");
    let mut conn = app.main_conn().await;
    let cancel_at: Option<chrono::NaiveDate> =
        services::table.find(ids.service).select(services::cancel_at).first(&mut conn).await.unwrap();
    assert_eq!(cancel_at, None, "Acme's service was not cancelled");
    let revoked: Option<chrono::DateTime<chrono::Utc>> =
        api_keys::table.find(ids.api_key).select(api_keys::revoked_at).first(&mut conn).await.unwrap();
    assert_eq!(revoked, None, "Acme's key was not revoked");
    drop(conn);

    // The operator's staff read every organisation's quotes, but act for none of them,
    // and never reach another organisation's alerts or cards.
    let staff = app.signed_in(STAFF).await;
    let staff_id = user_id(&app, STAFF).await;
    let before = snapshot(&app, &ids, staff_id).await;
    assert_eq!(staff.get(&format!("/quotes/{}", ids.pending)).await.status, StatusCode::OK);
    for (path, expected) in [
        (format!("/quotes/{}/accept", ids.pending), StatusCode::FORBIDDEN),
        (format!("/quotes/{}/decline", ids.pending), StatusCode::FORBIDDEN),
        (format!("/alerts/{}/read", ids.alert), StatusCode::NOT_FOUND),
        (format!("/cards/{}/default", ids.card), StatusCode::NOT_FOUND),
        (format!("/cards/{}/remove", ids.card), StatusCode::NOT_FOUND),
        (format!("/services/{}/cancel", ids.service), StatusCode::NOT_FOUND),
    ] {
        assert_eq!(staff.post(&path, &[]).await.status, expected, "staff POST {path}");
    }
    assert_eq!(snapshot(&app, &ids, staff_id).await, before, "staff changed nothing of Acme's");
}
