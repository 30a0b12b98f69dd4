//! End to end in real headless Chromium (Debian's `chromium` and `chromium-driver`):
//! sign in, build a VM quote and watch the price update, accept it, see the new balance;
//! see a service and its next charge, and cancel it.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::helpers::{CUSTOMER, DEMO_PASSWORD, TestApp, spawn_app};

/// chromedriver on a free port, killed when dropped.
pub struct Driver {
    child: Child,
    port: u16,
    _profile: std::path::PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._profile);
    }
}

pub fn find_program(program: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(program)).find(|p| p.is_file())
}

/// None (and a note) when Chromium is not installed here; CI installs it, so there a
/// missing browser is a failure, not a skip.
pub fn start_driver() -> Option<Driver> {
    let driver = find_program("chromedriver");
    if driver.is_none() || find_program("chromium").is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI must have chromium and chromedriver (.ci/run installs them)");
        eprintln!("skipping the browser test: install chromium and chromium-driver to run it");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(driver.unwrap())
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = std::env::temp_dir().join(format!("portal-chromium-{}-{port}", std::process::id()));
    Some(Driver { child, port, _profile: profile })
}

pub async fn connect(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": find_program("chromium").unwrap(),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,1000",
                format!("--user-data-dir={}", driver._profile.display()),
            ],
        }),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match ClientBuilder::new(HttpConnector::new()).capabilities(caps.clone()).connect(&url).await {
            Ok(client) => return client,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot reach chromedriver: {e}"),
        }
    }
}

