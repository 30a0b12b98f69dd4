//! The second factor (DESIGN.md §12): the sign-in's second step, codes good once and
//! throttled like passwords, enrolment held before anything else for those who must,
//! recovery codes, turning it off, and an administrator's reset.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::main::schema::{recovery_codes, users};
use reqwest::StatusCode;

use crate::admin_helpers::{flash_after, logged};
use crate::helpers::{
    ADMIN, Browser, CUSTOMER, DEMO_PASSWORD, DEMO_TOTP_SECRET, SECOND_STEP, STAFF, TestApp, current_code, spawn_app,
};
use crate::support::{text_of, user_id};

const LERATO: &str = "lerato@kopano.demo.test";

/// Signs in with the password only: the browser waits at the second step.
async fn at_second_step(app: &TestApp, email: &str) -> Browser {
    let browser = app.browser();
    let page = browser.login(email, DEMO_PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), SECOND_STEP);
    browser
}

async fn code(browser: &Browser, code: &str) -> crate::helpers::Page {
    browser.post(SECOND_STEP, &[("code", code)]).await
}

/// A code `ahead` seconds from now (the next step is within the allowed skew).
fn code_in(secret: &str, ahead: u64) -> String {
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    portal::domain::second_factor::code_at(secret, now + ahead).unwrap()
}

async fn forget_last_step(app: &TestApp, email: &str) {
    diesel::update(users::table.filter(users::email.eq(email)))
        .set(users::totp_last_step.eq(None::<i64>))
        .execute(&mut app.main_conn().await)
        .await
        .unwrap();
}

#[actix_web::test]
async fn an_enrolled_admin_signs_in_with_a_code_after_the_password() {
    let app = spawn_app().await;
    let browser = at_second_step(&app, ADMIN).await;
    // Nobody is signed in yet.
    assert_eq!(browser.get("/").await.location(), "/login?next=%2F");
    let form = browser.get(SECOND_STEP).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("name=\"code\""));

    let malformed = code(&browser, "12ab").await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&malformed, "code-error").unwrap().contains("6-digit code"), "{}", malformed.body);
    let wrong = code(&browser, if current_code(DEMO_TOTP_SECRET) == "123456" { "654321" } else { "123456" }).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&wrong, "code-error").unwrap().contains("wrong or has been used"));

    let right = code(&browser, &current_code(DEMO_TOTP_SECRET)).await;
    assert_eq!(right.status, StatusCode::SEE_OTHER, "{}", right.body);
    assert_eq!(right.location(), "/");
    assert_eq!(browser.get("/").await.status, StatusCode::OK);
    let succeeded = logged(&app, "login.succeeded").await;
    assert_eq!(succeeded.last().unwrap()["second_factor"], "authenticator");
    let failed = logged(&app, "login.failed").await;
    assert_eq!(failed.last().unwrap()["reason"], "wrong second-factor code");
}

