//! The in-process price cache (DESIGN.md §2), for pages only: the AAS catalog and the
//! network price tables as the catalog pages and the network comparison show them, kept
//! for at most a minute from when they were read. A price edit on this instance empties
//! it at once, and a read that began before the edit is not kept; an edit on another
//! instance shows here within the minute.
//!
//! Quotes are never priced from it: a service or VM quote reads its products and
//! templates with its own queries, and a network quote reads the tables afresh through
//! [`PriceCache::network_for_quote`], so a quote is never issued at a price an admin has
//! changed, on whichever instance. The wallet is never cached.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use diesel::QueryResult;
use diesel_async::pooled_connection::deadpool::PoolError;

use super::aas::catalog::{self, Catalog};
use super::enetworks::tables;
use super::{AasPool, EnetworksPool};
use crate::domain::network::PriceTables;

const TTL: Duration = Duration::from_secs(60);

/// What a read through the cache gives, failing as the database layers do: the outer
/// error is the pool's (no connection in time), the inner the query's. A handler's `?`
/// on each (`.await??`) maps it the way `error.rs` says.
pub type Read<T> = Result<QueryResult<Arc<T>>, PoolError>;

/// One cached value and when its read began.
struct Slot<T> {
    value: RwLock<Option<(Instant, Arc<T>)>>,
    /// Counts the times the slot was emptied, so a read that was under way meanwhile
    /// can tell that what it read may be out of date.
    generation: AtomicU64,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot { value: RwLock::new(None), generation: AtomicU64::new(0) }
    }
}

/// When a read of the database began, as a slot knows it.
#[derive(Clone, Copy)]
struct ReadStart {
    at: Instant,
    generation: u64,
}

impl<T> Slot<T> {
    fn fresh(&self) -> Option<Arc<T>> {
        match self.value.read().expect("cache lock").as_ref() {
            Some((read_at, value)) if read_at.elapsed() < TTL => Some(value.clone()),
            _ => None,
        }
    }

    /// To be called before reading the database for [`Slot::keep`].
    fn start_read(&self) -> ReadStart {
        ReadStart { at: Instant::now(), generation: self.generation.load(Ordering::SeqCst) }
    }

    /// Keeps what a read that began at `start` found, unless the slot was emptied since:
    /// then the read may predate a price edit, and the next page reads again.
    fn keep(&self, start: ReadStart, value: T) -> Arc<T> {
        let value = Arc::new(value);
        let mut slot = self.value.write().expect("cache lock");
        if self.generation.load(Ordering::SeqCst) == start.generation {
            *slot = Some((start.at, value.clone()));
        }
        value
    }

    fn clear(&self) {
        let mut slot = self.value.write().expect("cache lock");
        self.generation.fetch_add(1, Ordering::SeqCst);
        *slot = None;
    }
}

#[derive(Default)]
pub struct PriceCache {
    catalog: Slot<Catalog>,
    network: Slot<PriceTables>,
}

impl PriceCache {
    /// The AAS categories and products for a catalog page, from the cache while it is
    /// fresh.
    pub async fn catalog(&self, pool: &AasPool) -> Read<Catalog> {
        if let Some(catalog) = self.catalog.fresh() {
            return Ok(Ok(catalog));
        }
        let start = self.catalog.start_read();
        let mut conn = pool.get().await?;
        Ok(catalog::load(&mut conn).await.map(|catalog| self.catalog.keep(start, catalog)))
    }

    /// The network price tables for a page, from the cache while it is fresh.
    pub async fn network(&self, pool: &EnetworksPool) -> Read<PriceTables> {
        if let Some(tables) = self.network.fresh() {
            return Ok(Ok(tables));
        }
        self.read_network(pool).await
    }

    /// The network price tables to price a quote from: read from the database whatever
    /// the cache holds (another instance may have changed a price within the minute).
    /// The cache keeps what was read, for the pages that follow.
    pub async fn network_for_quote(&self, pool: &EnetworksPool) -> Read<PriceTables> {
        self.read_network(pool).await
    }

    async fn read_network(&self, pool: &EnetworksPool) -> Read<PriceTables> {
        let start = self.network.start_read();
        let mut conn = pool.get().await?;
        Ok(tables::load(&mut conn).await.map(|tables| self.network.keep(start, tables)))
    }

    /// Forgets everything: the next read goes to the database.
    pub fn invalidate(&self) {
        self.catalog.clear();
        self.network.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_value_is_served_until_the_slot_is_emptied() {
        let slot = Slot::<&str>::default();
        assert!(slot.fresh().is_none());
        let start = slot.start_read();
        assert_eq!(*slot.keep(start, "R 80.60"), "R 80.60");
        assert_eq!(slot.fresh().as_deref(), Some(&"R 80.60"));
        slot.clear();
        assert!(slot.fresh().is_none());
    }

    #[test]
    fn a_read_that_began_before_an_edit_is_used_once_but_not_kept() {
        let slot = Slot::<&str>::default();
        let before_the_edit = slot.start_read();
        slot.clear(); // a price edit on this instance
        assert_eq!(*slot.keep(before_the_edit, "old price"), "old price", "the page that read it shows it");
        assert!(slot.fresh().is_none(), "the next page reads again");
        let after = slot.start_read();
        slot.keep(after, "new price");
        assert_eq!(slot.fresh().as_deref(), Some(&"new price"));
    }

    #[test]
    fn a_value_expires_a_minute_after_its_read_began() {
        let slot = Slot::<&str>::default();
        let Some(long_ago) = Instant::now().checked_sub(TTL) else { return };
        slot.keep(ReadStart { at: long_ago, generation: 0 }, "stale");
        assert!(slot.fresh().is_none());
    }
}
