//! The password rule (NIST 800-63B): at least 12 characters, at most 128, no
//! composition rules, not the account's own email address, not one of the most common
//! passwords (a list shipped in `common-passwords.txt`), and not easy to guess by the
//! zxcvbn estimator (score 3 of 4 or better: about 10^8 guesses or more, which with
//! argon2 and the sign-in throttle is out of reach online and slow offline).

use std::collections::HashSet;
use std::sync::OnceLock;

use zxcvbn::Score;

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;
/// The lowest zxcvbn score accepted.
pub const MIN_SCORE: Score = Score::Three;

/// The most common passwords, lower case (the file's header says where they come from).
fn common_passwords() -> &'static HashSet<&'static str> {
    static COMMON: OnceLock<HashSet<&'static str>> = OnceLock::new();
    COMMON.get_or_init(|| {
        include_str!("common-passwords.txt").lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
    })
}

/// True when `password` (ignoring case and surrounding spaces) is on the shipped list.
pub fn is_common(password: &str) -> bool {
    common_passwords().contains(password.trim().to_lowercase().as_str())
}

/// Why zxcvbn finds `password` easy to guess, if it does: its warning and suggestions.
fn guessable(password: &str, email: &str) -> Option<String> {
    let local = email.split('@').next().unwrap_or_default();
    let inputs = [email, local, "portal", "reseller", "demo"];
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if estimate.score() >= MIN_SCORE {
        return None;
    }
    let mut why = "it is too easy to guess".to_owned();
    if let Some(feedback) = estimate.feedback() {
        if let Some(warning) = feedback.warning() {
            why = format!("{why}: {}", warning.to_string().trim_end_matches('.').to_lowercase());
        }
        let suggestions: Vec<String> = feedback.suggestions().iter().map(ToString::to_string).collect();
        if !suggestions.is_empty() {
            why = format!("{why}. {}", suggestions.join(" "));
        }
    }
    Some(why)
}

pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(input: &str, email: &str) -> Result<NewPassword, String> {
        if input.chars().any(char::is_control) {
            return Err("use no control characters (such as tabs, line breaks or a NUL)".into());
        }
        let chars = input.chars().count();
        if chars < MIN_CHARS {
            return Err(format!("use at least {MIN_CHARS} characters"));
        }
        if chars > MAX_CHARS {
            return Err(format!("use at most {MAX_CHARS} characters"));
        }
        if input.trim().eq_ignore_ascii_case(email.trim()) {
            return Err("the password must not be your email address".into());
        }
        if input.trim().is_empty() {
            return Err("a password of spaces alone is easy to guess: use words or other characters".into());
        }
        if is_common(input) {
            return Err("this is one of the most common passwords, the first ones attackers try: choose another".into());
        }
        if let Some(why) = guessable(input, email) {
            return Err(why);
        }
        Ok(NewPassword(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A one-time password for a new or reset account: 16 characters without look-alikes
/// (0/O, 1/l/I), because people copy these by hand. Its holder must change it at the
/// next sign-in.
pub fn temporary() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::{NewPassword, common_passwords, is_common, temporary};

    #[test]
    fn temporary_passwords_pass_the_rule_and_differ() {
        let (a, b) = (temporary(), temporary());
        assert!(NewPassword::parse(&a, "a@b.co").is_ok());
        assert_ne!(a, b);
        assert!(!a.contains(['0', 'O', '1', 'l', 'I']));
    }

    #[test]
    fn common_and_guessable_passwords_are_refused_saying_why() {
        for (weak, why) in [
            ("aaaaaaaaaaaa", "too easy to guess: repeats like"),
            ("password1234", "one of the most common passwords"),
            ("PASSWORD1234", "one of the most common passwords"),
            ("qwerty123456", "one of the most common passwords"),
            ("            ", "spaces alone"),
            ("123412341234", "too easy to guess"),
            ("abcdefghijkl", "too easy to guess"),
            ("sipho.ndlovu1", "too easy to guess"),
        ] {
            let refused = NewPassword::parse(weak, "sipho.ndlovu@acme.test").err();
            assert!(refused.as_deref().is_some_and(|r| r.contains(why)), "{weak:?}: {refused:?}");
        }
        for strong in ["correct horse battery", "fresh snoek every friday", "demo-password-123", "Tr1cky!Passw0rd-x"] {
            assert!(NewPassword::parse(strong, "a@b.co").is_ok(), "{strong:?}");
        }
        assert!(is_common(" Password1 "));
        assert_eq!(common_passwords().len(), 10_000);
    }

    #[test]
    fn length_and_email_rules() {
        assert!(NewPassword::parse("correct horse battery", "a@b.co").is_ok());
        assert!(NewPassword::parse("short", "a@b.co").is_err());
        assert!(NewPassword::parse(&"x".repeat(129), "a@b.co").is_err());
        assert!(NewPassword::parse("Person@Example.co", "person@example.co").is_err());
        // 12 characters counted as characters, not bytes
        assert!(NewPassword::parse("ñandú überç", "a@b.co").is_err(), "11 characters in 15 bytes");
        assert!(NewPassword::parse("ñandú überçà", "a@b.co").is_ok());
        assert!(NewPassword::parse("correct\0horse battery", "a@b.co").is_err());
    }
}
