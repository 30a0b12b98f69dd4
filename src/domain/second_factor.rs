//! The second factor: TOTP (RFC 6238 with SHA-1, six digits, 30-second steps, one step
//! of clock skew either way) and ten single-use recovery codes.
//!
//! Recovery codes are 80 random bits (16 base32 characters, shown in groups of four),
//! so a fast hash is enough to store them: unlike a password there is nothing to guess
//! from, and SHA-256 of 80 random bits cannot be reversed by trying.

use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::permissions::{Permission, PermissionSet};

/// Holders of any of these must sign in with a second factor.
pub const REQUIRED_BY: [Permission; 4] =
    [Permission::UserManage, Permission::RoleManage, Permission::WalletCredit, Permission::PricingManage];

/// How many recovery codes an enrolment gives.
pub const RECOVERY_CODES: usize = 10;

/// Shown in the authenticator app beside the account name.
const ISSUER: &str = "Reseller Portal";

pub fn required_for(permissions: PermissionSet) -> bool {
    REQUIRED_BY.iter().any(|p| permissions.contains(*p))
}

/// A new random secret (160 bits, as RFC 4226 recommends), base32 as apps expect it.
pub fn new_secret() -> String {
    Secret::generate().to_base32()
}

fn totp(secret: &str, account: &str) -> Option<Totp> {
    let bytes = Secret::try_from_base32(secret).ok()?;
    Some(
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(1)
            .with_step_duration(30)
            .with_secret(bytes)
            .with_account_name(account.replace(':', ""))
            .with_issuer(Some(ISSUER))
            // The demo users' documented secret is 80 bits, which the strict build
            // refuses; every secret the portal makes itself is 160.
            .build_noncompliant(),
    )
}

/// The time step a six-digit code matches at `unix_seconds` (within a step either
/// way), if it does. Each step may be used once: the caller records the last one.
pub fn matching_step(secret: &str, code: &str, unix_seconds: u64) -> Option<i64> {
    totp(secret, "")?.check(code, unix_seconds).and_then(|step| i64::try_from(step).ok())
}

/// The code of `secret` at `unix_seconds` (what an authenticator app shows).
pub fn code_at(secret: &str, unix_seconds: u64) -> Option<String> {
    Some(totp(secret, "")?.generate(unix_seconds).to_string())
}

/// The `otpauth://` address an authenticator app reads from the QR code.
pub fn otpauth_url(secret: &str, account: &str) -> Option<String> {
    totp(secret, account)?.to_url().ok()
}

/// The QR code of `text` as an SVG element, to place inline in a page.
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build()
            // The renderer writes an XML declaration first, which has no place inside HTML.
            .split_once("?>")
            .map_or_else(String::new, |(_, svg)| svg.trim().to_owned()),
    )
    .filter(|svg| svg.starts_with("<svg"))
}

/// The secret in groups of four, easier to type into an app by hand.
pub fn grouped(secret: &str) -> String {
    in_fours(secret, " ")
}

fn in_fours(text: &str, separator: &str) -> String {
    text.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(separator)
}

/// What a person typed at the second step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// Six digits from the authenticator app.
    Authenticator(String),
    /// A recovery code, normalised (upper case, no spaces or dashes).
    Recovery(String),
}

pub const CODE_FORMAT: &str =
    "enter the 6-digit code from your authenticator app, or one of your recovery codes (16 letters and digits)";

impl Code {
    /// Spaces and dashes are ignored, and recovery codes in any case.
    pub fn parse(input: &str) -> Result<Code, &'static str> {
        let plain: String = input.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if plain.len() == 6 && plain.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Code::Authenticator(plain));
        }
        let upper = plain.to_ascii_uppercase();
        if upper.len() == 16 && upper.bytes().all(|b| matches!(b, b'A'..=b'Z' | b'2'..=b'7')) {
            return Ok(Code::Recovery(upper));
        }
        Err(CODE_FORMAT)
    }
}

/// Ten new recovery codes, formatted for display (`ABCD-EFGH-JKLM-NPQR`).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            // Base32 of 10 random bytes: exactly 16 characters, 80 bits.
            in_fours(&Secret::from(rand::random::<[u8; 10]>().to_vec()).to_base32(), "-")
        })
        .collect()
}

/// What is stored of a recovery code (as displayed or as typed: both normalise alike).
pub fn recovery_code_hash(code: &str) -> Vec<u8> {
    let plain: String =
        code.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_ascii_uppercase();
    Sha256::digest(plain.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = "JBSWY3DPEHPK3PXP";

    #[test]
    fn rfc_6238_sha1_vector() {
        // RFC 6238 appendix B: the ASCII secret "12345678901234567890", T = 59 → 94287082
        // (eight digits); six digits are its last six.
        let secret = Secret::from(b"12345678901234567890".to_vec()).to_base32();
        assert_eq!(code_at(&secret, 59).unwrap(), "287082");
        assert_eq!(code_at(&secret, 1_111_111_109).unwrap(), "081804");
    }

    #[test]
    fn a_code_matches_its_step_and_one_either_side_only() {
        let t = 1_800_000_000;
        let code = code_at(DEMO, t).unwrap();
        assert_eq!(matching_step(DEMO, &code, t), Some((t / 30) as i64));
        assert_eq!(matching_step(DEMO, &code, t + 30), Some((t / 30) as i64));
        assert_eq!(matching_step(DEMO, &code, t - 30), Some((t / 30) as i64));
        assert_eq!(matching_step(DEMO, &code, t + 90), None);
        assert_eq!(matching_step("not base32!", &code, t), None);
    }

    #[test]
    fn codes_parse_with_spaces_dashes_and_any_case() {
        assert_eq!(Code::parse(" 123 456 "), Ok(Code::Authenticator("123456".into())));
        assert_eq!(Code::parse("abcd-efgh-2345-67ab"), Ok(Code::Recovery("ABCDEFGH234567AB".into())));
        for bad in ["", "12345", "1234567", "12345a", "ABCD-EFGH-IJKL-MNO1", "١٢٣٤٥٦"] {
            assert!(Code::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_hash_as_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut distinct = codes.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        let code = &codes[0];
        assert_eq!(code.len(), 19);
        assert!(matches!(Code::parse(code), Ok(Code::Recovery(_))));
        assert_eq!(recovery_code_hash(code), recovery_code_hash(&code.to_lowercase().replace('-', " ")));
    }

    #[test]
    fn the_qr_code_is_inline_svg_of_the_otpauth_address() {
        let url = otpauth_url(DEMO, "admin@demo.test").unwrap();
        assert!(url.starts_with("otpauth://totp/"), "{url}");
        assert!(url.contains("secret=JBSWY3DPEHPK3PXP"), "{url}");
        let svg = qr_svg(&url).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{}", &svg[..40]);
        assert!(!svg.contains("<script"));
    }

    #[test]
    fn who_must_enrol() {
        assert!(required_for(PermissionSet::from_codes(["catalog.view", "wallet.credit"])));
        assert!(!required_for(PermissionSet::from_codes(["catalog.view", "quote.accept", "wallet.view"])));
    }
}