/// Waits until the element's text satisfies `ok`, returning it.
pub async fn wait_for_text(client: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(element) = client.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
            && ok(&text)
        {
            return text;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {css}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits out htmx's delayed triggers, then until no request is in flight.
async fn htmx_settled(client: &Client) {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.find(Locator::Css(".htmx-request")).await.is_ok() {
        assert!(Instant::now() < deadline, "htmx requests still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn acme_balance(app: &TestApp) -> rust_decimal::Decimal {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use portal::db::main::schema::{organisation_wallets as w, organisations as o};
    let mut conn = app.main_conn().await;
    let acme = o::table.filter(o::name.eq("Acme Logistics")).select(o::id);
    w::table.filter(w::organisation_id.eq_any(acme)).select(w::balance).first(&mut conn).await.unwrap()
}

#[actix_web::test]
async fn a_customer_builds_a_vm_quote_pays_for_it_and_downloads_its_tax_invoice() {
    let Some(driver) = start_driver() else { return };
    let app = spawn_app().await;
    let client = connect(&driver).await;
    let result = journey(&app, &client).await;
    let _ = client.close().await;
    result.unwrap();
}

/// Signs the customer in; returns the base URL the browser uses.
async fn sign_in(app: &TestApp, c: &Client) -> Result<String, fantoccini::error::CmdError> {
    let base = app.address.replace("127.0.0.1", "localhost");
    c.goto(&format!("{base}/login")).await?;
    c.find(Locator::Id("email")).await?.send_keys(CUSTOMER).await?;
    c.find(Locator::Id("password")).await?.send_keys(DEMO_PASSWORD).await?;
    c.find(Locator::Css("button[type=submit]")).await?.click().await?;
    wait_for_text(c, "h1", |t| t.starts_with("Welcome")).await;
    Ok(base)
}

async fn journey(app: &TestApp, c: &Client) -> Result<(), fantoccini::error::CmdError> {
    let base = sign_in(app, c).await?;

    c.goto(&format!("{base}/quotes/new/vm")).await?;
    let initial = wait_for_text(c, "#price-due", |_| true).await;
    assert!(initial.contains("Choose a template"), "{initial}");
    // Picking a template updates the price panel through htmx, without a page load.
    c.find(Locator::Css("#template_id option:nth-child(2)")).await?.click().await?;
    let one = wait_for_text(c, "#price-due", |t| t.starts_with("R ")).await;
    let count = c.find(Locator::Id("count")).await?;
    count.clear().await?;
    count.send_keys("3").await?;
    let three = wait_for_text(c, "#price-due", |t| t.starts_with("R ") && t != one).await;
    c.find(Locator::Id("create-quote")).await?.click().await?;
    let due = wait_for_text(c, "#amount-due", |t| t.starts_with("R ")).await;
    assert_eq!(due, three, "the quote charges what the panel showed");
    let expected_after = c.find(Locator::Id("balance-after")).await?.text().await?;

    c.find(Locator::Id("accept")).await?.click().await?;
    c.find(Locator::Id("confirm-accept")).await?.click().await?;
    wait_for_text(c, "#quote-status", |t| t.eq_ignore_ascii_case("accepted")).await;
    let flash = wait_for_text(c, ".flash", |t| t.contains("accepted")).await;
    assert!(flash.contains(&expected_after), "{flash} mentions {expected_after}");
    c.goto(&format!("{base}/wallet")).await?;
    let shown = wait_for_text(c, "#balance", |t| t.starts_with("R ")).await;
    assert_eq!(shown, expected_after);
    assert_eq!(portal::domain::money::format_zar(acme_balance(app).await), shown);

    // The acceptance's tax invoice, from the quote page, and its PDF.
    c.back().await?;
    c.find(Locator::Css("#documents a")).await?.click().await?;
    wait_for_text(c, "#document-title", |t| t == "Tax Invoice").await;
    let number = c.find(Locator::Id("document-number")).await?.text().await?;
    assert!(number.starts_with("INV-"), "{number}");
    let href = c.find(Locator::Id("pdf-link")).await?.attr("href").await?.expect("a PDF link");
    // What the link downloads, fetched by the page with its own session: a PDF.
    let fetched = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0]).then(async r => {
                 const head = new Uint8Array(await r.arrayBuffer()).slice(0, 5);
                 done([r.status, r.headers.get('content-type'), String.fromCharCode(...head)]);
             }).catch(e => done([0, String(e), '']));",
            vec![serde_json::Value::String(href)],
        )
        .await?;
    assert_eq!(fetched, serde_json::json!([200, "application/pdf", "%PDF-"]));
    Ok(())
}

#[actix_web::test]
async fn a_customer_compares_network_offers_picks_one_with_a_router_and_accepts_it() {
    let Some(driver) = start_driver() else { return };
    let app = spawn_app().await;
    let client = connect(&driver).await;
    let result = network_journey(&app, &client).await;
    let _ = client.close().await;
    result.unwrap();
}

async fn network_journey(app: &TestApp, c: &Client) -> Result<(), fantoccini::error::CmdError> {
    let base = sign_in(app, c).await?;
    c.goto(&format!("{base}/quotes/new/network")).await?;
    c.find(Locator::Id("site_address")).await?.send_keys("3 Oxford Road").await?;
    c.find(Locator::Id("site_suburb")).await?.send_keys("Rosebank").await?;
    c.find(Locator::Css("#speed_mbps option[value='100']")).await?.click().await?;
    c.find(Locator::Css("#term_months option[value='24']")).await?.click().await?;
    c.find(Locator::Css("#cpe_id option[value='1']")).await?.click().await?;
    c.find(Locator::Css("#cpe_billing option[value='monthly']")).await?.click().await?;
    // The comparison fills in through htmx; Helios serves Rosebank at 24 months. Let
    // the typing's delayed request (400 ms) and every swap finish first, or the row
    // found below may be replaced before it is clicked.
    htmx_settled(c).await;
    wait_for_text(c, "#offer-dfa-helios", |t| t.contains("MikroTik RB5009")).await;
    let cheapest = c.find(Locator::Css("table.offers tr.cheapest")).await?;
    let provider = cheapest.find(Locator::Css("strong")).await?.text().await?;
    cheapest.find(Locator::Css("button")).await?.click().await?;
    let due = wait_for_text(c, "#amount-due", |t| t.starts_with("R ")).await;
    let title = c.find(Locator::Css(".quote-meta strong")).await?.text().await?;
    assert!(title.starts_with(&provider), "{title} is the chosen {provider} offer");
    let lines = c.find(Locator::Css("table.lines")).await?.text().await?;
    assert!(lines.contains("CPE-MIKROTIK-RB5009"), "{lines}");
    let before = acme_balance(app).await;
    c.find(Locator::Id("accept")).await?.click().await?;
    c.find(Locator::Id("confirm-accept")).await?.click().await?;
    wait_for_text(c, "#quote-status", |t| t.eq_ignore_ascii_case("accepted")).await;
    let after = acme_balance(app).await;
    assert_eq!(portal::domain::money::format_zar(before - after), due, "the debit is the amount shown");
    Ok(())
}

#[actix_web::test]
async fn a_customer_sees_a_service_and_its_next_charge_and_cancels_it() {
    let Some(driver) = start_driver() else { return };
    let app = spawn_app().await;
    let client = connect(&driver).await;
    let result = services_journey(&app, &client).await;
    let _ = client.close().await;
    result.unwrap();
}

async fn services_journey(app: &TestApp, c: &Client) -> Result<(), fantoccini::error::CmdError> {
    sign_in(app, c).await?;
    // The dashboard names the next charge of Acme's services (its accepted VM quote's).
    let next = wait_for_text(c, "#next-charge", |t| t.starts_with("R ")).await;
    c.find(Locator::Css("a[href='/services']")).await?.click().await?;
    let row = wait_for_text(c, "#services tbody tr:first-child", |t| t.contains("Q-2026-000006")).await;
    let charge = c.find(Locator::Css("#services tbody tr:first-child .next-charge")).await?.text().await?;
    assert!(charge.contains(" · R "), "{charge}");
    assert!(next.starts_with("R "), "{next}");
    // Cancel: a confirmation page first, then its button.
    c.find(Locator::Css("#services tbody tr:first-child .cancel-link")).await?.click().await?;
    let would_end = wait_for_text(c, "#would-end", |t| t.contains("runs to")).await;
    c.find(Locator::Id("confirm-cancel")).await?.click().await?;
    let flash = wait_for_text(c, ".flash", |t| t.contains("Cancelled")).await;
    let ends = c.find(Locator::Css("#services tbody tr:first-child .ends-on")).await?.text().await?;
    assert!(ends.contains("runs to"), "{ends} ({row})");
    assert!(would_end.contains(ends.trim_start_matches("cancelled: runs to ")), "{would_end} / {ends} / {flash}");
    assert!(
        c.find(Locator::Css("#services tbody tr:first-child .cancel-link")).await.is_err(),
        "the cancelled service has no cancel link"
    );
    Ok(())
}

#[actix_web::test]
async fn a_short_wallet_disables_accept_and_a_double_click_makes_one_quote() {
    let Some(driver) = start_driver() else { return };
    let app = spawn_app().await;
    let client = connect(&driver).await;
    let result = guards_journey(&app, &client).await;
    let _ = client.close().await;
    result.unwrap();
}

async fn quote_count(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use portal::db::main::schema::quotes;
    quotes::table.count().get_result(&mut app.main_conn().await).await.unwrap()
}

async fn guards_journey(app: &TestApp, c: &Client) -> Result<(), fantoccini::error::CmdError> {
    let base = sign_in(app, c).await?;

    // A quote costing more than the wallet holds: the confirmation's button is disabled
    // and says by how much, with a way to the wallet.
    let balance = acme_balance(app).await;
    let acme = crate::support::org_id(app, "Acme Logistics").await;
    let (quote, _) = crate::support::insert_quote(
        app,
        acme,
        balance + rust_decimal::Decimal::from(100),
        rust_decimal::Decimal::ZERO,
        chrono::Duration::days(5),
    )
    .await;
    c.goto(&format!("{base}/quotes/{quote}")).await?;
    c.find(Locator::Id("accept")).await?.click().await?;
    let short = wait_for_text(c, "#confirm-short", |t| t.contains("short")).await;
    assert!(short.contains("R 100.00"), "{short}");
    let button = c.find(Locator::Id("confirm-accept")).await?;
    assert!(!button.is_enabled().await?, "the accept button is disabled when the wallet is short");
    assert!(button.text().await?.contains("R 100.00 short"));
    c.find(Locator::Css("#confirm-short a[href='/wallet']")).await?;
    assert_eq!(acme_balance(app).await, balance, "nothing was paid");

    // A double click on a form's submit button sends one request: one quote, not two.
    c.goto(&format!("{base}/catalog/compute")).await?;
    let quantity = c.find(Locator::Css("input[name=quantity]")).await?;
    quantity.clear().await?;
    quantity.send_keys("1").await?;
    let before = quote_count(app).await;
    c.execute(
        "const b = document.getElementById('create-service-quote');
         b.click();
         setTimeout(() => b.click(), 30);",
        vec![],
    )
    .await?;
    wait_for_text(c, "#amount-due", |t| t.starts_with("R ")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(quote_count(app).await, before + 1, "one quote from a double click");
    Ok(())
}
