//! `portal backup` and `portal restore`: a backup taken while a customer accepts quotes
//! and a clerk records top-ups restores into empty databases with every row its
//! manifest counted and a ledger that verifies; non-empty databases and a damaged
//! archive are refused and change nothing.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use portal::config::DatabaseUrls;
use portal::db::backup::Manifest;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use secrecy::ExposeSecret;

use crate::helpers::{CUSTOMER, STAFF, TestApp, TestDatabases, spawn_app, test_dir};
use crate::support::{ACME, UBUNTU, accept, insert_quote, org_id, submit, wallet_verify_urls};

/// Runs `portal` against `urls` without blocking the runtime (the app under test
/// serves on the same thread).
async fn portal(args: &[&str], urls: &DatabaseUrls) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_portal"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL_MAIN", urls.main.expose_secret())
        .env("DATABASE_URL_AAS", urls.aas.expose_secret())
        .env("DATABASE_URL_ENETWORKS", urls.enetworks.expose_secret())
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Backs up `urls` into a new archive in a folder of this test's own.
async fn backup(urls: &DatabaseUrls, test: &str) -> PathBuf {
    let archive = test_dir(&format!("{test}-{}", rand::random::<u32>())).join("portal.backup");
    let output = portal(&["backup", "--to", archive.to_str().unwrap()], urls).await;
    assert!(output.status.success(), "backup failed: {}", text(&output.stderr));
    archive
}

fn manifest(archive: &Path) -> Manifest {
    let mut tar = tar::Archive::new(std::fs::File::open(archive).unwrap());
    let mut entry =
        tar.entries().unwrap().map(Result::unwrap).find(|e| e.path().unwrap() == Path::new("manifest.json"));
    serde_json::from_reader(entry.as_mut().expect("the archive holds a manifest")).unwrap()
}

#[derive(diesel::QueryableByName)]
struct Table {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Rows of every table in `public` (`public.name` → rows), counted here, not by the portal.
async fn table_rows(url: &str) -> BTreeMap<String, i64> {
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let tables: Vec<Table> = diesel::sql_query(
        "SELECT table_name::text AS name FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let mut rows = BTreeMap::new();
    for table in tables {
        let sql = format!("SELECT count(*) AS count FROM public.\"{}\"", table.name);
        let count: Count = diesel::sql_query(sql).get_result(&mut conn).await.unwrap();
        rows.insert(format!("public.{}", table.name), count.count);
    }
    rows
}

/// Tables, sequences, indexes and views in `public`.
async fn relations(url: &str) -> i64 {
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let count: Count = diesel::sql_query(
        "SELECT count(*) AS count FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public'",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    count.count
}

fn url_of<'a>(urls: &'a DatabaseUrls, database: &str) -> &'a str {
    match database {
        "main" => urls.main.expose_secret(),
        "aas" => urls.aas.expose_secret(),
        "enetworks" => urls.enetworks.expose_secret(),
        other => panic!("no database {other}"),
    }
}

/// Accepts `quotes` one after the other as a customer while a clerk tops up Ubuntu
/// Freight, until `stop` is set or the quotes run out; counts each money change in `done`.
async fn payments(app: &TestApp, quotes: Vec<i64>, stop: &Cell<bool>, done: &Cell<usize>) {
    let customer = app.signed_in(CUSTOMER).await;
    let clerk = app.signed_in(STAFF).await;
    let ubuntu = org_id(app, UBUNTU).await;
    let form = format!("/admin/organisations/{ubuntu}");
    for (n, quote) in quotes.into_iter().enumerate() {
        if stop.get() {
            break;
        }
        accept(&customer, quote).await;
        let reference = format!("EFT-BACKUP-{n}");
        let credited =
            submit(&clerk, &form, &format!("{form}/credit"), &[("amount", "250.00"), ("reference", &reference)]).await;
        assert_eq!(credited.status, StatusCode::SEE_OTHER, "{}", credited.body);
        done.set(done.get() + 2);
    }
}

#[actix_web::test]
async fn a_backup_taken_under_load_restores_every_row_into_empty_databases() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let mut quotes = Vec::new();
    for _ in 0..60 {
        let (id, _) = insert_quote(&app, acme, Decimal::new(10000, 2), Decimal::ZERO, chrono::Duration::days(1)).await;
        quotes.push(id);
    }
    let (stop, done) = (Cell::new(false), Cell::new(0));
    let backup_while_paying = async {
        while done.get() < 4 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let before = done.get();
        let archive = backup(&app.db.urls, "under-load").await;
        let after = done.get();
        // A few more, so the databases move on past the backup's snapshots.
        while done.get() < after + 4 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        stop.set(true);
        (archive, after - before)
    };
    let ((archive, during), ()) =
        futures_util::future::join(backup_while_paying, payments(&app, quotes, &stop, &done)).await;
    assert!(during > 0, "payments went on while the backup ran");
    let (source_ok, report) = wallet_verify_urls(&app.db.urls);
    assert!(source_ok, "{report}");

    let target = TestDatabases::empty().await;
    let restored = portal(&["restore", "--from", archive.to_str().unwrap()], &target.urls).await;
    assert!(restored.status.success(), "{}\n{}", text(&restored.stdout), text(&restored.stderr));
    assert!(text(&restored.stdout).contains("Restored 3 databases"), "{}", text(&restored.stdout));
    let (ok, report) = wallet_verify_urls(&target.urls);
    assert!(ok, "the restored wallets verify: {report}");

