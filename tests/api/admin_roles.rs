//! `/admin/roles`: the permission matrix (saved all or nothing), roles created,
//! renamed and deleted, and the guard rails that keep someone able to administer.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::main::schema::{permissions, role_permissions, roles};
use reqwest::StatusCode;

use crate::admin_helpers::{assert_admin_only, flash_after, log_rows, logged};
use crate::helpers::{ADMIN, Browser, CUSTOMER, Page, TestApp, spawn_app};

/// Every (role, permission) pair granted.
async fn matrix(app: &TestApp) -> BTreeSet<(String, String)> {
    let mut conn = app.main_conn().await;
    role_permissions::table
        .inner_join(roles::table)
        .inner_join(permissions::table)
        .select((roles::name, permissions::code))
        .load::<(String, String)>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

async fn role_ids(app: &TestApp) -> Vec<(String, i64)> {
    let mut conn = app.main_conn().await;
    roles::table.order(roles::name).select((roles::name, roles::id)).load(&mut conn).await.unwrap()
}

async fn role_id(app: &TestApp, name: &str) -> i64 {
    role_ids(app).await.into_iter().find(|(n, _)| n == name).map(|(_, id)| id).unwrap()
}

/// The matrix form's fields as the page would submit them, with `change` applied to
/// the ticked boxes.
async fn submit_matrix(app: &TestApp, browser: &Browser, change: impl FnOnce(&mut BTreeSet<(i64, String)>)) -> Page {
    let ids = role_ids(app).await;
    let mut ticked: BTreeSet<(i64, String)> = matrix(app)
        .await
        .into_iter()
        .map(|(role, code)| (ids.iter().find(|(n, _)| *n == role).unwrap().1, code))
        .collect();
    change(&mut ticked);
    let mut fields: Vec<(String, String)> = ids.iter().map(|(_, id)| ("role".into(), id.to_string())).collect();
    fields.extend(ticked.into_iter().map(|(id, code)| ("grant".into(), format!("{id}:{code}"))));
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    browser.post("/admin/roles", &borrowed).await
}

#[actix_web::test]
async fn only_role_managers_reach_the_roles_page() {
    let app = spawn_app().await;
    let customer = role_id(&app, "customer").await;
    let before = matrix(&app).await;
    assert_admin_only(
        &app,
        &["/admin/roles"],
        &[
            "/admin/roles",
            "/admin/roles/new",
            &format!("/admin/roles/{customer}/rename"),
            &format!("/admin/roles/{customer}/delete"),
        ],
    )
    .await;
    assert_eq!(matrix(&app).await, before);
    assert_eq!(role_ids(&app).await.len(), 3);
}

#[actix_web::test]
async fn the_matrix_shows_every_role_and_the_fifteen_permissions() {
    let app = spawn_app().await;
    let page = app.signed_in(ADMIN).await.get("/admin/roles").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.html();
    let rows = scraper::Selector::parse("#matrix tbody tr").unwrap();
    assert_eq!(html.select(&rows).count(), 15);
    let checked = scraper::Selector::parse("#matrix input[type=checkbox][checked]").unwrap();
    assert_eq!(html.select(&checked).count(), 6 + 11 + 15, "customer, staff and admin grants");
}

#[actix_web::test]
async fn a_saved_grant_applies_on_the_holder_s_next_request() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    assert!(!customer.get("/").await.nav().contains(&"Transactions".to_owned()));
    let admin = app.signed_in(ADMIN).await;
    let role = role_id(&app, "customer").await;
    let response = submit_matrix(&app, &admin, |t| {
        t.insert((role, "transactions.view_all".into()));
        t.remove(&(role, "cards.manage".into()));
    })
    .await;
    assert!(flash_after(&admin, &response).await.contains("Saved the permissions of one role"));
    let now = matrix(&app).await;
    assert!(now.contains(&("customer".into(), "transactions.view_all".into())));
    assert!(!now.contains(&("customer".into(), "cards.manage".into())));
    assert!(customer.get("/").await.nav().contains(&"Transactions".to_owned()), "no new sign-in needed");
    assert_eq!(customer.get("/transactions").await.status, StatusCode::OK);
    let log = logged(&app, "role.permissions_changed").await;
    assert_eq!(log.len(), 1);
    assert!(log[0]["before"]["permissions"].as_array().unwrap().contains(&"cards.manage".into()));
    assert!(log[0]["after"]["permissions"].as_array().unwrap().contains(&"transactions.view_all".into()));
    // The same form again changes nothing.
    let response = submit_matrix(&app, &admin, |_| {}).await;
    assert!(flash_after(&admin, &response).await.contains("Nothing changed"));
    assert_eq!(logged(&app, "role.permissions_changed").await.len(), 1);
}

