//! One organisation's queue cannot take the connections everyone else needs. Money
//! requests (accept, decline, top-up, refund, adjustment, threshold) of one organisation
//! wait for that organisation's permit before they take a pooled connection: at most
//! [`PER_ORGANISATION`] of them hold connections at once, per process. A request that
//! cannot get a permit within [`WAIT`] is answered "busy, try again" (503) without ever
//! holding a connection. The money itself is protected by the database (row locks,
//! unique keys); this only protects availability.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::ids::OrganisationId;
use crate::error::AppError;

/// Money requests of one organisation that may hold a connection at once.
pub const PER_ORGANISATION: usize = 2;
/// How long a money request waits for its organisation's turn.
pub const WAIT: Duration = Duration::from_secs(3);

#[derive(Default)]
pub struct Bulkhead {
    queues: Mutex<HashMap<OrganisationId, Arc<Semaphore>>>,
}

impl Bulkhead {
    /// Waits (at most [`WAIT`]) for a turn of `org`'s money requests.
    pub async fn enter(&self, org: OrganisationId) -> Result<OwnedSemaphorePermit, AppError> {
        let queue = self
            .queues
            .lock()
            .expect("bulkhead lock")
            .entry(org)
            .or_insert_with(|| Arc::new(Semaphore::new(PER_ORGANISATION)))
            .clone();
        match tokio::time::timeout(WAIT, queue.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(AppError::Busy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_third_request_of_one_organisation_waits_then_is_busy_while_others_pass() {
        let bulkhead = Bulkhead::default();
        let acme = OrganisationId(1);
        let _a = bulkhead.enter(acme).await.unwrap();
        let _b = bulkhead.enter(acme).await.unwrap();
        assert!(matches!(bulkhead.enter(acme).await, Err(AppError::Busy)));
        assert!(bulkhead.enter(OrganisationId(2)).await.is_ok(), "another organisation is not held up");
        drop(_a);
        assert!(bulkhead.enter(acme).await.is_ok());
    }
}
