//! Deny by default: anonymous visitors are sent to sign in, each role sees only its
//! navigation, a missing permission is a 403, and every response carries the headers.

use std::collections::BTreeSet;

use reqwest::StatusCode;

use crate::helpers::{ADMIN, CUSTOMER, STAFF, spawn_app};

/// Every page of DESIGN.md §6 (ids are examples).
pub(crate) const GET_ROUTES: &[&str] = &[
    "/",
    "/catalog",
    "/catalog/compute",
    "/catalog/vm",
    "/catalog/network",
    "/quotes/new/vm",
    "/quotes/new/network",
    "/quotes",
    "/quotes/1",
    "/quotes/1/accept",
    "/quotes/1/decline",
    "/wallet",
    "/services",
    "/services/1/cancel",
    "/transactions",
    "/transactions.csv",
    "/transactions/totals",
    "/admin/organisations",
    "/admin/organisations/new",
    "/admin/organisations/1",
    "/admin/users",
    "/admin/users/new",
    "/admin/users/1",
    "/admin/roles",
    "/admin/activity",
    "/admin/billing",
    "/admin/pricing",
    "/admin/pricing/products/1",
    "/alerts",
    "/alerts/count",
    "/cards",
    "/ops/vms",
    "/ops/disks",
    "/quotes/1/refund",
    "/admin/organisations/1/adjust",
    "/account/password",
    "/account/second-factor",
    "/invoices",
    "/invoices/1",
    "/invoices/1.pdf",
    "/statements/2026-11",
    "/statements/2026-11.pdf",
    "/wallet.csv",
    "/admin/vat",
    "/admin/vat.csv",
    "/pickers/organisations",
    "/pickers/users",
    "/account/api-keys",
];

const POST_ROUTES: &[&str] = &[
    "/logout",
    "/quotes/vm",
    "/quotes/service",
    "/quotes/network",
    "/quotes/1/accept",
    "/quotes/1/decline",
    "/admin/organisations",
    "/admin/organisations/1",
    "/admin/organisations/1/credit",
    "/admin/users",
    "/admin/users/1",
    "/admin/roles",
    "/admin/pricing/products/1",
    "/alerts/1/read",
    "/alerts/read-all",
    "/wallet/threshold",
    "/cards",
    "/cards/1/default",
    "/cards/1/remove",
    "/quotes/1/refund",
    "/admin/organisations/1/adjust",
    "/services/1/cancel",
    "/admin/billing/run",
    "/account/api-keys",
    "/account/api-keys/1/revoke",
];

#[actix_web::test]
async fn anonymous_visitors_are_sent_to_sign_in_from_every_route() {
    let app = spawn_app().await;
    let browser = app.browser();
    for path in GET_ROUTES {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "GET {path}");
        let expected = format!("/login?next={}", path.replace('/', "%2F"));
        assert_eq!(page.location(), expected, "GET {path}");
    }
    for path in POST_ROUTES {
        let page = browser.post_raw(path, &[("csrf_token", "none")]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "POST {path}");
        assert_eq!(page.location(), "/login", "POST {path}");
    }
    for public in ["/login", "/healthz", "/readyz", "/static/app.css", "/api/docs", "/api/v1/openapi.json"] {
        assert_eq!(browser.get(public).await.status, StatusCode::OK, "{public} is public");
    }
}

#[actix_web::test]
async fn each_role_sees_only_its_navigation() {
    let app = spawn_app().await;
    let nav = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // A customer's few pages are links on the bar.
    let customer = app.signed_in(CUSTOMER).await.get("/").await;
    assert_eq!(customer.nav(), nav(&["Dashboard", "Catalog", "Quotes", "Services", "Wallet", "Invoices", "Cards"]));
    // The operator's people have no wallet, cards or services of their own; their many
    // pages are in menus (a menu of one page is its link).
    let staff = app.signed_in(STAFF).await.get("/").await;
    assert_eq!(
        staff.nav(),
        nav(&[
            "Dashboard",
            "Sell",
            "Catalog",
            "Quotes",
            "Money",
            "Invoices",
            "Transactions",
            "Billing",
            "VAT",
            "Admin",
            "Organisations",
            "Pricing",
            "Operations",
            "VM logs",
            "Disk logs"
        ])
    );
    let admin = app.signed_in(ADMIN).await.get("/").await;
    assert_eq!(
        admin.nav(),
        nav(&[
            "Dashboard",
            "Sell",
            "Catalog",
            "Quotes",
            "Money",
            "Invoices",
            "Transactions",
            "Billing",
            "VAT",
            "Admin",
            "Organisations",
            "Users",
            "Roles",
            "Pricing",
            "Activity",
            "Operations",
            "VM logs",
            "Disk logs"
        ])
    );
    // The alerts are the bell's link, the account's pages in the account menu.
    for page in [&customer, &staff, &admin] {
        let header = page.html();
        for href in ["/alerts", "/account/password", "/account/second-factor"] {
            let link = scraper::Selector::parse(&format!("header a[href='{href}']")).unwrap();
            assert!(header.select(&link).next().is_some(), "a link to {href}");
        }
    }
}

