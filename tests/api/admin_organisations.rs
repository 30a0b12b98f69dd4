//! `/admin/organisations`: list, create, edit, suspend and reactivate, and who may.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::main::schema::{organisation_wallets, organisations};
use reqwest::StatusCode;
use rust_decimal_macros::dec;

use crate::admin_helpers::{assert_admin_only, flash_after, log_rows, logged, org_id, text};
use crate::helpers::{ADMIN, CUSTOMER, DEMO_PASSWORD, STAFF, TestApp, spawn_app};

const ACME: &str = "Acme Logistics";
const OPERATOR: &str = "Kopano Cloud (Pty) Ltd";

async fn org_count(app: &TestApp) -> i64 {
    let mut conn = app.main_conn().await;
    organisations::table.count().get_result(&mut conn).await.unwrap()
}

async fn status_of(app: &TestApp, id: i64) -> (String, Option<String>) {
    let mut conn = app.main_conn().await;
    organisations::table
        .find(id)
        .select((organisations::status, organisations::suspended_reason))
        .first(&mut conn)
        .await
        .unwrap()
}

const NEW_ORG: [(&str, &str); 5] = [
    ("name", "Limpopo Agri Co-op"),
    ("registration_number", "2020/123456/07"),
    ("vat_number", "4456789012"),
    ("billing_email", "accounts@limpopo-agri.co.za"),
    ("low_balance_threshold", "2500.00"),
];

#[actix_web::test]
async fn only_org_managers_reach_the_organisation_admin() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    // The list is also the read-only directory of staff who record top-ups (workspace.rs).
    assert_admin_only(
        &app,
        &["/admin/organisations/new"],
        &[
            "/admin/organisations",
            &format!("/admin/organisations/{acme}"),
            &format!("/admin/organisations/{acme}/suspend"),
            &format!("/admin/organisations/{acme}/reactivate"),
        ],
    )
    .await;
    // Staff with wallet.credit open an organisation's page for its wallet panel only.
    let staff = app.signed_in(STAFF).await;
    let page = staff.get(&format!("/admin/organisations/{acme}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"record-top-up\""));
    assert!(!page.body.contains("id=\"save-organisation\""), "no details form for staff");
    assert!(!page.body.contains("id=\"suspend\""));
    assert!(!page.body.contains("accounts@acmelogistics.co.za"), "details are for org.manage only");
    assert_eq!(app.signed_in(CUSTOMER).await.get(&format!("/admin/organisations/{acme}")).await.status, 403);
    assert_eq!(status_of(&app, acme).await.0, "active", "nothing changed");
}

#[actix_web::test]
async fn the_list_searches_and_filters_and_shows_balances() {
    let app = spawn_app().await;
    let admin = app.signed_in(ADMIN).await;
    let page = admin.get("/admin/organisations").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.html().select(&scraper::Selector::parse("#organisations tbody tr").unwrap()).count(), 11);
    let acme = org_id(&app, ACME).await;
    let row = text(&page, &format!("#org-{acme}")).unwrap();
    assert!(row.contains("R 66 381.49"), "{row}");
    let page = admin.get("/admin/organisations?q=acme").await;
    assert!(page.body.contains(ACME));
    assert!(!page.body.contains("Ubuntu Freight"));
    let page = admin.get("/admin/organisations?q=4310982746").await;
    assert!(page.body.contains("Ubuntu Freight"), "found by VAT number");
    let page = admin.get("/admin/organisations?status=suspended").await;
    assert!(page.body.contains("Highveld Engineering"));
    assert!(!page.body.contains(ACME));
    assert_eq!(admin.get("/admin/organisations?status=closed").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(admin.get("/admin/organisations?q=%25").await.status, StatusCode::OK, "wildcards are literal");
}

