//! Services and the monthly billing run (DESIGN.md §10), travelling in time through
//! `portal billing run --date`: anniversary months, every month charged exactly once
//! whatever runs (together, killed, far ahead), short wallets through arrears and
//! suspension back to active, cancellation, refunds, and `wallet verify` after each.

use std::process::{Child, Command, Output, Stdio};

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Numeric, Text};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use portal::db::main::schema::{in_app_alerts, service_charges, services, vm_logs, wallet_transactions as tx};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use secrecy::ExposeSecret;

use crate::cli::{stderr, stdout};
use crate::helpers::{ADMIN, TestApp, spawn_app};
use crate::support::{balance, credit_directly, user_id, wallet_verify};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// `portal billing run` (and any other arguments) against the app's databases.
fn portal_command(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> Command {
    let urls = &app.db.urls;
    let mut command = Command::new(env!("CARGO_BIN_EXE_portal"));
    command
        .args(args)
        .env("DATABASE_URL_MAIN", urls.main.expose_secret())
        .env("DATABASE_URL_AAS", urls.aas.expose_secret())
        .env("DATABASE_URL_ENETWORKS", urls.enetworks.expose_secret())
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied());
    command
}

fn run_billing(app: &TestApp, date: NaiveDate) -> Output {
    let output = portal_command(app, &["billing", "run", "--date", &date.to_string()], &[]).output().unwrap();
    assert!(output.status.success(), "billing run for {date}: {}{}", stdout(&output), stderr(&output));
    output
}