#[actix_web::test]
async fn a_missing_permission_is_refused_with_403() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    for path in [
        "/transactions",
        "/admin/organisations",
        "/admin/users",
        "/admin/roles",
        "/admin/activity",
        "/ops/vms",
        "/ops/disks",
        "/quotes/1/refund",
        "/admin/organisations/1/adjust",
        "/admin/billing",
        "/pickers/organisations",
        "/pickers/users",
    ] {
        let page = customer.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "customer GET {path}");
        assert!(page.body.contains("Not allowed"));
    }
    assert_eq!(customer.get("/wallet").await.status, StatusCode::OK);
    let staff = app.signed_in(STAFF).await;
    assert_eq!(staff.get("/transactions").await.status, StatusCode::OK);
    for path in ["/admin/users", "/admin/roles", "/admin/activity", "/pickers/users"] {
        assert_eq!(staff.get(path).await.status, StatusCode::FORBIDDEN, "staff GET {path}");
    }
    assert_eq!(staff.get("/admin/organisations").await.status, StatusCode::OK, "read only, for top-ups");
    let admin = app.signed_in(ADMIN).await;
    for path in ["/admin/users", "/admin/roles", "/admin/activity", "/transactions"] {
        assert_eq!(admin.get(path).await.status, StatusCode::OK, "admin GET {path}");
    }
}

#[actix_web::test]
async fn unknown_pages_are_a_styled_404() {
    let app = spawn_app().await;
    let page = app.signed_in(CUSTOMER).await.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("Not found"));
    assert!(page.body.contains("/static/app."), "the stylesheet");
}

/// Pages anyone may ask for, outside the lists above.
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/static/{file}"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/login/second-factor"),
    ("POST", "/login/second-factor"),
    ("GET", "/api/docs"),
    ("GET", "/api/v1/openapi.json"),
];

/// Every (method, pattern) `routes::configure` registers.
pub fn routes_in_the_source() -> BTreeSet<(String, String)> {
    portal::routes::TABLE.iter().map(|(method, path)| (method.to_string(), path.to_string())).collect()
}

/// An example path of a list as its route's pattern.
fn pattern(path: &str) -> String {
    let path = path
        .replace("/admin/pricing/products/", "/admin/pricing/{table}/")
        .replace("/catalog/compute", "/catalog/{category_slug}")
        .replace("/invoices/1.pdf", "/invoices/{id}.pdf")
        .replace("/statements/2026-11", "/statements/{month}");
    path.split('/').map(|part| if part.parse::<i64>().is_ok() { "{id}" } else { part }).collect::<Vec<_>>().join("/")
}

#[test]
fn the_route_lists_cover_every_route() {
    let mut listed: BTreeSet<(String, String)> =
        PUBLIC.iter().map(|(method, path)| (method.to_string(), path.to_string())).collect();
    listed.extend(GET_ROUTES.iter().map(|path| ("GET".to_owned(), pattern(path))));
    listed.extend(ALL_POST_ROUTES.iter().map(|path| ("POST".to_owned(), pattern(path))));
    listed.extend(API_ROUTES.iter().map(|(method, path, _)| (method.to_string(), pattern(path))));
    assert_eq!(listed, routes_in_the_source());
}

fn assert_security_headers(what: &str, page: &crate::helpers::Page) {
    let header = |name: &str| page.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let csp = header("content-security-policy");
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{what}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("referrer-policy"), "same-origin", "{what}");
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    if header("content-type").starts_with("text/html") {
        assert_eq!(header("cache-control"), "no-store", "{what}: pages are never cached");
    }
}

#[actix_web::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let anonymous = app.browser();
    let customer = app.signed_in(CUSTOMER).await;
    let admin = app.signed_in(ADMIN).await;
    // Every page, as the admin (200s) and as a customer (200s and 403s).
    for path in GET_ROUTES {
        assert_security_headers(&format!("admin GET {path}"), &admin.get(path).await);
        assert_security_headers(&format!("customer GET {path}"), &customer.get(path).await);
    }
    let pages = vec![
        ("sign-in page", anonymous.get("/login").await),
        ("redirect to sign in", anonymous.get("/").await),
        ("health", anonymous.get("/healthz").await),
        ("static file", anonymous.get("/static/app.css").await),
        ("404", customer.get("/no/such/page").await),
        ("403 for a missing token", customer.post_raw("/logout", &[]).await),
        ("422 form again", customer.post("/wallet/threshold", &[("threshold", "lots")]).await),
        ("303 after a change", customer.post("/alerts/read-all", &[]).await),
    ];
    for (what, page) in pages {
        assert_security_headers(what, &page);
    }
    let cookie = app.browser().get("/login").await;
    let set_cookie = cookie.headers.get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
}

