//! Each worker's copies of the signed-in users and API keys it has checked, so that a
//! page or an API answer costs no query for its session check, and of the wallet
//! figures `GET /api/v1/wallet` answers (the API's most polled read).
//!
//! A copy is only as good as what the database says now, on every instance, so three
//! things keep it honest:
//!
//! - **Notifications.** Triggers on the rows a check reads and on wallets and services
//!   (migration `2026-12-25-000001_access_notifications`) send `access_changed` with
//!   what changed;
//!   [`listen`] holds a connection listening on it and drops the copies named. Each
//!   worker has its own, driven by its own thread like its pools, so a fence wakes no
//!   other thread.
//! - **A fence before every use.** A request may use a copy only after a round trip on
//!   the listening connection that started after the request arrived. PostgreSQL sends
//!   a listener every notification committed before a command ahead of that command's
//!   answer, so once the round trip is back, every change committed before the request
//!   (here or on any other instance) has dropped its copies. One round trip serves every
//!   request waiting at the time, and it is an empty query: no transaction's snapshot,
//!   no relation, no plan.
//! - **Generations.** A copy loaded from the database is kept only if no notification
//!   arrived while it was being loaded (it may predate the change).
//!
//! While the listening connection is down or being made again, nothing is used or kept:
//! every request checks against the database, as if there were no cache, and the copies
//! are dropped when it comes back. A round trip that takes longer than [`FENCE_TIMEOUT`]
//! counts as the connection lost.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::{FutureExt, StreamExt};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Notify, watch};

use crate::db::main::api_keys::Candidate;
use crate::db::main::users::SessionUser;
use crate::domain::ids::{OrganisationId, UserId};

/// What the API's wallet answer shows: balance, threshold, and what billed services
/// commit to each month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalletFigures {
    pub balance: rust_decimal::Decimal,
    pub low_balance_threshold: rust_decimal::Decimal,
    pub committed_monthly: rust_decimal::Decimal,
}

/// A request whose fence has passed: every change committed before it arrived has
/// reached the copies, for the rest of the request (put into the request by the API's
/// key check, so its handler need not fence again).
#[derive(Debug, Clone, Copy)]
pub struct Fenced;

/// The channel the triggers notify.
pub const CHANNEL: &str = "access_changed";
/// The listening connection's `application_name`, to find it in `pg_stat_activity`.
pub const LISTENER_NAME: &str = "portal access listener";
/// How long a fence's round trip may take before the connection counts as lost (and
/// the request checks against the database instead).
pub const FENCE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long making the listening connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long after losing the connection the listener tries again.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// With no request to fence, the connection is still tried this often, so that a
/// silently dead one is noticed (and the copies dropped) before the next request.
const IDLE_CHECK: Duration = Duration::from_secs(10);
/// At most this many copies of each kind; past it they are all dropped.
const CAPACITY: usize = 10_000;

/// The copies, and whether they may be used.
#[derive(Default)]
pub struct Copies {
    state: Mutex<State>,
    /// Rounds of the listening connection, for the fences.
    rounds: watch::Sender<Round>,
    /// A request waits for a fence.
    wanted: Notify,
}

#[derive(Default)]
struct State {
    /// The listening connection is up and listening.
    live: bool,
    /// Counts connections made, so a fence begun on one is never completed by another.
    epoch: u64,
    /// Fences begun on this connection.
    started: u64,
    /// Bumped by every notification: a copy loaded across one is not kept.
    generation: u64,
    users: HashMap<UserId, SessionUser>,
    keys: HashMap<String, Vec<Candidate>>,
    wallets: HashMap<OrganisationId, WalletFigures>,
}

/// The last fence finished, on which connection.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Round {
    epoch: u64,
    completed: u64,
}

/// Taken before loading a copy from the database: keeping it succeeds only if nothing
/// changed meanwhile.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(Option<u64>);

impl Copies {
    /// Waits until every change committed before now has reached this process. False
    /// when copies may not be used: no listening connection, or it did not answer in time.
    pub async fn fence(&self) -> bool {
        let (epoch, target) = {
            let state = self.lock();
            if !state.live {
                return false;
            }
            // A fence already under way may have started before this request: wait for
            // the next one.
            (state.epoch, state.started + 1)
        };
        let mut rounds = self.rounds.subscribe();
        self.wanted.notify_one();
        let done = tokio::time::timeout(
            FENCE_TIMEOUT,
            rounds.wait_for(|round| round.epoch != epoch || round.completed >= target),
        )
        .await;
        matches!(done, Ok(Ok(round)) if round.epoch == epoch)
    }

