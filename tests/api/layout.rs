//! Every page of every role in real headless Chromium at a phone's, a small laptop's and
//! a laptop's width (390, 1024 and 1366 px): nothing scrolls sideways (a wide table
//! scrolls inside its own box), the header is one row from 1024 px and short on a
//! phone, no amount or document number breaks across lines, and axe-core finds no
//! accessibility violation (the menus opened too). A screenshot of each page at each
//! width is kept in the run's folder (`layout-screenshots`).
//!
//! axe-core is vendored in `tests/api/vendor/` (MPL-2.0, its licence beside it) and
//! injected through WebDriver, as an extension would be: the page's CSP does not apply.

use std::fmt::Write as _;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, Locator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::{connect, start_driver, wait_for_text};
use crate::helpers::{ADMIN, DEMO_PASSWORD, DEMO_TOTP_SECRET, TestApp, current_code, spawn_app, test_dir};
use crate::pages::{RolePages, every_page};

const AXE: &str = include_str!("vendor/axe-core-4.14.1.min.js");
const WIDTHS: [u32; 3] = [390, 1024, 1366];
const HEIGHT: u32 = 900;
/// The header's height at most: one row of links (from 1024 px), or the brand, the
/// menu button and the bell (on a phone).
const ONE_ROW: f64 = 72.0;

/// What a page measures at one width (see `MEASURE`).
const MEASURE: &str = r#"
const vw = window.innerWidth;
const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
  (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '');
const header = document.querySelector('body > header');
const items = [...document.querySelectorAll('.mainnav > ul > li, header .whoami, header .bell')]
  .filter((el) => el.getClientRects().length > 0);
// A row ends where the lowest of its items ends; an item starting below that starts the next.
let rows = 0;
let bottom = -Infinity;
for (const r of items.map((el) => el.getBoundingClientRect()).sort((a, b) => a.top - b.top)) {
  if (r.top >= bottom) rows += 1;
  bottom = Math.max(bottom, r.bottom);
}
const clipped = (el) => {
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const o = getComputedStyle(p).overflowX;
    if (o !== 'visible') return true;
  }
  return false;
};
const wide = [];
for (const el of document.body.querySelectorAll('*')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.right <= vw + 0.5 || clipped(el)) continue;
  wide.push(describe(el) + ' reaches ' + Math.round(r.right) + ' px');
  if (wide.length >= 6) break;
}
const broken = [];
const numbers = /R -?\d{1,3}(?: \d{3})*\.\d{2}|Q-\d{4}-\d{6}|INV-\d{6}/g;
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const node = walker.currentNode;
  for (const m of node.data.matchAll(numbers)) {
    const range = document.createRange();
    range.setStart(node, m.index);
    range.setEnd(node, m.index + m[0].length);
    const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.bottom)));
    if (lines.size > 1) broken.push(m[0] + ' in ' + describe(node.parentElement));
  }
}
return {
  vw, scrollWidth: document.documentElement.scrollWidth,
  header: header ? header.getBoundingClientRect().height : 0, rows, wide, broken,
};
"#;

/// Runs axe on the page; its violations, one line each.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] })
  .then((r) => done(r.violations.map((v) => v.id + ' (' + v.impact + '): ' + v.help + ' at ' +
    v.nodes.slice(0, 4).map((n) => n.target.join(' ') + (n.failureSummary ? ' [' + n.failureSummary.replace(/\s+/g, ' ') + ']' : '')).join('; '))))
  .catch((e) => done(['axe failed: ' + e]));
"#;

/// Opens every menu (the phone's menu button and each dropdown).
const OPEN_MENUS: &str = r#"
for (const box of document.querySelectorAll('header input[type=checkbox]')) box.checked = true;
for (const d of document.querySelectorAll('header details')) d.open = true;
"#;

#[derive(Default)]
struct Report {
    problems: Vec<String>,
    /// (role, width) → the tallest header and the widest page seen.
    measures: Vec<(String, u32, f64, i64)>,
}

impl Report {
    fn note(&mut self, role: &str, width: u32, header: f64, scroll_width: i64) {
        match self.measures.iter_mut().find(|(r, w, ..)| r == role && *w == width) {
            Some(m) => {
                m.2 = m.2.max(header);
                m.3 = m.3.max(scroll_width);
            }
            None => self.measures.push((role.to_owned(), width, header, scroll_width)),
        }
    }
}

