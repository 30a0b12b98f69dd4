//! What handlers reach through `web::Data<AppState>`: each worker's pools and the parts
//! every worker shares. Its own module so that `startup` (which builds the app) and
//! `routes` (which read the state) do not depend on each other.

use std::sync::Arc;

use rust_decimal::Decimal;
use secrecy::SecretString;
use tokio::sync::OwnedSemaphorePermit;

use crate::auth::password::Hasher;
use crate::bulkhead::Bulkhead;
use crate::copies::Copies;
use crate::db::cache::PriceCache;
use crate::db::{PooledConn, Pools};
use crate::domain::ids::OrganisationId;
use crate::domain::permissions::AccessCache;
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::routes::api::rate_limit::RateLimits;

/// What every worker shares: the settings handlers need, the pricing cache, the role ×
/// permission matrix, the metrics and the bulkhead (so its limit is per process).
#[derive(Clone)]
pub struct Shared {
    pub vat_rate: Decimal,
    /// Browsers are told to use HTTPS only (`PORTAL_PUBLIC_URL` is `https://…`).
    pub hsts: bool,
    /// The password hashing threads and their bounded queue.
    pub hasher: Arc<Hasher>,
    /// `host:port` of the Redis that holds sessions, for `/readyz`.
    pub redis_addr: Option<String>,
    pub prices: Arc<PriceCache>,
    pub access: Arc<AccessCache>,
    pub metrics: Arc<Metrics>,
    pub bulkhead: Arc<Bulkhead>,
    /// `PORTAL_GRACE_DAYS`, for the billing run staff start.
    pub grace_days: u32,
    /// Each API key's requests (`PORTAL_API_RATE`, `PORTAL_API_BURST`).
    pub api_limits: Arc<RateLimits>,
}

impl Shared {
    pub fn new(vat_rate: Decimal) -> Shared {
        Shared {
            vat_rate,
            hsts: false,
            hasher: Hasher::shared(),
            redis_addr: None,
            prices: Arc::default(),
            access: Arc::default(),
            metrics: Arc::default(),
            bulkhead: Arc::default(),
            grace_days: crate::config::DEFAULT_GRACE_DAYS,
            api_limits: Arc::default(),
        }
    }

    /// Unpaid months suspend their services after `days` (`PORTAL_GRACE_DAYS`).
    pub fn with_grace_days(self, days: u32) -> Shared {
        Shared { grace_days: days, ..self }
    }

    /// Each API key may send `rate` requests a second, in bursts of up to `burst`.
    pub fn with_api_rate(self, rate: u32, burst: u32) -> Shared {
        Shared { api_limits: Arc::new(RateLimits::new(rate, burst)), ..self }
    }

    /// HSTS only when people reach the portal over HTTPS: sent over plain HTTP it would
    /// lock browsers out of a portal that has no certificate.
    pub fn with_public_url(self, public_url: Option<&str>) -> Shared {
        Shared { hsts: public_url.is_some_and(|url| url.starts_with("https://")), ..self }
    }

    /// `/readyz` also checks the Redis at `redis_url` (`PORTAL_REDIS_URL`).
    pub fn with_redis(self, redis_url: Option<&str>) -> Shared {
        let addr = redis_url.and_then(|url| url::Url::parse(url).ok()).and_then(|url| {
            let host = url.host_str()?.to_owned();
            Some(format!("{host}:{}", url.port().unwrap_or(6379)))
        });
        Shared { redis_addr: addr, ..self }
    }

    /// Requires `token` (`PORTAL_METRICS_TOKEN`) to read `/metrics`.
    pub fn with_metrics_token(mut self, token: Option<SecretString>) -> Shared {
        self.metrics = Arc::new(Metrics::new(token));
        self
    }
}

/// One worker's state: its own pools, and the parts every worker shares (reached
/// through `Deref`, so `state.vat_rate` reads the shared setting).
pub struct AppState {
    pub pools: Pools,
    pub shared: Shared,
    /// The signed-in users and API keys this worker has checked (see `copies`),
    /// used while the worker's [`crate::copies::listen`] runs.
    pub copies: Arc<Copies>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.shared
    }
}

impl AppState {
    pub fn new(pools: Pools, shared: &Shared) -> AppState {
        AppState { pools, shared: shared.clone(), copies: Arc::default() }
    }

    /// A main-database connection for a money request of `org`: its organisation's turn
    /// first (see `bulkhead`), then the connection. Hold the permit as long as the
    /// connection.
    pub async fn money_connection(&self, org: OrganisationId) -> Result<(OwnedSemaphorePermit, PooledConn), AppError> {
        let permit = self.bulkhead.enter(org).await?;
        Ok((permit, self.pools.main.get().await?))
    }
}
