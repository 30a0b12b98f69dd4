//! The registry of databases: the main database and one per catalog. Everything that
//! treats the databases alike — the URL settings, the private cluster's databases, the
//! migrations, the demo data, readiness, the pool gauges — is built from [`DATABASES`],
//! so adding a catalog database is one entry here (and its own modules, see
//! ARCHITECTURE.md), not an edit in each of those places.
//!
//! What differs per database stays typed: each has its own pool newtype (`MainPool`,
//! `AasPool`, …) and its own `db/<name>/` module, so a catalog query can never run on
//! the wrong pool.

use diesel_migrations::EmbeddedMigrations;
use secrecy::SecretString;

use super::{PooledConn, Pools, migrate};
use crate::config::DatabaseUrls;
use crate::domain::states::QuoteKind;

/// One database the portal reaches.
pub struct Database {
    /// Short name, in logs, `/readyz` and `/metrics`.
    pub name: &'static str,
    /// The setting holding its URL.
    pub url_setting: &'static str,
    /// Its name in the private development cluster.
    pub cluster_name: &'static str,
    pub migrations: fn() -> EmbeddedMigrations,
    /// Whether its demo data holds the demo users (whose password is hashed at seeding).
    pub holds_users: bool,
    /// The demo data, and a query that finds it already loaded.
    pub seed_sql: &'static str,
    pub seeded_when: &'static str,
    /// The quote kinds priced from this database (none for the main database).
    pub quote_kinds: &'static [QuoteKind],
    url: fn(&DatabaseUrls) -> &SecretString,
    status: fn(&Pools) -> deadpool::Status,
    checkout: for<'a> fn(&'a Pools) -> futures_util::future::BoxFuture<'a, Result<PooledConn, String>>,
}

impl Database {
    /// Its URL among the configured ones.
    pub fn url<'a>(&self, urls: &'a DatabaseUrls) -> &'a SecretString {
        (self.url)(urls)
    }

    /// Size, idle connections and waiting requests of its pool.
    pub fn pool_status(&self, pools: &Pools) -> deadpool::Status {
        (self.status)(pools)
    }

    /// A connection from its pool (for checks that treat every database alike).
    pub async fn connection(&self, pools: &Pools) -> Result<PooledConn, String> {
        (self.checkout)(pools).await
    }
}

/// Every database, the main one first.
pub const DATABASES: [Database; 3] = [
    Database {
        name: "main",
        url_setting: "DATABASE_URL_MAIN",
        cluster_name: "portal_main",
        migrations: || migrate::MAIN,
        seed_sql: include_str!("seed/main.sql"),
        seeded_when: "SELECT 1 FROM organisations",
        holds_users: true,
        quote_kinds: &[],
        url: |urls| &urls.main,
        status: |pools| pools.main.status(),
        checkout: |pools| Box::pin(async { pools.main.get().await.map_err(|e| e.to_string()) }),
    },
    Database {
        name: "aas",
        url_setting: "DATABASE_URL_AAS",
        cluster_name: "portal_aas",
        migrations: || migrate::AAS,
        seed_sql: include_str!("seed/aas.sql"),
        seeded_when: "SELECT 1 FROM categories",
        holds_users: false,
        quote_kinds: &[QuoteKind::Service, QuoteKind::Vm],
        url: |urls| &urls.aas,
        status: |pools| pools.aas.status(),
        checkout: |pools| Box::pin(async { pools.aas.get().await.map_err(|e| e.to_string()) }),
    },
    Database {
        name: "enetworks",
        url_setting: "DATABASE_URL_ENETWORKS",
        cluster_name: "portal_enetworks",
        migrations: || migrate::ENETWORKS,
        seed_sql: include_str!("seed/enetworks.sql"),
        seeded_when: "SELECT 1 FROM dfa_magellan",
        holds_users: false,
        quote_kinds: &[QuoteKind::Network],
        url: |urls| &urls.enetworks,
        status: |pools| pools.enetworks.status(),
        checkout: |pools| Box::pin(async { pools.enetworks.get().await.map_err(|e| e.to_string()) }),
    },
];

/// The database a quote kind's catalog lives in.
pub fn catalog_of(kind: QuoteKind) -> &'static Database {
    DATABASES.iter().find(|db| db.quote_kinds.contains(&kind)).expect("every quote kind has a catalog database")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_quote_kind_has_one_catalog_database() {
        for kind in QuoteKind::ALL {
            let holders = DATABASES.iter().filter(|db| db.quote_kinds.contains(kind)).count();
            assert_eq!(holders, 1, "{kind}");
        }
        assert_eq!(catalog_of(QuoteKind::Network).name, "enetworks");
    }

    #[test]
    fn names_are_distinct() {
        let mut names: Vec<_> = DATABASES.iter().flat_map(|db| [db.name, db.url_setting, db.cluster_name]).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), DATABASES.len() * 3);
    }
}