    let manifest = manifest(&archive);
    assert_eq!(manifest.databases.len(), 3);
    for dump in &manifest.databases {
        let rows = table_rows(url_of(&target.urls, &dump.name)).await;
        assert_eq!(rows, dump.tables, "every table of {} has the rows the manifest counted", dump.name);
    }
    let main = manifest.databases.iter().find(|d| d.name == "main").unwrap();
    let source = table_rows(app.db.urls.main.expose_secret()).await;
    let ledger = "public.wallet_transactions";
    assert!(main.tables[ledger] < source[ledger], "the backup is a snapshot, taken before the last payments");
    // The migrations' own table came along: the restored databases need no migration.
    let migrate = portal(&["migrate"], &target.urls).await;
    assert!(migrate.status.success(), "{}", text(&migrate.stderr));
    assert_eq!(table_rows(target.urls.main.expose_secret()).await, main.tables);
}

#[actix_web::test]
async fn a_restore_into_databases_that_hold_anything_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let archive = backup(&app.db.urls, "refused").await;
    let again = portal(&["backup", "--to", archive.to_str().unwrap()], &app.db.urls).await;
    assert_eq!(again.status.code(), Some(2), "a backup never overwrites a file");
    assert!(text(&again.stderr).contains("already exists"), "{}", text(&again.stderr));

    // Into the seeded databases themselves.
    let before = table_rows(app.db.urls.main.expose_secret()).await;
    let refused = portal(&["restore", "--from", archive.to_str().unwrap()], &app.db.urls).await;
    assert_eq!(refused.status.code(), Some(2));
    for name in ["main", "aas", "enetworks"] {
        assert!(text(&refused.stderr).contains(&format!("database {name} is not empty")), "{}", text(&refused.stderr));
    }
    assert_eq!(table_rows(app.db.urls.main.expose_secret()).await, before);

    // Into empty databases but one, which holds a single table: none is restored.
    let target = TestDatabases::empty().await;
    let mut conn = AsyncPgConnection::establish(target.urls.enetworks.expose_secret()).await.unwrap();
    conn.batch_execute("CREATE TABLE leftover (id int)").await.unwrap();
    let refused = portal(&["restore", "--from", archive.to_str().unwrap()], &target.urls).await;
    assert_eq!(refused.status.code(), Some(2));
    let message = text(&refused.stderr);
    assert!(message.contains("database enetworks is not empty"), "{message}");
    assert!(!message.contains("database main") && !message.contains("database aas"), "{message}");
    assert!(message.contains("nothing was restored"), "{message}");
    assert_eq!(relations(target.urls.main.expose_secret()).await, 0);
    assert_eq!(relations(target.urls.aas.expose_secret()).await, 0);
    assert_eq!(relations(target.urls.enetworks.expose_secret()).await, 1);
}

#[actix_web::test]
async fn a_damaged_archive_is_refused_by_its_checksum_before_anything_is_restored() {
    let app = spawn_app().await;
    let archive = backup(&app.db.urls, "damaged").await;
    // Flip one byte in the middle of the main database's dump.
    let offset = {
        let mut tar = tar::Archive::new(std::fs::File::open(&archive).unwrap());
        let entry = tar.entries().unwrap().map(Result::unwrap).find(|e| e.path().unwrap() == Path::new("main.dump"));
        let entry = entry.expect("the archive holds main.dump");
        entry.raw_file_position() + entry.size() / 2
    };
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes[offset as usize] ^= 0x20;
    std::fs::write(&archive, bytes).unwrap();

    let target = TestDatabases::empty().await;
    let refused = portal(&["restore", "--from", archive.to_str().unwrap()], &target.urls).await;
    assert_eq!(refused.status.code(), Some(2));
    let message = text(&refused.stderr);
    assert!(message.contains("the dump of database main (main.dump) does not match its SHA-256 checksum"), "{message}");
    for url in [&target.urls.main, &target.urls.aas, &target.urls.enetworks] {
        assert_eq!(relations(url.expose_secret()).await, 0, "nothing was restored");
    }
}

#[actix_web::test]
async fn a_restore_into_a_new_private_cluster_creates_the_databases_without_migrating_them() {
    let app = spawn_app().await;
    let archive = backup(&app.db.urls, "private").await;
    let data_dir = test_dir(&format!("private-{}", rand::random::<u32>())).join("data");
    let private = |args: &[&str]| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_portal"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PORTAL_DATA_DIR", &data_dir)
            .env("RUST_LOG", "warn")
            .output()
    };
    // Were they migrated first, the restore would find them occupied and refuse.
    let restored = private(&["restore", "--from", archive.to_str().unwrap()]).await.unwrap();
    assert!(restored.status.success(), "{}\n{}", text(&restored.stdout), text(&restored.stderr));
    let verified = private(&["wallet", "verify"]).await.unwrap();
    assert!(verified.status.success(), "{}", text(&verified.stdout));
    assert!(text(&verified.stdout).contains("11 wallets checked, 0 failed"), "{}", text(&verified.stdout));
}
