//! The load test: `cargo run --release --example loadtest` (add `-- --quick` for a short
//! run). It builds the release `portal`, starts its own durable PostgreSQL cluster (fsync
//! on) in a temporary folder, seeds the demo data plus bulk ledger rows with SQL, runs
//! `portal serve` against it, signs users in and drives it over loopback HTTP with wrk
//! (Debian's `wrk`), each scenario for a fixed time. In the same run it measures two
//! baselines on the same machine, so that results read as ratios: pgbench doing a
//! wallet-debit transaction at 8 clients (bare, with a gap-free number taken last as a
//! tax invoice takes one, and on the portal's own ledger), and a minimal actix + Askama page running one
//! pooled, prepared (DSL) query of 39 rows. It prints a Markdown report (see BENCHMARKS.md). Last, the
//! monthly billing run over 100 000 services in 10 000 organisations, timed against the
//! same pgbench debit. Tax invoice and statement PDFs are timed as customers download them.
//!
//! Why wrk: it is written in C like pgbench, so the load generator's own cost, which
//! shares the machine's two cores with the server and PostgreSQL, is small and about
//! the same on both sides of a ratio (an earlier tokio + reqwest client on one thread
//! used more CPU per request than the portal and capped every scenario). Sessions and
//! CSRF tokens are signed in here and handed to wrk as headers; acceptances (by form, then
//! through the API with each customer's key) use a small Lua script that gives each
//! connection its own customer and its own pending quotes.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer, web};
use askama::Template;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use portal::config::DatabaseUrls;
use portal::db::cluster::{Cluster, ClusterOptions};
use portal::db::registry::DATABASES;
use portal::db::{AasPool, Pools, migrate};
use rust_decimal::Decimal;
use secrecy::ExposeSecret;

const PASSWORD: &str = portal::db::seed::DEMO_PASSWORD;

struct Options {
    seconds: u64,
    big_ledger: i64,
    quotes: i64,
    /// Organisations of the billing run, ten monthly services each.
    billing_organisations: i64,
    /// The run's folder: the cluster, wrk's script.
    dir: std::path::PathBuf,
}

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let dir = std::env::temp_dir().join(format!("portal-loadtest-{}", std::process::id()));
    let options = if quick {
        Options { seconds: 3, big_ledger: 100_000, quotes: 16_000, billing_organisations: 2_000, dir }
    } else {
        Options { seconds: 10, big_ledger: 1_000_000, quotes: 40_000, billing_organisations: 10_000, dir }
    };
    let status = Command::new(env!("CARGO")).args(["build", "--release", "--quiet", "--bin", "portal"]).status()?;
    anyhow::ensure!(status.success(), "building the release portal failed");
    let binary = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/portal");
    let cluster = Cluster::start(&options.dir, &ClusterOptions { durable: true, bin_dir: None })?;
    let result = actix_web::rt::System::new().block_on(run(&cluster, &binary, &options));
    cluster.stop();
    let _ = std::fs::remove_dir_all(&options.dir);
    result
}

/// What wrk measured in one scenario.
struct Measured {
    name: String,
    connections: usize,
    requests: u64,
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    rss_mb: f64,
}

/// Peak resident memory of a process so far (VmHWM), in MB.
fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A wrk duration ("812.00us", "1.23ms", "1.01s") in milliseconds.
fn wrk_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    match unit {
        "us" => Some(number / 1000.0),
        "ms" => Some(number),
        "s" => Some(number * 1000.0),
        "m" => Some(number * 60_000.0),
        _ => None,
    }
}

/// How one wrk run is set up: a plain GET with headers, as fast as answers come or
/// `paced` by a script that waits between a connection's requests, or a Lua script whose
/// connections start `measured_from` items into their lists when measured (the warm-up
/// before, if `warm_up`, takes the first ones).
enum Load<'a> {
    Get { headers: &'a [String], paced: Option<&'a Path> },
    Script { path: &'a Path, measured_from: i64, warm_up: bool },
}

/// How long each connection of the paced staff-page scenarios waits after an answer:
/// about half the rate the page reaches as fast as answers come.
const PACE_MS: u32 = 5;

/// A wrk script that makes each connection wait `ms` after every answer: a page's
/// latency at a steady rate below what the machine can serve, where the run queue of
/// two cores shared by wrk, the portal and PostgreSQL does not set the tail.
fn pace_script(dir: &Path, ms: u32) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.join(format!("pace-{ms}ms.lua"));
    std::fs::write(&path, format!("function delay() return {ms} end\n"))?;
    Ok(path)
}

/// How long each scenario runs unmeasured first: every worker opens its connections
/// and every connection prepares its statements, as in a server that has been up a while.
const WARM_UP: &str = "2s";