#[actix_web::test]
async fn every_page_fits_a_phone_and_a_laptop_and_passes_axe() {
    let Some(driver) = start_driver() else { return };
    let app = spawn_app().await;
    let shots = test_dir("layout-screenshots");
    let mut report = Report::default();
    let roles = every_page(&app).await;
    let started = std::time::Instant::now();
    let mut pages = 0;

    // Signed out: the sign-in page.
    let client = connect(&driver).await;
    let base = app.address.replace("127.0.0.1", "localhost");
    let outcome = check_page(&client, &format!("{base}/login"), "anonymous", "/login", &shots, &mut report).await;
    let _ = client.close().await;
    outcome.unwrap();

    for role in &roles {
        let client = connect(&driver).await;
        let outcome = check_role(&app, &client, role, &shots, &mut report).await;
        let _ = client.close().await;
        pages += outcome.unwrap();
    }

    let mut summary = String::new();
    for (role, width, header, scroll_width) in &report.measures {
        let _ = writeln!(summary, "{role:>9} at {width:>4} px: header {header:>5.1} px, page {scroll_width} px wide");
    }
    eprintln!(
        "{pages} pages at {WIDTHS:?} px in {:.0?} (screenshots in {}):\n{summary}",
        started.elapsed(),
        shots.display()
    );
    assert!(report.problems.is_empty(), "{} problems:\n{}", report.problems.len(), report.problems.join("\n"));
}

/// Signs the role in through the form (with the second factor's code for staff and
/// admins), then checks each of its pages; returns how many.
async fn check_role(
    app: &TestApp,
    c: &Client,
    role: &RolePages,
    shots: &std::path::Path,
    report: &mut Report,
) -> Result<usize, fantoccini::error::CmdError> {
    let base = app.address.replace("127.0.0.1", "localhost");
    c.goto(&format!("{base}/login")).await?;
    c.find(Locator::Id("email")).await?.send_keys(role.email).await?;
    c.find(Locator::Id("password")).await?.send_keys(DEMO_PASSWORD).await?;
    c.find(Locator::Css("button[type=submit]")).await?.click().await?;
    if role.email != crate::helpers::CUSTOMER {
        wait_for_text(c, "h1", |t| t == "Enter your code").await;
        if role.email == ADMIN {
            check_page(c, c.current_url().await?.as_ref(), "anonymous", "/login/second-factor", shots, report).await?;
        }
        c.find(Locator::Id("code")).await?.send_keys(&current_code(DEMO_TOTP_SECRET)).await?;
        c.find(Locator::Id("verify-code")).await?.click().await?;
    }
    wait_for_text(c, "h1", |t| t.starts_with("Welcome")).await;
    for path in &role.paths {
        check_page(c, &format!("{base}{path}"), role.role, path, shots, report).await?;
    }
    // Everything in the header, opened, at both ends of the range.
    c.goto(&format!("{base}/")).await?;
    for width in [390, 1366] {
        resize(c, width).await?;
        c.execute(OPEN_MENUS, vec![]).await?;
        for violation in axe(c).await? {
            report.problems.push(format!("{} menus open at {width} px: {violation}", role.role));
        }
    }
    if role.email == ADMIN {
        long_name(c, &base, shots, report).await?;
    }
    Ok(role.paths.len())
}

/// An organisation with a long name of one word: its page's heading and the flash
/// that names it wrap instead of pushing the page sideways.
async fn long_name(
    c: &Client,
    base: &str,
    shots: &std::path::Path,
    report: &mut Report,
) -> Result<(), fantoccini::error::CmdError> {
    let name = format!("Amalgamated{}Holdings", "Logistics".repeat(12));
    c.goto(&format!("{base}/admin/organisations/new")).await?;
    c.find(Locator::Id("name")).await?.send_keys(&name).await?;
    c.find(Locator::Id("create-organisation")).await?.click().await?;
    wait_for_text(c, "h1", |t| t.starts_with("Amalgamated")).await;
    resize(c, 390).await?;
    let measured = c.execute(MEASURE, vec![]).await?;
    check_measures("admin", "a new organisation with a long name", 390, &measured, report);
    save_screenshot(c, shots, "admin-long-name-390").await
}