    /// A ticket for loading a copy now.
    pub fn ticket(&self) -> Ticket {
        let state = self.lock();
        Ticket(state.live.then_some(state.generation))
    }

    /// The user's copy, once a fence has passed; and whether one did.
    pub async fn user(&self, id: UserId) -> (Option<SessionUser>, bool) {
        self.fenced(false, |state| state.users.get(&id)).await
    }

    /// Keeps a user's copy loaded under `ticket`.
    pub fn keep_user(&self, ticket: Ticket, user: &SessionUser) {
        self.keep(ticket, |state| keep_in(&mut state.users, user.id, user.clone()));
    }

    /// The copy of the unrevoked keys with this prefix, once a fence has passed; and
    /// whether one did.
    pub async fn keys(&self, prefix: &str) -> (Option<Vec<Candidate>>, bool) {
        self.fenced(false, |state| state.keys.get(prefix)).await
    }

    /// Keeps the keys with a prefix, loaded under `ticket` (none: a key made next
    /// would otherwise be refused until a notification).
    pub fn keep_keys(&self, ticket: Ticket, prefix: &str, keys: &[Candidate]) {
        if !keys.is_empty() {
            self.keep(ticket, |state| keep_in(&mut state.keys, prefix.to_owned(), keys.to_vec()));
        }
    }

    /// The organisation's wallet figures, once a fence has passed (`fenced`: the
    /// request's own already did).
    pub async fn wallet(&self, org: OrganisationId, fenced: bool) -> Option<WalletFigures> {
        self.fenced(fenced, |state| state.wallets.get(&org)).await.0
    }

    /// Keeps an organisation's wallet figures, loaded under `ticket`.
    pub fn keep_wallet(&self, ticket: Ticket, org: OrganisationId, figures: WalletFigures) {
        self.keep(ticket, |state| keep_in(&mut state.wallets, org, figures));
    }

    /// The copy `find` picks, if there is one, after a fence (none when `fenced` says
    /// the request already passed one); and whether a fence has passed. Nothing is
    /// fenced for when there is no copy.
    async fn fenced<T: Clone>(&self, fenced: bool, find: impl Fn(&State) -> Option<&T>) -> (Option<T>, bool) {
        let held = {
            let state = self.lock();
            state.live && find(&state).is_some()
        };
        if !held {
            return (None, fenced);
        }
        let fenced = fenced || self.fence().await;
        if !fenced {
            return (None, false);
        }
        let state = self.lock();
        (find(&state).filter(|_| state.live).cloned(), true)
    }

    /// Runs `put` if nothing changed since `ticket` was taken.
    fn keep(&self, ticket: Ticket, put: impl FnOnce(&mut State)) {
        let mut state = self.lock();
        if state.current(ticket) {
            put(&mut state);
        }
    }

    /// Drops the copy of the keys with a prefix (their last use was just written).
    pub fn forget_keys(&self, prefix: &str) {
        self.lock().keys.remove(prefix);
    }

    /// A notification's payload: drops what it names (everything if it names nothing
    /// this process knows how to read). `u<user>` and `o<organisation>`: what the
    /// session and key checks read; `b<user>` and `a<organisation>`: the bell's unread
    /// counters, which only sessions show; `w<organisation>`: the wallet answer;
    /// `p<prefix>`: the keys with that prefix.
    pub fn changed(&self, payload: &str) {
        let mut state = self.lock();
        state.generation += 1;
        let (kind, rest) = payload.split_at(payload.len().min(1));
        let id = rest.parse::<i64>().ok();
        match (kind, id) {
            ("u", Some(id)) => {
                let user = UserId(id);
                state.users.remove(&user);
                state.keys.retain(|_, keys| keys.iter().all(|k| k.user.id != user));
            }
            ("b", Some(id)) => {
                state.users.remove(&UserId(id));
            }
            ("a", Some(id)) => {
                let org = OrganisationId(id);
                state.users.retain(|_, u| u.organisation_id != org);
            }
            ("w", Some(id)) => {
                state.wallets.remove(&OrganisationId(id));
            }
            ("o", Some(id)) => {
                let org = OrganisationId(id);
                state.wallets.remove(&org);
                state.users.retain(|_, u| u.organisation_id != org);
                state.keys.retain(|_, keys| keys.iter().all(|k| k.user.organisation_id != org));
            }
            ("p", _) => {
                state.keys.remove(rest);
            }
            _ => state.drop_all(),
        }
    }

    /// The listening connection is up: start afresh on it.
    fn connected(&self) {
        let mut state = self.lock();
        state.reset();
        state.live = true;
        self.rounds.send_replace(Round { epoch: state.epoch, completed: 0 });
    }

