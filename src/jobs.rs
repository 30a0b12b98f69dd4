//! The hourly job inside `portal serve`: the billing run for today and the quote expiry
//! reminders. Any number of instances may run it; a PostgreSQL advisory lock, held on a
//! connection of its own, lets one of them do the work each time. Every database call
//! is time-bounded (a statement timeout on that connection, the lock waits of each
//! money transaction, an overall limit), so a stuck database never wedges the job.

use std::ops::DerefMut;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};

use crate::db::main::alerts;
use crate::db::main::billing::{self, RunOptions, RunSummary};
use crate::domain::states::RunSource;
use crate::domain::time::today_sast;
use crate::metrics::Metrics;

const EVERY: Duration = Duration::from_secs(3600);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// No one statement of the job takes longer (each organisation's is milliseconds).
const STATEMENT_TIMEOUT: &str = "60s";
/// A run that takes longer is abandoned (what it committed stays; the next run goes on).
const RUN_LIMIT: Duration = Duration::from_secs(50 * 60);

/// What a turn at the job did.
#[derive(Debug)]
pub enum Turn {
    Ran(RunSummary),
    /// Another instance (or a staff member's run) holds the lock: nothing was done.
    Busy,
}

/// A connection of the job's own to the main database (never a pooled one: the lock
/// lives as long as the session, and closing it is what releases it in every case).
pub async fn connect(main_url: &SecretString) -> anyhow::Result<AsyncPgConnection> {
    tokio::time::timeout(CONNECT_TIMEOUT, AsyncPgConnection::establish(main_url.expose_secret()))
        .await
        .map_err(|_| anyhow::anyhow!("the main database did not answer within {CONNECT_TIMEOUT:?}"))?
        .map_err(Into::into)
}

/// One turn on `conn` (its own connection, closed afterwards): under the advisory lock,
/// the billing run for today (by `source`, billing on the connections `workers` opens
/// once the lock is held), the expiry reminders and the pruning of the API's day-old
/// idempotency records; counted in `metrics`.
pub async fn run_once<W: DerefMut<Target = AsyncPgConnection>>(
    mut conn: AsyncPgConnection,
    workers: impl AsyncFnOnce() -> anyhow::Result<Vec<W>>,
    metrics: &Metrics,
    grace_days: u32,
    vat_rate: Decimal,
    source: RunSource,
) -> anyhow::Result<Turn> {
    let started = Instant::now();
    diesel::sql_query(format!("SET statement_timeout = '{STATEMENT_TIMEOUT}'")).execute(&mut conn).await?;
    if !billing::try_lock_run(&mut conn).await? {
        return Ok(Turn::Busy);
    }
    let options = RunOptions { date: today_sast(), grace_days, vat_rate, dry_run: false, source };
    let mut workers = workers().await?;
    let mut workers: Vec<&mut AsyncPgConnection> = workers.iter_mut().map(|w| &mut **w).collect();
    let work = async {
        let summary = billing::run(&mut conn, &mut workers, options, |_| {}).await?;
        alerts::raise_expiring(&mut conn).await?;
        crate::db::main::idempotency::prune(&mut conn).await?;
        anyhow::Ok(summary)
    };
    let summary = tokio::time::timeout(RUN_LIMIT, work)
        .await
        .map_err(|_| anyhow::anyhow!("the billing run took longer than {RUN_LIMIT:?}"))??;
    // Closing the connection (when it is dropped) would release the lock too.
    billing::unlock_run(&mut conn).await?;
    metrics.count_billing_run(
        u64::try_from(summary.months_charged).unwrap_or(0),
        u64::try_from(summary.organisations_short).unwrap_or(0),
        started.elapsed().as_secs_f64(),
    );
    Ok(Turn::Ran(summary))
}

/// The hourly turn: [`run_once`] on connections of its own to `main_url`.
pub async fn hourly_turn(
    main_url: &SecretString,
    metrics: &Metrics,
    grace_days: u32,
    vat_rate: Decimal,
) -> anyhow::Result<Turn> {
    let conn = connect(main_url).await?;
    let workers = async || {
        let mut workers = Vec::with_capacity(billing::WORKERS);
        for _ in 0..billing::WORKERS {
            workers.push(Box::new(connect(main_url).await?));
        }
        anyhow::Ok(workers)
    };
    run_once(conn, workers, metrics, grace_days, vat_rate, RunSource::Hourly).await
}

/// Runs [`hourly_turn`] now and then every hour, for as long as the server runs.
pub async fn hourly(main_url: SecretString, metrics: Arc<Metrics>, grace_days: u32, vat_rate: Decimal) {
    let mut ticks = tokio::time::interval(EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match hourly_turn(&main_url, &metrics, grace_days, vat_rate).await {
            Ok(Turn::Ran(summary)) => tracing::info!(?summary, "hourly billing run"),
            Ok(Turn::Busy) => tracing::debug!("another instance runs the billing this hour"),
            Err(e) => tracing::error!(error = %e, "the hourly billing run failed; the next hour tries again"),
        }
    }
}