/// A Chrome DevTools command, through chromedriver's endpoint for them.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (reqwest::Method, Option<String>) {
        (reqwest::Method::POST, Some(json!({ "cmd": self.cmd, "params": self.params }).to_string()))
    }
}

/// Sets the viewport to `width` × `HEIGHT` (a window cannot be narrower than 500 px
/// in headless Chromium, an emulated screen can).
async fn resize(c: &Client, width: u32) -> Result<(), fantoccini::error::CmdError> {
    let params = json!({ "width": width, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": false });
    c.issue_cmd(Cdp { cmd: "Emulation.setDeviceMetricsOverride", params }).await?;
    Ok(())
}

async fn axe(c: &Client) -> Result<Vec<String>, fantoccini::error::CmdError> {
    if c.execute("return typeof axe === 'undefined'", vec![]).await? == json!(true) {
        c.execute(AXE, vec![]).await?;
    }
    let found = c.execute_async(AXE_RUN, vec![]).await?;
    Ok(found.as_array().map(|v| v.iter().map(|s| s.as_str().unwrap_or("").to_owned()).collect()).unwrap_or_default())
}

async fn save_screenshot(c: &Client, shots: &std::path::Path, name: &str) -> Result<(), fantoccini::error::CmdError> {
    let png = c.screenshot().await?;
    std::fs::write(shots.join(format!("{name}.png")), png).unwrap();
    Ok(())
}

/// One page at each width: its measures, its screenshots, and axe at the narrowest and
/// widest.
async fn check_page(
    c: &Client,
    url: &str,
    role: &str,
    path: &str,
    shots: &std::path::Path,
    report: &mut Report,
) -> Result<(), fantoccini::error::CmdError> {
    c.goto(url).await?;
    let title = c.title().await?;
    if title.starts_with("Not ") || title.starts_with("Something") {
        report.problems.push(format!("{role} {path}: the page is an error page ({title})"));
        return Ok(());
    }
    let slug: String = path.chars().map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' }).collect();
    for width in WIDTHS {
        resize(c, width).await?;
        let measured = c.execute(MEASURE, vec![]).await?;
        check_measures(role, path, width, &measured, report);
        report.note(
            role,
            width,
            measured["header"].as_f64().unwrap_or(0.0),
            measured["scrollWidth"].as_i64().unwrap_or(0),
        );
        save_screenshot(c, shots, &format!("{role}{slug}-{width}")).await?;
        if width != 1024 {
            for violation in axe(c).await? {
                report.problems.push(format!("{role} {path} at {width} px: {violation}"));
            }
        }
    }
    Ok(())
}

fn check_measures(role: &str, path: &str, width: u32, m: &Value, report: &mut Report) {
    let at = format!("{role} {path} at {width} px");
    let vw = m["vw"].as_i64().unwrap_or(0);
    assert_eq!(vw, i64::from(width), "{at}: the viewport is as wide as asked");
    let scroll_width = m["scrollWidth"].as_i64().unwrap_or(0);
    if scroll_width > vw {
        report.problems.push(format!("{at}: scrolls sideways ({scroll_width} px wide): {}", m["wide"]));
    }
    let header = m["header"].as_f64().unwrap_or(0.0);
    if header > ONE_ROW {
        report.problems.push(format!("{at}: the header is {header:.0} px tall"));
    }
    if width >= 1024 && m["rows"].as_i64().unwrap_or(0) > 1 {
        report.problems.push(format!("{at}: the header's links take {} rows", m["rows"]));
    }
    if let Some(broken) = m["broken"].as_array().filter(|b| !b.is_empty()) {
        report.problems.push(format!("{at}: numbers broken across lines: {broken:?}"));
    }
}

/// The suite's page list answers: every path is a page its role may open.
#[actix_web::test]
async fn the_layout_suite_visits_pages_that_open() {
    let app = spawn_app().await;
    for role in every_page(&app).await {
        let browser = app.signed_in(role.email).await;
        for path in &role.paths {
            assert_eq!(browser.get(path).await.status, StatusCode::OK, "{} GET {path}", role.role);
        }
    }
}
