//! An idempotency key: the UUID a top-up or correction form carries, or that `portal
//! wallet credit --idempotency-key` is given, so that a retried request records once.
//! A UUID can be written many ways (upper case, braced, without dashes, `urn:uuid:`);
//! the key is the parsed UUID in its one canonical form (hyphenated, lower case), so
//! every spelling of one UUID is the same key.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A fresh random key (a new form, a CLI credit without a key).
    #[allow(clippy::new_without_default)]
    pub fn new() -> IdempotencyKey {
        IdempotencyKey(uuid::Uuid::new_v4().hyphenated().to_string())
    }

    pub fn parse(input: &str) -> Result<IdempotencyKey, &'static str> {
        match uuid::Uuid::try_parse(input.trim()) {
            Ok(uuid) if !uuid.is_nil() && !uuid.is_max() => Ok(IdempotencyKey(uuid.hyphenated().to_string())),
            _ => Err("an idempotency key is a UUID, such as 6c1e0b8e-8a57-4c1f-9b3e-2f4b1f0e9a11"),
        }
    }

    /// The canonical form, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::IdempotencyKey;

    #[test]
    fn every_spelling_of_a_uuid_is_one_key() {
        let canonical = "6c1e0b8e-8a57-4c1f-9b3e-2f4b1f0e9a11";
        for spelling in [
            canonical,
            " 6c1e0b8e-8a57-4c1f-9b3e-2f4b1f0e9a11 ",
            "6C1E0B8E-8A57-4C1F-9B3E-2F4B1F0E9A11",
            "{6c1e0b8e-8a57-4c1f-9b3e-2f4b1f0e9a11}",
            "6c1e0b8e8a574c1f9b3e2f4b1f0e9a11",
            "urn:uuid:6c1e0b8e-8a57-4c1f-9b3e-2f4b1f0e9a11",
        ] {
            assert_eq!(IdempotencyKey::parse(spelling).unwrap().as_str(), canonical, "{spelling}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["", "k-1", "6c1e0b8e-8a57-4c1f-9b3e", "00000000-0000-0000-0000-000000000000", "6c1e0b8e\0"] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        let fresh = IdempotencyKey::new();
        assert_eq!(IdempotencyKey::parse(fresh.as_str()).unwrap(), fresh);
        assert_ne!(IdempotencyKey::new(), fresh);
    }
}