    /// The listening connection is gone: use nothing, and fail the fences waiting.
    fn disconnected(&self) {
        let mut state = self.lock();
        state.reset();
        self.rounds.send_replace(Round { epoch: state.epoch, completed: 0 });
    }

    /// Begins a fence; its number.
    fn begin_round(&self) -> u64 {
        let mut state = self.lock();
        state.started += 1;
        state.started
    }

    fn complete_round(&self, number: u64) {
        let epoch = self.lock().epoch;
        self.rounds.send_replace(Round { epoch, completed: number });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl State {
    fn reset(&mut self) {
        self.live = false;
        self.epoch += 1;
        self.started = 0;
        self.generation += 1;
        self.drop_all();
    }

    fn drop_all(&mut self) {
        self.users.clear();
        self.keys.clear();
        self.wallets.clear();
    }

    fn current(&self, ticket: Ticket) -> bool {
        self.live && ticket.0 == Some(self.generation)
    }
}

/// Puts a copy into `map`, dropping all of them first if it is full.
fn keep_in<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, value: V) {
    if map.len() >= CAPACITY {
        map.clear();
    }
    map.insert(key, value);
}

/// Keeps a connection listening for [`CHANNEL`] and runs the fences on it, for as long
/// as the worker runs; makes it again a second after it is lost.
pub async fn listen(cache: std::sync::Arc<Copies>, url: SecretString) {
    loop {
        let lost = listen_once(&cache, &url).await;
        cache.disconnected();
        tracing::warn!(error = %lost, "the access listener lost its connection; checking every request against the database");
        tokio::time::sleep(RETRY_AFTER).await;
    }
}

/// What happened to the listening connection.
#[derive(Debug, thiserror::Error)]
enum Lost {
    #[error("{0}")]
    Connection(#[from] diesel::ConnectionError),
    #[error("{0}")]
    Query(#[from] diesel::result::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the connection closed")]
    Closed,
}

async fn bounded<T, E: Into<Lost>>(limit: Duration, work: impl Future<Output = Result<T, E>>) -> Result<T, Lost> {
    tokio::time::timeout(limit, work).await.map_err(|_| Lost::Timeout(limit))?.map_err(Into::into)
}

enum Event {
    Notification(Option<diesel::QueryResult<diesel::pg::PgNotification>>),
    Fence,
}

async fn listen_once(cache: &Copies, url: &SecretString) -> Lost {
    let run = async {
        let mut conn = bounded(CONNECT_TIMEOUT, AsyncPgConnection::establish(url.expose_secret())).await?;
        let listen = format!("SET application_name = '{LISTENER_NAME}'; LISTEN {CHANNEL}");
        bounded(FENCE_TIMEOUT, conn.batch_execute(&listen)).await?;
        cache.connected();
        loop {
            let event = {
                let mut notifications = std::pin::pin!(conn.notifications_stream());
                tokio::select! {
                    next = notifications.next() => Event::Notification(next),
                    () = cache.wanted.notified() => Event::Fence,
                    () = tokio::time::sleep(IDLE_CHECK) => Event::Fence,
                }
            };
            match event {
                Event::Notification(Some(Ok(note))) => cache.changed(&note.payload),
                Event::Notification(Some(Err(e))) => return Err(e.into()),
                Event::Notification(None) => return Err(Lost::Closed),
                Event::Fence => {
                    let number = cache.begin_round();
                    bounded(FENCE_TIMEOUT, conn.batch_execute("")).await?;
                    // The notifications sent before the answer are queued by now.
                    let mut notifications = std::pin::pin!(conn.notifications_stream());
                    while let Some(Some(next)) = notifications.next().now_or_never() {
                        cache.changed(&next?.payload);
                    }
                    cache.complete_round(number);
                }
            }
        }
    };
    match run.await {
        Ok(never) => never,
        Err(lost) => lost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::states::OrganisationStatus;

    fn user(id: i64, org: i64) -> SessionUser {
        SessionUser {
            id: UserId(id),
            organisation_id: OrganisationId(org),
            email: format!("u{id}@example.test"),
            name: format!("User {id}"),
            is_active: true,
            session_version: 0,
            must_change_password: false,
            org_name: format!("Org {org}"),
            org_status: OrganisationStatus::Active,
            org_is_operator: false,
            role_ids: vec![],
            access_version: 1,
            unread_alerts: 0,
            second_factor: false,
        }
    }

    // The copies as they are now, without a fence (no listener runs here).
    fn user_copy(cache: &Copies, id: UserId) -> Option<SessionUser> {
        let state = cache.lock();
        state.users.get(&id).filter(|_| state.live).cloned()
    }

    fn keys_copy(cache: &Copies, prefix: &str) -> Option<Vec<Candidate>> {
        let state = cache.lock();
        state.keys.get(prefix).filter(|_| state.live).cloned()
    }

    fn wallet_copy(cache: &Copies, org: OrganisationId) -> Option<WalletFigures> {
        let state = cache.lock();
        state.wallets.get(&org).filter(|_| state.live).copied()
    }

    fn live() -> Copies {
        let cache = Copies::default();
        cache.connected();
        cache
    }

    #[test]
    fn nothing_is_kept_or_used_without_a_listening_connection() {
        let cache = Copies::default();
        cache.keep_user(cache.ticket(), &user(1, 1));
        assert!(user_copy(&cache, UserId(1)).is_none());
        let cache = live();
        cache.keep_user(cache.ticket(), &user(1, 1));
        assert!(user_copy(&cache, UserId(1)).is_some());
        cache.disconnected();
        assert!(user_copy(&cache, UserId(1)).is_none(), "copies are dropped with the connection");
    }

    #[test]
    fn a_copy_loaded_across_a_notification_is_not_kept() {
        let cache = live();
        let ticket = cache.ticket();
        cache.changed("u2");
        cache.keep_user(ticket, &user(1, 1));
        assert!(user_copy(&cache, UserId(1)).is_none());
        cache.keep_user(cache.ticket(), &user(1, 1));
        assert!(user_copy(&cache, UserId(1)).is_some());
    }

    #[test]
    fn notifications_drop_the_user_the_organisation_the_wallet_or_everyone() {
        let cache = live();
        for (id, org) in [(1, 10), (2, 10), (3, 20)] {
            cache.keep_user(cache.ticket(), &user(id, org));
        }
        cache.changed("u1");
        assert!(user_copy(&cache, UserId(1)).is_none());
        assert!(user_copy(&cache, UserId(2)).is_some());
        cache.changed("o10");
        assert!(user_copy(&cache, UserId(2)).is_none());
        assert!(user_copy(&cache, UserId(3)).is_some());
        // The bell's counters drop sessions, never keys.
        cache.keep_user(cache.ticket(), &user(4, 40));
        cache.keep_user(cache.ticket(), &user(5, 50));
        let key = Candidate {
            id: crate::domain::ids::ApiKeyId(9),
            secret_hash: vec![],
            last_used_at: None,
            user: user(4, 40),
        };
        cache.keep_keys(cache.ticket(), "pk_live_abc", std::slice::from_ref(&key));
        cache.changed("a40");
        cache.changed("b5");
        assert!(user_copy(&cache, UserId(4)).is_none() && user_copy(&cache, UserId(5)).is_none());
        assert!(keys_copy(&cache, "pk_live_abc").is_some());
        cache.changed("ppk_live_abc");
        assert!(keys_copy(&cache, "pk_live_abc").is_none());
        let figures = WalletFigures { balance: 5.into(), low_balance_threshold: 1.into(), committed_monthly: 2.into() };
        cache.keep_wallet(cache.ticket(), OrganisationId(20), figures);
        cache.keep_wallet(cache.ticket(), OrganisationId(30), figures);
        cache.changed("w20");
        assert!(wallet_copy(&cache, OrganisationId(20)).is_none());
        assert_eq!(wallet_copy(&cache, OrganisationId(30)), Some(figures));
        cache.changed("*");
        assert!(user_copy(&cache, UserId(3)).is_none());
        assert!(wallet_copy(&cache, OrganisationId(30)).is_none());
        cache.keep_user(cache.ticket(), &user(3, 20));
        cache.changed("nonsense");
        assert!(user_copy(&cache, UserId(3)).is_none(), "what cannot be read drops everything");
    }

    #[tokio::test]
    async fn a_fence_fails_at_once_without_a_connection_and_waits_for_a_round_that_starts_later() {
        let cache = std::sync::Arc::new(Copies::default());
        assert!(!cache.fence().await);
        cache.connected();
        // A round already under way when the request came does not do.
        let under_way = cache.begin_round();
        let waiting = tokio::spawn({
            let cache = cache.clone();
            async move { cache.fence().await }
        });
        tokio::task::yield_now().await;
        cache.complete_round(under_way);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        let next = cache.begin_round();
        cache.complete_round(next);
        assert!(waiting.await.unwrap());
        // A connection lost meanwhile fails the fence.
        let waiting = tokio::spawn({
            let cache = cache.clone();
            async move { cache.fence().await }
        });
        tokio::task::yield_now().await;
        cache.disconnected();
        assert!(!waiting.await.unwrap());
    }
}
