//! argon2id at OWASP's parameters (m = 19 456 KiB, t = 2, p = 1). Hashing takes tens of
//! milliseconds of CPU, so callers run these on the blocking pool, never on an async
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

/// Runs [`verify`] (or [`dummy_verify`] when there is no hash) on the blocking pool.
pub async fn verify_blocking(password: String, stored: Option<String>) -> bool {
    actix_web::web::block(move || match stored {
        Some(stored) => verify(&password, &stored),
        None => {
            dummy_verify(&password);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// Runs [`hash`] on the blocking pool.
pub async fn hash_blocking(password: String) -> anyhow::Result<String> {
    Ok(actix_web::web::block(move || hash(&password)).await?)
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