#[actix_web::test]
async fn an_admin_creates_an_organisation_with_its_wallet_and_a_log_row() {
    let app = spawn_app().await;
    let admin = app.signed_in(ADMIN).await;
    let response = admin.post("/admin/organisations", &NEW_ORG).await;
    let id = org_id(&app, "Limpopo Agri Co-op").await;
    assert_eq!(response.location(), format!("/admin/organisations/{id}"));
    assert!(flash_after(&admin, &response).await.contains("Created the organisation Limpopo Agri Co-op"));
    let mut conn = app.main_conn().await;
    let (vat, email): (Option<String>, Option<String>) = organisations::table
        .find(id)
        .select((organisations::vat_number, organisations::billing_email))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(vat.as_deref(), Some("4456789012"));
    assert_eq!(email.as_deref(), Some("accounts@limpopo-agri.co.za"));
    let (balance, threshold): (rust_decimal::Decimal, rust_decimal::Decimal) = organisation_wallets::table
        .filter(organisation_wallets::organisation_id.eq(id))
        .select((organisation_wallets::balance, organisation_wallets::low_balance_threshold))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!((balance, threshold), (dec!(0), dec!(2500.00)));
    let log = logged(&app, "organisation.created").await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["after"]["name"], "Limpopo Agri Co-op");
    assert_eq!(log[0]["after"]["low_balance_threshold"], "2500.00");
    assert!(log[0]["before"].is_null());
}