#[actix_web::test]
async fn the_page_asked_for_before_signing_in_survives_the_second_step() {
    let app = spawn_app().await;
    let browser = app.browser();
    let form = browser.get("/login?next=%2Ftransactions").await;
    let token = form.csrf_token().unwrap();
    let page = browser
        .post_raw(
            "/login",
            &[("email", STAFF), ("password", DEMO_PASSWORD), ("next", "/transactions"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(page.location(), SECOND_STEP);
    assert_eq!(code(&browser, &current_code(DEMO_TOTP_SECRET)).await.location(), "/transactions");
}

#[actix_web::test]
async fn a_code_is_good_for_one_sign_in_even_within_its_30_seconds() {
    let app = spawn_app().await;
    let now = current_code(DEMO_TOTP_SECRET);
    let first = at_second_step(&app, ADMIN).await;
    assert_eq!(code(&first, &now).await.status, StatusCode::SEE_OTHER);
    let second = at_second_step(&app, ADMIN).await;
    let replay = code(&second, &now).await;
    assert_eq!(replay.status, StatusCode::UNPROCESSABLE_ENTITY, "a replayed code");

    // Two sign-ins racing with one fresh code: exactly one gets in.
    forget_last_step(&app, ADMIN).await;
    let (a, b) = (at_second_step(&app, ADMIN).await, at_second_step(&app, ADMIN).await);
    let (token_a, token_b) = (a.csrf_token().await, b.csrf_token().await);
    let fresh = current_code(DEMO_TOTP_SECRET);
    let form_a = [("code", fresh.as_str()), ("csrf_token", token_a.as_str())];
    let form_b = [("code", fresh.as_str()), ("csrf_token", token_b.as_str())];
    let (ra, rb) = tokio::join!(a.post_raw(SECOND_STEP, &form_a), b.post_raw(SECOND_STEP, &form_b));
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::SEE_OTHER, StatusCode::UNPROCESSABLE_ENTITY]);
}

#[actix_web::test]
async fn wrong_codes_wait_like_wrong_passwords_from_any_address() {
    let app = spawn_app().await;
    let browser = at_second_step(&app, ADMIN).await;
    let wrong = if current_code(DEMO_TOTP_SECRET) == "000000" { "111111" } else { "000000" };
    for _ in 1..portal::db::main::login_throttle::FREE_FAILURES {
        assert_eq!(code(&browser, wrong).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let last_free = code(&browser, wrong).await;
    assert_eq!(last_free.status, StatusCode::TOO_MANY_REQUESTS, "the fifth failure makes the next attempt wait");
    assert!(last_free.headers.contains_key("retry-after"));
    // Now even the right code waits, and from another address too: only someone who
    // knows the password reaches this step, so the count is the account's.
    let right = code(&browser, &current_code(DEMO_TOTP_SECRET)).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    let elsewhere = app.browser_at("127.0.0.2".parse().unwrap());
    elsewhere.login(ADMIN, DEMO_PASSWORD).await;
    let page = code(&elsewhere, &current_code(DEMO_TOTP_SECRET)).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(text_of(&page, "code-error").unwrap().contains("Too many failed attempts"));
    assert_eq!(elsewhere.get("/").await.status, StatusCode::SEE_OTHER, "not signed in");
}

#[actix_web::test]
async fn the_second_step_needs_its_pending_sign_in_and_a_csrf_token() {
    let app = spawn_app().await;
    let nobody = app.browser();
    assert_eq!(nobody.get(SECOND_STEP).await.location(), "/login");
    let posted = code(&nobody, &current_code(DEMO_TOTP_SECRET)).await;
    assert_eq!(posted.location(), "/login", "no password step, no second step");
    assert_eq!(nobody.get("/").await.status, StatusCode::SEE_OTHER);

    let browser = at_second_step(&app, ADMIN).await;
    let forged = browser.post_raw(SECOND_STEP, &[("code", &current_code(DEMO_TOTP_SECRET))]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "no CSRF token");

    // Signed out everywhere between the two steps: the code no longer signs in.
    diesel::update(users::table.filter(users::email.eq(ADMIN)))
        .set(users::session_version.eq(users::session_version + 1))
        .execute(&mut app.main_conn().await)
        .await
        .unwrap();
    let page = code(&browser, &current_code(DEMO_TOTP_SECRET)).await;
    assert_eq!(page.location(), "/login");
    assert_eq!(browser.get("/").await.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn staff_without_a_second_factor_set_one_up_before_anything_else() {
    let app = spawn_app().await;
    let lerato = app.signed_in(LERATO).await;
    for path in ["/", "/wallet", "/transactions", "/account/password"] {
        assert_eq!(lerato.get(path).await.location(), "/account/second-factor", "GET {path}");
    }
    let refused = lerato.post("/wallet/threshold", &[("threshold", "100")]).await;
    assert_eq!(refused.location(), "/account/second-factor", "and every POST");
    let page = lerato.get("/account/second-factor").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<svg"), "an inline QR code");
    let secret = text_of(&page, "totp-secret").unwrap();

    // A wrong code: the same key again, and a message by the field.
    let wrong = lerato.post("/account/second-factor", &[("code", "123")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&wrong, "code-error").unwrap().contains("6-digit code"));
    assert_eq!(text_of(&wrong, "totp-secret").unwrap(), secret, "the app set up from the first key still works");
    let plain = secret.replace(' ', "");
    let stale = code_in(&plain, 300);
    let mismatch = lerato.post("/account/second-factor", &[("code", &stale)]).await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&mismatch, "code-error").unwrap().contains("does not match"));

    let (enrolled, codes) = app.enrol(&lerato).await;
    assert_eq!(enrolled, plain);
    assert_eq!(codes.len(), 10);
    assert_eq!(lerato.get("/").await.status, StatusCode::OK, "free to go on");
    let stored: Vec<Vec<u8>> = recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id(&app, LERATO).await))
        .select(recovery_codes::code_hash)
        .load(&mut app.main_conn().await)
        .await
        .unwrap();
    assert_eq!(stored.len(), 10);
    assert!(stored.iter().all(|h| h.len() == 32 && !codes.iter().any(|c| c.as_bytes() == h.as_slice())), "hashed");
    assert_eq!(logged(&app, "second_factor.enrolled").await.len(), 1);
}

#[actix_web::test]
async fn recovery_codes_sign_in_once_and_can_be_renewed() {
    let app = spawn_app().await;
    // Customers may enrol too.
    let customer = app.signed_in(CUSTOMER).await;
    let (_, codes) = app.enrol(&customer).await;
    customer.post("/logout", &[]).await;

    let browser = at_second_step(&app, CUSTOMER).await;
    let used = code(&browser, &codes[0].to_lowercase().replace('-', " ")).await;
    assert_eq!(used.status, StatusCode::SEE_OTHER, "a recovery code in any case and spacing: {}", used.body);
    assert!(flash_after(&browser, &used).await.contains("recovery code; 9 left"));
    browser.post("/logout", &[]).await;
    let again = at_second_step(&app, CUSTOMER).await;
    assert_eq!(code(&again, &codes[0]).await.status, StatusCode::UNPROCESSABLE_ENTITY, "spent");
    assert_eq!(code(&again, &codes[1]).await.status, StatusCode::SEE_OTHER);
    let status = again.get("/account/second-factor").await;
    assert!(text_of(&status, "recovery-codes-left").unwrap().starts_with("8 unused"));

    // New codes need a code; the old ones stop working.
    let wrong = again.post("/account/second-factor/recovery-codes", &[("code", "999999")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&wrong, "renew-code-error").is_some());
    let renewed = again.post("/account/second-factor/recovery-codes", &[("code", &codes[2])]).await;
    assert_eq!(renewed.status, StatusCode::OK);
    assert_eq!(renewed.html().select(&scraper::Selector::parse("#recovery-codes code").unwrap()).count(), 10);
    again.post("/logout", &[]).await;
    let last = at_second_step(&app, CUSTOMER).await;
    assert_eq!(code(&last, &codes[3]).await.status, StatusCode::UNPROCESSABLE_ENTITY, "replaced");
    assert_eq!(logged(&app, "second_factor.recovery_codes_renewed").await.len(), 1);
}

#[actix_web::test]
async fn customers_may_turn_it_off_and_those_who_must_have_it_may_not() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let (_, codes) = app.enrol(&customer).await;
    let wrong = customer.post("/account/second-factor/remove", &[("code", "")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&wrong, "remove-code-error").is_some());
    let off = customer.post("/account/second-factor/remove", &[("code", &codes[0])]).await;
    assert!(flash_after(&customer, &off).await.contains("second factor is off"));
    assert_eq!(app.browser().login(CUSTOMER, DEMO_PASSWORD).await.location(), "/", "the password alone again");
    assert_eq!(logged(&app, "second_factor.removed").await.len(), 1);

    let admin = app.signed_in(ADMIN).await;
    let kept = admin.post("/account/second-factor/remove", &[("code", &current_code(DEMO_TOTP_SECRET))]).await;
    assert_eq!(kept.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&kept, "remove-code-error").unwrap().contains("roles require"));
    assert_eq!(at_second_step(&app, ADMIN).await.get("/").await.status, StatusCode::SEE_OTHER, "still asked");
}

