//! The in-process pricing cache (DESIGN.md §2): the AAS catalog and the network price
//! tables are read at most once a minute per process, and dropped at once when staff
//! edit a price on this instance (other instances see the edit within the minute). The
//! wallet is never cached, and a quote is always priced from the database.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::aas::catalog::{self, Catalog};
use super::enetworks::tables;
use super::{AasPool, EnetworksPool};
use crate::domain::network::PriceTables;
use crate::error::AppError;

const TTL: Duration = Duration::from_secs(60);

/// One cached value and when it was read.
struct Slot<T>(RwLock<Option<(Instant, Arc<T>)>>);

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot(RwLock::new(None))
    }
}

impl<T> Slot<T> {
    fn fresh(&self) -> Option<Arc<T>> {
        match self.0.read().expect("cache lock").as_ref() {
            Some((loaded, value)) if loaded.elapsed() < TTL => Some(value.clone()),
            _ => None,
        }
    }

    fn keep(&self, value: T) -> Arc<T> {
        let value = Arc::new(value);
        *self.0.write().expect("cache lock") = Some((Instant::now(), value.clone()));
        value
    }

    fn clear(&self) {
        *self.0.write().expect("cache lock") = None;
    }
}

#[derive(Default)]
pub struct PriceCache {
    catalog: Slot<Catalog>,
    network: Slot<PriceTables>,
}

impl PriceCache {
    /// The AAS categories and products, from the cache while it is fresh.
    pub async fn catalog(&self, pool: &AasPool) -> Result<Arc<Catalog>, AppError> {
        if let Some(catalog) = self.catalog.fresh() {
            return Ok(catalog);
        }
        let mut conn = pool.get().await?;
        Ok(self.catalog.keep(catalog::load(&mut conn).await?))
    }

    /// The network price tables, from the cache while it is fresh.
    pub async fn network(&self, pool: &EnetworksPool) -> Result<Arc<PriceTables>, AppError> {
        if let Some(tables) = self.network.fresh() {
            return Ok(tables);
        }
        let mut conn = pool.get().await?;
        Ok(self.network.keep(tables::load(&mut conn).await?))
    }

    /// Forgets everything: the next read goes to the database.
    pub fn invalidate(&self) {
        self.catalog.clear();
        self.network.clear();
    }
}
