//! An email address as the portal accepts it: trimmed, one `@`, a dotted domain.
//! Uniqueness is case-insensitive (the database compares `lower(email)`). Only a parsed
//! address can be stored (`ToSql`), so every way in stores the same form of it.

use diesel::pg::Pg;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

use super::text::{self, Lines};

#[derive(Debug, Clone, PartialEq, Eq, diesel::AsExpression)]
#[diesel(sql_type = Text)]
pub struct Email(String);

impl ToSql<Text, Pg> for Email {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <str as ToSql<Text, Pg>>::to_sql(&self.0, out)
    }
}

impl Email {
    pub fn parse(input: &str) -> Result<Email, &'static str> {
        let email = input.trim();
        text::check(email, Lines::One)?;
        if email.is_empty() {
            return Err("enter an email address");
        }
        if email.len() > 254 {
            return Err("an email address has at most 254 characters");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err("an email address looks like name@example.co.za");
        };
        let valid = !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c));
        if !valid {
            return Err("an email address looks like name@example.co.za");
        }
        Ok(Email(email.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn accepts_ordinary_addresses() {
        assert_eq!(Email::parse("  Sipho@Acme.co.za ").unwrap().as_str(), "Sipho@Acme.co.za");
        assert!(Email::parse("a.b+c@demo.test").is_ok());
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in ["", "no-at-sign", "@x.co", "a@b", "a@@b.co", "a b@c.co", "a@.co", "<a>@b.co", "a@b.co."] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Email::parse(&format!("{}@x.co", "a".repeat(260))).is_err());
        assert_eq!(Email::parse("a\0@b.co"), Err(super::text::CONTROL_CHARACTER));
    }
}
