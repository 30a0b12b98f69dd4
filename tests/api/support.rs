//! Shared by the money-side tests (refunds, adjustments, wallet, alerts, logs, cards):
//! looking up demo rows, reading forms, and running `portal wallet verify`.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::main::schema::wallet_transactions as tx;
use portal::db::main::schema::{in_app_alerts, organisation_wallets, organisations, quotes, user_activity_log, users};
use rust_decimal::Decimal;

use crate::helpers::{Browser, Page, TestApp};

pub const ACME: &str = "Acme Logistics";
pub const UBUNTU: &str = "Ubuntu Freight Services";
pub const BONGANI: &str = "bongani@ubuntu-freight.demo.test";
/// The seeded accepted VM quote of Acme Logistics, debited R 8 618.51.
pub const ACCEPTED: &str = "Q-2026-000006";
/// A pending quote of Acme Logistics.
pub const PENDING: &str = "Q-2026-000011";

pub async fn org_id(app: &TestApp, name: &str) -> i64 {
    let mut conn = app.main_conn().await;
    organisations::table.filter(organisations::name.eq(name)).select(organisations::id).first(&mut conn).await.unwrap()
}

pub async fn user_id(app: &TestApp, email: &str) -> i64 {
    let mut conn = app.main_conn().await;
    users::table.filter(users::email.eq(email)).select(users::id).first(&mut conn).await.unwrap()
}

pub async fn quote_id(app: &TestApp, number: &str) -> i64 {
    let mut conn = app.main_conn().await;
    quotes::table.filter(quotes::number.eq(number)).select(quotes::id).first(&mut conn).await.unwrap()
}

pub async fn balance(app: &TestApp, org: i64) -> Decimal {
    let mut conn = app.main_conn().await;
    organisation_wallets::table
        .filter(organisation_wallets::organisation_id.eq(org))
        .select(organisation_wallets::balance)
        .first(&mut conn)
        .await
        .unwrap()
}

/// A top-up recorded straight through the query function (for data the test needs);
/// returns the ledger row's id.
pub async fn credit_directly(app: &TestApp, org: i64, amount: Decimal, reference: &str) -> i64 {
    use portal::db::main::wallets::{self, CreditOutcome, NewCredit};
    let mut conn = app.main_conn().await;
    let key = uuid::Uuid::new_v4().to_string();
    let credit = NewCredit {
        organisation_id: portal::domain::ids::OrganisationId(org),
        amount,
        reference,
        description: "EFT received",
        idempotency_key: &key,
        created_by: None,
        ip: None,
    };
    match wallets::credit(&mut conn, &credit).await.unwrap() {
        CreditOutcome::Credited(row) => row.id.0,
        other => panic!("a fresh key credits: {other:?}"),
    }
}

/// The ids of a table's rows, in page order: `rows` selects the `<tr>`s, each with an
/// `id` of `prefix` and the row's id (`tx-12`).
pub fn row_ids(page: &Page, rows: &str, prefix: &str) -> Vec<i64> {
    let selector = scraper::Selector::parse(rows).unwrap();
    page.html()
        .select(&selector)
        .map(|tr| tr.value().id().and_then(|id| id.strip_prefix(prefix)).unwrap().parse().unwrap())
        .collect()
}

/// What a refused money form must leave untouched.
#[derive(Debug, PartialEq)]
pub struct Footprint {
    pub ledger_rows: i64,
    /// Money activity (`wallet.*`), not sign-ins.
    pub activity_rows: i64,
    pub alerts: i64,
    pub balance: Decimal,
}

pub async fn footprint(app: &TestApp, org: i64) -> Footprint {
    let mut conn = app.main_conn().await;
    Footprint {
        ledger_rows: tx::table.count().get_result(&mut conn).await.unwrap(),
        activity_rows: user_activity_log::table
            .filter(user_activity_log::action.like("wallet.%"))
            .count()
            .get_result(&mut conn)
            .await
            .unwrap(),
        alerts: in_app_alerts::table.count().get_result(&mut conn).await.unwrap(),
        balance: balance(app, org).await,
    }
}

