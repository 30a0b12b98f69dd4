//! `/healthz` and `/readyz`, and what the static files look like.

use reqwest::StatusCode;

use crate::helpers::{TestDatabases, spawn_app};

#[actix_web::test]
async fn healthz_answers_while_the_process_is_up() {
    let app = spawn_app().await;
    let page = app.browser().get("/healthz").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body, "ok\n");
}

#[actix_web::test]
async fn readyz_needs_all_three_databases() {
    let app = spawn_app().await;
    let ready = app.browser().get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.body, "main: ok\naas: ok\nenetworks: ok\n");
    TestDatabases::drop_database(&app.db.names[1]).await;
    let down = app.browser().get("/readyz").await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.body, "main: ok\naas: unavailable\nenetworks: ok\n");
    assert_eq!(app.browser().get("/healthz").await.status, StatusCode::OK);
}

#[actix_web::test]
async fn htmx_is_served_with_its_version_in_the_name() {
    let app = spawn_app().await;
    let page = app.browser().get("/static/htmx-2.0.11.min.js").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(app.browser().get("/static/nope.js").await.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn metrics_count_requests_by_route_pools_and_acceptances() {
    let app = spawn_app().await;
    let customer = app.signed_in(crate::helpers::CUSTOMER).await;
    let poor = app.signed_in("bongani@ubuntu-freight.demo.test").await;
    let edr = {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use portal::db::aas::schema::products;
        let mut conn = app.pools.aas.get().await.unwrap();
        products::table.filter(products::sku.eq("SEC-EDR")).select(products::id).first::<i64>(&mut conn).await.unwrap()
    };
    for browser in [&customer, &poor] {
        let quote = browser.post("/quotes/service", &[("product_id", &edr.to_string()), ("quantity", "1")]).await;
        browser.post(&format!("{}/accept", quote.location()), &[]).await;
    }
    let page = app.browser().get("/metrics").await;
    assert_eq!(page.status, StatusCode::OK, "ops read it without signing in");
    assert!(page.headers["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let body = page.body;
    assert!(body.contains(r#"portal_http_requests_total{method="GET",route="/login",status="2xx"}"#), "{body}");
    assert!(body.contains(
        r#"portal_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/quotes/{id}/accept"} 2"#
    ));
    assert!(!body.contains("route=\"/quotes/1"), "ids never become labels");
    assert!(body.contains(r#"portal_db_pool_max_connections{database="enetworks"} 4"#));
    assert!(body.contains("portal_quote_acceptances_total 1\n"));
    assert!(body.contains("portal_quote_acceptances_refused_insufficient_funds_total 1\n"));
}