fn spawn_billing(app: &TestApp, date: NaiveDate) -> Child {
    portal_command(app, &["billing", "run", "--date", &date.to_string()], &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn assert_verified(app: &TestApp) {
    let (ok, report) = wallet_verify(app);
    assert!(ok, "wallet verify: {report}");
}

/// A new organisation with an empty wallet.
async fn new_org(app: &TestApp, name: &str) -> i64 {
    let mut conn = app.main_conn().await;
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    diesel::sql_query(
        "WITH o AS (INSERT INTO organisations (name) VALUES ($1) RETURNING id),
              w AS (INSERT INTO organisation_wallets (organisation_id) SELECT id FROM o)
         SELECT id FROM o",
    )
    .bind::<Text, _>(name)
    .get_result::<Id>(&mut conn)
    .await
    .unwrap()
    .id
}

/// A service as acceptance makes it, moved to start on `started_on`: a pending quote of
/// `org` with one monthly line of `monthly` (at 0 % VAT, to keep the sums plain), paid
/// for and accepted through the acceptance transaction. With `vm`, a VM quote whose
/// line provisions one VM.
async fn service(app: &TestApp, org: i64, started_on: NaiveDate, monthly: Decimal, term: i32, vm: bool) -> i64 {
    use portal::db::main::{acceptance, activity::Actor};
    use portal::domain::billing::{first_paid_through, term_ends_on};
    use portal::domain::ids::{OrganisationId, QuoteId, UserId};
    credit_directly(app, org, monthly, "EFT first month").await;
    let admin = user_id(app, ADMIN).await;
    let mut conn = app.main_conn().await;
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let quote = diesel::sql_query(
        "INSERT INTO quotes (organisation_id, kind, title, term_months, valid_until, vat_rate,
                             monthly_subtotal, monthly_total, amount_due)
         VALUES ($1, $4, 'Billing test', $3, now() + interval '30 days', 0, $2, $2, $2)
         RETURNING id",
    )
    .bind::<BigInt, _>(org)
    .bind::<Numeric, _>(monthly)
    .bind::<diesel::sql_types::Integer, _>(term)
    .bind::<Text, _>(if vm { "vm" } else { "service" })
    .get_result::<Id>(&mut conn)
    .await
    .unwrap()
    .id;
    conn.batch_execute(&format!(
        "INSERT INTO quote_lines (quote_id, line_no, catalog, item_kind, item_id, sku, description, billing,
                                  unit_cost, margin_pct, unit_price, quantity, amount)
         VALUES ({quote}, 1, 'aas', 'product', 1, 'TEST-1', 'Test service {quote}', 'monthly', {monthly}, 0, {monthly}, 1, {monthly});"
    ))
    .await
    .unwrap();
    if vm {
        conn.batch_execute(&format!(
            "INSERT INTO vm_quotes (quote_id, quote_line_id, name, vcpu, ram_gb, disk_gb, disk_type, os, count)
             SELECT {quote}, id, 'Test VM', 2, 4, 50, 'ssd', 'linux', 1 FROM quote_lines WHERE quote_id = {quote};"
        ))
        .await
        .unwrap();
    }
    let actor = Actor { user_id: UserId(admin), organisation_id: OrganisationId(org), email: ADMIN.into(), ip: None };
    acceptance::accept(&mut conn, QuoteId(quote), &actor).await.unwrap();
    let service =
        services::table.filter(services::quote_id.eq(quote)).select(services::id).first(&mut conn).await.unwrap();
    diesel::update(services::table.find(service))
        .set((
            services::started_on.eq(started_on),
            services::paid_through.eq(first_paid_through(started_on)),
            services::term_ends_on.eq(term_ends_on(started_on, term as u32)),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    service
}

async fn charges(app: &TestApp, service: i64) -> Vec<(NaiveDate, NaiveDate, Decimal)> {
    let mut conn = app.main_conn().await;
    service_charges::table
        .filter(service_charges::service_id.eq(service))
        .order(service_charges::period_start)
        .select((service_charges::period_start, service_charges::period_end, service_charges::amount))
        .load(&mut conn)
        .await
        .unwrap()
}

async fn status(app: &TestApp, service: i64) -> (String, NaiveDate) {
    let mut conn = app.main_conn().await;
    services::table.find(service).select((services::status, services::paid_through)).first(&mut conn).await.unwrap()
}

async fn billing_debits(app: &TestApp, org: i64) -> Vec<Decimal> {
    let mut conn = app.main_conn().await;
    tx::table
        .filter(tx::organisation_id.eq(org))
        .filter(tx::kind.eq("debit"))
        .filter(tx::quote_id.is_null())
        .order(tx::id)
        .select(tx::amount)
        .load(&mut conn)
        .await
        .unwrap()
}

async fn alerts_of(app: &TestApp, org: i64, kind: &str) -> i64 {
    let mut conn = app.main_conn().await;
    in_app_alerts::table
        .filter(in_app_alerts::organisation_id.eq(org))
        .filter(in_app_alerts::kind.eq(kind))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

async fn vm_events(app: &TestApp, org: i64, event: &str) -> i64 {
    let mut conn = app.main_conn().await;
    vm_logs::table
        .filter(vm_logs::organisation_id.eq(org))
        .filter(vm_logs::event.eq(event))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

/// Every service of these organisations: how many months charged, and whether any
/// month was charged twice (the unique key says never) or skipped.
async fn months_charged(app: &TestApp, orgs: &[i64]) -> i64 {
    let mut conn = app.main_conn().await;
    service_charges::table
        .inner_join(services::table)
        .filter(services::organisation_id.eq_any(orgs))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_service_started_on_31_january_is_charged_on_the_last_days_of_shorter_months() {
    let app = spawn_app().await;
    let org = new_org(&app, "Leap Year Logistics").await;
    credit_directly(&app, org, dec!(1000), "EFT LEAP").await;
    let s = service(&app, org, day(2028, 1, 31), dec!(100), 12, false).await;
    assert_eq!(status(&app, s).await, ("active".into(), day(2028, 2, 28)), "the first month is the acceptance's");

    run_billing(&app, day(2028, 2, 28));
    assert!(charges(&app, s).await.is_empty(), "February's month starts on the 29th");
    for date in [day(2028, 2, 29), day(2028, 3, 31), day(2028, 4, 30)] {
        run_billing(&app, date);
    }
    assert_eq!(
        charges(&app, s).await,
        [
            (day(2028, 2, 29), day(2028, 3, 30), dec!(100)),
            (day(2028, 3, 31), day(2028, 4, 29), dec!(100)),
            (day(2028, 4, 30), day(2028, 5, 30), dec!(100)),
        ]
    );
    assert_eq!(status(&app, s).await, ("active".into(), day(2028, 5, 30)));
    assert_eq!(billing_debits(&app, org).await, [dec!(100), dec!(100), dec!(100)], "one debit per run");
    assert_eq!(balance(&app, org).await, dec!(700));
    // Each run's debit has its tax invoice: one line per month, VAT inside at the rate of
    // the day (15 %).
    let lines: Vec<(String, Decimal, Decimal)> = diesel::sql_query(
        "SELECT l.description, l.amount, l.vat FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
         WHERE i.organisation_id = $1 AND i.kind = 'tax_invoice' AND i.reference LIKE 'BILL-%'
         ORDER BY i.serial",
    )
    .bind::<BigInt, _>(org)
    .load::<InvoiceLine>(&mut app.main_conn().await)
    .await
    .unwrap()
    .into_iter()
    .map(|l| (l.description, l.amount, l.vat))
    .collect();
    let periods = ["29 Feb 2028 to 30 Mar 2028", "31 Mar 2028 to 29 Apr 2028", "30 Apr 2028 to 30 May 2028"];
    assert_eq!(lines.len(), 3, "{lines:?}");
    for ((description, amount, vat), period) in lines.iter().zip(periods) {
        assert!(description.ends_with(period), "{description}");
        assert_eq!((*amount, *vat), (dec!(86.96), dec!(13.04)));
    }
    assert_verified(&app);
}

#[derive(QueryableByName)]
struct InvoiceLine {
    #[diesel(sql_type = Text)]
    description: String,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    amount: Decimal,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    vat: Decimal,
}

#[actix_web::test]
async fn fourteen_monthly_runs_are_fourteen_charges_and_a_run_far_ahead_charges_each_missed_month_once() {
    let app = spawn_app().await;
    let monthly = new_org(&app, "Monthly Runs").await;
    credit_directly(&app, monthly, dec!(10000), "EFT M").await;
    let start = day(2026, 1, 31);
    let s = service(&app, monthly, start, dec!(250), 12, false).await;

    for n in 1..=14 {
        let date = portal::domain::billing::period_start(start, n);
        run_billing(&app, date);
        // The same day again (the hourly job) charges nothing more.
        run_billing(&app, date);
    }
    assert_eq!(charges(&app, s).await.len(), 14);
    assert_eq!(billing_debits(&app, monthly).await.len(), 14);
    assert_eq!(balance(&app, monthly).await, dec!(10000) - dec!(250) * Decimal::from(14));
    assert_eq!(status(&app, s).await.1, portal::domain::billing::period(start, 14).end, "rolls on after the term");

    // Five months ahead of the first unpaid month: five months, one debit, once.
    let ahead = new_org(&app, "Far Ahead").await;
    credit_directly(&app, ahead, dec!(10000), "EFT A").await;
    let t = service(&app, ahead, day(2027, 4, 30), dec!(250), 12, false).await;
    let output = run_billing(&app, day(2027, 9, 30));
    assert!(stdout(&output).contains("Far Ahead: 5 month(s), R 1 250.00"), "{}", stdout(&output));
    run_billing(&app, day(2027, 9, 30));
    let months: Vec<NaiveDate> = charges(&app, t).await.into_iter().map(|c| c.0).collect();
    assert_eq!(months, [day(2027, 5, 30), day(2027, 6, 30), day(2027, 7, 30), day(2027, 8, 30), day(2027, 9, 30)]);
    assert_eq!(billing_debits(&app, ahead).await, [dec!(1250)]);
    assert_verified(&app);
}

#[actix_web::test]
async fn a_dry_run_prints_what_it_would_charge_and_changes_nothing() {
    let app = spawn_app().await;
    let org = new_org(&app, "Dry Run Traders").await;
    credit_directly(&app, org, dec!(500), "EFT D").await;
    let s = service(&app, org, day(2026, 1, 15), dec!(120), 12, false).await;
    let output = portal_command(&app, &["billing", "run", "--date", "2026-04-15", "--dry-run"], &[]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("Dry Run Traders: 3 month(s), R 360.00"), "{}", stdout(&output));
    assert!(charges(&app, s).await.is_empty());
    assert_eq!(balance(&app, org).await, dec!(500));
    let mut conn = app.main_conn().await;
    let runs: i64 = portal::db::main::schema::billing_runs::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(runs, 0, "a dry run is not a run");
}

/// Organisations, each with two services started on 10 January 2026 and money for
/// everything due by 10 November (ten months each).
async fn many_orgs(app: &TestApp, count: i64) -> Vec<i64> {
    let mut orgs = Vec::new();
    for n in 0..count {
        let org = new_org(app, &format!("Busy Org {n:05}")).await;
        service(app, org, day(2026, 1, 10), dec!(100), 12, false).await;
        service(app, org, day(2026, 1, 10), dec!(100), 12, false).await;
        credit_directly(app, org, dec!(2000), "EFT BUSY").await;
        orgs.push(org);
    }
    orgs
}

#[actix_web::test]
async fn two_runs_together_and_a_run_killed_midway_charge_each_month_exactly_once() {
    let app = spawn_app().await;
    let orgs = many_orgs(&app, 400).await;
    let date = day(2026, 7, 10);
    // Two runs started together.
    let (mut a, mut b) = (spawn_billing(&app, date), spawn_billing(&app, date));
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    assert_eq!(months_charged(&app, &orgs).await, 400 * 2 * 6);
    assert_verified(&app);

    // A run killed part-way, then run again: the killed one's organisations are charged
    // wholly or not at all, and the second run finishes the rest.
    let later = day(2026, 11, 10);
    let mut killed = spawn_billing(&app, later);
    while months_charged(&app, &orgs).await == 400 * 2 * 6 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    killed.kill().unwrap(); // SIGKILL
    killed.wait().unwrap();
    let partly = months_charged(&app, &orgs).await;
    assert!(partly < 400 * 2 * 10, "the kill landed before the end ({partly} months charged)");
    run_billing(&app, later);
    assert_eq!(months_charged(&app, &orgs).await, 400 * 2 * 10);
    for &org in [orgs[0], orgs[199], orgs[399]].iter() {
        assert_eq!(balance(&app, org).await, dec!(0));
        assert_eq!(billing_debits(&app, org).await.iter().sum::<Decimal>(), dec!(2000));
    }
    assert_verified(&app);
}

#[actix_web::test]
async fn a_short_wallet_goes_into_arrears_then_suspension_and_a_top_up_brings_it_back() {
    let app = spawn_app().await;
    let org = new_org(&app, "Short Wallet Co").await;
    let rich = new_org(&app, "Rich Neighbour").await;
    credit_directly(&app, rich, dec!(1000), "EFT R").await;
    let s = service(&app, org, day(2026, 1, 10), dec!(300), 12, true).await;
    let r = service(&app, rich, day(2026, 1, 10), dec!(300), 12, false).await;
    credit_directly(&app, org, dec!(100), "EFT S").await;
    assert_eq!(vm_events(&app, org, "provision requested").await, 1);

    let output = run_billing(&app, day(2026, 2, 10));
    assert!(stdout(&output).contains("short    Short Wallet Co"), "{}", stdout(&output));
    assert_eq!(status(&app, s).await, ("in_arrears".into(), day(2026, 2, 9)));
    assert_eq!(charges(&app, r).await.len(), 1, "the others are charged");
    assert_eq!(balance(&app, org).await, dec!(100), "nothing is charged");
    assert_eq!(alerts_of(&app, org, "billing_short").await, 1);
    run_billing(&app, day(2026, 2, 10));
    assert_eq!(alerts_of(&app, org, "billing_short").await, 1, "one alert per run date, not per run");
    run_billing(&app, day(2026, 2, 12));
    assert_eq!(alerts_of(&app, org, "billing_short").await, 2);
    assert_eq!(status(&app, s).await.0, "in_arrears");
    assert_eq!(vm_events(&app, org, "suspend requested").await, 0);
    assert_verified(&app);

    // Seven days unpaid: suspended, the VM asked to stop, once.
    run_billing(&app, day(2026, 2, 17));
    assert_eq!(status(&app, s).await.0, "suspended");
    run_billing(&app, day(2026, 2, 18));
    assert_eq!(vm_events(&app, org, "suspend requested").await, 1);
    assert_eq!(alerts_of(&app, org, "billing_short").await, 4);

    // A top-up: the next run collects the arrears, oldest first, and resumes.
    credit_directly(&app, org, dec!(1000), "EFT S2").await;
    run_billing(&app, day(2026, 3, 10));
    assert_eq!(status(&app, s).await, ("active".into(), day(2026, 4, 9)));
    assert_eq!(
        charges(&app, s).await.into_iter().map(|c| c.0).collect::<Vec<_>>(),
        [day(2026, 2, 10), day(2026, 3, 10)]
    );
    assert_eq!(billing_debits(&app, org).await, [dec!(600)]);
    assert_eq!(balance(&app, org).await, dec!(500));
    assert_eq!(vm_events(&app, org, "resume requested").await, 1);
    assert_eq!(alerts_of(&app, org, "billing_short").await, 4);
    assert_verified(&app);
}

#[actix_web::test]
async fn bad_input_is_refused_with_a_clear_message_and_nothing_changes() {
    let app = spawn_app().await;
    let org = new_org(&app, "Bad Input Ltd").await;
    credit_directly(&app, org, dec!(1000), "EFT B").await;
    let s = service(&app, org, day(2026, 1, 10), dec!(100), 12, false).await;
    for (args, env, message) in [
        (vec!["billing", "run", "--date", "2026-02-30"], vec![], "--date: Use a date like"),
        (vec!["billing", "run", "--date", "next week"], vec![], "--date: Use a date like"),
        (
            vec!["billing", "run", "--date", "2026-06-10"],
            vec![("PORTAL_GRACE_DAYS", "seven")],
            "PORTAL_GRACE_DAYS must be a whole number",
        ),
    ] {
        let output = portal_command(&app, &args, &env).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(stderr(&output).contains(message), "{args:?}: {}", stderr(&output));
    }
    assert!(charges(&app, s).await.is_empty());
    assert_eq!(balance(&app, org).await, dec!(1000));

    // A dry run while a migration holds its lock is refused, and so changes nothing.
    let mut migrating = app.main_conn().await;
    diesel::sql_query("SELECT pg_advisory_lock(123623963910508)").execute(&mut migrating).await.unwrap();
    let output = portal_command(&app, &["billing", "run", "--dry-run", "--date", "2026-06-10"], &[]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("being migrated"), "{}", stderr(&output));
    diesel::sql_query("SELECT pg_advisory_unlock(123623963910508)").execute(&mut migrating).await.unwrap();
    let output = portal_command(&app, &["billing", "run", "--dry-run", "--date", "2026-06-10"], &[]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("Bad Input Ltd: 5 month(s), R 500.00"), "{}", stdout(&output));
    assert!(charges(&app, s).await.is_empty());
}

async fn cancel_at(app: &TestApp, service: i64) -> Option<NaiveDate> {
    let mut conn = app.main_conn().await;
    services::table.find(service).select(services::cancel_at).first(&mut conn).await.unwrap()
}

async fn quote_of(app: &TestApp, service: i64) -> i64 {
    let mut conn = app.main_conn().await;
    services::table.find(service).select(services::quote_id).first(&mut conn).await.unwrap()
}

/// A customer of a new organisation, signed in.
async fn customer_of(app: &TestApp, org: i64, email: &str) -> crate::helpers::Browser {
    let output = portal_command(
        app,
        &[
            "user",
            "create",
            "--email",
            email,
            "--name",
            "Billing Customer",
            "--role",
            "customer",
            "--org",
            &org.to_string(),
            "--password",
            "billing-password-123",
        ],
        &[],
    )
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let browser = app.browser();
    browser.login(email, "billing-password-123").await;
    browser
}

#[actix_web::test]
async fn a_customer_sees_the_service_and_its_next_charge_and_cancels_it_inside_the_term() {
    let app = spawn_app().await;
    let org = new_org(&app, "Cancelling Co").await;
    credit_directly(&app, org, dec!(5000), "EFT C").await;
    let today = portal::domain::time::today_sast();
    let started = portal::domain::billing::period_start(today - chrono::Months::new(2), 0);
    let s = service(&app, org, started, dec!(200), 12, true).await;
    run_billing(&app, today); // the two months since the start
    let customer = customer_of(&app, org, "cancel@cancelling.test").await;

    let page = customer.get("/services").await;
    assert_eq!(page.status, reqwest::StatusCode::OK);
    let row = crate::support::text_of(&page, &format!("service-{s}")).unwrap();
    let next = portal::domain::billing::period_start(started, 3);
    assert!(row.contains(&format!("Test service {}", quote_of(&app, s).await)), "{row}");
    assert!(row.contains(&format!("{} · R 200.00", portal::domain::time::format_day(next))), "{row}");
    let dashboard = customer.get("/").await;
    assert_eq!(crate::support::text_of(&dashboard, "next-charge").as_deref(), Some("R 200.00"));

    // The link leads to a confirmation page; its button posts the cancellation.
    assert!(page.body.contains(&format!(r#"href="/services/{s}/cancel""#)));
    let confirm = customer.get(&format!("/services/{s}/cancel")).await;
    let term_end = portal::domain::billing::term_ends_on(started, 12);
    assert!(
        crate::support::text_of(&confirm, "would-end").unwrap().contains(&portal::domain::time::format_day(term_end))
    );
    assert_eq!(cancel_at(&app, s).await, None, "looking changes nothing");
    let done = customer.post(&format!("/services/{s}/cancel"), &[]).await;
    assert_eq!(done.status, reqwest::StatusCode::SEE_OTHER);
    assert_eq!(cancel_at(&app, s).await, Some(term_end), "inside the term: at its end");
    // Again: a clear message, nothing changed.
    let again = customer.post(&format!("/services/{s}/cancel"), &[]).await;
    assert_eq!(again.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(crate::support::text_of(&again, "form-error").unwrap().contains("already cancelled"), "{}", again.body);
    assert_eq!(cancel_at(&app, s).await, Some(term_end));

    // The term runs out: the last month is charged, nothing after, the VM deprovisioned.
    run_billing(&app, term_end + chrono::Days::new(400));
    assert_eq!(charges(&app, s).await.len(), 11, "months 2 to 12");
    assert_eq!(status(&app, s).await, ("cancelled".into(), term_end));
    assert_eq!(vm_events(&app, org, "deprovision requested").await, 1);
    assert_verified(&app);
}

#[actix_web::test]
async fn cancelling_after_the_term_ends_with_the_running_month() {
    let app = spawn_app().await;
    let org = new_org(&app, "Rolling On").await;
    credit_directly(&app, org, dec!(5000), "EFT R").await;
    let today = portal::domain::time::today_sast();
    let started = today - chrono::Months::new(14);
    let s = service(&app, org, started, dec!(100), 12, false).await;
    run_billing(&app, today);
    let (_, paid_through) = status(&app, s).await;
    assert!(paid_through >= today);
    let customer = customer_of(&app, org, "roll@rolling.test").await;
    assert_eq!(customer.post(&format!("/services/{s}/cancel"), &[]).await.status, reqwest::StatusCode::SEE_OTHER);
    assert_eq!(cancel_at(&app, s).await, Some(paid_through), "after the term: the month already paid is the last");
    let charged = charges(&app, s).await.len();
    run_billing(&app, today + chrono::Days::new(100));
    assert_eq!(charges(&app, s).await.len(), charged, "nothing more");
    assert_eq!(status(&app, s).await.0, "cancelled");
    assert_verified(&app);
}

#[actix_web::test]
async fn cancelling_is_refused_for_another_organisations_service_without_a_token_or_permission() {
    let app = spawn_app().await;
    let org = new_org(&app, "Owner Org").await;
    let other = new_org(&app, "Other Org").await;
    let s = service(&app, org, portal::domain::time::today_sast(), dec!(100), 12, false).await;
    let stranger = customer_of(&app, other, "stranger@other.test").await;
    assert_eq!(stranger.get(&format!("/services/{s}/cancel")).await.status, reqwest::StatusCode::NOT_FOUND);
    assert_eq!(stranger.post(&format!("/services/{s}/cancel"), &[]).await.status, reqwest::StatusCode::NOT_FOUND);
    let owner = customer_of(&app, org, "owner@owner.test").await;
    assert_eq!(owner.post_raw(&format!("/services/{s}/cancel"), &[]).await.status, reqwest::StatusCode::FORBIDDEN);
    assert_eq!(owner.get("/admin/billing").await.status, reqwest::StatusCode::FORBIDDEN);
    assert_eq!(owner.post("/admin/billing/run", &[]).await.status, reqwest::StatusCode::FORBIDDEN);
    assert_eq!(cancel_at(&app, s).await, None);
}

#[actix_web::test]
async fn a_full_refund_ends_the_quotes_services_and_deprovisions_its_vms() {
    let app = spawn_app().await;
    let org = new_org(&app, "Refunded Ltd").await;
    let s = service(&app, org, portal::domain::time::today_sast(), dec!(400), 12, true).await;
    let quote = quote_of(&app, s).await;
    let staff = app.signed_in(crate::helpers::STAFF).await;
    let form = staff.get(&format!("/quotes/{quote}/refund")).await;
    let key = crate::support::input_value(&form, "idempotency_key");
    let fields = [("amount", "400.00"), ("reason", "Never delivered"), ("idempotency_key", key.as_str())];
    assert_eq!(staff.post(&format!("/quotes/{quote}/refund"), &fields).await.status, reqwest::StatusCode::SEE_OTHER);
    assert_eq!(status(&app, s).await.0, "ended");
    assert_eq!(vm_events(&app, org, "deprovision requested").await, 1);
    credit_directly(&app, org, dec!(5000), "EFT later").await;
    run_billing(&app, portal::domain::time::today_sast() + chrono::Days::new(200));
    assert!(charges(&app, s).await.is_empty(), "an ended service is never charged");
    let wallet = customer_of(&app, org, "refunded@refunded.test").await.get("/wallet").await;
    assert_eq!(
        crate::support::text_of(&wallet, "committed").as_deref(),
        Some("R 0.00"),
        "a refunded quote commits nothing"
    );
    assert_verified(&app);
}

#[actix_web::test]
async fn staff_see_runs_arrears_and_upcoming_charges_and_run_the_billing_now() {
    let app = spawn_app().await;
    let today = portal::domain::time::today_sast();
    let short = new_org(&app, "Owing Org").await;
    let s = service(&app, short, today - chrono::Months::new(1), dec!(300), 12, false).await;
    let soon = new_org(&app, "Upcoming Org").await;
    credit_directly(&app, soon, dec!(1000), "EFT U").await;
    service(&app, soon, today - chrono::Months::new(1) + chrono::Days::new(5), dec!(150), 12, false).await;

    let staff = app.signed_in(crate::helpers::STAFF).await;
    let page = staff.get("/admin/billing").await;
    assert_eq!(page.status, reqwest::StatusCode::OK);
    assert!(crate::support::text_of(&page, "no-runs").is_some());
    assert!(crate::support::text_of(&page, "upcoming").unwrap().contains("R 150.00"), "{}", page.body);
    let done = staff.post("/admin/billing/run", &[]).await;
    assert_eq!(done.status, reqwest::StatusCode::SEE_OTHER);
    assert_eq!(status(&app, s).await.0, "in_arrears");
    let page = staff.get("/admin/billing").await;
    let arrears = crate::support::text_of(&page, "arrears").unwrap();
    assert!(arrears.contains("Owing Org") && arrears.contains("R 300.00"), "{arrears}");
    let runs = crate::support::text_of(&page, "runs").unwrap();
    assert!(runs.contains("staff"), "{runs}");
    // The organisation's page lists its services.
    let org_page = staff.get(&format!("/admin/organisations/{short}")).await;
    assert!(org_page.body.contains(&format!(r#"id="service-{s}""#)), "{}", org_page.body);
    assert_verified(&app);
}

#[actix_web::test]
async fn staff_end_a_service_at_once_with_a_pro_rata_refund() {
    let app = spawn_app().await;
    let org = new_org(&app, "Ended Early").await;
    let today = portal::domain::time::today_sast();
    let started = today - chrono::Days::new(10);
    let s = service(&app, org, started, dec!(310), 12, true).await;
    let quote = quote_of(&app, s).await;
    let schedule = portal::domain::billing::Schedule {
        started_on: started,
        paid_through: portal::domain::billing::first_paid_through(started),
        cancel_at: None,
    };
    let unused = schedule.unused(dec!(310), today);
    assert!(unused > Decimal::ZERO && unused < dec!(310));

    let staff = app.signed_in(crate::helpers::STAFF).await;
    let form = staff.get(&format!("/quotes/{quote}/refund")).await;
    let option = crate::support::text_of(&form, "end_service").unwrap();
    assert!(option.contains(&format!("unused today {}", portal::domain::money::format_zar(unused))), "{option}");
    let key = crate::support::input_value(&form, "idempotency_key");
    let amount = unused.to_string();
    let service_id = s.to_string();
    let fields = [
        ("amount", amount.as_str()),
        ("reason", "Ended at the customer's request"),
        ("idempotency_key", key.as_str()),
        ("end_service", service_id.as_str()),
    ];
    let done = staff.post(&format!("/quotes/{quote}/refund"), &fields).await;
    assert_eq!(done.status, reqwest::StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(status(&app, s).await.0, "ended");
    assert_eq!(vm_events(&app, org, "deprovision requested").await, 1);
    assert_eq!(balance(&app, org).await, unused);
    run_billing(&app, today + chrono::Days::new(100));
    assert!(charges(&app, s).await.is_empty());
    assert_verified(&app);
}
