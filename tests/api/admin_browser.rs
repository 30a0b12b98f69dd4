//! An administrator's day in real headless Chromium: create an organisation and a user
//! in it, grant the user's role a permission, and the new user, once signed in with
//! the temporary password and a password of their own, sees the new menu entry. And a
//! staff member who must have a second factor sets one up, then signs in with a code
//! from it and with a recovery code.

use fantoccini::{Client, Locator};

use crate::browser::{connect, start_driver, wait_for_text};
use crate::helpers::{ADMIN, DEMO_PASSWORD, DEMO_TOTP_SECRET, TestApp, spawn_app};

/// What an authenticator app set up with `secret` shows `ahead` seconds from now.
fn code_in(secret: &str, ahead: u64) -> String {
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    portal::domain::second_factor::code_at(secret, now + ahead).unwrap()
}

#[actix_web::test]
async fn an_admin_sets_up_an_organisation_and_a_user_who_sees_the_granted_page() {
    let Some(driver) = start_driver() else { return };
    let app = spawn_app().await;
    let client = connect(&driver).await;
    let result = journey(&app, &client).await;
    let _ = client.close().await;
    result.unwrap();
}

async fn customer_role(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use portal::db::main::schema::roles;
    let mut conn = app.main_conn().await;
    roles::table.filter(roles::name.eq("customer")).select(roles::id).first(&mut conn).await.unwrap()
}

async fn sign_in(c: &Client, base: &str, email: &str, password: &str) -> Result<(), fantoccini::error::CmdError> {
    c.goto(&format!("{base}/login")).await?;
    c.find(Locator::Id("email")).await?.send_keys(email).await?;
    c.find(Locator::Id("password")).await?.send_keys(password).await?;
    c.find(Locator::Css("button[type=submit]")).await?.click().await?;
    Ok(())
}

/// The sign-in's second step, once the password was right.
async fn enter_code(c: &Client, code: &str) -> Result<(), fantoccini::error::CmdError> {
    wait_for_text(c, "h1", |t| t == "Enter your code").await;
    c.find(Locator::Id("code")).await?.send_keys(code).await?;
    c.find(Locator::Id("verify-code")).await?.click().await?;
    Ok(())
}

async fn sign_out(c: &Client) -> Result<(), fantoccini::error::CmdError> {
    c.find(Locator::Css("header .whoami summary")).await?.click().await?;
    c.find(Locator::Css("form[action='/logout'] button")).await?.click().await?;
    wait_for_text(c, "h1", |t| t == "Sign in").await;
    Ok(())
}

async fn journey(app: &TestApp, c: &Client) -> Result<(), fantoccini::error::CmdError> {
    let base = app.address.replace("127.0.0.1", "localhost");
    sign_in(c, &base, ADMIN, DEMO_PASSWORD).await?;
    enter_code(c, &code_in(DEMO_TOTP_SECRET, 0)).await?;
    wait_for_text(c, "h1", |t| t.starts_with("Welcome")).await;

    // A new organisation, from the list's button.
    c.goto(&format!("{base}/admin/organisations")).await?;
    c.find(Locator::Id("new-organisation")).await?.click().await?;
    wait_for_text(c, "h1", |t| t == "New organisation").await;
    c.find(Locator::Id("name")).await?.send_keys("Garden Route Fisheries").await?;
    c.find(Locator::Id("vat_number")).await?.send_keys("4711223344").await?;
    c.find(Locator::Id("billing_email")).await?.send_keys("accounts@grfish.co.za").await?;
    c.find(Locator::Id("create-organisation")).await?.click().await?;
    wait_for_text(c, "h1", |t| t.starts_with("Garden Route Fisheries")).await;

    // A new user in it, with a temporary password.
    c.goto(&format!("{base}/admin/users")).await?;
    c.find(Locator::Id("new-user")).await?.click().await?;
    wait_for_text(c, "h1", |t| t == "New user").await;
    c.find(Locator::Id("name")).await?.send_keys("Lwazi Dube").await?;
    c.find(Locator::Id("email")).await?.send_keys("lwazi@grfish.co.za").await?;
    // The organisation is typed (suggestions come as you type; the name is taken on submit).
    c.find(Locator::Css("#organisation_id")).await?.send_keys("Garden Route Fisheries").await?;
    c.find(Locator::Css("#role_id")).await?.select_by_label("customer").await?;
    c.find(Locator::Id("create-user")).await?.click().await?;
    let flash = wait_for_text(c, ".flash", |t| t.contains("temporary password")).await;
    let temporary = flash.rsplit(": ").next().unwrap().trim().to_owned();

    // The customer role gets the transaction history.
    c.goto(&format!("{base}/admin/roles")).await?;
    let customer = customer_role(app).await;
    c.find(Locator::Css(&format!("#matrix input[value='{customer}:transactions.view_all']"))).await?.click().await?;
    c.find(Locator::Id("save-matrix")).await?.click().await?;
    wait_for_text(c, ".flash", |t| t.contains("Saved the permissions")).await;
    sign_out(c).await?;

    // The new user signs in, must choose a password, then sees the new entry.
    sign_in(c, &base, "lwazi@grfish.co.za", &temporary).await?;
    wait_for_text(c, "h1", |t| t == "Change password").await;
    c.find(Locator::Id("current_password")).await?.send_keys(&temporary).await?;
    c.find(Locator::Id("new_password")).await?.send_keys("fresh snoek every friday").await?;
    c.find(Locator::Id("confirm_password")).await?.send_keys("fresh snoek every friday").await?;
    c.find(Locator::Id("change-password")).await?.click().await?;
    wait_for_text(c, "h1", |t| t.starts_with("Welcome")).await;
    // Ten pages now: the money pages are in their menu.
    let nav = wait_for_text(c, "nav.mainnav", |t| t.contains("Money")).await;
    assert!(!nav.contains("Admin"), "{nav}");
    c.find(Locator::XPath("//nav[@class='mainnav']//summary[text()='Money']")).await?.click().await?;
    c.find(Locator::LinkText("Transactions")).await?.click().await?;
    wait_for_text(c, "h1", |t| t == "Transactions").await;
    Ok(())
}

