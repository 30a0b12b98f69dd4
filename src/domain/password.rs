//! The password rule (NIST 800-63B): at least 12 characters, at most 128, no
//! composition rules, not the account's own email address.

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;

pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(input: &str, email: &str) -> Result<NewPassword, String> {
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

#[cfg(test)]
mod tests {
    use super::NewPassword;

    #[test]
    fn length_and_email_rules() {
        assert!(NewPassword::parse("correct horse", "a@b.co").is_ok());
        assert!(NewPassword::parse("short", "a@b.co").is_err());
        assert!(NewPassword::parse(&"x".repeat(129), "a@b.co").is_err());
        assert!(NewPassword::parse("Person@Example.co", "person@example.co").is_err());
        // 12 characters counted as characters, not bytes
        assert!(NewPassword::parse("ééééééééééé", "a@b.co").is_err());
        assert!(NewPassword::parse("éééééééééééé", "a@b.co").is_ok());
    }
}