/// The value of a form input on the page.
pub fn input_value(page: &Page, name: &str) -> String {
    let selector = scraper::Selector::parse(&format!(r#"input[name="{name}"]"#)).unwrap();
    let html = page.html();
    let input = html.select(&selector).next().unwrap_or_else(|| panic!("no input {name}: {}", page.body));
    input.value().attr("value").unwrap_or("").to_owned()
}

/// The text of the element with this id, if the page has it.
pub fn text_of(page: &Page, id: &str) -> Option<String> {
    let selector = scraper::Selector::parse(&format!("#{id}")).unwrap();
    page.html().select(&selector).next().map(|e| e.text().collect::<String>().trim().to_owned())
}

/// Opens `form_path`, then posts its form to `action` with `fields`, keeping the form's
/// CSRF token and idempotency key, as a browser would.
pub async fn submit(browser: &Browser, form_path: &str, action: &str, fields: &[(&str, &str)]) -> Page {
    let form = browser.get(form_path).await;
    assert_eq!(form.status, reqwest::StatusCode::OK, "{form_path}: {}", form.body);
    let token = form.csrf_token().unwrap();
    let key = input_value(&form, "idempotency_key");
    let mut all = fields.to_vec();
    all.push(("csrf_token", &token));
    if !fields.iter().any(|(name, _)| *name == "idempotency_key") {
        all.push(("idempotency_key", &key));
    }
    browser.post_raw(action, &all).await
}

/// Runs `portal wallet verify` against the app's databases: (passed, its report).
pub fn wallet_verify(app: &TestApp) -> (bool, String) {
    wallet_verify_urls(&app.db.urls)
}

/// Runs `portal wallet verify` against these databases: (passed, its report).
pub fn wallet_verify_urls(urls: &portal::config::DatabaseUrls) -> (bool, String) {
    use secrecy::ExposeSecret;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_portal"))
        .args(["wallet", "verify"])
        .env("DATABASE_URL_MAIN", urls.main.expose_secret())
        .env("DATABASE_URL_AAS", urls.aas.expose_secret())
        .env("DATABASE_URL_ENETWORKS", urls.enetworks.expose_secret())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), report)
}