#[actix_web::test]
async fn a_staff_member_sets_up_a_second_factor_and_signs_in_with_its_codes() {
    let Some(driver) = start_driver() else { return };
    let app = spawn_app().await;
    let client = connect(&driver).await;
    let result = enrolment(&app, &client).await;
    let _ = client.close().await;
    result.unwrap();
}

async fn enrolment(app: &TestApp, c: &Client) -> Result<(), fantoccini::error::CmdError> {
    let base = app.address.replace("127.0.0.1", "localhost");
    // Lerato is staff (she records top-ups) and has no second factor yet: the password
    // alone takes her only to the enrolment page.
    sign_in(c, &base, "lerato@kopano.demo.test", DEMO_PASSWORD).await?;
    wait_for_text(c, "h1", |t| t == "Second factor").await;
    c.find(Locator::Id("enrol-required")).await?;
    c.find(Locator::Css("#qr-code svg")).await?;
    c.goto(&format!("{base}/wallet")).await?;
    wait_for_text(c, "h1", |t| t == "Second factor").await;

    // Her app is set up from the key on the page; she confirms with its code.
    let secret = c.find(Locator::Id("totp-secret")).await?.text().await?.replace(' ', "");
    c.find(Locator::Id("code")).await?.send_keys(&code_in(&secret, 0)).await?;
    c.find(Locator::Id("enrol")).await?.click().await?;
    wait_for_text(c, "h1", |t| t == "Your recovery codes").await;
    let codes = c.find_all(Locator::Css("#recovery-codes code")).await?;
    assert_eq!(codes.len(), 10);
    let recovery = codes[0].text().await?;
    c.find(Locator::Id("codes-saved")).await?.click().await?;
    wait_for_text(c, "h1", |t| t.starts_with("Welcome")).await;
    sign_out(c).await?;

    // The next sign-in asks for a code. The one used to enrol is spent, so this is the
    // app's next code (accepted within the one step of clock skew allowed).
    sign_in(c, &base, "lerato@kopano.demo.test", DEMO_PASSWORD).await?;
    enter_code(c, "000000").await?;
    wait_for_text(c, "#code-error", |t| t.contains("wrong or has been used")).await;
    c.find(Locator::Id("code")).await?.send_keys(&code_in(&secret, 30)).await?;
    c.find(Locator::Id("verify-code")).await?.click().await?;
    wait_for_text(c, "h1", |t| t.starts_with("Welcome")).await;
    sign_out(c).await?;

    // A recovery code signs in once.
    sign_in(c, &base, "lerato@kopano.demo.test", DEMO_PASSWORD).await?;
    enter_code(c, &recovery).await?;
    wait_for_text(c, ".flash", |t| t.contains("recovery code; 9 left")).await;
    sign_out(c).await?;
    sign_in(c, &base, "lerato@kopano.demo.test", DEMO_PASSWORD).await?;
    enter_code(c, &recovery).await?;
    wait_for_text(c, "#code-error", |t| t.contains("wrong or has been used")).await;
    Ok(())
}
