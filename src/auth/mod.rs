//! Who is asking, and may they: password hashing, the signed session, CSRF, the
//! per-request user check and the permission extractors.

pub mod csrf;
pub mod middleware;
pub mod password;
pub mod permissions;
pub mod session;

pub use permissions::{CurrentUser, Permission, Require, perm};

/// A `next` target is only followed when it is a path on this site.
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && next.len() <= 2000;
    ok.then_some(next)
}

/// `next` as a query value: only safe paths, percent-encoded.
pub fn safe_next_encoded(next: &str) -> String {
    safe_next(next)
        .map(|n| serde_urlencoded::to_string([("", n)]).unwrap_or_default().trim_start_matches('=').to_owned())
        .unwrap_or_else(|| "%2F".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_stay_on_site() {
        assert_eq!(safe_next("/quotes?x=1"), Some("/quotes?x=1"));
        assert_eq!(safe_next("//evil.example"), None);
        assert_eq!(safe_next("https://evil.example"), None);
        assert_eq!(safe_next("/\\evil.example"), None);
        assert_eq!(safe_next_encoded("/quotes?x=1"), "%2Fquotes%3Fx%3D1");
    }
}
