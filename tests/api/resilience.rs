//! One slow part never stops the rest: a wallet row held for a long time, or slow CSV
//! downloads, leave other organisations' pages and the health check fast, and the
//! waiting money requests end with a clear "busy" instead of holding every connection.

use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::future::join_all;
use reqwest::StatusCode;
use secrecy::ExposeSecret;

use crate::helpers::{Browser, CUSTOMER, STAFF, TestApp, spawn_app};
use crate::support::{ACME, BONGANI, PENDING, balance, org_id, quote_id, wallet_verify};

/// Times a page of another organisation; it must stay fast whatever Acme is waiting on.
async fn timed_get(browser: &Browser, path: &str) -> (StatusCode, Duration) {
    let started = Instant::now();
    let status = browser.get(path).await.status;
    (status, started.elapsed())
}

/// Holds Acme's wallet row (as a stuck job or a manual SQL session would) on a
/// connection of its own, outside the app's pools, until the returned connection drops.
async fn hold_wallet(app: &TestApp, org: i64) -> AsyncPgConnection {
    let mut conn = AsyncPgConnection::establish(app.db.urls.main.expose_secret()).await.unwrap();
    conn.batch_execute(&format!("BEGIN; SELECT 1 FROM organisation_wallets WHERE organisation_id = {org} FOR UPDATE"))
        .await
        .unwrap();
    conn
}

#[actix_web::test]
async fn a_locked_wallet_makes_its_own_acceptances_busy_not_everyone_elses_pages() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let before = balance(&app, acme).await;
    let quote = quote_id(&app, PENDING).await;
    let customer = app.signed_in(CUSTOMER).await;
    let other = app.signed_in(BONGANI).await;
    let token = customer.csrf_token().await;
    let holder = hold_wallet(&app, acme).await;

    let path = format!("/quotes/{quote}/accept");
    let fields = [("csrf_token", token.as_str())];
    let presses = join_all((0..30).map(|_| customer.post_raw(&path, &fields)));
    let others = async {
        // Give the presses a moment to queue, then read other pages while they wait.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut timings = Vec::new();
        for path in ["/catalog", "/quotes", "/healthz", "/readyz"] {
            timings.push((path, timed_get(&other, path).await));
        }
        timings
    };
    let started = Instant::now();
    let (answers, timings) = tokio::join!(presses, others);
    let all_answered = started.elapsed();

    for (path, (status, took)) in timings {
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(took < Duration::from_secs(1), "{path} took {took:?} while Acme's wallet was held");
    }
    for page in &answers {
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{}", page.body);
        assert!(page.body.contains("Busy, try again"));
        assert!(page.headers.contains_key("retry-after"));
    }
    assert!(all_answered < Duration::from_secs(15), "every press is answered in bounded time: {all_answered:?}");

    drop(holder);
    assert_eq!(balance(&app, acme).await, before, "nothing was debited while the wallet was held");
    let accepted = customer.post(&path, &[]).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "once the lock is gone, accepting works");
    let (ok, report) = wallet_verify(&app);
    assert!(ok, "{report}");
}

#[actix_web::test]
async fn slow_exports_do_not_hold_the_connections_pages_need() {
    let app = spawn_app().await;
    // 40 000 rows: some 6 MB of CSV, more than the sockets buffer, so a download that is
    // not read keeps its export task (and its connection) waiting.
    crate::support::bulk_ledger(&app, 40, 1000).await;
    let staff = app.signed_in(STAFF).await;
    let other = app.signed_in(BONGANI).await;
    // Start downloads and read none of them: each holds its export connection until it
    // is dropped; those that find the export pool taken are answered 503 at once.
    let mut downloads = Vec::new();
    for _ in 0..6 {
        let response = staff.client.get(format!("{}/transactions.csv", staff.base)).send().await.unwrap();
        assert!(matches!(response.status(), StatusCode::OK | StatusCode::SERVICE_UNAVAILABLE));
        downloads.push(response);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for path in ["/catalog", "/quotes", "/healthz"] {
        let (status, took) = timed_get(&other, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(took < Duration::from_secs(1), "{path} took {took:?} during exports");
    }
    drop(downloads);
}

/// Sends SIGSTOP or SIGCONT: a stopped Redis keeps its connections open and answers
/// nothing, the worst kind of outage.
fn signal(child: &tokio::process::Child, signal: i32) {
    let pid = child.id().expect("redis-server is running") as i32;
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

#[actix_web::test]
async fn a_redis_that_stops_answering_gets_quick_answers_and_is_recovered_from() {
    use portal::startup::Sessions;
    use portal::state::Shared;
    let dir = crate::helpers::test_dir(&format!("redis-outage-{}", std::process::id()));
    let Some((redis, url)) = crate::faults::start_redis(&dir).await else { return };
    let sessions = Sessions::connect(Some(&url)).await.unwrap();
    let app = crate::helpers::spawn_app_on(Shared::new(15.into()).with_redis(Some(&url)), sessions).await;
    let customer = app.signed_in(CUSTOMER).await;
    assert_eq!(customer.get("/catalog").await.status, StatusCode::OK);

    signal(&redis, libc::SIGSTOP);
    let (health, took) = timed_get(&customer, "/healthz").await;
    assert_eq!(health, StatusCode::OK, "the process is up");
    assert!(took < Duration::from_secs(1), "/healthz took {took:?}");
    let started = Instant::now();
    let ready = app.browser().get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.body.contains("redis: unavailable"), "{}", ready.body);
    assert!(started.elapsed() < Duration::from_secs(3), "/readyz took {:?}", started.elapsed());
    for (browser, path) in [(&customer, "/catalog"), (&app.browser(), "/login")] {
        let started = Instant::now();
        let page = browser.get(path).await;
        let took = started.elapsed();
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {}", page.body);
        assert!(page.headers.contains_key("retry-after"), "{path}");
        assert!(took < Duration::from_secs(3), "{path} took {took:?} while Redis was stopped");
    }

    signal(&redis, libc::SIGCONT);
    let started = Instant::now();
    loop {
        let status = customer.get("/catalog").await.status;
        if status == StatusCode::OK {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still {status} after Redis came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = app.browser().get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    assert!(ready.body.contains("redis: ok"));
}