/// A pending quote written straight into the database, with one once-off and one
/// monthly line for the parts that are not zero (VAT at 15 % inside the totals): what
/// acceptance, refunds, runway and expiry alerts need. Its id and number.
pub async fn insert_quote(
    app: &TestApp,
    org: i64,
    once_off: Decimal,
    monthly: Decimal,
    valid_for: chrono::Duration,
) -> (i64, String) {
    use portal::db::main::schema::quote_lines;
    use portal::domain::documents::vat_inside;
    let rate = Decimal::from(15);
    let (once_off_vat, monthly_vat) = (vat_inside(once_off, rate), vat_inside(monthly, rate));
    let mut conn = app.main_conn().await;
    let (id, number): (i64, String) = diesel::insert_into(quotes::table)
        .values((
            quotes::organisation_id.eq(org),
            quotes::kind.eq("service"),
            quotes::title.eq("Test services"),
            quotes::valid_until.eq(chrono::Utc::now() + valid_for),
            quotes::vat_rate.eq(rate),
            quotes::once_off_subtotal.eq(once_off - once_off_vat),
            quotes::monthly_subtotal.eq(monthly - monthly_vat),
            quotes::once_off_vat.eq(once_off_vat),
            quotes::monthly_vat.eq(monthly_vat),
            quotes::once_off_total.eq(once_off),
            quotes::monthly_total.eq(monthly),
            quotes::amount_due.eq(once_off + monthly),
        ))
        .returning((quotes::id, quotes::number))
        .get_result(&mut conn)
        .await
        .unwrap();
    let parts = [("once_off", "Set-up", once_off - once_off_vat), ("monthly", "Managed backup", monthly - monthly_vat)];
    for (line_no, (billing, description, amount)) in parts.into_iter().filter(|p| p.2 > Decimal::ZERO).enumerate() {
        diesel::insert_into(quote_lines::table)
            .values((
                quote_lines::quote_id.eq(id),
                quote_lines::line_no.eq(line_no as i32 + 1),
                quote_lines::catalog.eq("aas"),
                quote_lines::item_kind.eq("product"),
                quote_lines::item_id.eq(1i64),
                quote_lines::sku.eq("TEST-1"),
                quote_lines::description.eq(description),
                quote_lines::billing.eq(billing),
                quote_lines::unit_cost.eq(amount),
                quote_lines::margin_pct.eq(Decimal::ZERO),
                quote_lines::unit_price.eq(amount),
                quote_lines::quantity.eq(1),
                quote_lines::amount.eq(amount),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    (id, number)
}

/// Accepts a quote as `browser` (a member of its organisation); must succeed.
pub async fn accept(browser: &Browser, quote: i64) {
    let page = browser.post(&format!("/quotes/{quote}/accept"), &[]).await;
    assert_eq!(page.status, reqwest::StatusCode::SEE_OTHER, "accepting {quote}: {}", page.body);
}

/// Adds `organisations` organisations ("Bulk Freight NNN") with `per_wallet` credits each.
///
/// One INSERT writes every row, `per_wallet` for each organisation of its own. A
/// helper moves each wallet's balance to the row's starting point as the row is made
/// (the window sum), so the chain trigger checks every row against the balance before
/// it, and the deferred check at commit sees each balance equal its newest row. (One
/// wallet with 100 000 rows in one transaction would make every trigger lookup walk
/// that row's growing version chain: quadratic.) Every thousandth reference is a
/// formula.
pub async fn bulk_ledger(app: &TestApp, organisations: i64, per_wallet: i64) {
    use diesel_async::SimpleAsyncConnection;
    let mut conn = app.main_conn().await;
    conn.batch_execute(&format!(
        "BEGIN;
         INSERT INTO organisations (name) SELECT 'Bulk Freight ' || lpad(n::text, 3, '0') FROM generate_series(1, {organisations}) n;
         INSERT INTO organisation_wallets (organisation_id)
             SELECT id FROM organisations WHERE name LIKE 'Bulk Freight %';
         CREATE FUNCTION pg_temp.move_balance(wallet BIGINT, balance NUMERIC) RETURNS BOOLEAN
             LANGUAGE plpgsql VOLATILE AS $$
         BEGIN
             UPDATE organisation_wallets SET balance = move_balance.balance WHERE id = wallet;
             RETURN true;
         END $$;
         INSERT INTO wallet_transactions
             (wallet_id, organisation_id, kind, direction, amount, balance_after, reference, description)
         SELECT s.wallet_id, s.organisation_id, 'credit', 1, s.amount, s.running, s.reference, 'EFT received'
         FROM (SELECT w.id AS wallet_id, w.organisation_id, g.amount,
                      w.balance + sum(g.amount) OVER (PARTITION BY w.id ORDER BY g.n) AS running,
                      CASE WHEN g.n % 1000 = 0 THEN '=SUM(A' || g.n || ')' ELSE 'BULK-' || g.n END AS reference
               FROM organisation_wallets w
               JOIN organisations o ON o.id = w.organisation_id AND o.name LIKE 'Bulk Freight %'
               CROSS JOIN (SELECT n, (1 + n % 100)::numeric(14,2) AS amount
                           FROM generate_series(1, {per_wallet}) AS n) g) s
         WHERE pg_temp.move_balance(s.wallet_id, s.running - s.amount);
         UPDATE organisation_wallets w SET balance = t.balance_after
         FROM (SELECT DISTINCT ON (wallet_id) wallet_id, balance_after FROM wallet_transactions
               ORDER BY wallet_id, id DESC) t
         WHERE t.wallet_id = w.id AND w.balance <> t.balance_after;
         COMMIT;",
        organisations = organisations,
        per_wallet = per_wallet,
    ))
    .await
    .unwrap();
}
