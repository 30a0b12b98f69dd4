//! `/admin/users` and `/account/password`: create (chosen or temporary password), edit,
//! deactivate, unlock, reset; sessions end on the next request after each change.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::main::schema::{roles, user_roles, users};
use reqwest::StatusCode;

use crate::admin_helpers::{
    assert_admin_only, flash_after, log_rows, logged, org_id, temporary_password, text, user_id,
};
use crate::helpers::{ADMIN, Browser, CUSTOMER, DEMO_PASSWORD, Page, STAFF, TestApp, spawn_app};

const ACME: &str = "Acme Logistics";
const NEW_EMAIL: &str = "zodwa@acme-logistics.demo.test";
const NEW_PASSWORD: &str = "a long new passphrase";

async fn role_id(app: &TestApp, name: &str) -> i64 {
    let mut conn = app.main_conn().await;
    roles::table.filter(roles::name.eq(name)).select(roles::id).first(&mut conn).await.unwrap()
}

async fn user_count(app: &TestApp) -> i64 {
    let mut conn = app.main_conn().await;
    users::table.count().get_result(&mut conn).await.unwrap()
}

async fn flags(app: &TestApp, email: &str) -> (bool, bool, i32) {
    let mut conn = app.main_conn().await;
    users::table
        .filter(users::email.eq(email))
        .select((users::is_active, users::must_change_password, users::session_version))
        .first(&mut conn)
        .await
        .unwrap()
}

async fn roles_of(app: &TestApp, email: &str) -> Vec<String> {
    let mut conn = app.main_conn().await;
    user_roles::table
        .inner_join(roles::table)
        .inner_join(users::table)
        .filter(users::email.eq(email))
        .select(roles::name)
        .load(&mut conn)
        .await
        .unwrap()
}

/// The fields of the create form for a new Acme customer.
async fn new_user(app: &TestApp, password: &str) -> Vec<(&'static str, String)> {
    vec![
        ("name", "Zodwa Khoza".into()),
        ("email", NEW_EMAIL.into()),
        ("organisation_id", org_id(app, ACME).await.to_string()),
        ("role_id", role_id(app, "customer").await.to_string()),
        ("password", password.into()),
    ]
}

