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
