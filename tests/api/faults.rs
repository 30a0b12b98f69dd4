//! Faults under load. While customers of two organisations accept quotes and a clerk
//! records top-ups, (a) the app is killed with SIGKILL and started again, (b) PostgreSQL
//! restarts, (c) two `portal serve` instances share the databases and keep their
//! sessions in Redis, each customer signing in on one and accepting on both.
//!
//! After each: `portal wallet verify` passes, no quote has two debits, no balance is
//! negative, every answer was a success, a clean refusal or a 503 (the only other
//! outcome allowed is no answer at all while the app is down), what the clients saw
//! acknowledged is in the ledger and nothing else is, and the app is ready again
//! (`/readyz`) within 5 seconds.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::rc::Rc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use futures_util::future::join_all;
use portal::config::DatabaseUrls;
use portal::db::cluster::{Cluster, ClusterOptions};
use portal::db::main::schema::{organisation_wallets, organisations, quotes, wallet_transactions as tx};
use portal::db::registry::DATABASES;
use portal::db::{Pools, migrate};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use secrecy::ExposeSecret;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::browser::find_program;
use crate::helpers::{
    CUSTOMER, DEMO_PASSWORD, DEMO_TOTP_SECRET, SECOND_STEP, STAFF, TestDatabases, current_code, test_dir,
};
use crate::support::{ACME, BONGANI, UBUNTU, wallet_verify_urls};

/// Shared by every instance, so a cookie from one is read by the other.
const SESSION_KEY: &str = "fault-tests-session-key-not-secret-0123456789-0123456789-0123456789";
/// The longest the app may take to answer `/readyz` again once its database is back.
const READY_WITHIN: Duration = Duration::from_secs(5);
/// A client gives up on one quote or top-up after this long (the test then fails).
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);
/// Time between one client's requests, so that the stream is still flowing when the
/// fault comes.
const PACE: Duration = Duration::from_millis(40);
const RETRY_AFTER: Duration = Duration::from_millis(100);

// ---------------------------------------------------------------- the app as a process

/// One `portal serve` process, killed when dropped.
struct Instance {
    child: tokio::process::Child,
    base: String,
}

