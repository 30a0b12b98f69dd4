//! The `portal` command: bad input is refused before anything starts, with a clear
//! message and exit code 2; good input changes the databases exactly once.

use std::process::{Command, Output};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::main::schema::{organisation_wallets, organisations, users};
use portal::domain::organisation::VatNumber;
use rust_decimal::Decimal;
use secrecy::ExposeSecret;

use crate::helpers::{TestApp, spawn_app, test_dir};

/// Runs `portal` in an empty folder with no configuration but `env`.
fn portal(args: &[&str], env: &[(&str, &str)]) -> (Output, std::path::PathBuf) {
    let dir = test_dir(&format!("cli-{}", rand::random::<u32>()));
    let data_dir = dir.join("data");
    let output = Command::new(env!("CARGO_BIN_EXE_portal"))
        .args(args)
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PORTAL_DATA_DIR", &data_dir)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (output, data_dir)
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn bad_arguments_are_refused_before_anything_starts() {
    let cases: &[(&[&str], &str)] = &[
        (&["seed"], "portal seed --demo` or `portal seed --scale"),
        (
            &["user", "create", "--email", "not-an-email", "--name", "X", "--role", "customer", "--org", "Acme"],
            "--email",
        ),
        (
            &["user", "create", "--email", "a@b.co", "--name", " ", "--role", "customer", "--org", "Acme"],
            "--name must not be empty",
        ),
        (
            &[
                "user",
                "create",
                "--email",
                "a@b.co",
                "--name",
                "A",
                "--role",
                "customer",
                "--org",
                "Acme",
                "--password",
                "short",
            ],
            "--password: use at least 12 characters",
        ),
        (&["org", "create", "--name", "Umoya", "--vat-number", "12345"], "10 digits and starts with 4"),
        (&["org", "create", "--name", "Umoya", "--billing-email", "nope"], "--billing-email"),
        (&["wallet", "credit", "--org", "Acme", "--amount", "-5", "--reference", "EFT"], "more than zero"),
        (&["wallet", "credit", "--org", "Acme", "--amount", "abc", "--reference", "EFT"], "--amount"),
        (&["wallet", "credit", "--org", "Acme", "--amount", "1.234", "--reference", "EFT"], "two decimals"),
        (&["wallet", "credit", "--org", "Acme", "--amount", "100000000000000000000", "--reference", "EFT"], "at most"),
        (&["wallet", "credit", "--org", "Acme", "--amount", "10", "--reference", ""], "--reference must not be empty"),
        (&["backup", "--to", "/nonexistent/portal.backup"], "--to: there is no folder /nonexistent"),
        (&["backup", "--to", "/"], "--to: / already exists"),
        (&["restore", "--from", "/nonexistent/portal.backup"], "--from: there is no file"),
    ];
    for (args, message) in cases {
        let (output, data_dir) = portal(args, &[]);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(message), "{args:?}: {}", stderr(&output));
        assert!(!data_dir.exists(), "{args:?} started nothing");
    }
    let (output, _) = portal(&["frobnicate"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let (output, _) = portal(&["migrate"], &[("DATABASE_URL_MAIN", "postgresql://x/y")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("missing: DATABASE_URL_AAS, DATABASE_URL_ENETWORKS"), "{}", stderr(&output));
}

#[test]
fn a_missing_postgresql_server_is_named_with_what_to_install() {
    let (output, _) = portal(&["migrate"], &[("PORTAL_PG_BIN", "/nonexistent")]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("PostgreSQL server programs (initdb, postgres) were not found"), "{message}");
    assert!(message.contains("apt-get install postgresql"), "{message}");
}

fn db_env(app: &TestApp) -> Vec<(&'static str, String)> {
    let urls = &app.db.urls;
    vec![
        ("DATABASE_URL_MAIN", urls.main.expose_secret().to_owned()),
        ("DATABASE_URL_AAS", urls.aas.expose_secret().to_owned()),
        ("DATABASE_URL_ENETWORKS", urls.enetworks.expose_secret().to_owned()),
    ]
}

pub(crate) fn run(app: &TestApp, args: &[&str]) -> Output {
    let env = db_env(app);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    portal(args, &env).0
}

async fn acme_balance(app: &TestApp) -> Decimal {
    let mut conn = app.main_conn().await;
    let acme = organisations::table.filter(organisations::name.eq("Acme Logistics")).select(organisations::id);
    organisation_wallets::table
        .filter(organisation_wallets::organisation_id.eq_any(acme))
        .select(organisation_wallets::balance)
        .first(&mut conn)
        .await
        .unwrap()
}

#[actix_web::test]
async fn org_and_user_create_apply_all_or_nothing() {
    let app = spawn_app().await;
    let output = run(&app, &["org", "create", "--name", "Umoya Wind Farms", "--vat-number", "4123456780"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("Created organisation"));
    let again = run(&app, &["org", "create", "--name", "umoya wind farms"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("already exists"));

    let args =
        ["user", "create", "--email", "lwazi@umoya.test", "--name", "Lwazi Khumalo", "--org", "Umoya Wind Farms"];
    let bad_role = run(&app, &[&args[..], &["--role", "overlord"]].concat());
    assert_eq!(bad_role.status.code(), Some(2));
    assert!(stderr(&bad_role).contains("no role named \"overlord\""), "{}", stderr(&bad_role));
    let mut conn = app.main_conn().await;
    let lwazi = users::table.filter(users::email.eq("lwazi@umoya.test"));
    assert_eq!(lwazi.count().get_result::<i64>(&mut conn).await.unwrap(), 0, "nothing half-applied");
    let bad_org = run(&app, &[&args[..6], &["--org", "Nobody Ltd", "--role", "customer"]].concat());
    assert_eq!(bad_org.status.code(), Some(2));
    assert!(stderr(&bad_org).contains("no organisation named"));

    let created = run(&app, &[&args[..], &["--role", "customer"]].concat());
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(stdout(&created).contains("Temporary password"));
    let must_change: bool = users::table
        .filter(users::email.eq("lwazi@umoya.test"))
        .select(users::must_change_password)
        .first(&mut conn)
        .await
        .unwrap();
    assert!(must_change);
    let duplicate = run(&app, &[&args[..], &["--role", "customer"]].concat());
    assert_eq!(duplicate.status.code(), Some(2));
    assert!(stderr(&duplicate).contains("already exists"));
}

#[actix_web::test]
async fn org_create_stores_the_vat_number_and_billing_email_as_the_web_form_does() {
    let app = spawn_app().await;
    let typed_vat = " 4123 456 780 ";
    let args =
        ["org", "create", "--name", "Karoo Solar", "--vat-number", typed_vat, "--billing-email", " ap@karoo.test "];
    let output = run(&app, &args);
    assert!(output.status.success(), "{}", stderr(&output));
    let mut conn = app.main_conn().await;
    let stored: (Option<String>, Option<String>) = organisations::table
        .filter(organisations::name.eq("Karoo Solar"))
        .select((organisations::vat_number, organisations::billing_email))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored, (Some("4123456780".into()), Some("ap@karoo.test".into())), "not as typed");
    // The admin form parses with the same type, so both store the same digits.
    assert_eq!(VatNumber::parse(typed_vat).unwrap().as_str(), "4123456780");
}

#[actix_web::test]
async fn wallet_credit_with_the_same_key_credits_once() {
    let app = spawn_app().await;
    let before = acme_balance(&app).await;
    let args = ["wallet", "credit", "--org", "acme logistics", "--amount", "1 500.50", "--reference", "EFT 123"];
    let first = run(&app, &[&args[..], &["--idempotency-key", "0b6f5e0e-3c9a-4b8e-9d51-7a2f4c6e8d10"]].concat());
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stdout(&first).contains("Credited R 1 500.50 to Acme Logistics"), "{}", stdout(&first));
    let retry = run(&app, &[&args[..], &["--idempotency-key", "0b6f5e0e-3c9a-4b8e-9d51-7a2f4c6e8d10"]].concat());
    assert!(retry.status.success());
    assert!(stdout(&retry).contains("already recorded"));
    assert_eq!(acme_balance(&app).await, before + Decimal::new(150050, 2));
    let unknown = run(&app, &["wallet", "credit", "--org", "Nobody", "--amount", "5", "--reference", "x"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[actix_web::test]
async fn migrate_and_seed_twice_change_nothing() {
    let app = spawn_app().await;
    let migrate = run(&app, &["migrate"]);
    assert!(migrate.status.success(), "{}", stderr(&migrate));
    let seed = run(&app, &["seed", "--demo"]);
    assert!(seed.status.success(), "{}", stderr(&seed));
    assert!(stdout(&seed).contains("into 0 of 3"), "{}", stdout(&seed));
    let mut conn = app.main_conn().await;
    let orgs: i64 = organisations::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(orgs, 11);
}

#[actix_web::test]
async fn serve_with_an_unreachable_redis_says_so_and_stops() {
    let app = spawn_app().await;
    let mut env = db_env(&app);
    // Nothing listens on port 1.
    env.push(("PORTAL_REDIS_URL", "redis://127.0.0.1:1/".to_owned()));
    env.push(("PORTAL_ADDR", "127.0.0.1:0".to_owned()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (output, _) = portal(&["serve"], &env);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("cannot reach Redis at PORTAL_REDIS_URL"), "{}", stderr(&output));
    assert!(!stdout(&output).contains("Reseller portal:"), "it never served");
}

#[test]
fn wallet_verify_in_an_empty_folder_refuses_instead_of_reporting_nothing_failed() {
    let (output, data_dir) = portal(&["wallet", "verify"], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("there are no databases to verify"), "{}", stderr(&output));
    assert!(!stdout(&output).contains("0 failed"), "{}", stdout(&output));
    assert!(!data_dir.join("pg").exists(), "no cluster was made to verify");
}

#[actix_web::test]
async fn wallet_verify_against_empty_databases_refuses_and_migrates_nothing() {
    let empty = crate::helpers::TestDatabases::empty().await;
    let env = [
        ("DATABASE_URL_MAIN", empty.urls.main.expose_secret().to_owned()),
        ("DATABASE_URL_AAS", empty.urls.aas.expose_secret().to_owned()),
        ("DATABASE_URL_ENETWORKS", empty.urls.enetworks.expose_secret().to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (output, _) = portal(&["wallet", "verify"], &env);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(stderr(&output).contains("not migrated"), "{}", stderr(&output));
    assert!(!stdout(&output).contains("wallets checked"), "{}", stdout(&output));
    let (again, _) = portal(&["wallet", "verify"], &env);
    assert!(stderr(&again).contains("not migrated"), "the first run migrated nothing: {}", stderr(&again));
}

#[actix_web::test]
async fn seed_scale_loads_its_volume_once_set_based_and_verifies() {
    let app = spawn_app().await;
    let (bad, _) = portal(&["seed", "--scale", "0"], &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--scale: a factor above 0"), "{}", stderr(&bad));
    let loaded = run(&app, &["seed", "--scale", "0.002"]);
    assert!(loaded.status.success(), "{}", stderr(&loaded));
    assert!(
        stdout(&loaded).contains("20 organisations, 40 users, 400 quotes, 2000 activity rows, 200 alerts"),
        "{}",
        stdout(&loaded)
    );
    let mut conn = app.main_conn().await;
    let scale_orgs: i64 = organisations::table
        .filter(organisations::name.like("Scale Trading %"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(scale_orgs, 20);
    let again = run(&app, &["seed", "--scale", "0.002"]);
    assert!(stdout(&again).contains("already loaded; nothing changed"), "{}", stdout(&again));
    let (ok, report) = crate::support::wallet_verify(&app);
    assert!(ok, "the scale data moves no money: {report}");
}
