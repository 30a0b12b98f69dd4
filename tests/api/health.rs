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