#[actix_web::test]
async fn an_admin_resets_another_users_second_factor() {
    let app = spawn_app().await;
    let staff = app.signed_in(STAFF).await;
    let staff_id = user_id(&app, STAFF).await;
    let path = format!("/admin/users/{staff_id}/reset-second-factor");

    // Not allowed: a customer, and staff without user.manage.
    let customer = app.signed_in(CUSTOMER).await;
    assert_eq!(customer.post(&path, &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(staff.post(&path, &[]).await.status, StatusCode::FORBIDDEN);

    let admin = app.signed_in(ADMIN).await;
    let page = admin.get(&format!("/admin/users/{staff_id}")).await;
    assert!(text_of(&page, "second-factor").unwrap().starts_with("Second factor set up"));
    let reset = admin.post(&path, &[]).await;
    assert!(flash_after(&admin, &reset).await.contains("Second factor reset"));
    assert_eq!(staff.get("/").await.status, StatusCode::SEE_OTHER, "their sessions ended");
    let log = logged(&app, "user.second_factor_reset").await;
    assert_eq!(log.len(), 1);
    assert!(log[0]["before"]["enrolled_at"].is_string());

    // They sign in with the password and set it up again before anything else.
    let again = app.browser();
    assert_eq!(again.login(STAFF, DEMO_PASSWORD).await.location(), "/");
    assert_eq!(again.get("/transactions").await.location(), "/account/second-factor");

    // Their own: the second-factor page instead; an unknown id: 404.
    let own = admin.post(&format!("/admin/users/{}/reset-second-factor", user_id(&app, ADMIN).await), &[]).await;
    assert_eq!(own.location(), "/account/second-factor");
    assert_eq!(admin.post("/admin/users/999999/reset-second-factor", &[]).await.status, StatusCode::NOT_FOUND);
}
