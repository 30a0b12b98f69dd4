//! Sign-in, sign-out, lock-out, session renewal and CSRF.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::main::schema::{login_throttles, organisations, user_activity_log, users};
use reqwest::StatusCode;

use crate::helpers::{ADMIN, CUSTOMER, DEMO_PASSWORD, TestApp, spawn_app};

async fn actions(app: &TestApp, email: &str) -> Vec<String> {
    let mut conn = app.main_conn().await;
    user_activity_log::table
        .filter(user_activity_log::actor_email.eq(email))
        .order(user_activity_log::id.asc())
        .select(user_activity_log::action)
        .load(&mut conn)
        .await
        .unwrap()
}

#[actix_web::test]
async fn sign_in_lands_on_the_dashboard_and_is_logged() {
    let app = spawn_app().await;
    let browser = app.browser();
    let response = browser.login(CUSTOMER, DEMO_PASSWORD).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), "/");
    let dashboard = browser.get("/").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.body.contains("Welcome, Sipho Ndlovu"), "{}", dashboard.body);
    assert!(dashboard.body.contains("Acme Logistics"));
    assert!(dashboard.body.contains("R 66 381.49"), "the funded demo wallet shows its balance");
    assert_eq!(actions(&app, CUSTOMER).await, ["login.succeeded"]);
    let mut conn = app.main_conn().await;
    let last_login: Option<chrono::DateTime<chrono::Utc>> =
        users::table.filter(users::email.eq(CUSTOMER)).select(users::last_login_at).first(&mut conn).await.unwrap();
    assert!(last_login.is_some());
}

