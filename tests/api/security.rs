//! The security round's regression tests (issue 13): each attack that once worked,
//! replayed against the real application.

use reqwest::StatusCode;

use crate::helpers::{CUSTOMER, DEMO_PASSWORD, spawn_app, spawn_app_with};

// ------------------------------------------------------------ 1. open redirect

#[actix_web::test]
async fn sign_in_never_redirects_off_site() {
    let app = spawn_app().await;
    let form = app.browser().get("/login?next=%2F%09%2Fevil.example").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"name="next" value="""#), "the tampered next is dropped: {}", form.body);
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\\evil.example",
        "/..//evil.example",
        "/\r\nSet-Cookie: stolen=1",
        "/%0d%0aSet-Cookie:%20stolen=1\r\n",
        "https://evil.example/",
    ] {
        let browser = app.browser();
        let token = browser.get("/login").await.csrf_token().unwrap();
        let fields = [("email", CUSTOMER), ("password", DEMO_PASSWORD), ("next", next), ("csrf_token", &token)];
        let response = browser.post_raw("/login", &fields).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{next:?}: {}", response.body);
        assert_eq!(response.location(), "/", "{next:?}");
        assert!(response.headers.get("set-cookie").is_some_and(|c| !c.to_str().unwrap().contains("stolen")));
    }
    let browser = app.browser();
    let token = browser.get("/login").await.csrf_token().unwrap();
    let fields =
        [("email", CUSTOMER), ("password", DEMO_PASSWORD), ("next", "/quotes?x=1#top"), ("csrf_token", &token)];
    assert_eq!(browser.post_raw("/login", &fields).await.location(), "/quotes?x=1#top", "a path on the site is kept");
}

// ------------------------------------------------------------ 13. HSTS

#[actix_web::test]
async fn hsts_only_when_the_public_url_is_https() {
    use portal::startup::Shared;
    use rust_decimal::Decimal;
    let hsts = |page: &crate::helpers::Page| {
        page.headers.get("strict-transport-security").map(|v| v.to_str().unwrap().to_owned())
    };
    let https =
        spawn_app_with(Shared::new(Decimal::from(15)).with_public_url(Some("https://portal.example.co.za"))).await;
    let anonymous = https.browser();
    for page in [anonymous.get("/login").await, anonymous.get("/").await, anonymous.get("/healthz").await] {
        assert_eq!(hsts(&page).as_deref(), Some("max-age=31536000; includeSubDomains"));
    }
    let signed_in = https.signed_in(CUSTOMER).await;
    assert_eq!(hsts(&signed_in.get("/wallet").await).as_deref(), Some("max-age=31536000; includeSubDomains"));
    assert_eq!(hsts(&signed_in.get("/no/such/page").await).as_deref(), Some("max-age=31536000; includeSubDomains"));

    let http =
        spawn_app_with(Shared::new(Decimal::from(15)).with_public_url(Some("http://portal.example.co.za"))).await;
    assert_eq!(hsts(&http.browser().get("/login").await), None, "not over plain HTTP");
    let unset = spawn_app().await;
    assert_eq!(hsts(&unset.browser().get("/login").await), None, "not without PORTAL_PUBLIC_URL");
}
