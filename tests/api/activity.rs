//! `/admin/activity`: who did what, filtered and paged.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::main::schema::user_activity_log;
use reqwest::StatusCode;

use crate::admin_helpers::{assert_admin_only, org_id, user_id};
use crate::helpers::{ADMIN, CUSTOMER, Page, spawn_app};

/// The ids of the table's rows, in page order.
fn row_ids_of(page: &Page) -> Vec<i64> {
    crate::support::row_ids(page, "#activity tbody tr", "activity-")
}

fn next_link(page: &Page) -> Option<String> {
    let selector = scraper::Selector::parse("#next-page").unwrap();
    page.html().select(&selector).next().and_then(|a| a.value().attr("href").map(str::to_owned))
}

#[actix_web::test]
async fn only_activity_viewers_read_the_log() {
    let app = spawn_app().await;
    assert_admin_only(&app, &["/admin/activity"], &[]).await;
    assert_eq!(app.signed_in(ADMIN).await.get("/admin/activity").await.status, StatusCode::OK);
}

#[actix_web::test]
async fn the_log_shows_who_did_what_and_filters_by_user_organisation_action_and_day() {
    let app = spawn_app().await;
    app.browser().login(CUSTOMER, "wrong password!").await;
    let admin = app.signed_in(ADMIN).await;
    let acme = org_id(&app, "Acme Logistics").await;
    admin.post(&format!("/admin/organisations/{acme}/suspend"), &[("reason", "<b>late</b> payment")]).await;

    let page = admin.get("/admin/activity").await;
    assert_eq!(page.status, StatusCode::OK);
    let newest = scraper::Selector::parse("#activity tbody tr td").unwrap();
    let cells: Vec<String> = page.html().select(&newest).take(7).map(|td| td.text().collect::<String>()).collect();
    assert!(cells[1].contains("Nomvula Dlamini <admin@demo.test>"), "{cells:?}");
    assert_eq!(cells[2], "Acme Logistics");
    assert_eq!(cells[3], "organisation.suspended");
    assert_eq!(cells[4], format!("organisation:{acme}"));
    assert_eq!(cells[5], "127.0.0.1");
    assert!(cells[6].contains("Suspended reason: (none) → <b>late</b> payment"), "{}", cells[6]);
    assert!(!page.body.contains("<b>late</b>"), "shown as text");

    let only = |page: &Page| {
        let selector = scraper::Selector::parse("#activity tbody tr td:nth-child(4)").unwrap();
        page.html().select(&selector).map(|td| td.text().collect::<String>()).collect::<Vec<_>>()
    };
    assert_eq!(only(&admin.get("/admin/activity?action=organisation.").await), ["organisation.suspended"]);
    assert_eq!(only(&admin.get("/admin/activity?action=login.f").await), ["login.failed"]);
    let customer = user_id(&app, CUSTOMER).await;
    assert_eq!(only(&admin.get(&format!("/admin/activity?user={customer}")).await), ["login.failed"]);
    let by_org = only(&admin.get(&format!("/admin/activity?org={acme}")).await);
    assert_eq!(by_org, ["organisation.suspended", "login.failed"]);
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Africa::Johannesburg).date_naive();
    let tomorrow = today + chrono::Days::new(1);
    assert_eq!(row_ids_of(&admin.get(&format!("/admin/activity?from={today}&to={today}")).await).len(), 3);
    assert!(row_ids_of(&admin.get(&format!("/admin/activity?from={tomorrow}")).await).is_empty());
    let bad = admin.get(&format!("/admin/activity?from=yesterday&to={today}&user=zzqq")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(r#"id="from-error">Use a date like 2026-11-24."#));
    assert!(bad.body.contains(r#"id="user-error">No user matches “zzqq”."#));
    let backwards = admin.get(&format!("/admin/activity?from={tomorrow}&to={today}")).await;
    assert!(backwards.body.contains("The end date is before the start date."));
}

#[actix_web::test]
async fn the_log_pages_back_with_after_without_gaps_or_repeats() {
    let app = spawn_app().await;
    {
        let mut conn = app.main_conn().await;
        let rows: Vec<_> = (0..120)
            .map(|i| (user_activity_log::action.eq("test.filler"), user_activity_log::target.eq(format!("filler:{i}"))))
            .collect();
        diesel::insert_into(user_activity_log::table).values(&rows).execute(&mut conn).await.unwrap();
    }
    let admin = app.signed_in(ADMIN).await;
    let mut seen = Vec::new();
    let mut next = Some("/admin/activity?action=test.".to_owned());
    while let Some(path) = next {
        let page = admin.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        seen.extend(row_ids_of(&page));
        next = next_link(&page);
        assert!(next.as_deref().is_none_or(|n| n.contains("action=test.")), "the filters stay on");
    }
    assert_eq!(seen.len(), 120);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats");
}