#[actix_web::test]
async fn pages_have_no_inline_script() {
    let app = spawn_app().await;
    let page = app.signed_in(ADMIN).await.get("/").await;
    let html = page.html();
    let scripts = scraper::Selector::parse("script").unwrap();
    for script in html.select(&scripts) {
        assert!(script.value().attr("src").is_some_and(|src| src.starts_with("/static/")));
        assert!(script.text().collect::<String>().trim().is_empty());
    }
    let handlers = ["onclick", "onload", "onerror", "onsubmit"];
    assert!(!handlers.iter().any(|h| page.body.contains(h)));
}

#[actix_web::test]
async fn an_oversized_form_is_refused_with_the_security_headers() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let huge = "x".repeat(2 << 20);
    let page = customer.post_raw("/logout", &[("csrf_token", huge.as_str())]).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(page.headers.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(customer.get("/").await.status, StatusCode::OK, "still signed in: nothing happened");
}

/// Every POST route of the application (ids are examples).
pub(crate) const ALL_POST_ROUTES: &[&str] = &[
    "/logout",
    "/quotes/service",
    "/quotes/vm",
    "/quotes/network",
    "/quotes/1/accept",
    "/quotes/1/decline",
    "/quotes/6/refund",
    "/wallet/threshold",
    "/alerts/read-all",
    "/alerts/1/read",
    "/cards",
    "/cards/1/default",
    "/cards/1/remove",
    "/admin/organisations",
    "/admin/organisations/2",
    "/admin/organisations/2/suspend",
    "/admin/organisations/2/reactivate",
    "/admin/organisations/2/credit",
    "/admin/organisations/2/adjust",
    "/admin/users",
    "/admin/users/4",
    "/admin/users/4/deactivate",
    "/admin/users/4/reactivate",
    "/admin/users/4/unlock",
    "/admin/users/4/reset-password",
    "/admin/users/4/reset-second-factor",
    "/admin/roles",
    "/admin/roles/new",
    "/admin/roles/1/rename",
    "/admin/roles/1/delete",
    "/admin/pricing/products/1",
    "/account/password",
    "/account/second-factor",
    "/account/second-factor/recovery-codes",
    "/account/second-factor/remove",
    "/quotes/1/address",
    "/services/1/cancel",
    "/admin/billing/run",
    "/account/api-keys",
    "/account/api-keys/1/revoke",
];

#[actix_web::test]
async fn every_post_route_refuses_a_missing_or_wrong_csrf_token() {
    let app = spawn_app().await;
    let admin = app.signed_in(ADMIN).await;
    let activity_before = {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        let mut conn = app.main_conn().await;
        portal::db::main::schema::user_activity_log::table.count().get_result::<i64>(&mut conn).await.unwrap()
    };
    for path in ALL_POST_ROUTES {
        let missing = admin.post_raw(path, &[("name", "x")]).await;
        assert_eq!(missing.status, StatusCode::FORBIDDEN, "POST {path} without a token");
        let wrong = admin.post_raw(path, &[("name", "x"), ("csrf_token", "forged")]).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN, "POST {path} with a wrong token");
    }
    let activity_after = {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        let mut conn = app.main_conn().await;
        portal::db::main::schema::user_activity_log::table.count().get_result::<i64>(&mut conn).await.unwrap()
    };
    assert_eq!(activity_before, activity_after, "nothing was done, so nothing was logged");
    assert_eq!(admin.get("/").await.status, StatusCode::OK, "still signed in");
}

/// Every route of the billing API (ids are examples), with the permissions that open it
/// (any one of them). A key acts as its creator, so these are the pages' permissions.
pub(crate) const API_ROUTES: &[(&str, &str, &[&str])] = &[
    ("GET", "/api/v1/wallet", &["wallet.view"]),
    ("GET", "/api/v1/wallet/transactions", &["wallet.view"]),
    ("GET", "/api/v1/quotes", &["quote.create", "quote.accept", "quote.view_all"]),
    ("POST", "/api/v1/quotes", &["quote.create"]),
    ("GET", "/api/v1/quotes/1", &["quote.create", "quote.accept", "quote.view_all"]),
    ("POST", "/api/v1/quotes/1/accept", &["quote.accept"]),
    ("POST", "/api/v1/quotes/1/decline", &["quote.accept"]),
    ("GET", "/api/v1/catalog/products", &["catalog.view"]),
    ("GET", "/api/v1/catalog/vm-templates", &["catalog.view"]),
    ("GET", "/api/v1/catalog/network-offers", &["quote.create"]),
    ("GET", "/api/v1/services", &["wallet.view"]),
    ("POST", "/api/v1/services/1/cancel", &["quote.accept"]),
    ("GET", "/api/v1/invoices", &["wallet.view", "transactions.view_all"]),
    ("GET", "/api/v1/invoices/1", &["wallet.view", "transactions.view_all"]),
    ("GET", "/api/v1/invoices/1.pdf", &["wallet.view", "transactions.view_all"]),
];

