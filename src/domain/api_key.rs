//! API keys: `pk_live_` and 43 characters of base64url (256 random bits). Only the
//! SHA-256 of the whole key is stored; its first characters, the prefix, name it in
//! lists and find its row. A key's name is one line of at most 100 characters.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::text::{self, Lines};

pub const KEY_START: &str = "pk_live_";

/// The random characters kept in the prefix, after `pk_live_`.
const PREFIX_RANDOM_CHARS: usize = 8;

/// Characters of base64url in 32 bytes, unpadded.
const SECRET_CHARS: usize = 43;

pub const MAX_NAME_CHARS: usize = 100;

/// A new key: the whole key, shown once; its prefix and hash, stored.
pub struct NewKey {
    pub key: String,
    pub prefix: String,
    pub hash: [u8; 32],
}

impl NewKey {
    pub fn generate() -> NewKey {
        let secret: [u8; 32] = rand::random();
        let key = format!("{KEY_START}{}", URL_SAFE_NO_PAD.encode(secret));
        NewKey { prefix: key[..KEY_START.len() + PREFIX_RANDOM_CHARS].to_owned(), hash: hash(&key), key }
    }
}

pub fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The prefix of a presented key, when it has the shape of one.
pub fn prefix_of(key: &str) -> Option<&str> {
    let secret = key.strip_prefix(KEY_START)?;
    let shaped =
        secret.len() == SECRET_CHARS && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    shaped.then(|| &key[..KEY_START.len() + PREFIX_RANDOM_CHARS])
}

/// Whether `key` is the one stored as `stored_hash`, in constant time.
pub fn matches(key: &str, stored_hash: &[u8]) -> bool {
    bool::from(hash(key).as_slice().ct_eq(stored_hash))
}

/// A key's name, as its creator typed it (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(String);

impl KeyName {
    pub fn parse(raw: &str) -> Result<KeyName, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("Give the key a name, such as the system that will use it.".into());
        }
        text::check(name, Lines::One)?;
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(format!("Keep the name to at most {MAX_NAME_CHARS} characters."));
        }
        Ok(KeyName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_has_its_shape_and_matches_only_itself() {
        let new = NewKey::generate();
        assert_eq!(new.key.len(), KEY_START.len() + SECRET_CHARS);
        assert_eq!(prefix_of(&new.key), Some(new.prefix.as_str()));
        assert!(matches(&new.key, &new.hash));
        assert!(!matches(&NewKey::generate().key, &new.hash));
        assert_ne!(NewKey::generate().key, new.key);
    }

    #[test]
    fn only_keys_of_the_right_shape_have_a_prefix() {
        for bad in ["", "pk_live_", "pk_test_0123456789012345678901234567890123456789012", "Bearer x"] {
            assert_eq!(prefix_of(bad), None, "{bad:?}");
        }
        let long = format!("{KEY_START}{}", "a".repeat(SECRET_CHARS + 1));
        assert_eq!(prefix_of(&long), None);
    }

    #[test]
    fn names_are_one_short_line() {
        assert_eq!(KeyName::parse("  billing sync ").unwrap().as_str(), "billing sync");
        assert!(KeyName::parse("  ").is_err());
        assert!(KeyName::parse("a\nb").is_err());
        assert!(KeyName::parse(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(KeyName::parse(&"x".repeat(MAX_NAME_CHARS)).is_ok());
    }
}
