//! argon2id at OWASP's parameters (m = 19 456 KiB, t = 2, p = 1). Hashing takes tens of
//! milliseconds of CPU, so callers run these on two hashing threads, never on an async
//! worker. An unknown email is checked against a dummy hash so that the answer takes
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

/// Hashing runs on two threads of its own, never on an async worker or the general
/// blocking pool. Each hash holds 19 MiB and tens of milliseconds of CPU, so a burst of
/// sign-ins queues here (at most 1 024 waiting) instead of running all at once.
fn hashing_threads() -> &'static std::sync::mpsc::SyncSender<Job> {
    static QUEUE: OnceLock<std::sync::mpsc::SyncSender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(1024);
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for n in 0..2 {
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
        tx
    })
}

async fn on_hashing_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(work());
    });
    hashing_threads().try_send(job).map_err(|_| anyhow::anyhow!("too many password checks queued"))?;
    Ok(rx.await?)
}

/// Runs [`verify`] (or [`dummy_verify`] when there is no hash) off the async workers.
pub async fn verify_blocking(password: String, stored: Option<String>) -> bool {
    on_hashing_thread(move || match stored {
        Some(stored) => verify(&password, &stored),
        None => {
            dummy_verify(&password);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// Runs [`hash`] off the async workers.
pub async fn hash_blocking(password: String) -> anyhow::Result<String> {
    on_hashing_thread(move || hash(&password)).await
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
}