/// Runs wrk against `url` for `seconds` with `connections` (one wrk thread per
/// connection up to two, or one each for a script that keeps state per thread), after
/// a warm-up, and reads its report. A page must answer 200 to a probe first; any answer
/// but 2xx or 3xx under load fails the scenario.
async fn wrk(
    name: &str,
    url: &str,
    connections: usize,
    seconds: u64,
    pid: u32,
    load: Load<'_>,
) -> anyhow::Result<Measured> {
    let threads = match load {
        Load::Get { .. } => connections.min(2),
        Load::Script { .. } => connections,
    };
    let run = async |duration: &str, from: i64| -> anyhow::Result<String> {
        // tokio's Command, so that this thread goes on serving the baseline page meanwhile.
        let mut command = tokio::process::Command::new("wrk");
        command.args(["--latency", "-t", &threads.to_string(), "-c", &connections.to_string()]);
        command.args(["-d", duration, "--timeout", "10s"]);
        match load {
            Load::Get { headers, paced } => {
                for header in headers {
                    command.args(["-H", header]);
                }
                if let Some(script) = paced {
                    command.arg("-s").arg(script);
                }
                command.arg(url);
            }
            Load::Script { path, .. } => {
                command.arg("-s").arg(path).args([url, "--", &from.to_string()]);
            }
        }
        let output =
            command.output().await.map_err(|e| anyhow::anyhow!("cannot run wrk ({e}): apt-get install wrk"))?;
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        anyhow::ensure!(output.status.success(), "wrk failed for {name}: {text}");
        anyhow::ensure!(!text.contains("Non-2xx or 3xx responses"), "{name}: some answers were errors\n{text}");
        Ok(text)
    };
    if let Load::Get { headers, .. } = load {
        // A page that answers anything but 200 (a redirect to a sign-in step, say)
        // would measure the wrong thing: wrk counts 3xx as success.
        let mut probe = client().get(url);
        for (name, value) in headers.iter().filter_map(|h| h.split_once(": ")) {
            probe = probe.header(name, value);
        }
        let status = probe.send().await?.status();
        anyhow::ensure!(status == reqwest::StatusCode::OK, "{name}: {url} answered {status}, not 200");
    }
    if !matches!(load, Load::Script { warm_up: false, .. }) {
        run(WARM_UP, 0).await?;
    }
    let measured_from = match load {
        Load::Get { .. } => 0,
        Load::Script { measured_from, .. } => measured_from,
    };
    let text = run(&format!("{seconds}s"), measured_from).await?;
    let field = |prefix: &str| -> Option<String> {
        text.lines().map(str::trim).find(|l| l.starts_with(prefix)).map(|l| l[prefix.len()..].trim().to_owned())
    };
    let parse = || -> Option<Measured> {
        Some(Measured {
            name: name.to_owned(),
            connections,
            requests: text.lines().find(|l| l.contains(" requests in "))?.split_whitespace().next()?.parse().ok()?,
            rate: field("Requests/sec:")?.parse().ok()?,
            p50_ms: wrk_ms(&field("50%")?)?,
            p99_ms: wrk_ms(&field("99%")?)?,
            rss_mb: peak_rss_mb(pid),
        })
    };
    parse().ok_or_else(|| anyhow::anyhow!("cannot read wrk's report for {name}:\n{text}"))
}

fn client() -> reqwest::Client {
    // No keep-alive: setup requests are few and far apart, and the server closes idle connections.
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).pool_max_idle_per_host(0).build().unwrap()
}

/// The `portal_session=…` pair a response sets, if any.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("portal_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// A signed-in session: its cookie pair and its CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

async fn sign_in(base: &str, email: &str) -> anyhow::Result<Session> {
    let client = client();
    let form = client.get(format!("{base}/login")).send().await?;
    let anonymous = session_cookie(&form).ok_or_else(|| anyhow::anyhow!("no session cookie on /login"))?;
    let token = csrf(&form.text().await?);
    let response = client
        .post(format!("{base}/login"))
        .header(reqwest::header::COOKIE, &anonymous)
        .form(&[("email", email), ("password", PASSWORD), ("csrf_token", &token)])
        .send()
        .await?;
    anyhow::ensure!(response.status() == reqwest::StatusCode::SEE_OTHER, "sign-in as {email} failed");
    let mut cookie = session_cookie(&response).ok_or_else(|| anyhow::anyhow!("no session cookie after signing in"))?;
    let location = response.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok());
    if location == Some(portal::auth::middleware::SECOND_STEP) {
        // Staff and admins: the demo's authenticator key gives the second step's code.
        let step = client.get(format!("{base}{location}", location = portal::auth::middleware::SECOND_STEP));
        let token = csrf(&step.header(reqwest::header::COOKIE, &cookie).send().await?.text().await?);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
        let code = portal::domain::second_factor::code_at(portal::db::seed::DEMO_TOTP_SECRET, now)
            .ok_or_else(|| anyhow::anyhow!("the demo key makes no code"))?;
        let response = client
            .post(format!("{base}{}", portal::auth::middleware::SECOND_STEP))
            .header(reqwest::header::COOKIE, &cookie)
            .form(&[("code", code.as_str()), ("csrf_token", &token)])
            .send()
            .await?;
        anyhow::ensure!(response.status() == reqwest::StatusCode::SEE_OTHER, "the second step as {email} failed");
        cookie = session_cookie(&response).ok_or_else(|| anyhow::anyhow!("no session cookie after the second step"))?;
    }
    let page = client.get(format!("{base}/")).header(reqwest::header::COOKIE, &cookie).send().await?.text().await?;
    Ok(Session { cookie, csrf: csrf(&page) })
}

/// A new API key of the signed-in `session`'s user, as the keys page shows it once.
async fn api_key(base: &str, session: &Session) -> anyhow::Result<String> {
    let page = client()
        .post(format!("{base}/account/api-keys"))
        .header(reqwest::header::COOKIE, &session.cookie)
        .form(&[("name", "load test"), ("csrf_token", &session.csrf)])
        .send()
        .await?
        .text()
        .await?;
    page.split(r#"id="new-key-value" class="api-key">"#)
        .nth(1)
        .and_then(|s| s.split('<').next())
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("the keys page showed no new key"))
}