#[actix_web::test]
async fn sign_in_follows_a_safe_next_only() {
    let app = spawn_app().await;
    let browser = app.browser();
    let form = browser.get("/login?next=/wallet").await;
    assert!(form.body.contains(r#"name="next" value="/wallet""#));
    let token = form.csrf_token().unwrap();
    let fields = [("email", CUSTOMER), ("password", DEMO_PASSWORD), ("next", "/wallet"), ("csrf_token", &token)];
    assert_eq!(browser.post_raw("/login", &fields).await.location(), "/wallet");

    let browser = app.browser();
    let token = browser.get("/login").await.csrf_token().unwrap();
    let fields =
        [("email", CUSTOMER), ("password", DEMO_PASSWORD), ("next", "//evil.example/x"), ("csrf_token", &token)];
    assert_eq!(browser.post_raw("/login", &fields).await.location(), "/");
}

#[actix_web::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    let browser = app.browser();
    let wrong = browser.login(CUSTOMER, "not-the-password").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("The email address or password is incorrect."));
    assert!(wrong.body.contains(&format!(r#"value="{CUSTOMER}""#)), "the email is kept");
    let unknown = browser.login("nobody@demo.test", "not-the-password").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.body.contains("The email address or password is incorrect."));
    assert_eq!(browser.get("/").await.status, StatusCode::SEE_OTHER, "still signed out");
    assert_eq!(actions(&app, CUSTOMER).await, ["login.failed"]);
    assert_eq!(actions(&app, "nobody@demo.test").await, ["login.failed"]);
}

#[actix_web::test]
async fn empty_and_malformed_fields_get_messages_next_to_them() {
    let app = spawn_app().await;
    let browser = app.browser();
    let page = browser.login("", "").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains(r#"id="email-error">Enter an email address."#), "{}", page.body);
    assert!(page.body.contains(r#"id="password-error">Enter your password."#));
    let page = browser.login("<script>alert(1)</script>", "x").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!page.body.contains("<script>alert(1)</script>"), "input is escaped");
    assert!(page.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;") || page.body.contains("&lt;script&gt;"));
}

#[actix_web::test]
async fn five_failures_make_the_next_attempts_wait() {
    let app = spawn_app().await;
    let browser = app.browser();
    for attempt in 1..=4 {
        let page = browser.login(ADMIN, "wrong password!").await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "attempt {attempt}");
        assert!(page.body.contains("incorrect"), "attempt {attempt}");
    }
    let fifth = browser.login(ADMIN, "wrong password!").await;
    assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(fifth.body.contains("Too many failed attempts with this email address"), "{}", fifth.body);
    let right = browser.login(ADMIN, DEMO_PASSWORD).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS, "the right password waits too");
    let log = actions(&app, ADMIN).await;
    assert_eq!(log.len(), 6);
    assert!(log.iter().all(|a| a == "login.failed"));

    // Once the wait has passed, the right password works and the count starts again.
    let mut conn = app.main_conn().await;
    diesel::update(login_throttles::table)
        .set(login_throttles::blocked_until.eq(chrono::Utc::now() - chrono::Duration::seconds(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(browser.login(ADMIN, DEMO_PASSWORD).await.status, StatusCode::SEE_OTHER);
    let left: i64 = login_throttles::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(left, 0);
}

#[actix_web::test]
async fn inactive_users_and_suspended_organisations_cannot_sign_in() {
    let app = spawn_app().await;
    let inactive = app.browser().login("riaan@karoo-solar.demo.test", DEMO_PASSWORD).await;
    assert_eq!(inactive.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(inactive.body.contains("This account has been deactivated"));
    let suspended = app.browser().login("musa@highveld-eng.demo.test", DEMO_PASSWORD).await;
    assert_eq!(suspended.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(suspended.body.contains("organisation&#39;s account is suspended") || suspended.body.contains("suspended"));
    assert_eq!(actions(&app, "musa@highveld-eng.demo.test").await, ["login.refused"]);
}

#[actix_web::test]
async fn the_session_ends_on_the_next_request_when_the_user_or_organisation_is_disabled() {
    let app = spawn_app().await;
    let browser = app.signed_in(CUSTOMER).await;
    assert_eq!(browser.get("/").await.status, StatusCode::OK);
    let mut conn = app.main_conn().await;
    diesel::update(organisations::table.filter(organisations::name.eq("Acme Logistics")))
        .set(organisations::status.eq("suspended"))
        .execute(&mut conn)
        .await
        .unwrap();
    let page = browser.get("/").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login?next=%2F");

    let browser = app.signed_in(ADMIN).await;
    diesel::update(users::table.filter(users::email.eq(ADMIN)))
        .set(users::is_active.eq(false))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(browser.get("/").await.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn sign_out_ends_the_session_and_a_copied_cookie_with_it() {
    let app = spawn_app().await;
    let browser = app.signed_in(CUSTOMER).await;
    let captured = browser.cookie_header();
    assert_eq!(app.get_with_cookie("/", &captured).await.status, StatusCode::OK, "the copy works while signed in");
    let response = browser.post("/logout", &[]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), "/login");
    let login = browser.get("/login").await;
    assert!(login.body.contains("You have signed out."));
    assert_eq!(browser.get("/").await.status, StatusCode::SEE_OTHER);
    let replay = app.get_with_cookie("/", &captured).await;
    assert_eq!(replay.status, StatusCode::SEE_OTHER, "a cookie captured before sign-out is refused");
    assert!(actions(&app, CUSTOMER).await.contains(&"logout".to_owned()));
}

#[actix_web::test]
async fn signing_in_renews_the_session_and_its_csrf_token() {
    let app = spawn_app().await;
    let browser = app.browser();
    let form = browser.get("/login").await;
    let anonymous_cookie = browser.cookie_header();
    let anonymous_token = form.csrf_token().unwrap();
    browser
        .post_raw("/login", &[("email", CUSTOMER), ("password", DEMO_PASSWORD), ("csrf_token", &anonymous_token)])
        .await;
    assert_ne!(browser.cookie_header(), anonymous_cookie);
    let token = browser.csrf_token().await;
    assert_ne!(token, anonymous_token);
    // The token from before signing in no longer counts.
    let stale = browser.post_raw("/logout", &[("csrf_token", &anonymous_token)]).await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn every_post_needs_the_csrf_token() {
    let app = spawn_app().await;
    let browser = app.signed_in(CUSTOMER).await;
    let missing = browser.post_raw("/logout", &[]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.body.contains("Form expired"));
    let wrong = browser.post_raw("/logout", &[("csrf_token", "forged")]).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get("/").await.status, StatusCode::OK, "nothing happened: still signed in");
    // htmx sends the token as a header instead.
    let token = browser.csrf_token().await;
    let response =
        browser.client.post(format!("{}/logout", app.address)).header("X-CSRF-Token", token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // The sign-in form is protected too (login CSRF).
    let anonymous = app.browser();
    anonymous.get("/login").await;
    let page = anonymous.post_raw("/login", &[("email", CUSTOMER), ("password", DEMO_PASSWORD)]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}
