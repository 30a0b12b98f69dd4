//! The CSV export at scale: 100 000 ledger rows stream out with flat server memory and
//! open cleanly in a spreadsheet (a header, ISO 8601 times, plain decimals).
//!
//! The server measured is a real `portal serve` child process on the test's databases:
//! the in-process test server shares its memory with every other test running in
//! parallel, so only a process of its own gives a figure that means something.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use secrecy::ExposeSecret;

use crate::helpers::{DEMO_PASSWORD, DEMO_TOTP_SECRET, Page, SECOND_STEP, STAFF, current_code, spawn_app};

const ROWS: i64 = 100_000;

/// Kills the child server however the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `/proc/{pid}/status` figure in kB (`VmRSS`, `VmHWM`).
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_else(|| panic!("{field} in {status}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[actix_web::test]
async fn a_hundred_thousand_rows_stream_with_flat_memory() {
    let app = spawn_app().await;

    let started = Instant::now();
    crate::support::bulk_ledger(&app, 100, ROWS / 100).await;
    let mut conn = app.main_conn().await;
    let bulk: i64 = diesel_async::RunQueryDsl::get_result(
        diesel::QueryDsl::count(portal::db::main::schema::wallet_transactions::table),
        &mut conn,
    )
    .await
    .unwrap();
    assert_eq!(bulk, ROWS + 3);
    drop(conn);
    println!("seeded {ROWS} rows in {:?}", started.elapsed());
    let (ok, report) = crate::support::wallet_verify(&app);
    assert!(ok, "the bulk rows form a sound chain: {report}");

    // A server of its own, on the same databases.
    let urls = &app.db.urls;
    let data_dir = std::env::temp_dir().join(format!("portal-csv-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_portal"))
        .arg("serve")
        .env("DATABASE_URL_MAIN", urls.main.expose_secret())
        .env("DATABASE_URL_AAS", urls.aas.expose_secret())
        .env("DATABASE_URL_ENETWORKS", urls.enetworks.expose_secret())
        .env("PORTAL_ADDR", "127.0.0.1:0")
        .env("PORTAL_DATA_DIR", &data_dir)
        .env("PORTAL_SESSION_KEY", "k".repeat(64))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let pid = server.0.id();
    // Read its output to the end (a closed pipe would fail its next print).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("Reseller portal: ") {
                let _ = tx.send(url.trim_end_matches('/').to_owned());
            }
        }
    });
    let address = rx.recv_timeout(Duration::from_secs(60)).expect("the server prints its address");

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let form = client.get(format!("{address}/login")).send().await.unwrap();
    let form = Page { status: form.status(), headers: form.headers().clone(), body: form.text().await.unwrap() };
    let token = form.csrf_token().unwrap();
    let login = client
        .post(format!("{address}/login"))
        .form(&[("email", STAFF), ("password", DEMO_PASSWORD), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    assert_eq!(login.headers()["location"], SECOND_STEP, "staff sign in with a second factor");
    let form = client.get(format!("{address}{SECOND_STEP}")).send().await.unwrap();
    let form = Page { status: form.status(), headers: form.headers().clone(), body: form.text().await.unwrap() };
    let code = current_code(DEMO_TOTP_SECRET);
    let step = client
        .post(format!("{address}{SECOND_STEP}"))
        .form(&[("code", code.as_str()), ("csrf_token", &form.csrf_token().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(step.status(), StatusCode::SEE_OTHER);
    // Warm up: the export's code paths and a pool connection exist before measuring.
    let small = client.get(format!("{address}/transactions.csv?kind=debit")).send().await.unwrap();
    assert_eq!(small.status(), StatusCode::OK);
    small.bytes().await.unwrap();

    let rss_before = status_kb(pid, "VmRSS");
    let started = Instant::now();
    let mut response = client.get(format!("{address}/transactions.csv")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Read as a spreadsheet would, line by line, keeping nothing but a partial line.
    let mut pending = Vec::new();
    let mut lines = 0usize;
    let mut bytes = 0usize;
    let mut peak_during = rss_before;
    // (lines read so far, server RSS in kB) every 10 000 lines or so.
    let mut samples: Vec<(usize, u64)> = Vec::new();
    let check = |line: &str, n: usize| {
        if n == 0 {
            assert_eq!(
                line,
                "id,created_at,organisation,kind,amount,direction,balance_after,quote,reference,description,created_by"
            );
            return;
        }
        let cells: Vec<&str> = line.split(',').collect();
        chrono::DateTime::parse_from_rfc3339(cells[1]).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(cells[4].parse::<rust_decimal::Decimal>().is_ok() && !cells[4].contains(' '), "{line}");
        assert!(cells[6].parse::<rust_decimal::Decimal>().is_ok(), "{line}");
        assert!(!cells[8].starts_with('='), "no formula survives: {line}");
    };
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes += chunk.len();
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8(pending[..end].to_vec()).unwrap();
            check(&line, lines);
            lines += 1;
            pending.drain(..end + 2);
        }
        let rss = status_kb(pid, "VmRSS");
        peak_during = peak_during.max(rss);
        if samples.last().is_none_or(|(at, _)| lines >= at + 10_000) {
            samples.push((lines, rss));
        }
    }
    assert!(pending.is_empty(), "the file ends with a line break");
    let elapsed = started.elapsed();
    let peak = peak_during;
    // 100 000 bulk rows plus the three seeded ones, plus the header.
    assert_eq!(lines as i64, ROWS + 3 + 1);
    let growth_kb = peak.saturating_sub(rss_before);
    println!(
        "CSV export: {} lines, {:.1} MB in {elapsed:?}; server RSS {} kB before, peak {} kB (+{} kB)",
        lines,
        bytes as f64 / 1e6,
        rss_before,
        peak,
        growth_kb
    );
    println!("server RSS (lines read, kB): {samples:?}");
    // Holding the export (or its rows) in memory would take more than the file's size;
    // streaming in batches of 1 000 needs a small, fixed amount whatever the row count.
    assert!((growth_kb as usize) * 1024 < bytes / 4, "server memory grew by {growth_kb} kB for a {bytes}-byte export");
    // And it does not climb with the rows: from the first 10 000 lines to the last.
    let after_first = samples.iter().find(|(at, _)| *at >= 10_000).map_or(rss_before, |(_, kb)| *kb);
    let last = samples.last().unwrap().1;
    assert!(last <= after_first + 1024, "server memory climbed with the rows: {samples:?}");
    drop(server);
    let _ = std::fs::remove_dir_all(&data_dir);
}
