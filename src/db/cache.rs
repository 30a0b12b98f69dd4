//! The in-process pricing cache (DESIGN.md §2): the network price tables are read at
//! most once a minute per process, and dropped at once when staff edit a price. The
//! wallet is never cached.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::EnetworksPool;
use super::enetworks::tables;
use crate::domain::network::PriceTables;
use crate::error::AppError;

const TTL: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct PriceCache {
    network: RwLock<Option<(Instant, Arc<PriceTables>)>>,
}

impl PriceCache {
    /// The network price tables, from the cache while it is fresh.
    pub async fn network(&self, pool: &EnetworksPool) -> Result<Arc<PriceTables>, AppError> {
        if let Some((loaded, tables)) = self.network.read().expect("cache lock").as_ref()
            && loaded.elapsed() < TTL
        {
            return Ok(tables.clone());
        }
        let mut conn = pool.get().await?;
        let fresh = Arc::new(tables::load(&mut conn).await?);
        *self.network.write().expect("cache lock") = Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    /// Forgets everything: the next read goes to the database.
    pub fn invalidate(&self) {
        *self.network.write().expect("cache lock") = None;
    }
}
