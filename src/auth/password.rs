//! argon2id at OWASP's parameters (m = 19 456 KiB, t = 2, p = 1). Hashing takes tens of
//! milliseconds of CPU, so callers run these on a [`Hasher`]'s threads, never on an
//! async worker. An unknown email is checked against a dummy hash so that the answer takes
//! as long as for a real account.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

fn hasher() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) with a fresh random salt.
pub fn hash(password: &str) -> String {
    hasher().hash_password(password.as_bytes()).expect("argon2 hashing does not fail for these parameters").to_string()
}

/// Checks a password against a stored hash; a malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => hasher().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Spends the same time as a real check, for accounts that do not exist or are locked.
pub fn dummy_verify(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("dummy password for timing"));
    let _ = verify(password, stored);
}

type Job = Box<dyn FnOnce() + Send>;

/// Every hashing queue is full: the caller answers 503 and tries nothing else. Never
/// taken for a wrong password.
#[derive(Debug, thiserror::Error)]
#[error("too many password checks are queued")]
pub struct Busy;

impl From<Busy> for crate::error::AppError {
    fn from(e: Busy) -> Self {
        crate::error::AppError::Unavailable(e.to_string())
    }
}

/// Threads of their own for hashing, never an async worker or the general blocking
/// pool. Each hash holds 19 MiB and tens of milliseconds of CPU, so a burst of sign-ins
/// queues here, up to a bound; past it a check is refused with [`Busy`].
pub struct Hasher {
    queue: std::sync::mpsc::SyncSender<Job>,
}

impl Hasher {
    /// `threads` hashing threads with `capacity` checks waiting at most. The threads end
    /// when the hasher is dropped.
    pub fn start(threads: usize, capacity: usize) -> Hasher {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(capacity);
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for n in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    loop {
                        let job = rx.lock().expect("hashing queue lock").recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .expect("start a hashing thread");
        }
        Hasher { queue: tx }
    }

    /// The process's hasher: two threads, at most 1 024 checks waiting.
    pub fn shared() -> std::sync::Arc<Hasher> {
        static SHARED: OnceLock<std::sync::Arc<Hasher>> = OnceLock::new();
        SHARED.get_or_init(|| std::sync::Arc::new(Hasher::start(2, 1024))).clone()
    }

    /// Queues `work` for a hashing thread at once (refused when the queue is full); the
    /// future answers with its result.
    pub fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = Result<T, Busy>> + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(work());
        });
        let queued = self.queue.try_send(job).map_err(|_| Busy);
        async move {
            queued?;
            rx.await.map_err(|_| Busy)
        }
    }

    /// [`verify`] (or [`dummy_verify`] when there is no hash, answering false).
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, Busy> {
        self.run(move || match stored {
            Some(stored) => verify(&password, &stored),
            None => {
                dummy_verify(&password);
                false
            }
        })
        .await
    }

    /// [`hash`] on a hashing thread.
    pub async fn hash(&self, password: String) -> Result<String, Busy> {
        self.run(move || hash(&password)).await
    }
}

/// [`Hasher::hash`] on the process's hasher (the command line and the demo seed; the
/// server's handlers use the one in their state).
pub async fn hash_blocking(password: String) -> Result<String, Busy> {
    Hasher::shared().hash(password).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_with_argon2id_owasp_parameters_and_verifies() {
        let stored = hash("demo-password-123");
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(verify("demo-password-123", &stored));
        assert!(!verify("demo-password-124", &stored));
        assert!(!verify("demo-password-123", "seed:not-a-hash"));
        assert_ne!(hash("same"), hash("same"), "salts differ");
    }

    #[actix_web::test]
    async fn a_full_queue_is_busy_never_a_wrong_password() {
        let hasher = Hasher::start(1, 1);
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let first = hasher.run(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
        started_rx.recv().unwrap();
        let second = hasher.run(|| ());
        // The one thread is busy and the one waiting place is taken.
        assert!(matches!(hasher.verify("x".into(), None).await, Err(Busy)));
        release_tx.send(()).unwrap();
        first.await.unwrap();
        second.await.unwrap();
        assert!(matches!(hasher.verify("x".into(), None).await, Ok(false)));
    }
}
