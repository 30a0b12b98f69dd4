//! Statements sent on one connection without waiting for each answer, in a stated order.
//!
//! diesel-async pipelines the queries of one connection when their futures are polled
//! together, and a query is sent when its future is first polled; PostgreSQL then runs
//! a connection's statements one after another in the order they arrived. Which order
//! that is must not depend on a combinator's argument order: [`Pipeline::run`] polls
//! its steps in the order they were pushed, every time, so the first step is always
//! sent first.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use crate::db::Prepared;
use diesel::QueryResult;
use diesel::connection::{TransactionDepthChange, TransactionManagerStatus};
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, RunQueryDsl, TransactionManager};

type Step<'a, E> = Pin<Box<dyn Future<Output = Result<(), E>> + Send + 'a>>;

pub struct Pipeline<'a, E> {
    steps: Vec<Option<Step<'a, E>>>,
}

impl<'a, E> Default for Pipeline<'a, E> {
    fn default() -> Self {
        Pipeline { steps: Vec::new() }
    }
}

impl<'a, E: 'a> Pipeline<'a, E> {
    /// Adds a statement (or a step that sends several, in its own order) after the
    /// ones already pushed.
    pub fn push<T, F, X>(&mut self, step: F)
    where
        F: Future<Output = Result<T, X>> + Send + 'a,
        E: From<X>,
    {
        self.steps.push(Some(Box::pin(async move { step.await.map(drop).map_err(E::from) })));
    }

    /// Sends every step, in order, and waits for all of them; the first error wins (the
    /// transaction around it is then rolled back).
    pub async fn run(mut self) -> Result<(), E> {
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for slot in &mut self.steps {
                let Some(step) = slot else { continue };
                match step.as_mut().poll(cx) {
                    Poll::Ready(Ok(())) => *slot = None,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => pending = true,
                }
            }
            if pending { Poll::Pending } else { Poll::Ready(Ok(())) }
        })
        .await
    }
}

/// A transaction whose `BEGIN` is the first step of its first pipeline and whose
/// `COMMIT` the last step of its last, so that locks-then-writes take two round trips
/// and a row lock taken by the last write (the invoice series) is released when the
/// server has recorded the commit (flushed, unless [`transaction::push_commit`] was
/// told the transaction took a number), without waiting for the client's next message.
///
/// diesel-async's transaction manager is told the transaction is open from [`open`]
/// until [`close`]: a request cancelled in between leaves the connection counted as
/// broken, and the pool drops it instead of handing out an open transaction.
pub mod transaction {
    use super::*;

    fn status(conn: &mut AsyncPgConnection) -> QueryResult<&mut diesel::connection::ValidTransactionManagerStatus> {
        match <AnsiTransactionManager as TransactionManager<AsyncPgConnection>>::transaction_manager_status_mut(conn) {
            TransactionManagerStatus::Valid(status) => Ok(status),
            TransactionManagerStatus::InError => Err(diesel::result::Error::BrokenTransactionManager),
        }
    }

    /// Marks a transaction as open; its `BEGIN` must be the first step of the next
    /// pipeline ([`begin`]).
    pub fn open(conn: &mut AsyncPgConnection) -> QueryResult<()> {
        let status = status(conn)?;
        if status.transaction_depth().is_some() {
            return Err(diesel::result::Error::AlreadyInTransaction);
        }
        status.change_transaction_depth(TransactionDepthChange::IncreaseDepth)
    }

    /// The `BEGIN` step. Like every statement it goes through the connection's statement
    /// cache (which a statement being prepared holds), so none pushed after it can
    /// overtake it; `batch_execute` would bypass that.
    pub async fn begin(mut conn: &AsyncPgConnection) -> QueryResult<()> {
        Prepared::new("BEGIN").execute(&mut conn).await.map(drop)
    }

    /// The `COMMIT` step. An error earlier in the pipeline aborts the transaction on the
    /// server, which then answers `COMMIT` by rolling back; a deferred constraint failing
    /// answers it with an error.
    async fn commit(mut conn: &AsyncPgConnection) -> QueryResult<()> {
        Prepared::new("COMMIT").execute(&mut conn).await.map(drop)
    }

    /// The last steps of the last pipeline: `COMMIT`, and when the transaction
    /// `took_number` (a gap-free one, whose series row stays locked until its commit)
    /// two more around it. The transaction commits without waiting for the disk
    /// (`synchronous_commit = off`, read at `COMMIT`, for this transaction only), so the
    /// series row is released once the commit is recorded, not once it is flushed, and
    /// the next debit's number need not wait for this one's fsync; then [`flushed`], so
    /// that no answer leaves before the commit is on disk.
    pub fn push_commit<'a, E: From<diesel::result::Error> + 'a>(
        pipeline: &mut Pipeline<'a, E>,
        conn: &'a AsyncPgConnection,
        took_number: bool,
    ) {
        if took_number {
            pipeline.push(async move {
                let mut c = conn;
                Prepared::new("SET LOCAL synchronous_commit = off").execute(&mut c).await
            });
        }
        pipeline.push(commit(conn));
        if took_number {
            pipeline.push(flushed(conn));
        }
    }

    /// The step after the `COMMIT` of a transaction that took a number (see
    /// [`push_commit`]): a transaction of its own that
    /// writes one WAL record (a logical message, which no one consumes) and commits
    /// synchronously, so it answers once the WAL is flushed past its own commit, hence
    /// past the one before it. The flushes of concurrent debits are shared (group
    /// commit) instead of queueing one by one behind the series row. Durability is
    /// unchanged: nothing is answered before the flush, and WAL is replayed in order, so
    /// a crash before it loses this debit together with every later one, leaving the
    /// numbers without a gap. Only a reader in that sub-millisecond window may see a
    /// debit that the crash then undoes.
    pub async fn flushed(mut conn: &AsyncPgConnection) -> QueryResult<()> {
        Prepared::new("SELECT pg_logical_emit_message(true, 'portal.flush', '')").execute(&mut conn).await.map(drop)
    }

    /// Ends the transaction: `committed` when the pipeline that carried [`push_commit`]
    /// succeeded, otherwise it is rolled back (a `ROLLBACK` after a commit that did go
    /// through only draws a warning from the server).
    pub async fn close(conn: &mut AsyncPgConnection, committed: bool) -> QueryResult<()> {
        if committed {
            status(conn)?.change_transaction_depth(TransactionDepthChange::DecreaseDepth)
        } else {
            <AnsiTransactionManager as TransactionManager<AsyncPgConnection>>::rollback_transaction(conn).await
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[tokio::test]
    async fn steps_start_in_the_order_they_were_pushed() {
        let started = Mutex::new(Vec::new());
        let mut pipeline = Pipeline::<'_, ()>::default();
        for n in [3, 1, 2] {
            let started = &started;
            pipeline.push(async move {
                started.lock().unwrap().push(n);
                tokio::task::yield_now().await;
                Ok::<_, ()>(())
            });
        }
        pipeline.run().await.unwrap();
        assert_eq!(*started.lock().unwrap(), [3, 1, 2]);
    }

    #[tokio::test]
    async fn the_first_error_is_returned() {
        let mut pipeline = Pipeline::<'_, &str>::default();
        pipeline.push(async { Ok::<_, &str>(()) });
        pipeline.push(async { Err::<(), _>("refused") });
        assert_eq!(pipeline.run().await, Err("refused"));
    }
}
