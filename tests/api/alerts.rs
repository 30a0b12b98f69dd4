//! In-app alerts: the bell's unread count on every page and its htmx fragment, the
//! alerts page, marking read, expiring-quote alerts raised by the hourly job,
//! the low-balance alert once per crossing, and one organisation never seeing
//! another's alerts.

use chrono::Duration;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::main::schema::in_app_alerts;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::helpers::{CUSTOMER, Page, STAFF, TestApp, spawn_app};
use crate::support::{ACME, BONGANI, UBUNTU, accept, insert_quote, org_id, text_of};

fn alert_ids(page: &Page) -> Vec<i64> {
    let selector = scraper::Selector::parse("ul.alert-list li").unwrap();
    page.html()
        .select(&selector)
        .map(|li| li.value().id().unwrap().strip_prefix("alert-").unwrap().parse().unwrap())
        .collect()
}

async fn alerts_of(app: &TestApp, org: i64, kind: &str) -> Vec<(i64, String, Option<String>)> {
    let mut conn = app.main_conn().await;
    in_app_alerts::table
        .filter(in_app_alerts::organisation_id.eq(org))
        .filter(in_app_alerts::kind.eq(kind))
        .order(in_app_alerts::id.asc())
        .select((in_app_alerts::id, in_app_alerts::title, in_app_alerts::dedupe_key))
        .load(&mut conn)
        .await
        .unwrap()
}

#[actix_web::test]
async fn the_bell_counts_unread_alerts_on_every_page_and_refreshes_by_htmx() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    // Acme's seed has one unread alert among four.
    for path in ["/", "/wallet", "/catalog", "/quotes"] {
        let page = customer.get(path).await;
        assert_eq!(text_of(&page, "alert-count").as_deref(), Some("1"), "{path}");
        assert!(page.body.contains(r#"data-hx-get="/alerts/count" data-hx-trigger="every 30s""#), "{path}");
    }
    let fragment = customer.get("/alerts/count").await;
    assert_eq!(fragment.status, StatusCode::OK);
    assert!(!fragment.body.contains("<html"), "a fragment, not a page");
    assert_eq!(text_of(&fragment, "alert-count").as_deref(), Some("1"));

    // Ubuntu Freight has none; staff see their own organisation's (none).
    assert_eq!(text_of(&app.signed_in(BONGANI).await.get("/").await, "alert-count").as_deref(), Some("0"));
    assert_eq!(text_of(&app.signed_in(STAFF).await.get("/alerts/count").await, "alert-count").as_deref(), Some("0"));
}

#[actix_web::test]
async fn past_99_unread_alerts_the_bell_and_the_dashboard_say_99_plus() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let mut conn = app.main_conn().await;
    let rows: Vec<_> = (0..150)
        .map(|n| {
            (
                in_app_alerts::organisation_id.eq(acme),
                in_app_alerts::level.eq("info"),
                in_app_alerts::kind.eq("quote_accepted"),
                in_app_alerts::title.eq(format!("Alert {n}")),
                in_app_alerts::body.eq("Piled up"),
            )
        })
        .collect();
    diesel::insert_into(in_app_alerts::table).values(rows).execute(&mut conn).await.unwrap();
    let customer = app.signed_in(CUSTOMER).await;
    for path in ["/", "/catalog", "/alerts/count"] {
        assert_eq!(text_of(&customer.get(path).await, "alert-count").as_deref(), Some("99+"), "{path}");
    }
    assert_eq!(text_of(&customer.get("/").await, "unread-alerts").as_deref(), Some("99+"));
}

