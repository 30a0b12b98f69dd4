//! Embedded migrations, one set per database, run at start-up under a PostgreSQL
//! advisory lock so that several instances starting together never race.
//!
//! diesel_migrations is synchronous: it runs on an `AsyncConnectionWrapper` inside
//! `spawn_blocking` (the async harness panics on actix's single-threaded runtime).

use diesel::{Connection, RunQueryDsl};
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use secrecy::ExposeSecret;

use super::registry::DATABASES;
use crate::config::DatabaseUrls;

pub const MAIN: EmbeddedMigrations = embed_migrations!("migrations/main");
pub const AAS: EmbeddedMigrations = embed_migrations!("migrations/aas");
pub const ENETWORKS: EmbeddedMigrations = embed_migrations!("migrations/enetworks");

/// Arbitrary, fixed: the key every portal instance locks while it migrates.
const MIGRATION_LOCK_KEY: i64 = 0x706f_7274_616c;

/// Applies the pending migrations of one database; returns how many ran.
pub async fn run(url: &str, migrations: EmbeddedMigrations) -> anyhow::Result<usize> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)?;
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")).execute(&mut conn)?;
        let applied = conn.run_pending_migrations(migrations).map(|v| v.len());
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")).execute(&mut conn)?;
        applied.map_err(|e| anyhow::anyhow!("migration failed: {e}"))
    })
    .await?
}

/// Why the main database cannot be read as this build knows it: a migration is running
/// now, or some are pending. For commands that must change nothing (a dry run).
pub async fn main_not_current(url: &str) -> anyhow::Result<Option<String>> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Option<String>> {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)?;
        #[derive(diesel::QueryableByName)]
        struct Locked {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            free: bool,
        }
        let lock = format!("SELECT pg_try_advisory_lock_shared({MIGRATION_LOCK_KEY}) AS free");
        if !diesel::sql_query(lock).get_result::<Locked>(&mut conn)?.free {
            return Ok(Some("the main database is being migrated right now; try again when that has finished".into()));
        }
        let pending = conn.pending_migrations(MAIN).map_err(|e| anyhow::anyhow!("reading the migrations: {e}"))?;
        diesel::sql_query(format!("SELECT pg_advisory_unlock_shared({MIGRATION_LOCK_KEY})")).execute(&mut conn)?;
        Ok((!pending.is_empty()).then(|| {
            let names: Vec<String> = pending.iter().map(|m| m.name().to_string()).collect();
            format!("the main database is not migrated (pending: {}); run `portal migrate` first", names.join(", "))
        }))
    })
    .await?
}

/// Migrates every database of the registry.
pub async fn run_all(urls: &DatabaseUrls) -> anyhow::Result<()> {
    for db in &DATABASES {
        let name = db.name;
        let applied = run(db.url(urls).expose_secret(), (db.migrations)())
            .await
            .map_err(|e| e.context(format!("migrating the {name} database")))?;
        if applied > 0 {
            tracing::info!(database = name, applied, "migrations applied");
        }
    }
    Ok(())
}
