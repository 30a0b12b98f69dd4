//! One door for errors: extractor failures, wrong methods and unknown routes answer the
//! portal's own page with the right status; `HEAD` answers every `GET` route; invented
//! methods cannot grow `/metrics`.

use reqwest::{Method, StatusCode};

use crate::helpers::{CUSTOMER, Page, spawn_app};

/// The portal's styled error page (not the framework's plain text).
fn is_styled(page: &Page) -> bool {
    page.headers["content-type"].to_str().unwrap().starts_with("text/html") && page.body.contains("<h1")
}

#[actix_web::test]
async fn bad_ids_queries_and_bodies_answer_the_styled_page() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;

    let page = customer.get("/quotes/abc").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(is_styled(&page), "{}", page.body);
    assert!(!page.body.contains("can not parse"));

    let page = customer.get("/statements/2026-11?organisation=x").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(is_styled(&page), "{}", page.body);

    let token = customer.csrf_token().await;
    let response = customer
        .client
        .post(format!("{}/quotes/service", customer.base))
        .header("X-CSRF-Token", &token)
        .header("content-type", "application/json")
        .body(r#"{"product_id": 1, "quantity": 1}"#)
        .send()
        .await
        .unwrap();
    let page = crate::helpers::Browser::page(response).await;
    assert_eq!(page.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(is_styled(&page), "{}", page.body);
}

#[actix_web::test]
async fn other_methods_answer_405_with_allow_and_unknown_paths_404() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        let response = customer.client.request(method.clone(), format!("{}/quotes/1", customer.base)).send().await;
        let page = crate::helpers::Browser::page(response.unwrap()).await;
        assert_eq!(page.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(page.headers["allow"], "GET, HEAD");
        assert!(is_styled(&page));
    }
    let page = customer.get("/quotes/1/address").await;
    assert_eq!(page.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(page.headers["allow"], "POST");
    let page = customer.post("/catalog", &[]).await;
    assert_eq!(page.status, StatusCode::METHOD_NOT_ALLOWED);
    let page = customer.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(is_styled(&page));
    // Anonymous: the same answer, never a sign-in redirect or "form expired".
    let response = app.browser().client.put(format!("{}/quotes/1", app.address)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[actix_web::test]
async fn head_answers_every_get_route_without_a_body() {
    let app = spawn_app().await;
    let anonymous = app.browser();
    for path in ["/healthz", "/login"] {
        let response = anonymous.client.head(format!("{}{path}", app.address)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.text().await.unwrap().is_empty());
    }
    let customer = app.signed_in(CUSTOMER).await;
    let response = customer.client.head(format!("{}/catalog", customer.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("content-security-policy"));
    assert!(response.text().await.unwrap().is_empty());
}

#[actix_web::test]
async fn invented_methods_leave_metrics_the_same_size() {
    let app = spawn_app().await;
    let anonymous = app.browser();
    let size = || async { anonymous.get("/metrics").await.body.len() };
    // One of each series first, so that only new label values could grow it.
    let method = Method::from_bytes(b"INVENTED0").unwrap();
    anonymous.client.request(method, format!("{}/quotes/1", app.address)).send().await.unwrap();
    size().await;
    let before = size().await;
    for n in 1..=200 {
        let name = format!("INVENTED{n}{}", "X".repeat(1000));
        let method = Method::from_bytes(name.as_bytes()).unwrap();
        anonymous.client.request(method, format!("{}/quotes/1", app.address)).send().await.unwrap();
    }
    let after = size().await;
    // Counts grow by a digit or two, never by a series.
    assert!(after < before + 64, "{before} → {after}");
}