#[actix_web::test]
async fn a_matrix_with_an_unknown_permission_changes_no_role() {
    let app = spawn_app().await;
    let admin = app.signed_in(ADMIN).await;
    let (before, logs) = (matrix(&app).await, log_rows(&app).await);
    let (customer, staff) = (role_id(&app, "customer").await, role_id(&app, "staff").await);
    // Role ids sort customer < staff, so the customer's change is written before the
    // staff role's unknown code is met: the transaction must undo it.
    assert!(customer < staff);
    let page = submit_matrix(&app, &admin, |t| {
        t.insert((customer, "wallet.credit".into()));
        t.insert((staff, "root.everything".into()));
    })
    .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains(r#"id="matrix-error">There is no permission “root.everything”"#), "{}", page.body);
    assert!(page.body.contains(&format!(r#"value="{customer}:wallet.credit" id="grant-{customer}-wallet.credit""#)));
    assert_eq!(matrix(&app).await, before, "every role unchanged");
    assert_eq!(log_rows(&app).await, logs);
    let malformed = admin.post("/admin/roles", &[("role", "1"), ("grant", "no-colon")]).await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ghost = admin.post("/admin/roles", &[("role", "999999")]).await;
    assert_eq!(ghost.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(matrix(&app).await, before);
}

#[actix_web::test]
async fn the_last_role_granting_user_and_role_management_keeps_them() {
    let app = spawn_app().await;
    let admin = app.signed_in(ADMIN).await;
    let (before, logs) = (matrix(&app).await, log_rows(&app).await);
    let (admin_role, customer) = (role_id(&app, "admin").await, role_id(&app, "customer").await);
    for code in ["role.manage", "user.manage"] {
        let page = submit_matrix(&app, &admin, |t| {
            t.insert((customer, "wallet.credit".into()));
            t.remove(&(admin_role, code.to_owned()));
        })
        .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{code}");
        assert!(page.body.contains("would leave no active user who can manage users and roles"), "{code}");
        assert_eq!(matrix(&app).await, before, "{code}: every role unchanged");
    }
    assert_eq!(log_rows(&app).await, logs);
    // Once another role grants both to an active user, the admin role may drop them.
    let staff = role_id(&app, "staff").await;
    let response = submit_matrix(&app, &admin, |t| {
        t.insert((staff, "role.manage".into()));
        t.insert((staff, "user.manage".into()));
        t.remove(&(admin_role, "role.manage".into()));
    })
    .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(admin.get("/admin/roles").await.status, StatusCode::FORBIDDEN, "applies at once");
}

#[actix_web::test]
async fn roles_are_created_renamed_and_deleted_when_no_one_holds_them() {
    let app = spawn_app().await;
    let admin = app.signed_in(ADMIN).await;
    let response =
        admin.post("/admin/roles/new", &[("name", "auditor"), ("description", "Reads the activity log")]).await;
    assert!(flash_after(&admin, &response).await.contains("Created the role auditor"));
    let auditor = role_id(&app, "auditor").await;
    assert_eq!(logged(&app, "role.created").await[0]["after"]["name"], "auditor");

    let logs = log_rows(&app).await;
    let taken = admin.post("/admin/roles/new", &[("name", "ADMIN")]).await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.body.contains(r#"id="name-error">A role with this name already exists."#));
    let empty = admin.post("/admin/roles/new", &[("name", " "), ("description", &"x".repeat(501))]).await;
    assert!(empty.body.contains(r#"id="name-error">Enter a name."#));
    assert!(empty.body.contains(r#"id="description-error">Use at most 500 characters."#));
    let rename_taken = admin.post(&format!("/admin/roles/{auditor}/rename"), &[("name", "Staff")]).await;
    assert_eq!(rename_taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(rename_taken.body.contains(&format!(r#"id="name-{auditor}-error">A role with this name already exists."#)));
    assert_eq!(log_rows(&app).await, logs, "nothing written");
    assert_eq!(role_ids(&app).await.len(), 4);

    let response = admin
        .post(&format!("/admin/roles/{auditor}/rename"), &[("name", "compliance"), ("description", "Audits")])
        .await;
    assert!(flash_after(&admin, &response).await.contains("Saved the role compliance"));
    let log = logged(&app, "role.renamed").await;
    assert_eq!(
        (log[0]["before"]["name"].as_str(), log[0]["after"]["name"].as_str()),
        (Some("auditor"), Some("compliance"))
    );

    let customer = role_id(&app, "customer").await;
    let held = admin.post(&format!("/admin/roles/{customer}/delete"), &[]).await;
    assert_eq!(held.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(held.body.contains("This role cannot be deleted: 15 users hold it."), "{}", held.body);
    let response = admin.post(&format!("/admin/roles/{auditor}/delete"), &[]).await;
    assert!(flash_after(&admin, &response).await.contains("Deleted the role"));
    assert_eq!(role_ids(&app).await.len(), 3);
    assert_eq!(logged(&app, "role.deleted").await[0]["before"]["name"], "compliance");
    assert_eq!(admin.post("/admin/roles/999999/delete", &[]).await.status, StatusCode::NOT_FOUND);
}

/// Each process keeps the role × permission matrix in memory; a grant withdrawn by any
/// writer (another instance, an operator's SQL) bumps its version in the database, and
/// the next request of a signed-in holder already goes by the new matrix.
#[actix_web::test]
async fn a_grant_withdrawn_elsewhere_applies_on_the_next_request() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    assert_eq!(customer.get("/cards").await.status, StatusCode::OK);
    let role = role_id(&app, "customer").await;
    let mut conn = app.main_conn().await;
    let cards: i64 = permissions::table
        .filter(permissions::code.eq("cards.manage"))
        .select(permissions::id)
        .first(&mut conn)
        .await
        .unwrap();
    let removed = diesel::delete(
        role_permissions::table
            .filter(role_permissions::role_id.eq(role))
            .filter(role_permissions::permission_id.eq(cards)),
    )
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(customer.get("/cards").await.status, StatusCode::FORBIDDEN);
    assert!(!customer.get("/").await.nav().contains(&"Cards".to_owned()));
}
