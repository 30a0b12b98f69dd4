//! Bytes on the wire: pages, CSS, JavaScript and CSV are gzipped for clients that accept
//! it (small bodies are not); static files have content-hashed names kept for a year,
//! ETags and 304s.

use std::io::Read as _;

use reqwest::StatusCode;

use crate::helpers::{Browser, CUSTOMER, STAFF, spawn_app};

async fn fetch(browser: &Browser, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = browser.client.get(format!("{}{path}", browser.base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut text).unwrap();
    text
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[actix_web::test]
async fn pages_and_exports_are_gzipped_when_the_client_accepts_it() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let plain = fetch(&customer, "/catalog", &[]).await;
    assert_eq!(header(&plain, "content-encoding"), "");
    let plain_len = plain.bytes().await.unwrap().len();

    let zipped = fetch(&customer, "/catalog", &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(zipped.status(), StatusCode::OK);
    assert_eq!(header(&zipped, "content-encoding"), "gzip");
    assert!(header(&zipped, "vary").to_ascii_lowercase().contains("accept-encoding"));
    assert!(header(&zipped, "content-security-policy").contains("default-src"), "the security headers stay");
    let bytes = zipped.bytes().await.unwrap();
    assert!(bytes.len() * 3 < plain_len, "{} gzipped of {plain_len}", bytes.len());
    assert!(gunzip(&bytes).contains("</html>"));

    let staff = app.signed_in(STAFF).await;
    let csv = fetch(&staff, "/transactions.csv", &[("accept-encoding", "gzip")]).await;
    assert_eq!(header(&csv, "content-encoding"), "gzip");
    assert!(gunzip(&csv.bytes().await.unwrap()).starts_with("id,created_at"));

    // Small bodies go as they are.
    let health = fetch(&customer, "/healthz", &[("accept-encoding", "gzip")]).await;
    assert_eq!(header(&health, "content-encoding"), "");
    assert_eq!(health.status(), StatusCode::OK);
}

#[actix_web::test]
async fn static_files_have_hashed_names_etags_and_precompressed_bodies() {
    let app = spawn_app().await;
    let browser = app.browser();
    let page = browser.get("/login").await;
    let html = page.html();
    let selector = scraper::Selector::parse("script[src]").unwrap();
    let htmx = html.select(&selector).next().unwrap().value().attr("src").unwrap().to_owned();
    assert!(
        htmx.starts_with("/static/htmx-2.0.11.min.") && htmx.ends_with(".js") && htmx != "/static/htmx-2.0.11.min.js"
    );

    let first = fetch(&browser, &htmx, &[("accept-encoding", "gzip")]).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(header(&first, "cache-control"), "public, max-age=31536000, immutable");
    assert_eq!(header(&first, "content-encoding"), "gzip");
    let etag = header(&first, "etag");
    assert!(etag.starts_with('"'));
    let zipped = first.bytes().await.unwrap();
    assert!(zipped.len() < 20_000, "{} bytes", zipped.len());
    assert!(gunzip(&zipped).contains("htmx"));

    let again = fetch(&browser, &htmx, &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.unwrap().is_empty());
    let refused = fetch(&browser, &htmx, &[("accept-encoding", "gzip;q=0")]).await;
    assert_eq!(header(&refused, "content-encoding"), "");

    // The plain name still answers (old links), for an hour.
    let plain = fetch(&browser, "/static/app.css", &[]).await;
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(header(&plain, "cache-control"), "public, max-age=3600");
    assert_eq!(fetch(&browser, "/static/app.0000000000.css", &[]).await.status(), StatusCode::NOT_FOUND);
}