/// The API answers 401 in JSON to a request without a key, whatever cookie it carries,
/// and 403 to a key whose user holds none of the route's permissions (here: a user whose
/// only role grants exactly the other permissions).
#[actix_web::test]
async fn every_api_route_needs_a_key_and_its_permission() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use portal::db::main::schema::{api_keys, permissions, role_permissions, roles, users};

    let app = spawn_app().await;
    let browser = app.signed_in(CUSTOMER).await;
    let client = reqwest::Client::new();
    for (method, path, _) in API_ROUTES {
        let url = format!("{}{path}", app.address);
        for cookie in ["", browser.cookie_header().as_str()] {
            let request = match *method {
                "GET" => client.get(&url),
                _ => client.post(&url).header("content-type", "application/json").body("{}"),
            };
            let response = request.header("cookie", cookie).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method} {path} with cookie {cookie:?}");
            let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
            assert_eq!(body["error"]["code"], "unauthenticated", "{method} {path}");
        }
    }
    let api = crate::api_v1::Api::new(&app, &{
        let page = browser.post("/account/api-keys", &[("name", "access")]).await;
        crate::support::text_of(&page, "new-key-value").unwrap()
    });
    let mut conn = app.main_conn().await;
    let customer: i64 =
        roles::table.filter(roles::name.eq("customer")).select(roles::id).first(&mut conn).await.unwrap();
    let all: Vec<(i64, String)> =
        permissions::table.select((permissions::id, permissions::code)).load(&mut conn).await.unwrap();
    drop(conn);
    for (method, path, needs) in API_ROUTES {
        // The customer role gets every permission but these (and those that would ask
        // for a second factor).
        let mut conn = app.main_conn().await;
        diesel::delete(role_permissions::table.filter(role_permissions::role_id.eq(customer)))
            .execute(&mut conn)
            .await
            .unwrap();
        let grants: Vec<_> = all
            .iter()
            .filter(|(_, code)| !needs.contains(&code.as_str()))
            .filter(|(_, code)| {
                !["user.manage", "role.manage", "wallet.credit", "pricing.manage"].contains(&code.as_str())
            })
            .map(|(id, _)| (role_permissions::role_id.eq(customer), role_permissions::permission_id.eq(*id)))
            .collect();
        diesel::insert_into(role_permissions::table).values(&grants).execute(&mut conn).await.unwrap();
        drop(conn);
        let answer = match *method {
            "GET" => api.get(path).await,
            _ => api.post(path, &serde_json::json!({})).await,
        };
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{method} {path} without {needs:?}: {}", answer.body);
        assert_eq!(answer.body["error"]["code"], "forbidden", "{method} {path}");
    }

    // A revoked key, and then a deactivated creator: 401 on every route.
    let mut conn = app.main_conn().await;
    diesel::update(api_keys::table).set(api_keys::revoked_at.eq(diesel::dsl::now)).execute(&mut conn).await.unwrap();
    drop(conn);
    let unrevoked = crate::api_v1::Api::new(&app, &{
        let page = browser.post("/account/api-keys", &[("name", "access 2")]).await;
        crate::support::text_of(&page, "new-key-value").unwrap()
    });
    for (method, path, _) in API_ROUTES {
        let revoked = match *method {
            "GET" => api.get(path).await,
            _ => api.post(path, &serde_json::json!({})).await,
        };
        assert_eq!(revoked.status, StatusCode::UNAUTHORIZED, "{method} {path} with a revoked key");
    }
    let mut conn = app.main_conn().await;
    diesel::update(users::table.filter(users::email.eq(CUSTOMER)))
        .set(users::is_active.eq(false))
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    for (method, path, _) in API_ROUTES {
        let deactivated = match *method {
            "GET" => unrevoked.get(path).await,
            _ => unrevoked.post(path, &serde_json::json!({})).await,
        };
        assert_eq!(deactivated.status, StatusCode::UNAUTHORIZED, "{method} {path} of a deactivated creator");
    }
}
