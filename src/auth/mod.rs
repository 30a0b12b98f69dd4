//! Who is asking, and may they: password hashing, the signed session, CSRF, the
//! per-request user check and the permission extractors.

pub mod api_key;
pub mod csrf;
pub mod middleware;
pub mod password;
pub mod permissions;
pub mod session;

pub use permissions::{CurrentUser, Permission, Require, perm};

/// The site's origin as far as `next` is concerned: any host would do, since only a
/// target that stays on it is accepted.
const NEXT_BASE: &str = "http://portal.invalid/";

/// A `next` target is only followed when it is a path on this site: it starts with a
/// single `/`, has no control character or backslash (browsers drop tabs and newlines
/// and read `\` as `/`, so `/<tab>/evil.example` opens `//evil.example`), parses as a
/// reference relative to this origin and stays on it. The answer is the parser's
/// serialisation (path, query, fragment): percent-encoded, fit for a `Location`.
pub fn safe_next(next: &str) -> Option<String> {
    let plain = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= 2000
        && !next.chars().any(|c| c.is_control() || c == '\\');
    if !plain {
        return None;
    }
    let base = url::Url::parse(NEXT_BASE).expect("the base of `next` is a valid URL");
    let target = base.join(next).ok()?;
    if target.origin() != base.origin() || !target.username().is_empty() || target.password().is_some() {
        return None;
    }
    let path = &target[url::Position::BeforePath..];
    // `/..//evil.example` normalises to `//evil.example`, which a browser reads as a host.
    (path.starts_with('/') && !path.starts_with("//")).then(|| path.to_owned())
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
        assert_eq!(safe_next("/quotes?x=1").as_deref(), Some("/quotes?x=1"));
        assert_eq!(safe_next("/quotes/7#lines").as_deref(), Some("/quotes/7#lines"));
        assert_eq!(safe_next("/caf\u{e9}").as_deref(), Some("/caf%C3%A9"), "percent-encoded for a header");
        assert_eq!(safe_next_encoded("/quotes?x=1"), "%2Fquotes%3Fx%3D1");
        for bad in [
            "",
            "quotes",
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/\0",
            "/\u{85}",
            "/..//evil.example",
            "/.//evil.example",
            "/./..//evil.example",
            " /quotes",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
        assert_eq!(safe_next_encoded("/\t/evil.example"), "%2F");
    }
}