fn csrf(html: &str) -> String {
    html.split(r#"name="csrf_token" value=""#).nth(1).and_then(|s| s.split('"').next()).unwrap_or_default().to_owned()
}

async fn get_ok(client: &reqwest::Client, url: &str) -> bool {
    match client.get(url).send().await {
        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
        _ => false,
    }
}

/// How an acceptance is asked for: the page's form, or the API with a bearer key.
enum Accepting<'a> {
    Form(&'a [Session]),
    Api(&'a [String]),
}

/// The acceptance script: wrk thread n (one connection each) acts as customer n and
/// accepts that customer's pending quotes one after another, from its first id.
fn accept_script(dir: &Path, accepting: Accepting<'_>, first_quotes: &[i64]) -> anyhow::Result<std::path::PathBuf> {
    let mut lua = String::from("local sessions = {\n");
    let (requests, file): (Vec<(String, String, String)>, &str) = match accepting {
        Accepting::Form(sessions) => (
            sessions
                .iter()
                .map(|s| {
                    let headers = format!(
                        "{{ [\"Content-Type\"] = \"application/x-www-form-urlencoded\", [\"Cookie\"] = {:?} }}",
                        s.cookie
                    );
                    ("/quotes/".to_owned(), headers, format!("csrf_token={}", s.csrf))
                })
                .collect(),
            "accept.lua",
        ),
        Accepting::Api(keys) => (
            keys.iter()
                .map(|k| {
                    ("/api/v1/quotes/".to_owned(), format!("{{ [\"Authorization\"] = \"Bearer {k}\" }}"), String::new())
                })
                .collect(),
            "accept-api.lua",
        ),
    };
    for ((path, headers, body), first) in requests.iter().zip(first_quotes) {
        lua.push_str(&format!("  {{ path = {path:?}, headers = {headers}, body = {body:?}, next = {first} }},\n"));
    }
    lua.push_str(
        "}\n\
         local count = 0\n\
         function setup(thread) count = count + 1; thread:set(\"n\", count) end\n\
         function init(args) s = sessions[n]; s.next = s.next + tonumber(args[1] or 0) end\n\
         function request()\n\
           local id = s.next\n\
           s.next = s.next + 1\n\
           return wrk.format(\"POST\", s.path .. id .. \"/accept\", s.headers, s.body)\n\
         end\n",
    );
    let path = dir.join(file);
    std::fs::write(&path, lua)?;
    Ok(path)
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Appends `rows` credits to one organisation's ledger in a single statement. The
/// per-row chain trigger would make this take minutes, so it is switched off for the
/// load and the wallet set to the ledger's end; `portal wallet verify` still passes.
async fn bulk_ledger(conn: &mut AsyncPgConnection, organisation: &str, rows: i64) -> anyhow::Result<()> {
    let sql = format!(
        "BEGIN;
         ALTER TABLE wallet_transactions DISABLE TRIGGER wallet_transactions_chain;
         ALTER TABLE wallet_transactions DISABLE TRIGGER wallet_transactions_match_wallet;
         ALTER TABLE organisation_wallets DISABLE TRIGGER organisation_wallets_match_ledger;
         WITH w AS (SELECT w.id, w.organisation_id, w.balance FROM organisation_wallets w
                    JOIN organisations o ON o.id = w.organisation_id WHERE o.name = '{organisation}')
         INSERT INTO wallet_transactions (wallet_id, organisation_id, kind, direction, amount, balance_after,
                                          reference, description, created_at)
         SELECT w.id, w.organisation_id, 'credit', 1, 10.00, w.balance + 10.00 * g,
                'BULK-' || g, 'Load-test top-up', now() - make_interval(secs => {rows} - g)
         FROM w, generate_series(1, {rows}) AS g;
         UPDATE organisation_wallets w SET balance = balance + 10.00 * {rows}
         FROM organisations o WHERE o.id = w.organisation_id AND o.name = '{organisation}';
         ALTER TABLE wallet_transactions ENABLE TRIGGER wallet_transactions_chain;
         ALTER TABLE wallet_transactions ENABLE TRIGGER wallet_transactions_match_wallet;
         ALTER TABLE organisation_wallets ENABLE TRIGGER organisation_wallets_match_ledger;
         COMMIT;"
    );
    conn.batch_execute(&sql).await?;
    settle(conn).await
}

/// The day the billing benchmark's services started, and the day it runs (one month due each).
const BILLING_STARTED: &str = "2027-01-15";
const BILLING_DATE: &str = "2027-02-15";

struct BillingRun {
    organisations: i64,
    services: i64,
    months: i64,
    seconds: f64,
    rss_mb: f64,
}

/// `organisations` new organisations, each with one quote of ten monthly lines accepted
/// on [`BILLING_STARTED`] (its debit in the ledger, its ten services made by
/// `services_for_accepted_quotes` as acceptance makes them) and money for a year; then
/// `portal billing run --date` [`BILLING_DATE`] (the release binary, its own process),
/// timed, with its peak RSS. Loaded in bulk like [`bulk_ledger`].
async fn billing_run(
    conn: &mut AsyncPgConnection,
    urls: &DatabaseUrls,
    organisations: i64,
) -> anyhow::Result<BillingRun> {
    let sql = format!(
        "BEGIN;
         ALTER TABLE wallet_transactions DISABLE TRIGGER wallet_transactions_chain;
         ALTER TABLE wallet_transactions DISABLE TRIGGER wallet_transactions_match_wallet;
         ALTER TABLE organisation_wallets DISABLE TRIGGER organisation_wallets_match_ledger;
         INSERT INTO organisations (name) SELECT 'Billing Org ' || lpad(n::text, 5, '0') FROM generate_series(1, {organisations}) n;
         INSERT INTO organisation_wallets (organisation_id, balance, low_balance_threshold)
             SELECT id, 99000, 0 FROM organisations WHERE name LIKE 'Billing Org %';
         INSERT INTO quotes (organisation_id, kind, status, title, term_months, valid_until, vat_rate, monthly_subtotal,
                             monthly_total, amount_due, accepted_by, accepted_at)
             SELECT o.id, 'service', 'accepted', 'Billing load test', 12, '{BILLING_STARTED}', 0, 1000, 1000, 1000,
                    (SELECT min(id) FROM users), '{BILLING_STARTED} 12:00+02'
             FROM organisations o WHERE o.name LIKE 'Billing Org %';
         INSERT INTO quote_lines (quote_id, line_no, catalog, item_kind, item_id, sku, description, billing,
                                  unit_cost, margin_pct, unit_price, quantity, amount)
             SELECT q.id, n, 'aas', 'product', 1, 'LOAD-' || n, 'Load-test service ' || n, 'monthly', 100, 0, 100, 1, 100
             FROM quotes q CROSS JOIN generate_series(1, 10) n WHERE q.title = 'Billing load test';
         INSERT INTO wallet_transactions (wallet_id, organisation_id, kind, direction, amount, balance_after, quote_id,
                                          reference, description)
             SELECT w.id, w.organisation_id, k.kind, k.direction, k.amount, k.after,
                    CASE WHEN k.kind = 'debit' THEN q.id END, k.reference, 'Billing load test'
             FROM organisation_wallets w
             JOIN quotes q ON q.organisation_id = w.organisation_id AND q.title = 'Billing load test'
             CROSS JOIN (VALUES (1, 'credit', 1, 100000, 100000, 'LOADTEST'), (2, 'debit', -1, 1000, 99000, 'ACCEPT'))
                 AS k (n, kind, direction, amount, after, reference)
             ORDER BY w.id, k.n;
         SELECT services_for_accepted_quotes(NULL);
         ALTER TABLE wallet_transactions ENABLE TRIGGER wallet_transactions_chain;
         ALTER TABLE wallet_transactions ENABLE TRIGGER wallet_transactions_match_wallet;
         ALTER TABLE organisation_wallets ENABLE TRIGGER organisation_wallets_match_ledger;
         COMMIT;"
    );
    conn.batch_execute(&sql).await?;
    settle(conn).await?;
    let services: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM services s JOIN organisations o ON o.id = s.organisation_id
         WHERE o.name LIKE 'Billing Org %' AND s.status = 'active'",
    )
    .get_result(conn)
    .await?;
    let started = Instant::now();
    let child = Command::new(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/portal"))
        .args(["billing", "run", "--date", BILLING_DATE])
        .env("DATABASE_URL_MAIN", urls.main.expose_secret())
        .env("DATABASE_URL_AAS", urls.aas.expose_secret())
        .env("DATABASE_URL_ENETWORKS", urls.enetworks.expose_secret())
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()?;
    let (succeeded, rss_mb) = wait_with_peak_rss(child)?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(succeeded, "portal billing run failed");
    let months: Count = diesel::sql_query("SELECT count(*) AS n FROM service_charges").get_result(conn).await?;
    Ok(BillingRun { organisations, services: services.n, months: months.n, seconds, rss_mb })
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Waits for a child, reading its peak resident memory (VmHWM, in kB) every 50 ms
/// meanwhile; returns its exit status and the last peak read. (`wait4`'s `ru_maxrss` is
/// no use here: it also counts this process's memory, inherited at the fork before the
/// child's exec.)
fn wait_with_peak_rss(mut child: Child) -> anyhow::Result<(bool, f64)> {
    let mut peak = 0.0f64;
    loop {
        peak = peak.max(peak_rss_mb(child.id()));
        if let Some(status) = child.try_wait()? {
            return Ok((status.success(), peak));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Vacuums, analyzes and checkpoints after a bulk load, so that autovacuum and the
/// checkpointer do not do that work in the middle of a measured scenario (without it the
/// page on the 1 000 000-row ledger measured 741 req/s, against 1 114 on 10 000 rows,
/// though its query reads the same 7 buffers on both).
async fn settle(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    conn.batch_execute("VACUUM (ANALYZE)").await?;
    conn.batch_execute("CHECKPOINT").await?;
    Ok(())
}

/// One customer in each of eight organisations: acceptances run one organisation per
/// connection, as customers do, so they do not all queue on one wallet row.
const CUSTOMERS: [(&str, &str); 8] = [
    ("customer@demo.test", "Acme Logistics"),
    ("bongani@ubuntu-freight.demo.test", "Ubuntu Freight Services"),
    ("thandi@karoo-solar.demo.test", "Karoo Solar Installations"),
    ("kavitha@tablebay-medical.demo.test", "Table Bay Medical Group"),
    ("thandeka@thandeka-legal.demo.test", "Thandeka Legal Inc."),
    ("johan@mzansi-retail.demo.test", "Mzansi Retail Holdings"),
    ("nokuthula@drakensberg-tourism.demo.test", "Drakensberg Tourism Co-op"),
    ("tshepo@soweto-makers.demo.test", "Soweto Makers Collective"),
];

/// The newest tax invoice of `organisation` and how many ledger rows its statement of
/// this month holds.
async fn pdf_subjects(conn: &mut AsyncPgConnection, organisation: i64) -> anyhow::Result<(i64, i64)> {
    let invoice: Id =
        diesel::sql_query("SELECT max(id) AS id FROM invoices WHERE organisation_id = $1 AND kind = 'tax_invoice'")
            .bind::<BigInt, _>(organisation)
            .get_result(conn)
            .await?;
    let rows: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM wallet_transactions t
         JOIN organisation_wallets w ON w.id = t.wallet_id
         WHERE w.organisation_id = $1
           AND t.created_at >= date_trunc('month', now() AT TIME ZONE 'Africa/Johannesburg') AT TIME ZONE 'Africa/Johannesburg'",
    )
    .bind::<BigInt, _>(organisation)
    .get_result(conn)
    .await?;
    Ok((invoice.id, rows.n))
}

/// Funds an organisation through the real top-up code (the ledger triggers check it);
/// returns its id.
async fn fund(conn: &mut AsyncPgConnection, organisation: &str) -> anyhow::Result<i64> {
    use portal::db::main::{organisations, wallets};
    let org =
        organisations::find_by_name(conn, organisation).await?.ok_or_else(|| anyhow::anyhow!("{organisation}?"))?;
    let credit = wallets::NewCredit {
        organisation_id: org.id,
        amount: Decimal::from(1_000_000),
        reference: "LOADTEST",
        description: "Load-test funds",
        idempotency_key: &format!("loadtest-{}", org.id),
        created_by: None,
        ip: None,
    };
    wallets::credit(conn, &credit).await?;
    Ok(org.id.0)
}

/// Pending quotes for one organisation, R 1.00 due each, to be accepted one per request.
async fn pending_quotes(conn: &mut AsyncPgConnection, organisation: &str, count: i64) -> anyhow::Result<Vec<i64>> {
    let ids: Vec<Id> = diesel::sql_query(format!(
        "INSERT INTO quotes (organisation_id, kind, status, title, valid_until, vat_rate, monthly_subtotal,
                             monthly_vat, monthly_total, amount_due)
         SELECT o.id, 'service', 'pending', 'Load-test quote', now() + interval '30 days', 15, 0.87, 0.13, 1.00, 1.00
         FROM organisations o, generate_series(1, {count})
         WHERE o.name = $1
         RETURNING id"
    ))
    .bind::<Text, _>(organisation)
    .load(conn)
    .await?;
    Ok(ids.into_iter().map(|i| i.id).collect())
}

#[derive(Template)]
#[template(
    source = "<!doctype html><title>Products</title><table>{% for p in products %}<tr><td>{{ p.0 }}</td><td>{{ p.1 }}</td><td>{{ p.2 }}</td></tr>{% endfor %}</table>",
    ext = "html"
)]
struct MinimalPage {
    products: Vec<(String, String, Decimal)>,
}

/// The baseline page: one pooled query of the 39 products, rendered through Askama. The
/// query is the DSL's, so each connection prepares it once and then only executes it,
/// as the fastest such page would; each worker has its own pool, recycled without a
/// test query (as the portal's are).
async fn minimal(pool: web::Data<AasPool>) -> actix_web::HttpResponse {
    use diesel::QueryDsl;
    use portal::db::aas::schema::products;
    let mut conn = pool.get().await.unwrap();
    let products: Vec<(String, String, Decimal)> = products::table
        .select((products::sku, products::name, products::cost))
        .order(products::sku)
        .load(&mut conn)
        .await
        .unwrap();
    let page = MinimalPage { products };
    actix_web::HttpResponse::Ok().content_type("text/html").body(page.render().unwrap())
}

/// pgbench's wallet debit on bare tables: lock the wallet row, update the balance,
/// insert a ledger row; one wallet per client.
const BARE_DEBIT: &str = "\\set w :client_id + 1
BEGIN;
SELECT balance FROM bench_wallets WHERE id = :w FOR UPDATE;
UPDATE bench_wallets SET balance = balance - 1 WHERE id = :w;
INSERT INTO bench_ledger (wallet_id, amount, balance_after) SELECT :w, 1, balance FROM bench_wallets WHERE id = :w;
END;
";

/// The bare debit with a gap-free number taken last, as every tax invoice takes one in
/// its debit's transaction (DESIGN.md §10): one counter row that all debits queue on
/// until each commit is flushed. The ceiling of any acceptance that keeps that rule.
const NUMBERED_DEBIT: &str = "\\set w :client_id + 1
BEGIN;
SELECT balance FROM bench_wallets WHERE id = :w FOR UPDATE;
UPDATE bench_wallets SET balance = balance - 1 WHERE id = :w;
INSERT INTO bench_ledger (wallet_id, amount, balance_after) SELECT :w, 1, balance FROM bench_wallets WHERE id = :w;
UPDATE bench_series SET last_number = last_number + 1;
END;
";

/// The same three steps on the portal's own wallet and ledger, with every invariant the
/// schema keeps (CHECKs, foreign keys, unique keys, the chain trigger, the deferred
/// balance-matches-ledger triggers): what a debit costs before the portal adds anything.
/// A R 0.01 adjustment out (a debit needs a quote), one funded wallet per client.
fn portal_debit(organisations: &[i64]) -> String {
    let ids: Vec<String> = organisations.iter().map(i64::to_string).collect();
    let org = format!("(ARRAY[{}])[:c]", ids.join(","));
    format!(
        "\\set c :client_id + 1
BEGIN;
SELECT balance FROM organisation_wallets WHERE organisation_id = {org} FOR UPDATE;
INSERT INTO wallet_transactions (wallet_id, organisation_id, kind, direction, amount, balance_after, reference, description)
  SELECT id, organisation_id, 'adjustment', -1, 0.01, balance - 0.01, 'PGBENCH', 'pgbench debit baseline'
  FROM organisation_wallets WHERE organisation_id = {org};
UPDATE organisation_wallets SET balance = balance - 0.01, updated_at = now() WHERE organisation_id = {org};
END;
"
    )
}

/// Runs `script` with pgbench on `database` at 8 clients and returns its transactions a second.
fn pgbench(cluster: &Cluster, database: &str, script: &str, seconds: u64) -> anyhow::Result<f64> {
    let path = std::env::temp_dir().join(format!("portal-pgbench-{}.sql", std::process::id()));
    std::fs::write(&path, script)?;
    let output = Command::new("pgbench")
        .args(["-n", "-c", "8", "-j", "2", "-T", &seconds.to_string(), "-f"])
        .arg(&path)
        .arg("-h")
        .arg(cluster.socket_dir())
        .args(["-U", "postgres", database])
        .output()?;
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find(|l| l.starts_with("tps ="))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("pgbench printed no tps: {text}{}", String::from_utf8_lossy(&output.stderr)))
}

async fn run(cluster: &Cluster, binary: &std::path::Path, o: &Options) -> anyhow::Result<()> {
    let urls = cluster.database_urls();
    let [main, aas, enetworks] = DATABASES.map(|db| db.cluster_name);
    cluster.create_databases(&[main, aas, enetworks, "bench"], None).await?;
    migrate::run_all(&urls).await?;
    let pools = Pools::new(&urls, 4);
    portal::db::seed::seed_demo(&pools).await?;
    let mut bench = AsyncPgConnection::establish(&cluster.url("bench")).await?;
    bench
        .batch_execute(
            "CREATE TABLE bench_wallets (id INT PRIMARY KEY, balance NUMERIC(14,2) NOT NULL CHECK (balance >= -1e9));
             CREATE TABLE bench_ledger (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, wallet_id INT NOT NULL,
                                        amount NUMERIC(14,2) NOT NULL, balance_after NUMERIC(14,2) NOT NULL,
                                        created_at TIMESTAMPTZ NOT NULL DEFAULT now());
             INSERT INTO bench_wallets SELECT g, 1000000 FROM generate_series(1, 100) g;
             CREATE TABLE bench_series (only_row BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row),
                                        last_number BIGINT NOT NULL);
             INSERT INTO bench_series VALUES (true, 0);",
        )
        .await?;
    let mut main = AsyncPgConnection::establish(urls.main.expose_secret()).await?;
    // 10 000 ledger rows first; the rest of the big ledger later.
    bulk_ledger(&mut main, "Ubuntu Freight Services", 10_000).await?;
    // Each customer's organisation: its id and its pending quotes.
    let mut customers = Vec::new();
    for (_, organisation) in CUSTOMERS {
        let id = fund(&mut main, organisation).await?;
        // The first half for the form's acceptances, the second for the API's.
        customers.push((id, pending_quotes(&mut main, organisation, o.quotes / 8 * 2).await?));
    }
    diesel::sql_query("UPDATE organisation_wallets SET low_balance_threshold = 0").execute(&mut main).await?;
    settle(&mut main).await?;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server: Child = Command::new(binary)
        .arg("serve")
        .env("DATABASE_URL_MAIN", urls.main.expose_secret())
        .env("DATABASE_URL_AAS", urls.aas.expose_secret())
        .env("DATABASE_URL_ENETWORKS", urls.enetworks.expose_secret())
        .env("PORTAL_ADDR", format!("127.0.0.1:{port}"))
        .env("PORTAL_SESSION_KEY", "k".repeat(64))
        .env("RUST_LOG", "error")
        // The per-key limiter still runs on every API request, but one key driven by
        // wrk must measure the API, not the limit.
        .env("PORTAL_API_RATE", "100000")
        .env("PORTAL_API_BURST", "100000")
        .stdout(Stdio::null())
        .spawn()?;
    let pid = server.id();
    let result = scenarios(cluster, &base, pid, &customers, &urls, &mut main, o).await;
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = server.wait();
    result
}

async fn scenarios(
    cluster: &Cluster,
    base: &str,
    pid: u32,
    customers: &[(i64, Vec<i64>)],
    urls: &DatabaseUrls,
    main: &mut AsyncPgConnection,
    o: &Options,
) -> anyhow::Result<()> {
    let probe = client();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !get_ok(&probe, &format!("{base}/healthz")).await {
        anyhow::ensure!(Instant::now() < deadline, "the portal did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut results = Vec::new();

    // Baseline: the minimal page, in this process (its own two worker threads), on the
    // same machine.
    // Like the portal, each worker opens its own pool (8 connections, 16 in all).
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let minimal_url = format!("http://{}/", listener.local_addr()?);
    let aas_url = urls.aas.expose_secret().to_owned();
    let minimal_server = HttpServer::new(move || {
        App::new().app_data(web::Data::new(AasPool::new(&aas_url, 8))).route("/", web::get().to(minimal))
    })
    .workers(2)
    .listen(listener)?
    .run();
    let minimal_handle = minimal_server.handle();
    actix_web::rt::spawn(minimal_server);
    let none: &[String] = &[];
    results.push(
        wrk(
            "minimal page (baseline)",
            &minimal_url,
            32,
            o.seconds,
            std::process::id(),
            Load::Get { headers: none, paced: None },
        )
        .await?,
    );
    minimal_handle.stop(true).await;

    let customer = sign_in(base, "customer@demo.test").await?;
    let cookie = [format!("Cookie: {}", customer.cookie)];
    let url = format!("{base}/catalog");
    let page = probe.get(&url).header(reqwest::header::COOKIE, &customer.cookie).send().await?.text().await?;
    let listed = page.matches(r#"<tr id="product-"#).count();
    let name = format!("catalog page (`/catalog`, {listed} products, signed in)");
    results.push(wrk(&name, &url, 32, o.seconds, pid, Load::Get { headers: &cookie, paced: None }).await?);
    // The same customer's wallet through the API, with a key made on the keys page: the
    // API's answer beside the page's (issue 18 asks for at least the catalog's rate).
    let key = api_key(base, &customer).await?;
    let bearer = [format!("Authorization: Bearer {key}")];
    let url = format!("{base}/api/v1/wallet");
    results.push(
        wrk(
            "API wallet (`GET /api/v1/wallet`, bearer key)",
            &url,
            32,
            o.seconds,
            pid,
            Load::Get { headers: &bearer, paced: None },
        )
        .await?,
    );
    let url = format!("{base}/quotes/{}", customers[0].1[0]);
    results
        .push(wrk("quote detail page", &url, 32, o.seconds, pid, Load::Get { headers: &cookie, paced: None }).await?);

    // Acceptances: every request accepts a different pending quote, each connection
    // for its own organisation.
    let mut sessions = Vec::new();
    for (email, _) in CUSTOMERS {
        sessions.push(sign_in(base, email).await?);
    }
    let mut keys = Vec::new();
    for session in &sessions {
        keys.push(api_key(base, session).await?);
    }
    // The form takes the first half of each customer's quotes, the API the second.
    let half = o.quotes / 8;
    let form_firsts: Vec<i64> = customers.iter().map(|(_, quotes)| quotes[0]).collect();
    let api_firsts: Vec<i64> = customers.iter().map(|(_, quotes)| quotes[half as usize]).collect();
    let form = accept_script(&o.dir, Accepting::Form(&sessions), &form_firsts)?;
    let api = accept_script(&o.dir, Accepting::Api(&keys), &api_firsts)?;
    // Form, API, API, form: each acceptance leaves the tables a little bigger, so a
    // second scenario run after a first pays for the first's rows (run in one order
    // only, the API was 0.85-0.92 of the form). Each round starts from a vacuumed table
    // and a fresh checkpoint, or it would also inherit dead row versions (the invoice
    // series row is updated once per acceptance) and fewer full-page writes. A round
    // takes at most ~150 acceptances a second per connection: the first (after a
    // warm-up from its first quote) starts a fifth into each half, the second halfway.
    let form = (&form, "quote acceptances, form", "a different quote each, 8 organisations");
    let api = (&api, "API quote acceptances", "`POST /api/v1/quotes/{id}/accept`, bearer keys, 8 organisations");
    let rounds =
        [(form, 1, half / 5, true), (api, 1, half / 5, true), (api, 2, half / 2, false), (form, 2, half / 2, false)];
    for ((script, kind, what), round, measured_from, warm_up) in rounds {
        settle(main).await?;
        let load = Load::Script { path: script, measured_from, warm_up };
        let name = format!("{kind}, round {round} ({what})");
        results.push(wrk(&name, base, 8, o.seconds, pid, load).await?);
    }
    let pgbench_tps = pgbench(cluster, "bench", BARE_DEBIT, o.seconds)?;
    let numbered_tps = pgbench(cluster, "bench", NUMBERED_DEBIT, o.seconds)?;

    // PDFs, as the customer downloads them: an acceptance's one-page tax invoice under
    // load, then the month's statement, which the acceptances have filled.
    let (invoice, statement_rows) = pdf_subjects(main, customers[0].0).await?;
    let cookie = [format!("Cookie: {}", customer.cookie)];
    let url = format!("{base}/invoices/{invoice}.pdf");
    results.push(
        wrk("tax invoice PDF (one page)", &url, 2, o.seconds, pid, Load::Get { headers: &cookie, paced: None }).await?,
    );
    let month = portal::domain::time::month_key(portal::domain::time::today_sast());
    let started = Instant::now();
    let statement = probe
        .get(format!("{base}/statements/{month}.pdf"))
        .header(reqwest::header::COOKIE, &customer.cookie)
        .send()
        .await?;
    anyhow::ensure!(statement.status().is_success(), "the statement PDF answered {}", statement.status());
    let statement_bytes = statement.bytes().await?.len();
    let statement_pdf = (statement_rows, started.elapsed().as_secs_f64(), statement_bytes, peak_rss_mb(pid));
    let funded: Vec<i64> = customers.iter().map(|(id, _)| *id).collect();
    let portal_tps = pgbench(cluster, DATABASES[0].cluster_name, &portal_debit(&funded), o.seconds)?;

    // Staff transactions page and CSV, with 10 000 and then the big ledger.
    let staff = sign_in(base, "staff@demo.test").await?;
    let cookie = [format!("Cookie: {}", staff.cookie)];
    let pace = pace_script(&o.dir, PACE_MS)?;
    let mut csv = Vec::new();
    for (label, rows) in [("10 000-row", 0), ("1 000 000-row", o.big_ledger - 10_000)] {
        if rows > 0 {
            bulk_ledger(main, "Ubuntu Freight Services", rows).await?;
        }
        let label = if rows > 0 && o.big_ledger != 1_000_000 { "big" } else { label };
        let url = format!("{base}/transactions");
        let name = format!("staff transactions page, {label} ledger");
        results.push(wrk(&name, &url, 8, o.seconds, pid, Load::Get { headers: &cookie, paced: None }).await?);
        let name =
            format!("staff transactions page, {label} ledger, paced ({PACE_MS} ms between a connection's requests)");
        results.push(wrk(&name, &url, 8, o.seconds, pid, Load::Get { headers: &cookie, paced: Some(&pace) }).await?);
        let started = Instant::now();
        let body = probe
            .get(format!("{base}/transactions.csv"))
            .header(reqwest::header::COOKIE, &staff.cookie)
            .send()
            .await?
            .bytes()
            .await?;
        let lines = body.iter().filter(|b| **b == b'\n').count();
        anyhow::ensure!(lines > 0, "the CSV export of the {label} ledger is empty");
        csv.push((label, lines - 1, started.elapsed().as_secs_f64(), peak_rss_mb(pid)));
    }

    let billing = billing_run(main, urls, o.billing_organisations).await?;

    let verify = Command::new(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/portal"))
        .args(["wallet", "verify"])
        .env("DATABASE_URL_MAIN", urls.main.expose_secret())
        .env("DATABASE_URL_AAS", urls.aas.expose_secret())
        .env("DATABASE_URL_ENETWORKS", urls.enetworks.expose_secret())
        .env("RUST_LOG", "error")
        .output()?;
    let verify_line = String::from_utf8_lossy(&verify.stdout).lines().last().unwrap_or_default().to_owned();

    println!("\n| scenario | connections | requests | req/s | p50 ms | p99 ms | server peak RSS MB |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for m in &results {
        println!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.1} |",
            m.name, m.connections, m.requests, m.rate, m.p50_ms, m.p99_ms, m.rss_mb
        );
    }
    let (rows, seconds, bytes, rss) = statement_pdf;
    println!(
        "\nstatement PDF of a month of {rows} transactions: {seconds:.2} s, {bytes} bytes; server peak RSS so far {rss:.1} MB"
    );
    println!("\n| CSV export | rows | seconds | server peak RSS MB |\n|---|---:|---:|---:|");
    for (label, rows, seconds, rss) in &csv {
        println!("| {label} ledger | {rows} | {seconds:.2} | {rss:.1} |");
    }
    // The rate over every scenario whose name starts so: all its requests in all its time.
    let find = |name: &str| {
        let (requests, seconds) = results
            .iter()
            .filter(|m| m.name.starts_with(name))
            .fold((0.0, 0.0), |(r, s), m| (r + m.requests as f64, s + m.requests as f64 / m.rate));
        if seconds > 0.0 { requests / seconds } else { 0.0 }
    };
    println!(
        "\npgbench wallet-debit transaction, 8 clients, one wallet each: {pgbench_tps:.0} tps on bare tables, {portal_tps:.0} tps on the portal's own wallet and ledger"
    );
    println!(
        "pgbench debit taking a gap-free number last (one counter row, as each tax invoice does): {numbered_tps:.0} tps"
    );
    println!("\n| ratio | value | target |\n|---|---:|---|");
    println!("| catalog page ÷ minimal page | {:.2} | ≥ 1.0 |", find("catalog") / find("minimal"));
    println!("| API wallet ÷ catalog page | {:.2} | ≥ 1.0 |", find("API wallet") / find("catalog"));
    println!("| acceptances ÷ pgbench debits | {:.2} | ≥ 0.5 |", find("quote acceptances") / pgbench_tps);
    println!(
        "| acceptances ÷ pgbench debits that take a gap-free number | {:.2} | (context) |",
        find("quote acceptances") / numbered_tps
    );
    println!(
        "| API acceptances ÷ form acceptances | {:.2} | ≥ 1.0 |",
        find("API quote acceptances") / find("quote acceptances")
    );
    println!(
        "| acceptances ÷ pgbench debits on the portal's ledger | {:.2} | (context) |",
        find("quote acceptances") / portal_tps
    );
    println!(
        "\nbilling run (`portal billing run --date {BILLING_DATE}`): {} organisations, {} services, {} months charged in {:.2} s: {:.0} months/s; peak RSS {:.1} MB",
        billing.organisations,
        billing.services,
        billing.months,
        billing.seconds,
        billing.months as f64 / billing.seconds,
        billing.rss_mb
    );
    println!(
        "| billing run: months charged a second ÷ pgbench debits on the portal's ledger | {:.2} | ≥ 1.0 |",
        billing.months as f64 / billing.seconds / portal_tps
    );
    println!("| billing run: peak RSS MB | {:.1} | ≤ 64 |", billing.rss_mb);
    for m in results.iter().filter(|m| m.name.starts_with("staff transactions page")) {
        println!("| {} p99 ms | {:.1} | ≤ 20 |", m.name, m.p99_ms);
    }
    let pdf =
        results.iter().find(|m| m.name.starts_with("tax invoice PDF")).map_or((0.0, 0.0), |m| (m.p99_ms, m.rss_mb));
    println!("| tax invoice PDF p99 ms | {:.1} | ≤ 50 |", pdf.0);
    println!("| statement PDF of {rows} transactions, seconds | {seconds:.2} | ≤ 1 |");
    println!("| server peak RSS MB through the PDF scenarios | {:.1} | ≤ 64 |", pdf.1.max(rss));
    println!("\nwallet verify after the run: {verify_line}");
    Ok(())
}
