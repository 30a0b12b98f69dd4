//! A rate limit per API key, in this process (a generic cell rate algorithm: `rate`
//! requests a second on average, bursts of up to `burst`). Several instances each allow
//! the rate: the limit protects an instance from one client, it is not a quota.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;

use super::ApiError;
use crate::domain::ids::ApiKeyId;

/// `PORTAL_API_RATE` and `PORTAL_API_BURST` by default: generous, so that no honest
/// client, nor a load test driving one key as hard as it can (hundreds of requests a
/// second), meets them; the limit is there for a client that runs away.
pub const DEFAULT_RATE: u32 = 1000;
pub const DEFAULT_BURST: u32 = 2000;

/// Past this many keys, buckets that are full again are forgotten.
const PRUNE_ABOVE: usize = 10_000;

pub struct RateLimits {
    /// Time between two requests at the average rate.
    interval: Duration,
    /// How far ahead of now a key's schedule may run: the burst.
    tolerance: Duration,
    /// When each key's next request is due on its schedule.
    due: Mutex<HashMap<ApiKeyId, Instant>>,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits::new(DEFAULT_RATE, DEFAULT_BURST)
    }
}

impl RateLimits {
    /// `rate` requests a second, bursts of `burst` (both at least 1).
    pub fn new(rate: u32, burst: u32) -> RateLimits {
        let interval = Duration::from_secs(1) / rate.max(1);
        RateLimits { interval, tolerance: interval * (burst.max(1) - 1), due: Mutex::default() }
    }

    /// Counts a request of `key`; refused (429, with the seconds to wait) over the limit.
    pub fn check(&self, key: ApiKeyId) -> Result<(), ApiError> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: ApiKeyId, now: Instant) -> Result<(), ApiError> {
        let mut due = self.due.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if due.len() > PRUNE_ABOVE {
            due.retain(|_, at| *at > now);
        }
        let next = due.get(&key).copied().unwrap_or(now).max(now);
        if next > now + self.tolerance {
            let wait = next - (now + self.tolerance);
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("Too many requests with this key: wait {seconds} s (see `Retry-After`), then try again."),
            );
            error.retry_after = Some(seconds.max(1));
            return Err(error);
        }
        due.insert(key, next + self.interval);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let limits = RateLimits::new(2, 3);
        let key = ApiKeyId(1);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limits.check_at(key, start).is_ok());
        }
        let refused = limits.check_at(key, start).unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.retry_after, Some(1));
        assert!(limits.check_at(ApiKeyId(2), start).is_ok(), "another key has its own bucket");
        assert!(limits.check_at(key, start + Duration::from_millis(500)).is_ok(), "one more every half second");
        assert!(limits.check_at(key, start + Duration::from_millis(500)).is_err());
    }
}