/// Starts `portal serve` on `addr` against `urls`; returns once it printed its address.
async fn serve(urls: &DatabaseUrls, addr: &str, redis_url: Option<&str>, log: &Path) -> Instance {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_portal"));
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL_MAIN", urls.main.expose_secret())
        .env("DATABASE_URL_AAS", urls.aas.expose_secret())
        .env("DATABASE_URL_ENETWORKS", urls.enetworks.expose_secret())
        .env("PORTAL_SESSION_KEY", SESSION_KEY)
        .env("PORTAL_ADDR", addr)
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true);
    if let Some(url) = redis_url {
        command.env("PORTAL_REDIS_URL", url);
    }
    let mut child = command.spawn().expect("start portal serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut base = None;
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(rest) = line.strip_prefix("Reseller portal: ") {
            base = Some(rest.trim_end_matches('/').to_owned());
        }
        if line.starts_with("Stop with Ctrl-C") {
            break;
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Instance { child, base: base.expect("serve printed its address (see its log in the test folder)") }
}

impl Instance {
    fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    async fn kill(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }
}

/// How long `/readyz` takes to answer 200, polling every 50 ms; fails after [`READY_WITHIN`].
async fn time_to_ready(base: &str, since: Instant) -> Duration {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(1)).build().unwrap();
    loop {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status() == StatusCode::OK
        {
            return since.elapsed();
        }
        assert!(since.elapsed() < READY_WITHIN, "{base} was not ready within {READY_WITHIN:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------- clients

/// A signed-in person: the session cookie and its CSRF token, sent by hand so that
/// the same session can be used on any instance.
#[derive(Clone)]
struct Person {
    http: reqwest::Client,
    cookie: String,
    csrf: String,
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("portal_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

fn csrf_of(body: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker).expect("a form with a CSRF token") + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

async fn sign_in(base: &str, email: &str) -> Person {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let form = http.get(format!("{base}/login")).send().await.unwrap();
    let cookie = session_cookie(&form).unwrap();
    let csrf = csrf_of(&form.text().await.unwrap());
    let signed_in = http
        .post(format!("{base}/login"))
        .header("cookie", &cookie)
        .form(&[("email", email), ("password", DEMO_PASSWORD), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER, "sign-in as {email}");
    let mut cookie = session_cookie(&signed_in).expect("a renewed session cookie");
    if signed_in.headers()["location"] == SECOND_STEP {
        let form = http.get(format!("{base}{SECOND_STEP}")).header("cookie", &cookie).send().await.unwrap();
        let csrf = csrf_of(&form.text().await.unwrap());
        let code = current_code(DEMO_TOTP_SECRET);
        let step = http
            .post(format!("{base}{SECOND_STEP}"))
            .header("cookie", &cookie)
            .form(&[("code", code.as_str()), ("csrf_token", &csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(step.status(), StatusCode::SEE_OTHER, "second step as {email}");
        cookie = session_cookie(&step).expect("a renewed session cookie");
    }
    let home = http.get(format!("{base}/")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    Person { http, csrf: csrf_of(&home.text().await.unwrap()), cookie }
}

/// An HTTP answer, or `None` when there was none (connection refused or cut).
async fn post(
    person: &Person,
    base: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> Option<(StatusCode, String, String)> {
    let mut form = fields.to_vec();
    form.push(("csrf_token", &person.csrf));
    let response =
        person.http.post(format!("{base}{path}")).header("cookie", &person.cookie).form(&form).send().await.ok()?;
    let status = response.status();
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body = response.text().await.ok()?;
    Some((status, location, body))
}

/// What the clients saw, to be compared with the ledger afterwards.
#[derive(Default)]
struct Tally {
    accepted: BTreeSet<i64>,
    refused: BTreeSet<i64>,
    credited: BTreeSet<String>,
    /// Clean 503 answers.
    unavailable: usize,
    /// No answer: the app was down or the connection was cut.
    no_answer: usize,
    /// Anything else: a failure of this test.
    wrong: Vec<String>,
    answers: usize,
}

/// The stream's shared state: what was seen, and the instances to spread requests over.
struct Stream {
    tally: RefCell<Tally>,
    bases: RefCell<Vec<String>>,
    turn: Cell<usize>,
}

impl Stream {
    fn new(bases: Vec<String>) -> Rc<Stream> {
        Rc::new(Stream { tally: RefCell::default(), bases: RefCell::new(bases), turn: Cell::new(0) })
    }

    /// The next instance, in turn.
    fn base(&self) -> String {
        let bases = self.bases.borrow();
        self.turn.set(self.turn.get() + 1);
        bases[self.turn.get() % bases.len()].clone()
    }

    /// Waits until the stream has had `n` answers.
    async fn wait_for_answers(&self, n: usize) {
        while self.tally.borrow().answers < n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

enum Verdict {
    Done,
    Retry,
}

/// Counts an answer that is neither the expected success nor a known refusal.
fn judge_other(stream: &Stream, what: &str, answer: Option<(StatusCode, String, String)>) -> Verdict {
    let mut tally = stream.tally.borrow_mut();
    match answer {
        None => {
            tally.no_answer += 1;
            Verdict::Retry
        }
        Some((StatusCode::SERVICE_UNAVAILABLE, _, body)) => {
            tally.answers += 1;
            tally.unavailable += 1;
            assert!(body.contains("Temporarily unavailable"), "a 503 for {what} without its page");
            Verdict::Retry
        }
        Some((status, location, body)) => {
            tally.answers += 1;
            let start: String = body.chars().take(300).collect();
            tally.wrong.push(format!("{what}: {status} {location} {start}"));
            Verdict::Done
        }
    }
}

/// Accepts each quote in turn, asking again (the same quote) after a 503 or no answer.
async fn accept_quotes(stream: Rc<Stream>, person: Person, quote_ids: Vec<i64>) {
    for id in quote_ids {
        let started = Instant::now();
        let path = format!("/quotes/{id}/accept");
        loop {
            assert!(started.elapsed() < GIVE_UP_AFTER, "quote {id} never got an answer");
            let answer = post(&person, &stream.base(), &path, &[]).await;
            let verdict = match answer {
                Some((StatusCode::SEE_OTHER, location, _)) if location == format!("/quotes/{id}") => {
                    let mut tally = stream.tally.borrow_mut();
                    tally.answers += 1;
                    tally.accepted.insert(id);
                    Verdict::Done
                }
                Some((StatusCode::UNPROCESSABLE_ENTITY, _, body)) if body.contains("Insufficient funds") => {
                    let mut tally = stream.tally.borrow_mut();
                    tally.answers += 1;
                    tally.refused.insert(id);
                    Verdict::Done
                }
                other => judge_other(&stream, &path, other),
            };
            match verdict {
                Verdict::Done => break,
                Verdict::Retry => tokio::time::sleep(RETRY_AFTER).await,
            }
        }
        tokio::time::sleep(PACE).await;
    }
}

/// Records top-ups of R 1 000 for each organisation in turn, each with its own
/// idempotency key, asking again with the same key after a 503 or no answer.
async fn top_up(stream: Rc<Stream>, clerk: Person, org_ids: Vec<i64>) {
    for (n, org) in org_ids.into_iter().enumerate() {
        let key = uuid::Uuid::new_v4().to_string();
        let reference = format!("EFT-FAULT-{n}");
        let path = format!("/admin/organisations/{org}/credit");
        let started = Instant::now();
        loop {
            assert!(started.elapsed() < GIVE_UP_AFTER, "top-up {key} never got an answer");
            let fields = [("amount", "1000.00"), ("reference", reference.as_str()), ("idempotency_key", key.as_str())];
            let answer = post(&clerk, &stream.base(), &path, &fields).await;
            let verdict = match answer {
                Some((StatusCode::SEE_OTHER, location, _)) if location == format!("/admin/organisations/{org}") => {
                    let mut tally = stream.tally.borrow_mut();
                    tally.answers += 1;
                    tally.credited.insert(key.clone());
                    Verdict::Done
                }
                other => judge_other(&stream, &path, other),
            };
            match verdict {
                Verdict::Done => break,
                Verdict::Retry => tokio::time::sleep(RETRY_AFTER).await,
            }
        }
        tokio::time::sleep(PACE * 2).await;
    }
}

// ---------------------------------------------------------------- the scenario

/// The pending quotes and the people of one run.
struct Workload {
    acme: i64,
    ubuntu: i64,
    acme_quotes: Vec<i64>,
    ubuntu_quotes: Vec<i64>,
}

impl Workload {
    fn quote_ids(&self) -> Vec<i64> {
        self.acme_quotes.iter().chain(&self.ubuntu_quotes).copied().collect()
    }
}

/// 48 pending quotes of R 1 700 for Acme Logistics (R 66 381.49 in its wallet, so some
/// are refused) and 24 of R 450 for Ubuntu Freight (an empty wallet that top-ups fill
/// while the stream runs).
async fn prepare(urls: &DatabaseUrls) -> Workload {
    let mut conn = AsyncPgConnection::establish(urls.main.expose_secret()).await.unwrap();
    let org = |name: &'static str| organisations::table.filter(organisations::name.eq(name)).select(organisations::id);
    let acme: i64 = org(ACME).first(&mut conn).await.unwrap();
    let ubuntu: i64 = org(UBUNTU).first(&mut conn).await.unwrap();
    let mut insert = async |org: i64, amount: &str, count: usize| -> Vec<i64> {
        let amount: Decimal = amount.parse().unwrap();
        let row = (
            quotes::organisation_id.eq(org),
            quotes::kind.eq("service"),
            quotes::title.eq("Fault test services"),
            quotes::valid_until.eq(chrono::Utc::now() + chrono::Duration::days(1)),
            quotes::vat_rate.eq(Decimal::from(15)),
            quotes::once_off_total.eq(amount),
            quotes::monthly_total.eq(Decimal::ZERO),
            quotes::amount_due.eq(amount),
        );
        diesel::insert_into(quotes::table)
            .values(vec![row; count])
            .returning(quotes::id)
            .get_results(&mut conn)
            .await
            .unwrap()
    };
    let acme_quotes = insert(acme, "1700.00", 48).await;
    let ubuntu_quotes = insert(ubuntu, "450.00", 24).await;
    // Each quote's one line, which its tax invoice copies.
    conn.batch_execute(
        "INSERT INTO quote_lines (quote_id, line_no, catalog, item_kind, item_id, sku, description, billing,
                                  unit_cost, margin_pct, unit_price, quantity, amount)
         SELECT id, 1, 'aas', 'product', 1, 'FAULT-1', 'Fault test service', 'once_off',
                amount_due, 0, amount_due, 1, amount_due
         FROM quotes WHERE title = 'Fault test services'",
    )
    .await
    .unwrap();
    Workload { acme, ubuntu, acme_quotes, ubuntu_quotes }
}

/// Runs the stream (three clients for Acme, two for Ubuntu Freight, one clerk topping
/// up both) to its end, with `fault` running beside it.
async fn run_stream<F: Future>(stream: &Rc<Stream>, work: &Workload, sign_in_at: &str, fault: F) -> F::Output {
    let acme = sign_in(sign_in_at, CUSTOMER).await;
    let ubuntu = sign_in(sign_in_at, BONGANI).await;
    let clerk = sign_in(sign_in_at, STAFF).await;
    let mut clients: Vec<std::pin::Pin<Box<dyn Future<Output = ()>>>> = Vec::new();
    for chunk in work.acme_quotes.chunks(16) {
        clients.push(Box::pin(accept_quotes(stream.clone(), acme.clone(), chunk.to_vec())));
    }
    for chunk in work.ubuntu_quotes.chunks(12) {
        clients.push(Box::pin(accept_quotes(stream.clone(), ubuntu.clone(), chunk.to_vec())));
    }
    let credits: Vec<i64> = (0..15).map(|n| if n % 3 == 2 { work.acme } else { work.ubuntu }).collect();
    clients.push(Box::pin(top_up(stream.clone(), clerk, credits)));
    let (_, out) = tokio::join!(join_all(clients), fault);
    out
}

/// Every check the issue asks for, against the ledger.
async fn check(urls: &DatabaseUrls, work: &Workload, tally: &Tally) {
    assert!(tally.wrong.is_empty(), "answers that were neither success, refusal nor 503: {:#?}", tally.wrong);
    let (ok, report) = wallet_verify_urls(urls);
    assert!(ok, "portal wallet verify failed:\n{report}");

    let mut conn = AsyncPgConnection::establish(urls.main.expose_secret()).await.unwrap();
    let ids = work.quote_ids();
    let debited: Vec<Option<i64>> = tx::table
        .filter(tx::kind.eq("debit"))
        .filter(tx::quote_id.eq_any(&ids))
        .select(tx::quote_id)
        .load(&mut conn)
        .await
        .unwrap();
    let debited_set: BTreeSet<i64> = debited.iter().flatten().copied().collect();
    assert_eq!(debited.len(), debited_set.len(), "a quote was debited twice");
    let accepted: BTreeSet<i64> = quotes::table
        .filter(quotes::id.eq_any(&ids))
        .filter(quotes::status.eq("accepted"))
        .select(quotes::id)
        .load::<i64>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(accepted, tally.accepted, "the accepted quotes are exactly those the clients saw accepted");
    assert_eq!(debited_set, tally.accepted, "the debited quotes are exactly the accepted ones");
    assert!(tally.accepted.is_disjoint(&tally.refused));
    assert_eq!(tally.accepted.len() + tally.refused.len(), ids.len(), "every quote had its answer");

    let keys: Vec<&String> = tally.credited.iter().collect();
    let credited: Vec<Option<String>> = tx::table
        .filter(tx::kind.eq("credit"))
        .filter(tx::reference.like("EFT-FAULT-%"))
        .select(tx::idempotency_key)
        .load(&mut conn)
        .await
        .unwrap();
    let credited_set: BTreeSet<String> = credited.iter().flatten().cloned().collect();
    assert_eq!(credited.len(), credited_set.len(), "a top-up was recorded twice");
    assert_eq!(credited_set.iter().collect::<Vec<_>>(), keys, "the ledger holds exactly the acknowledged top-ups");

    let negative: i64 = organisation_wallets::table
        .filter(organisation_wallets::balance.lt(Decimal::ZERO))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(negative, 0, "a negative balance");
    eprintln!(
        "stream: {} accepted, {} refused for funds, {} top-ups; {} answers 503, {} requests without an answer",
        tally.accepted.len(),
        tally.refused.len(),
        tally.credited.len(),
        tally.unavailable,
        tally.no_answer
    );
}

// ---------------------------------------------------------------- (a) SIGKILL

#[actix_web::test]
async fn the_app_killed_with_sigkill_during_payments_loses_and_doubles_nothing() {
    let db = TestDatabases::new().await;
    let dir = test_dir(&format!("fault-kill-{}", db.names[0]));
    let log = dir.join("serve.log");
    let work = prepare(&db.urls).await;
    let app = serve(&db.urls, "127.0.0.1:0", None, &log).await;
    let base = app.base.clone();
    let addr = app.addr().to_owned();
    let stream = Stream::new(vec![base.clone()]);

    let fault = async {
        stream.wait_for_answers(20).await;
        app.kill().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let restarted_at = Instant::now();
        let again = serve(&db.urls, &addr, None, &log).await;
        let ready = time_to_ready(&again.base, restarted_at).await;
        eprintln!("killed with SIGKILL; started again and ready after {ready:?}");
        again
    };
    let _again = run_stream(&stream, &work, &base, fault).await;

    let tally = stream.tally.take();
    assert!(tally.no_answer > 0, "the kill came while requests were flowing");
    check(&db.urls, &work, &tally).await;
}

// ---------------------------------------------------------------- (b) PostgreSQL restarts

enum ClusterCommand {
    Restart { down_for: Duration, back: tokio::sync::oneshot::Sender<Instant> },
}

/// A cluster of its own (restarting the shared one would break the other tests), on a
/// thread that owns it: the server dies with that thread, which ends with the test.
fn own_cluster(dir: PathBuf) -> (DatabaseUrls, std::sync::mpsc::Sender<ClusterCommand>) {
    let (urls_tx, urls_rx) = std::sync::mpsc::channel();
    let (commands, command_rx) = std::sync::mpsc::channel::<ClusterCommand>();
    std::thread::spawn(move || {
        let options = ClusterOptions { durable: false, bin_dir: None };
        let mut cluster = Cluster::start(&dir, &options).expect("start a cluster");
        let urls = cluster.database_urls();
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
            cluster.create_databases(&DATABASES.map(|db| db.cluster_name), None).await.unwrap();
            migrate::run_all(&urls).await.unwrap();
            portal::db::seed::seed_demo(&Pools::new(&urls, 2)).await.unwrap();
        });
        urls_tx.send(urls).unwrap();
        while let Ok(ClusterCommand::Restart { down_for, back }) = command_rx.recv() {
            cluster.stop();
            std::thread::sleep(down_for);
            cluster = Cluster::start(&dir, &options).expect("start the cluster again");
            let _ = back.send(Instant::now());
        }
        cluster.stop();
    });
    (urls_rx.recv().expect("the cluster started"), commands)
}

#[actix_web::test]
async fn a_postgresql_restart_during_payments_is_answered_with_503_and_recovered_from() {
    let dir = test_dir(&format!("fault-pg-{}", uuid::Uuid::new_v4().simple()));
    let (urls, cluster) = own_cluster(dir.clone());
    let work = prepare(&urls).await;
    let app = serve(&urls, "127.0.0.1:0", None, &dir.join("serve.log")).await;
    let stream = Stream::new(vec![app.base.clone()]);

    let fault = async {
        stream.wait_for_answers(20).await;
        let (back, back_rx) = tokio::sync::oneshot::channel();
        cluster.send(ClusterCommand::Restart { down_for: Duration::from_secs(1), back }).unwrap();
        let back_at = back_rx.await.unwrap();
        let ready = time_to_ready(&app.base, back_at).await;
        eprintln!("PostgreSQL down for 1 s; the app was ready {ready:?} after it came back");
    };
    run_stream(&stream, &work, &app.base, fault).await;

    let tally = stream.tally.take();
    assert!(tally.unavailable > 0, "the restart came while requests were flowing");
    check(&urls, &work, &tally).await;
    app.kill().await;
    drop(cluster);
}

// ---------------------------------------------------------------- (c) two instances

/// A Redis server on a free loopback port, stopped when dropped; `None` when Redis is
/// not installed here (CI installs it, so there that is a failure).
pub async fn start_redis(dir: &Path) -> Option<(tokio::process::Child, String)> {
    let Some(program) = find_program("redis-server") else {
        assert!(std::env::var_os("CI").is_none(), "CI must have redis-server (.ci/run installs it)");
        eprintln!("skipping the two-instance test: install redis-server to run it");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = tokio::process::Command::new(program)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start redis-server");
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "redis-server did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Some((child, format!("redis://127.0.0.1:{port}/")))
}

/// How many keys the Redis server holds (`DBSIZE`, spoken in RESP by hand).
async fn redis_keys(url: &str) -> u64 {
    use tokio::io::AsyncWriteExt;
    let addr = url.trim_start_matches("redis://").trim_end_matches('/');
    let mut conn = BufReader::new(tokio::net::TcpStream::connect(addr).await.unwrap());
    conn.get_mut().write_all(b"DBSIZE\r\n").await.unwrap();
    let mut line = String::new();
    conn.read_line(&mut line).await.unwrap();
    line.trim().trim_start_matches(':').parse().unwrap()
}

#[actix_web::test]
async fn two_instances_share_sessions_through_redis_and_split_the_payments() {
    let db = TestDatabases::new().await;
    let dir = test_dir(&format!("fault-two-{}", db.names[0]));
    let Some((_redis, redis_url)) = start_redis(&dir).await else { return };
    let work = prepare(&db.urls).await;
    let log = dir.join("serve.log");
    let (a, b) = tokio::join!(
        serve(&db.urls, "127.0.0.1:0", Some(&redis_url), &log),
        serve(&db.urls, "127.0.0.1:0", Some(&redis_url), &log)
    );

    // Everyone signs in on A; their requests alternate between A and B.
    let stream = Stream::new(vec![a.base.clone(), b.base.clone()]);
    run_stream(&stream, &work, &a.base, async {}).await;
    let tally = stream.tally.take();
    assert_eq!((tally.unavailable, tally.no_answer), (0, 0), "no fault here: every request had its answer");
    check(&db.urls, &work, &tally).await;

    // The sessions are in Redis, and a sign-out on B ends one on A too.
    let person = sign_in(&a.base, CUSTOMER).await;
    assert!(redis_keys(&redis_url).await > 0, "sessions are kept in Redis");
    let on_b = person.http.get(format!("{}/wallet", b.base)).header("cookie", &person.cookie).send().await.unwrap();
    assert_eq!(on_b.status(), StatusCode::OK, "signed in on A, the session works on B");
    let out = post(&person, &b.base, "/logout", &[]).await.unwrap();
    assert_eq!(out.0, StatusCode::SEE_OTHER);
    let replay = person.http.get(format!("{}/wallet", a.base)).header("cookie", &person.cookie).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER, "the old cookie is dead on A");
    assert!(replay.headers()["location"].to_str().unwrap().starts_with("/login"));
    a.kill().await;
    b.kill().await;
}
