//! The load test: `cargo run --release --example loadtest` (add `-- --quick` for a short
//! run). It builds the release `portal`, starts its own durable PostgreSQL cluster (fsync
//! on) in a temporary folder, seeds the demo data plus bulk ledger rows with SQL, runs
//! `portal serve` against it, signs users in and drives it over loopback HTTP with a
//! bounded, self-stopping tokio client. In the same run it measures two baselines on the
//! same machine, so that results read as ratios: pgbench doing a wallet-debit
//! transaction at 8 clients, and a minimal actix + Askama page running one pooled
//! query of 39 rows. It prints a Markdown report (see BENCHMARKS.md).
//!
//! Why a small tokio client rather than wrk: the scenarios need signed-in sessions, CSRF
//! tokens and a different quote per acceptance, which a Lua-less wrk cannot do, and the
//! client must stop by itself and report p50/p99 the same way for every scenario.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer, web};
use askama::Template;
use diesel::sql_types::{BigInt, Numeric, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use portal::config::DatabaseUrls;
use portal::db::cluster::{Cluster, ClusterOptions, DB_AAS, DB_ENETWORKS, DB_MAIN};
use portal::db::{AasPool, Pools, migrate};
use rust_decimal::Decimal;
use secrecy::ExposeSecret;

const PASSWORD: &str = portal::seed::DEMO_PASSWORD;

struct Options {
    seconds: u64,
    big_ledger: i64,
    quotes: i64,
}

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let options = if quick {
        Options { seconds: 3, big_ledger: 100_000, quotes: 8_000 }
    } else {
        Options { seconds: 10, big_ledger: 1_000_000, quotes: 40_000 }
    };
    let status = Command::new(env!("CARGO")).args(["build", "--release", "--quiet", "--bin", "portal"]).status()?;
    anyhow::ensure!(status.success(), "building the release portal failed");
    let binary = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/portal");
    let dir = std::env::temp_dir().join(format!("portal-loadtest-{}", std::process::id()));
    let cluster = Cluster::start(&dir, &ClusterOptions { durable: true, bin_dir: None })?;
    let result = actix_web::rt::System::new().block_on(run(&cluster, &binary, &options));
    cluster.stop();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Latencies of one scenario.
struct Measured {
    name: String,
    connections: usize,
    requests: usize,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    rss_mb: f64,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
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

/// Runs `connections` workers for `seconds`, each calling `request(worker, n)` in a loop.
async fn drive<F, Fut>(name: &str, connections: usize, seconds: u64, pid: u32, request: F) -> Measured
where
    F: Fn(usize, usize) -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = bool> + 'static,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut handles = Vec::new();
    for worker in 0..connections {
        let request = request.clone();
        handles.push(actix_web::rt::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                if !request(worker, n).await {
                    break;
                }
                latencies.push(t.elapsed());
                n += 1;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for handle in handles {
        all.extend(handle.await.unwrap());
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort();
    Measured {
        name: name.to_owned(),
        connections,
        requests: all.len(),
        seconds,
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
        rss_mb: peak_rss_mb(pid),
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .unwrap()
}

async fn sign_in(base: &str, email: &str) -> anyhow::Result<(reqwest::Client, String)> {
    let client = client();
    let form = client.get(format!("{base}/login")).send().await?.text().await?;
    let token = csrf(&form);
    let response = client
        .post(format!("{base}/login"))
        .form(&[("email", email), ("password", PASSWORD), ("csrf_token", &token)])
        .send()
        .await?;
    anyhow::ensure!(response.status() == reqwest::StatusCode::SEE_OTHER, "sign-in as {email} failed");
    let page = client.get(format!("{base}/")).send().await?.text().await?;
    Ok((client, csrf(&page)))
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
         COMMIT;
         ANALYZE wallet_transactions;"
    );
    conn.batch_execute(&sql).await?;
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

/// Funds an organisation through the real top-up code (the ledger triggers check it).
async fn fund(conn: &mut AsyncPgConnection, organisation: &str) -> anyhow::Result<()> {
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
    Ok(())
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

#[derive(diesel::QueryableByName)]
struct ProductRow {
    #[diesel(sql_type = Text)]
    sku: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Numeric)]
    cost: Decimal,
}

/// The baseline page: one pooled query of the 39 products, rendered through Askama.
async fn minimal(pool: web::Data<AasPool>) -> actix_web::HttpResponse {
    let mut conn = pool.get().await.unwrap();
    let rows: Vec<ProductRow> =
        diesel::sql_query("SELECT sku, name, cost FROM products ORDER BY sku").load(&mut conn).await.unwrap();
    let page = MinimalPage { products: rows.into_iter().map(|r| (r.sku, r.name, r.cost)).collect() };
    actix_web::HttpResponse::Ok().content_type("text/html").body(page.render().unwrap())
}

fn pgbench(cluster: &Cluster, seconds: u64) -> anyhow::Result<f64> {
    let script = std::env::temp_dir().join(format!("portal-pgbench-{}.sql", std::process::id()));
    std::fs::write(
        &script,
        "\\set w :client_id + 1\n\
         BEGIN;\n\
         SELECT balance FROM bench_wallets WHERE id = :w FOR UPDATE;\n\
         UPDATE bench_wallets SET balance = balance - 1 WHERE id = :w;\n\
         INSERT INTO bench_ledger (wallet_id, amount, balance_after) SELECT :w, 1, balance FROM bench_wallets WHERE id = :w;\n\
         END;\n",
    )?;
    let output = Command::new("pgbench")
        .args(["-n", "-c", "8", "-j", "2", "-T", &seconds.to_string(), "-f"])
        .arg(&script)
        .arg("-h")
        .arg(cluster.socket_dir())
        .args(["-U", "postgres", "bench"])
        .output()?;
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find(|l| l.starts_with("tps ="))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("pgbench printed no tps: {text}"))
}

async fn run(cluster: &Cluster, binary: &std::path::Path, o: &Options) -> anyhow::Result<()> {
    let urls = DatabaseUrls {
        main: cluster.url(DB_MAIN).into(),
        aas: cluster.url(DB_AAS).into(),
        enetworks: cluster.url(DB_ENETWORKS).into(),
    };
    cluster.create_databases(&[DB_MAIN, DB_AAS, DB_ENETWORKS, "bench"], None).await?;
    migrate::run_all(&urls).await?;
    let pools = Pools::new(&urls, 4);
    portal::seed::seed_demo(&pools).await?;
    let mut bench = AsyncPgConnection::establish(&cluster.url("bench")).await?;
    bench
        .batch_execute(
            "CREATE TABLE bench_wallets (id INT PRIMARY KEY, balance NUMERIC(14,2) NOT NULL CHECK (balance >= -1e9));
             CREATE TABLE bench_ledger (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, wallet_id INT NOT NULL,
                                        amount NUMERIC(14,2) NOT NULL, balance_after NUMERIC(14,2) NOT NULL,
                                        created_at TIMESTAMPTZ NOT NULL DEFAULT now());
             INSERT INTO bench_wallets SELECT g, 1000000 FROM generate_series(1, 100) g;",
        )
        .await?;
    let mut main = AsyncPgConnection::establish(urls.main.expose_secret()).await?;
    // 10 000 ledger rows first; the rest of the big ledger later.
    bulk_ledger(&mut main, "Ubuntu Freight Services", 10_000).await?;
    let mut quotes = Vec::new();
    for (_, organisation) in CUSTOMERS {
        fund(&mut main, organisation).await?;
        quotes.push(pending_quotes(&mut main, organisation, o.quotes / 8).await?);
    }
    diesel::sql_query("UPDATE organisation_wallets SET low_balance_threshold = 0").execute(&mut main).await?;

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
        .stdout(Stdio::null())
        .spawn()?;
    let pid = server.id();
    let result = scenarios(cluster, &base, pid, &quotes, &urls, &mut main, o).await;
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = server.wait();
    result
}

async fn scenarios(
    cluster: &Cluster,
    base: &str,
    pid: u32,
    quotes: &[Vec<i64>],
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

    // Baseline: the minimal page, in this process, on the same machine.
    let aas = AasPool::new(urls.aas.expose_secret(), 16);
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let minimal_url = format!("http://{}/", listener.local_addr()?);
    let data = web::Data::new(aas);
    let minimal_server = HttpServer::new(move || App::new().app_data(data.clone()).route("/", web::get().to(minimal)))
        .workers(2)
        .listen(listener)?
        .run();
    let minimal_handle = minimal_server.handle();
    actix_web::rt::spawn(minimal_server);
    let c = client();
    let baseline = drive("minimal page (baseline)", 32, o.seconds, std::process::id(), move |_, _| {
        let (c, url) = (c.clone(), minimal_url.clone());
        async move { get_ok(&c, &url).await }
    })
    .await;
    minimal_handle.stop(true).await;
    results.push(baseline);

    let (customer, _) = sign_in(base, "customer@demo.test").await?;
    let url = format!("{base}/catalog");
    let listed = customer.get(&url).send().await?.text().await?.matches(r#"<tr id="product-"#).count();
    let c = customer.clone();
    results.push(
        drive(&format!("catalog page ({listed} products)"), 32, o.seconds, pid, move |_, _| {
            let (c, url) = (c.clone(), url.clone());
            async move { get_ok(&c, &url).await }
        })
        .await,
    );
    let url = format!("{base}/quotes/{}", quotes[0][0]);
    let c = customer.clone();
    results.push(
        drive("quote detail page", 32, o.seconds, pid, move |_, _| {
            let (c, url) = (c.clone(), url.clone());
            async move { get_ok(&c, &url).await }
        })
        .await,
    );

    // Acceptances: every request accepts a different pending quote, each connection
    // for its own organisation.
    let mut sessions = Vec::new();
    for (email, _) in CUSTOMERS {
        sessions.push(sign_in(base, email).await?);
    }
    let sessions = Arc::new(sessions);
    let ids = Arc::new(quotes.to_vec());
    let base_owned = base.to_owned();
    let accepts = drive("quote acceptances", 8, o.seconds, pid, move |worker, n| {
        let (sessions, ids, base) = (sessions.clone(), ids.clone(), base_owned.clone());
        async move {
            let Some(id) = ids[worker].get(n) else { return false };
            let (c, token) = &sessions[worker];
            match c.post(format!("{base}/quotes/{id}/accept")).form(&[("csrf_token", token)]).send().await {
                Ok(r) => r.status() == reqwest::StatusCode::SEE_OTHER,
                Err(_) => false,
            }
        }
    })
    .await;
    results.push(accepts);
    let pgbench_tps = pgbench(cluster, o.seconds)?;

    // Staff transactions page and CSV, with 10 000 and then the big ledger.
    let (staff, _) = sign_in(base, "staff@demo.test").await?;
    let mut csv = Vec::new();
    for (label, rows) in [("10k", 0), ("big", o.big_ledger - 10_000)] {
        if rows > 0 {
            bulk_ledger(main, "Ubuntu Freight Services", rows).await?;
        }
        let url = format!("{base}/transactions");
        let c = staff.clone();
        results.push(
            drive(&format!("transactions page, {label} ledger"), 8, o.seconds, pid, move |_, _| {
                let (c, url) = (c.clone(), url.clone());
                async move { get_ok(&c, &url).await }
            })
            .await,
        );
        let started = Instant::now();
        let body = staff.get(format!("{base}/transactions.csv")).send().await?.bytes().await?;
        let lines = body.iter().filter(|b| **b == b'\n').count();
        csv.push((label, lines - 1, started.elapsed().as_secs_f64(), peak_rss_mb(pid)));
    }

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
            m.name,
            m.connections,
            m.requests,
            m.rate(),
            m.p50_ms,
            m.p99_ms,
            m.rss_mb
        );
    }
    println!("\n| CSV export | rows | seconds | server peak RSS MB |\n|---|---:|---:|---:|");
    for (label, rows, seconds, rss) in &csv {
        println!("| {label} ledger | {rows} | {seconds:.2} | {rss:.1} |");
    }
    let find = |name: &str| results.iter().find(|m| m.name.starts_with(name)).map(Measured::rate).unwrap_or(0.0);
    println!("\npgbench wallet-debit transaction, 8 clients, one wallet each: {pgbench_tps:.0} tps");
    println!("\n| ratio | value | target |\n|---|---:|---|");
    println!("| catalog page ÷ minimal page | {:.2} | ≥ 1.0 |", find("catalog") / find("minimal"));
    println!("| acceptances ÷ pgbench debits | {:.2} | ≥ 0.5 |", find("quote acceptances") / pgbench_tps);
    println!("\nwallet verify after the run: {verify_line}");
    Ok(())
}
