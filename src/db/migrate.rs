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
