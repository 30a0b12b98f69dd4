//! The password rule (NIST 800-63B): at least 12 characters, at most 128, no
//! composition rules, not the account's own email address.

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;

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
    use super::{NewPassword, temporary};

    #[test]
    fn temporary_passwords_pass_the_rule_and_differ() {
        let (a, b) = (temporary(), temporary());
        assert!(NewPassword::parse(&a, "a@b.co").is_ok());
        assert_ne!(a, b);
        assert!(!a.contains(['0', 'O', '1', 'l', 'I']));
    }

    #[test]
    fn length_and_email_rules() {
        assert!(NewPassword::parse("correct horse", "a@b.co").is_ok());
        assert!(NewPassword::parse("short", "a@b.co").is_err());
        assert!(NewPassword::parse(&"x".repeat(129), "a@b.co").is_err());
        assert!(NewPassword::parse("Person@Example.co", "person@example.co").is_err());
        // 12 characters counted as characters, not bytes
        assert!(NewPassword::parse("ééééééééééé", "a@b.co").is_err());
        assert!(NewPassword::parse("éééééééééééé", "a@b.co").is_ok());
        assert!(NewPassword::parse("correct\0horse battery", "a@b.co").is_err());
    }
}