#[actix_web::test]
async fn alerts_are_marked_read_one_by_one_or_all_at_once() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let customer = app.signed_in(CUSTOMER).await;
    // Two more unread ones: a top-up and an accepted quote.
    let (quote, _) = insert_quote(&app, acme, dec!(10.00), Decimal::ZERO, Duration::days(30)).await;
    accept(&customer, quote).await;
    let page = customer.get("/alerts").await;
    assert_eq!(page.status, StatusCode::OK);
    let ids = alert_ids(&page);
    assert_eq!(ids.len(), 5, "{}", page.body);
    assert_eq!(text_of(&page, "alert-count").as_deref(), Some("2"));
    let unread = customer.get("/alerts?show=unread").await;
    assert_eq!(alert_ids(&unread).len(), 2);

    let newest = ids[0];
    let response = customer.post(&format!("/alerts/{newest}/read"), &[]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let page = customer.get(response.location()).await;
    assert!(page.body.contains("Alert marked as read."));
    assert_eq!(text_of(&page, "alert-count").as_deref(), Some("1"));
    // Marking it again changes nothing and is fine.
    assert_eq!(customer.post(&format!("/alerts/{newest}/read"), &[]).await.status, StatusCode::SEE_OTHER);

    let response = customer.post("/alerts/read-all", &[]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let page = customer.get("/alerts").await;
    assert!(page.body.contains("Marked 1 alert as read."), "{}", page.body);
    assert_eq!(text_of(&page, "alert-count").as_deref(), Some("0"));
    assert!(alert_ids(&customer.get("/alerts?show=unread").await).is_empty());
    // Without the CSRF token: refused.
    assert_eq!(customer.post_raw("/alerts/read-all", &[]).await.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn one_organisations_alerts_are_invisible_to_another() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let mut conn = app.main_conn().await;
    let acme_alerts: Vec<(i64, bool)> = in_app_alerts::table
        .filter(in_app_alerts::organisation_id.eq(acme))
        .select((in_app_alerts::id, in_app_alerts::is_read))
        .load(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let bongani = app.signed_in(BONGANI).await;
    let page = bongani.get("/alerts").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(alert_ids(&page).is_empty());
    assert!(page.body.contains("No alerts yet."));
    for (id, _) in &acme_alerts {
        let response = bongani.post(&format!("/alerts/{id}/read"), &[]).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "alert {id}");
    }
    assert_eq!(bongani.post("/alerts/read-all", &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(bongani.post("/alerts/999999/read", &[]).await.status, StatusCode::NOT_FOUND);
    // Acme's alerts are untouched.
    let mut conn = app.main_conn().await;
    let after: Vec<(i64, bool)> = in_app_alerts::table
        .filter(in_app_alerts::organisation_id.eq(acme))
        .select((in_app_alerts::id, in_app_alerts::is_read))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(after, acme_alerts);
}

#[actix_web::test]
async fn the_hourly_job_raises_expiry_alerts_once_for_every_organisation_whoever_looks() {
    use portal::db::main::billing;
    use portal::jobs::{Turn, hourly_turn};
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let ubuntu = org_id(&app, UBUNTU).await;
    let (soon, number) = insert_quote(&app, acme, dec!(100.00), Decimal::ZERO, Duration::days(2)).await;
    insert_quote(&app, acme, dec!(100.00), Decimal::ZERO, Duration::days(4)).await; // not yet
    insert_quote(&app, acme, dec!(100.00), Decimal::ZERO, Duration::hours(-1)).await; // already expired
    let (theirs, _) = insert_quote(&app, ubuntu, dec!(100.00), Decimal::ZERO, Duration::days(1)).await;
    let customer = app.signed_in(CUSTOMER).await;
    for path in ["/quotes", "/", "/alerts"] {
        assert_eq!(customer.get(path).await.status, StatusCode::OK);
    }
    assert!(alerts_of(&app, acme, "quote_expiring").await.is_empty(), "looking at pages raises nothing");

    // Another instance holds the job's lock: this one does nothing.
    let metrics = portal::metrics::Metrics::default();
    let main_url = &app.db.urls.main;
    let mut holder = app.main_conn().await;
    assert!(billing::try_lock_run(&mut holder).await.unwrap());
    let turn = hourly_turn(main_url, &metrics, 7, Decimal::from(15)).await.unwrap();
    assert!(matches!(turn, Turn::Busy), "{turn:?}");
    assert!(alerts_of(&app, acme, "quote_expiring").await.is_empty());
    assert!(billing::unlock_run(&mut holder).await.unwrap());

    for _ in 0..2 {
        let turn = hourly_turn(main_url, &metrics, 7, Decimal::from(15)).await.unwrap();
        assert!(matches!(turn, Turn::Ran(_)), "{turn:?}");
    }
    let raised = alerts_of(&app, acme, "quote_expiring").await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].1, format!("Quote {number} expires soon"));
    assert_eq!(raised[0].2, Some(format!("quote-expiring:{soon}")));
    assert!(customer.get("/alerts").await.body.contains(&format!("Quote {number} expires soon")));
    // Ubuntu Freight's too, though no one of it signed in.
    let theirs_raised = alerts_of(&app, ubuntu, "quote_expiring").await;
    assert_eq!(
        theirs_raised.iter().map(|a| a.2.clone()).collect::<Vec<_>>(),
        [Some(format!("quote-expiring:{theirs}"))]
    );
}

#[actix_web::test]
async fn a_sequence_of_debits_raises_the_low_balance_alert_once_per_crossing() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let customer = app.signed_in(CUSTOMER).await;
    // Balance R 66 381.49, threshold R 5 000: down to 6 381.49, then four debits of
    // R 1 000 cross the threshold once (at 4 381.49) and stay under it.
    for amount in [dec!(30000), dec!(30000), dec!(1000), dec!(1000), dec!(1000), dec!(1000)] {
        let (quote, _) = insert_quote(&app, acme, amount, Decimal::ZERO, Duration::days(30)).await;
        accept(&customer, quote).await;
    }
    assert_eq!(alerts_of(&app, acme, "low_balance").await.len(), 1);
    // A top-up lifts it over the threshold; the next fall alerts again.
    let staff = app.signed_in(STAFF).await;
    let form = staff.get(&format!("/admin/organisations/{acme}")).await;
    let key = crate::support::input_value(&form, "idempotency_key");
    let token = form.csrf_token().unwrap();
    let fields = [("amount", "10000"), ("reference", "EFT BACK"), ("idempotency_key", &key), ("csrf_token", &token)];
    staff.post_raw(&format!("/admin/organisations/{acme}/credit"), &fields).await;
    let (quote, _) = insert_quote(&app, acme, dec!(9000), Decimal::ZERO, Duration::days(30)).await;
    accept(&customer, quote).await;
    let low = alerts_of(&app, acme, "low_balance").await;
    assert_eq!(low.len(), 2, "{low:?}");
    assert_eq!(text_of(&customer.get("/wallet").await, "balance").as_deref(), Some("R 3 381.49"));
}

/// The counters the bell reads stay equal to a count of the unread rows whatever writes
/// the alerts: many at once, read, made unread again, deleted, addressed to one user.
#[actix_web::test]
async fn the_unread_counters_follow_every_change_to_the_alerts() {
    use portal::db::main::schema::{organisation_unread_alerts, user_unread_alerts, users};
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let mut conn = app.main_conn().await;
    let user: i64 = users::table.select(users::id).order(users::id).first(&mut conn).await.unwrap();
    let counted = async |conn: &mut portal::db::PooledConn| -> (i64, i64, i64, i64) {
        let org_counter: i64 = organisation_unread_alerts::table
            .find(acme)
            .select(organisation_unread_alerts::unread)
            .first(conn)
            .await
            .unwrap_or(0);
        let user_counter: i64 =
            user_unread_alerts::table.find(user).select(user_unread_alerts::unread).first(conn).await.unwrap_or(0);
        let unread = in_app_alerts::table.filter(in_app_alerts::is_read.eq(false));
        let org_rows: i64 =
            unread.filter(in_app_alerts::organisation_id.eq(acme)).count().get_result(conn).await.unwrap();
        let user_rows: i64 = unread
            .filter(in_app_alerts::user_id.eq(user))
            .filter(in_app_alerts::organisation_id.is_null())
            .count()
            .get_result(conn)
            .await
            .unwrap();
        (org_counter, org_rows, user_counter, user_rows)
    };
    let rows: Vec<_> = (0..7)
        .map(|n| {
            (
                in_app_alerts::organisation_id.eq(Some(acme)),
                in_app_alerts::user_id.eq(None::<i64>),
                in_app_alerts::level.eq("info"),
                in_app_alerts::kind.eq("test"),
                in_app_alerts::title.eq(format!("Alert {n}")),
            )
        })
        .chain((0..3).map(|n| {
            (
                in_app_alerts::organisation_id.eq(None),
                in_app_alerts::user_id.eq(Some(user)),
                in_app_alerts::level.eq("info"),
                in_app_alerts::kind.eq("test"),
                in_app_alerts::title.eq(format!("Own {n}")),
            )
        }))
        .collect();
    diesel::insert_into(in_app_alerts::table).values(rows).execute(&mut conn).await.unwrap();
    let after_insert = counted(&mut conn).await;
    assert_eq!(after_insert.0, after_insert.1);
    assert_eq!((after_insert.2, after_insert.3), (3, 3));

    // Seven of Acme's (0 to 6), then three of the user's own (7 to 9).
    let some = in_app_alerts::table.filter(in_app_alerts::kind.eq("test")).order(in_app_alerts::id);
    let ids: Vec<i64> = some.select(in_app_alerts::id).load(&mut conn).await.unwrap();
    let read = |ids: &[i64], read: bool| {
        diesel::update(in_app_alerts::table.filter(in_app_alerts::id.eq_any(ids.to_vec())))
            .set(in_app_alerts::is_read.eq(read))
    };
    read(&ids[..4], true).execute(&mut conn).await.unwrap();
    read(&ids[8..], true).execute(&mut conn).await.unwrap();
    let after_read = counted(&mut conn).await;
    assert_eq!((after_read.0, after_read.2), (after_read.1, after_read.3));
    assert_eq!(after_read.0, after_insert.0 - 4);
    assert_eq!(after_read.2, 1);

    read(&ids[..2], false).execute(&mut conn).await.unwrap();
    diesel::delete(in_app_alerts::table.filter(in_app_alerts::id.eq_any(ids[4..9].to_vec())))
        .execute(&mut conn)
        .await
        .unwrap();
    let after_delete = counted(&mut conn).await;
    assert_eq!((after_delete.0, after_delete.2), (after_delete.1, after_delete.3));
    assert_eq!(after_delete.0, after_read.0 + 2 - 3);
    assert_eq!(after_delete.2, 0);

    // An alert written already read counts for no one.
    diesel::insert_into(in_app_alerts::table)
        .values((
            in_app_alerts::organisation_id.eq(Some(acme)),
            in_app_alerts::level.eq("info"),
            in_app_alerts::kind.eq("test"),
            in_app_alerts::title.eq("Read already"),
            in_app_alerts::is_read.eq(true),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(counted(&mut conn).await, after_delete);
}