fn borrowed<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Submits the change-password form as its page would (a user with a temporary
/// password reaches no other page to take a token from).
async fn change_password(browser: &Browser, current: &str, new: &str, confirm: &str) -> Page {
    let form = browser.get("/account/password").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let token = form.csrf_token().unwrap();
    let fields =
        [("current_password", current), ("new_password", new), ("confirm_password", confirm), ("csrf_token", &token)];
    browser.post_raw("/account/password", &fields).await
}

#[actix_web::test]
async fn only_user_managers_reach_the_user_admin() {
    let app = spawn_app().await;
    let customer = user_id(&app, CUSTOMER).await;
    let id = format!("/admin/users/{customer}");
    assert_admin_only(
        &app,
        &["/admin/users", "/admin/users/new", &id],
        &[
            "/admin/users",
            &id,
            &format!("{id}/deactivate"),
            &format!("{id}/reactivate"),
            &format!("{id}/unlock"),
            &format!("{id}/reset-password"),
        ],
    )
    .await;
    assert_eq!(flags(&app, CUSTOMER).await, (true, false, 0), "nothing changed");
    assert_eq!(app.browser().get("/account/password").await.status, StatusCode::SEE_OTHER, "anonymous");
}

#[actix_web::test]
async fn the_list_filters_by_organisation_role_and_status() {
    let app = spawn_app().await;
    let admin = app.signed_in(ADMIN).await;
    let rows = |page: &Page| page.html().select(&scraper::Selector::parse("#users tbody tr").unwrap()).count();
    assert_eq!(rows(&admin.get("/admin/users").await), 18);
    let acme = org_id(&app, ACME).await;
    assert_eq!(rows(&admin.get(&format!("/admin/users?org={acme}")).await), 2);
    let staff = role_id(&app, "staff").await;
    assert_eq!(rows(&admin.get(&format!("/admin/users?role={staff}")).await), 2);
    let inactive = admin.get("/admin/users?active=no").await;
    assert_eq!(rows(&inactive), 1);
    assert!(inactive.body.contains("Riaan Steyn"));
    let search = admin.get("/admin/users?q=PATEL").await;
    assert_eq!(rows(&search), 1);
    assert!(search.body.contains("ayesha@acme-logistics.demo.test"));
}

#[actix_web::test]
async fn a_user_created_with_a_temporary_password_must_change_it_before_anything_else() {
    let app = spawn_app().await;
    let admin = app.signed_in(ADMIN).await;
    let fields = new_user(&app, "").await;
    let response = admin.post("/admin/users", &borrowed(&fields)).await;
    let id = user_id(&app, NEW_EMAIL).await;
    assert_eq!(response.location(), format!("/admin/users/{id}"));
    let flash = flash_after(&admin, &response).await;
    let temporary = temporary_password(&flash);
    assert!(admin.get(&format!("/admin/users/{id}")).await.body.find(&temporary).is_none(), "shown once");
    assert_eq!(flags(&app, NEW_EMAIL).await, (true, true, 0));
    assert_eq!(roles_of(&app, NEW_EMAIL).await, ["customer"]);
    let log = logged(&app, "user.created").await;
    assert_eq!(log[0]["after"]["email"], NEW_EMAIL);
    assert_eq!(log[0]["after"]["must_change_password"], true);
    assert!(!log[0].to_string().contains(&temporary), "the password is never logged");

    let zodwa = app.browser();
    assert_eq!(zodwa.login(NEW_EMAIL, &temporary).await.status, StatusCode::SEE_OTHER);
    for path in ["/", "/wallet", "/catalog", "/quotes"] {
        let page = zodwa.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location(), "/account/password", "{path}");
    }
    let form = zodwa.get("/account/password").await;
    assert!(form.body.contains("id=\"must-change\""));
    assert!(form.nav().is_empty(), "no navigation until the password is changed");
    let short = change_password(&zodwa, &temporary, "too short", "too short").await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.body.contains(r#"id="new_password-error">Use at least 12 characters."#), "{}", short.body);
    let done = change_password(&zodwa, &temporary, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location(), "/");
    let dashboard = zodwa.get("/").await;
    assert_eq!(dashboard.status, StatusCode::OK, "free to go");
    assert!(text(&dashboard, ".flash").unwrap().contains("Your password has been changed"));
    assert!(!flags(&app, NEW_EMAIL).await.1);
    assert_eq!(app.browser().login(NEW_EMAIL, &temporary).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.browser().login(NEW_EMAIL, NEW_PASSWORD).await.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_user_created_with_a_chosen_password_signs_in_directly() {
    let app = spawn_app().await;
    let admin = app.signed_in(ADMIN).await;
    let fields = new_user(&app, NEW_PASSWORD).await;
    let response = admin.post("/admin/users", &borrowed(&fields)).await;
    let flash = flash_after(&admin, &response).await;
    assert!(flash.contains("with the password you chose"), "{flash}");
    assert_eq!(flags(&app, NEW_EMAIL).await, (true, false, 0));
    let zodwa = app.browser();
    assert_eq!(zodwa.login(NEW_EMAIL, NEW_PASSWORD).await.status, StatusCode::SEE_OTHER);
    assert_eq!(zodwa.get("/wallet").await.status, StatusCode::OK);
}

#[actix_web::test]
async fn bad_user_input_comes_back_with_messages_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.signed_in(ADMIN).await;
    let (count, logs) = (user_count(&app).await, log_rows(&app).await);
    let fields = [
        ("name", ""),
        ("email", "not-an-email"),
        ("organisation_id", "999999"),
        ("role_id", "x"),
        ("password", "short"),
    ];
    let page = admin.post("/admin/users", &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains(r#"id="name-error">Enter a name."#), "{}", page.body);
    assert!(page.body.contains(r#"id="email-error">An email address looks like name@example.co.za."#));
    assert!(page.body.contains(r#"id="organisation_id-error">No organisation matches “999999”."#));
    assert!(page.body.contains(r#"id="role_id-error">Choose a role."#));
    assert!(page.body.contains(r#"id="password-error">Use at least 12 characters."#));
    assert!(page.body.contains(r#"value="not-an-email""#), "typed values are kept");
    assert!(!page.body.contains(r#"value="short""#), "a password is never sent back");

    let mut taken = new_user(&app, "").await;
    taken[1].1 = "Customer@Demo.Test".into();
    let page = admin.post("/admin/users", &borrowed(&taken)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains(r#"id="email-error">A user with this email address already exists."#));
    let mut same = new_user(&app, NEW_EMAIL).await;
    same[4].1 = NEW_EMAIL.to_uppercase();
    let page = admin.post("/admin/users", &borrowed(&same)).await;
    assert!(page.body.contains(r#"id="password-error">The password must not be your email address."#));
    assert_eq!((user_count(&app).await, log_rows(&app).await), (count, logs), "nothing written");
}

#[actix_web::test]
async fn a_new_role_takes_effect_on_the_next_request_even_for_a_captured_cookie() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let captured = customer.cookie_header();
    let id = user_id(&app, CUSTOMER).await;
    let admin = app.signed_in(ADMIN).await;
    let edit = [
        ("name", "Sipho M. Ndlovu".to_owned()),
        ("email", CUSTOMER.to_owned()),
        ("organisation_id", org_id(&app, ACME).await.to_string()),
        ("role_id", role_id(&app, "staff").await.to_string()),
        // Acme is a customer organisation: staff's reach is confirmed (workspace.rs).
        ("understood", "yes".to_owned()),
    ];
    let response = admin.post(&format!("/admin/users/{id}"), &borrowed(&edit)).await;
    assert!(flash_after(&admin, &response).await.contains("next request"));
    assert_eq!(roles_of(&app, CUSTOMER).await, ["staff"]);
    assert_eq!(app.get_with_cookie("/", &captured).await.status, StatusCode::SEE_OTHER, "the old cookie is dead");
    assert_eq!(customer.get("/").await.status, StatusCode::SEE_OTHER);
    let again = app.signed_in(CUSTOMER).await;
    assert_eq!(again.get("/").await.location(), "/account/second-factor", "staff must set up a second factor");
    app.enrol(&again).await;
    assert!(again.get("/").await.nav().contains(&"Transactions".to_owned()), "staff navigation now");
    let log = logged(&app, "user.updated").await;
    assert_eq!(log[0]["before"]["name"], "Sipho Ndlovu");
    assert_eq!(log[0]["after"]["name"], "Sipho M. Ndlovu");
    assert_ne!(log[0]["before"]["role_ids"], log[0]["after"]["role_ids"]);

    // A name-only change does not end sessions.
    let captured = again.cookie_header();
    let edit = [("name", "Sipho Ndlovu".to_owned()), ("email", CUSTOMER.to_owned()), edit[2].clone(), edit[3].clone()];
    admin.post(&format!("/admin/users/{id}"), &borrowed(&edit)).await;
    assert_eq!(app.get_with_cookie("/", &captured).await.status, StatusCode::OK);
    // Bad input and a taken email change nothing.
    let logs = log_rows(&app).await;
    let bad = [
        ("name", "x"),
        ("email", "ayesha@acme-logistics.demo.test"),
        ("organisation_id", &edit[2].1),
        ("role_id", &edit[3].1),
    ];
    let page = admin.post(&format!("/admin/users/{id}"), &bad).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("A user with this email address already exists."));
    assert_eq!(log_rows(&app).await, logs);
}

#[actix_web::test]
async fn deactivating_ends_every_session_and_reactivating_lets_them_back() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let captured = customer.cookie_header();
    let id = user_id(&app, CUSTOMER).await;
    let admin = app.signed_in(ADMIN).await;
    let response = admin.post(&format!("/admin/users/{id}/deactivate"), &[]).await;
    assert!(flash_after(&admin, &response).await.contains("Deactivated"));
    assert!(!flags(&app, CUSTOMER).await.0);
    assert_eq!(app.get_with_cookie("/", &captured).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.browser().login(CUSTOMER, DEMO_PASSWORD).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(logged(&app, "user.deactivated").await[0]["before"]["is_active"], true);
    let response = admin.post(&format!("/admin/users/{id}/reactivate"), &[]).await;
    assert!(flash_after(&admin, &response).await.contains("Reactivated"));
    assert_eq!(app.browser().login(CUSTOMER, DEMO_PASSWORD).await.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn an_admin_cannot_deactivate_themselves_or_remove_the_last_admin() {
    let app = spawn_app().await;
    let admin = app.signed_in(ADMIN).await;
    let me = user_id(&app, ADMIN).await;
    let logs = log_rows(&app).await;
    let page = admin.post(&format!("/admin/users/{me}/deactivate"), &[]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&page, "#action-error").unwrap().contains("You cannot deactivate your own account"));
    // The only admin cannot be given a lesser role either.
    let edit = [
        ("name", "Nomvula Dlamini".to_owned()),
        ("email", ADMIN.to_owned()),
        ("organisation_id", org_id(&app, "Kopano Cloud (Pty) Ltd").await.to_string()),
        ("role_id", role_id(&app, "staff").await.to_string()),
    ];
    let page = admin.post(&format!("/admin/users/{me}"), &borrowed(&edit)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains(r#"id="role_id-error">This would leave no active user who can manage users and roles"#));
    assert_eq!(roles_of(&app, ADMIN).await, ["admin"]);
    assert_eq!(flags(&app, ADMIN).await, (true, false, 0));
    assert_eq!(log_rows(&app).await, logs);

    // With a second admin, the first may step down (and stays signed in).
    let staff = user_id(&app, STAFF).await;
    let admin_role = role_id(&app, "admin").await.to_string();
    let promote = [
        ("name", "Pieter van der Merwe".to_owned()),
        ("email", STAFF.to_owned()),
        ("organisation_id", edit[2].1.clone()),
        ("role_id", admin_role),
    ];
    let response = admin.post(&format!("/admin/users/{staff}"), &borrowed(&promote)).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let response = admin.post(&format!("/admin/users/{me}"), &borrowed(&edit)).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(roles_of(&app, ADMIN).await, ["staff"]);
    assert_eq!(admin.get("/").await.status, StatusCode::OK, "their own session was issued again");
    assert_eq!(admin.get("/admin/users").await.status, StatusCode::FORBIDDEN, "with the new role's permissions");
}

#[actix_web::test]
async fn unlocking_clears_the_failed_sign_ins() {
    let app = spawn_app().await;
    let browser = app.browser();
    for _ in 0..6 {
        browser.login(CUSTOMER, "not the password!").await;
    }
    let waiting = browser.login(CUSTOMER, DEMO_PASSWORD).await;
    assert_eq!(waiting.status, StatusCode::TOO_MANY_REQUESTS, "{}", waiting.body);
    let id = user_id(&app, CUSTOMER).await;
    let admin = app.signed_in(ADMIN).await;
    let page = admin.get(&format!("/admin/users/{id}")).await;
    assert!(page.body.contains(r#"id="unlock""#));
    assert!(page.body.contains("sign-ins delayed"), "{}", page.body);
    assert!(page.body.contains("5 failed sign-ins recently"), "{}", page.body);
    let response = admin.post(&format!("/admin/users/{id}/unlock"), &[]).await;
    assert!(flash_after(&admin, &response).await.contains("Unlocked"));
    let log = logged(&app, "user.unlocked").await;
    assert_eq!(log[0]["before"]["failed_sign_ins"], 5, "the sixth attempt waited, so was not checked");
    assert_eq!(log[0]["after"]["failed_sign_ins"], 0);
    assert_eq!(browser.login(CUSTOMER, DEMO_PASSWORD).await.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_password_reset_ends_the_sessions_and_hands_out_a_temporary_password() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let captured = customer.cookie_header();
    let id = user_id(&app, CUSTOMER).await;
    let admin = app.signed_in(ADMIN).await;
    let response = admin.post(&format!("/admin/users/{id}/reset-password"), &[]).await;
    let temporary = temporary_password(&flash_after(&admin, &response).await);
    assert_eq!(app.get_with_cookie("/", &captured).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.browser().login(CUSTOMER, DEMO_PASSWORD).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let sipho = app.browser();
    assert_eq!(sipho.login(CUSTOMER, &temporary).await.status, StatusCode::SEE_OTHER);
    assert_eq!(sipho.get("/").await.location(), "/account/password");
    assert_eq!(logged(&app, "user.password_reset").await[0]["after"]["must_change_password"], true);
    // Resetting your own password goes through the change form instead.
    let me = user_id(&app, ADMIN).await;
    let response = admin.post(&format!("/admin/users/{me}/reset-password"), &[]).await;
    assert_eq!(response.location(), "/account/password");
    assert_eq!(app.browser().login(ADMIN, DEMO_PASSWORD).await.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn every_user_changes_their_own_password_and_stays_signed_in() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let other_device = app.signed_in(CUSTOMER).await;
    let captured = customer.cookie_header();
    assert!(customer.get("/").await.body.contains(r#"href="/account/password""#), "the Password link");
    let logs = log_rows(&app).await;
    let wrong = change_password(&customer, "not my password", NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains(r#"id="current_password-error">This is not your current password."#));
    let mismatch = change_password(&customer, DEMO_PASSWORD, NEW_PASSWORD, "something else entirely").await;
    assert!(mismatch.body.contains(r#"id="confirm_password-error">The two new passwords differ."#));
    let email = change_password(&customer, DEMO_PASSWORD, CUSTOMER, CUSTOMER).await;
    assert!(email.body.contains(r#"id="new_password-error">The password must not be your email address."#));
    let empty = change_password(&customer, "", NEW_PASSWORD, NEW_PASSWORD).await;
    assert!(empty.body.contains(r#"id="current_password-error">Enter your current password."#));
    assert_eq!(log_rows(&app).await, logs, "nothing written");
    assert_eq!(app.browser().login(CUSTOMER, DEMO_PASSWORD).await.status, StatusCode::SEE_OTHER);

    let done = change_password(&customer, DEMO_PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(customer.get("/").await.status, StatusCode::OK, "this session carries on");
    assert_eq!(other_device.get("/").await.status, StatusCode::SEE_OTHER, "other sessions end");
    assert_eq!(app.get_with_cookie("/", &captured).await.status, StatusCode::SEE_OTHER, "so does a captured cookie");
    assert_eq!(app.browser().login(CUSTOMER, DEMO_PASSWORD).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.browser().login(CUSTOMER, NEW_PASSWORD).await.status, StatusCode::SEE_OTHER);
    assert_eq!(logged(&app, "user.password_changed").await.len(), 1);
}