#[actix_web::test]
async fn bad_organisation_input_comes_back_with_messages_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.signed_in(ADMIN).await;
    let (orgs, logs) = (org_count(&app).await, log_rows(&app).await);
    let page = admin
        .post(
            "/admin/organisations",
            &[
                ("name", "  "),
                ("registration_number", "2020/1"),
                ("vat_number", "5123456789"),
                ("billing_email", "accounts-at-nowhere"),
                ("low_balance_threshold", "-5"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains(r#"id="name-error">Enter a name."#), "{}", page.body);
    assert!(page.body.contains(r#"id="vat_number-error">A South African VAT number has 10 digits and starts with 4."#));
    assert!(page.body.contains(r#"id="billing_email-error">An email address looks like name@example.co.za."#));
    assert!(page.body.contains(r#"id="low_balance_threshold-error">Must not be negative."#));
    assert!(page.body.contains(r#"aria-invalid="true" aria-describedby="vat_number-error""#));
    assert!(page.body.contains(r#"value="5123456789""#), "the typed values are kept");
    assert!(page.body.contains(r#"value="2020/1""#));
    // The name is unique whatever its case.
    let page = admin.post("/admin/organisations", &[("name", "ACME LOGISTICS"), ("vat_number", "4123 456 789")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains(r#"id="name-error">An organisation with this name already exists."#));
    assert_eq!((org_count(&app).await, log_rows(&app).await), (orgs, logs), "nothing written");
}

#[actix_web::test]
async fn an_admin_edits_the_details_and_the_log_keeps_before_and_after() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let admin = app.signed_in(ADMIN).await;
    let path = format!("/admin/organisations/{acme}");
    let page = admin.get(&path).await;
    assert!(page.body.contains(r#"value="4123456789""#), "the form holds the stored details");
    let fields = [
        ("name", "Acme Logistics SA"),
        ("registration_number", "2015/123456/07"),
        ("vat_number", "4123456780"),
        ("billing_email", "finance@acmelogistics.co.za"),
        ("low_balance_threshold", "5000"),
    ];
    let response = admin.post(&path, &fields).await;
    assert!(flash_after(&admin, &response).await.contains("Saved"));
    assert_eq!(org_id(&app, "Acme Logistics SA").await, acme);
    let log = logged(&app, "organisation.updated").await;
    assert_eq!(log[0]["before"]["name"], ACME);
    assert_eq!(log[0]["after"]["name"], "Acme Logistics SA");
    assert_eq!(log[0]["before"]["vat_number"], "4123456789");
    assert_eq!(log[0]["after"]["low_balance_threshold"], "5000");

    // Bad input changes nothing.
    let logs = log_rows(&app).await;
    let bad = [("name", "Acme Logistics SA"), ("vat_number", "123"), ("low_balance_threshold", "lots")];
    let page = admin.post(&path, &bad).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains(r#"id="vat_number-error""#));
    assert!(page.body.contains(r#"id="low_balance_threshold-error""#));
    let page = admin.post(&path, &[("name", "ubuntu freight services")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("An organisation with this name already exists."));
    assert_eq!(log_rows(&app).await, logs);
    assert_eq!(org_id(&app, "Acme Logistics SA").await, acme);
    assert_eq!(admin.post("/admin/organisations/999999", &fields).await.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_suspended_organisation_s_users_are_signed_out_and_kept_out_until_reactivated() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let customer = app.signed_in(CUSTOMER).await;
    let captured = customer.cookie_header();
    let admin = app.signed_in(ADMIN).await;

    let empty = admin.post(&format!("/admin/organisations/{acme}/suspend"), &[("reason", " ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains(r#"id="reason-error">Say why"#), "{}", empty.body);
    assert_eq!(status_of(&app, acme).await.0, "active");

    let reason = "Unpaid invoices since October.";
    let response = admin.post(&format!("/admin/organisations/{acme}/suspend"), &[("reason", reason)]).await;
    assert!(flash_after(&admin, &response).await.contains("Suspended"));
    assert_eq!(status_of(&app, acme).await, ("suspended".into(), Some(reason.into())));
    let log = logged(&app, "organisation.suspended").await;
    assert_eq!(log[0]["after"]["suspended_reason"], reason);
    assert_eq!(log[0]["before"]["status"], "active");
    assert_eq!(app.get_with_cookie("/", &captured).await.status, StatusCode::SEE_OTHER, "the session ended");
    let refused = app.browser().login(CUSTOMER, DEMO_PASSWORD).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = admin.get(&format!("/admin/organisations/{acme}")).await;
    assert_eq!(text(&page, "#suspended-reason").unwrap(), format!("Suspended: {reason}"));

    let response = admin.post(&format!("/admin/organisations/{acme}/reactivate"), &[]).await;
    assert!(flash_after(&admin, &response).await.contains("Reactivated"));
    assert_eq!(status_of(&app, acme).await, ("active".into(), None));
    assert_eq!(logged(&app, "organisation.reactivated").await[0]["before"]["suspended_reason"], reason);
    assert_eq!(app.browser().login(CUSTOMER, DEMO_PASSWORD).await.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn the_operator_organisation_cannot_be_suspended() {
    let app = spawn_app().await;
    let operator = org_id(&app, OPERATOR).await;
    let admin = app.signed_in(ADMIN).await;
    let page = admin.get(&format!("/admin/organisations/{operator}")).await;
    assert!(!page.body.contains(r#"id="suspend""#));
    let logs = log_rows(&app).await;
    let page = admin.post(&format!("/admin/organisations/{operator}/suspend"), &[("reason", "testing")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("The operator organisation cannot be suspended."), "{}", page.body);
    assert_eq!(status_of(&app, operator).await, ("active".into(), None));
    assert_eq!(log_rows(&app).await, logs);
    assert_eq!(admin.get("/").await.status, StatusCode::OK, "the admin is still signed in");
}

#[actix_web::test]
async fn the_detail_page_lists_the_organisation_s_users_and_quotes() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let page = app.signed_in(ADMIN).await.get(&format!("/admin/organisations/{acme}")).await;
    let members = text(&page, "#members").unwrap();
    assert!(members.contains("Sipho Ndlovu") && members.contains("Ayesha Patel"), "{members}");
    let quotes = text(&page, "#org-quotes").unwrap();
    assert!(quotes.contains("Q-"), "{quotes}");
    assert!(page.body.contains(r#"id="record-top-up""#), "the wallet panel stays");
}
