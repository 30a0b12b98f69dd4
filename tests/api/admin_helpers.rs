//! What the admin tests share: ids by name, activity rows, the flash message, and the
//! access checks every admin route gets.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::main::schema::user_activity_log;
use reqwest::StatusCode;

use crate::helpers::{Browser, CUSTOMER, Page, STAFF, TestApp};
pub use crate::support::{org_id, user_id};

/// The details of the log rows with this action, oldest first.
pub async fn logged(app: &TestApp, action: &str) -> Vec<serde_json::Value> {
    let mut conn = app.main_conn().await;
    user_activity_log::table
        .filter(user_activity_log::action.eq(action))
        .order(user_activity_log::id.asc())
        .select(user_activity_log::detail)
        .load(&mut conn)
        .await
        .unwrap()
}

pub async fn log_rows(app: &TestApp) -> i64 {
    let mut conn = app.main_conn().await;
    user_activity_log::table.count().get_result(&mut conn).await.unwrap()
}

/// The text of the first element matching `css`, trimmed.
pub fn text(page: &Page, css: &str) -> Option<String> {
    let selector = scraper::Selector::parse(css).unwrap();
    page.html().select(&selector).next().map(|e| e.text().collect::<String>().trim().to_owned())
}

/// Follows a 303 and returns the flash message shown there.
pub async fn flash_after(browser: &Browser, response: &Page) -> String {
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let page = browser.get(response.location()).await;
    text(&page, ".flash").unwrap_or_else(|| panic!("a flash message on {}", response.location()))
}

/// The temporary password at the end of a flash message.
pub fn temporary_password(flash: &str) -> String {
    let password = flash.rsplit(": ").next().unwrap().trim().to_owned();
    assert_eq!(password.len(), 16, "{flash}");
    password
}

/// Anonymous visitors are sent to sign in; customers and staff get 403 (GET and POST).
pub async fn assert_admin_only(app: &TestApp, gets: &[&str], posts: &[&str]) {
    let anonymous = app.browser();
    for path in gets {
        let page = anonymous.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "anonymous GET {path}");
        assert!(page.location().starts_with("/login?next="), "anonymous GET {path}");
    }
    for path in posts {
        let token = anonymous.get("/login").await.csrf_token().unwrap();
        let page = anonymous.post_raw(path, &[("csrf_token", &token)]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "anonymous POST {path}");
        assert_eq!(page.location(), "/login", "anonymous POST {path}");
    }
    for email in [CUSTOMER, STAFF] {
        let browser = app.signed_in(email).await;
        for path in gets {
            assert_eq!(browser.get(path).await.status, StatusCode::FORBIDDEN, "{email} GET {path}");
        }
        for path in posts {
            assert_eq!(browser.post(path, &[]).await.status, StatusCode::FORBIDDEN, "{email} POST {path}");
        }
    }
}
