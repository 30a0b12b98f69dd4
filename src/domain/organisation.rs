//! Values an organisation is made of: its South African VAT number and a name's limits.

use diesel::pg::Pg;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

use super::text::{self, Lines};

/// The most characters of an organisation's, user's or role's name (the schema's check).
pub const MAX_NAME_CHARS: usize = 200;

/// A South African VAT number: 10 digits starting with 4, stored without the spaces it
/// may be typed with. Only a parsed number can be stored (`ToSql`), so the web form and
/// the command line store the same digits.
#[derive(Debug, Clone, PartialEq, Eq, diesel::AsExpression)]
#[diesel(sql_type = Text)]
pub struct VatNumber(String);

impl ToSql<Text, Pg> for VatNumber {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <str as ToSql<Text, Pg>>::to_sql(&self.0, out)
    }
}

impl VatNumber {
    pub fn parse(input: &str) -> Result<VatNumber, &'static str> {
        let vat: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if vat.len() == 10 && vat.starts_with('4') && vat.chars().all(|c| c.is_ascii_digit()) {
            Ok(VatNumber(vat))
        } else {
            Err("a South African VAT number has 10 digits and starts with 4")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A required name: trimmed, one line without control characters, not empty, at most
/// [`MAX_NAME_CHARS`].
pub fn parse_name(input: &str) -> Result<&str, String> {
    let name = input.trim();
    text::check(name, Lines::One)?;
    if name.is_empty() {
        return Err("enter a name".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("use at most {MAX_NAME_CHARS} characters"));
    }
    Ok(name)
}

/// The longest address a tax invoice shows.
pub const MAX_ADDRESS_CHARS: usize = 300;

/// An address for tax invoices: several lines (line breaks kept as `\n`, blank lines and
/// spaces at the ends dropped), no other control characters, not empty.
pub fn parse_address(input: &str) -> Result<String, String> {
    text::check(input, Lines::Many)?;
    let address =
        input.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join("\n").replace('\t', " ");
    if address.is_empty() {
        return Err("enter the street address, town and postal code".into());
    }
    if address.chars().count() > MAX_ADDRESS_CHARS {
        return Err(format!("use at most {MAX_ADDRESS_CHARS} characters"));
    }
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_keep_their_lines() {
        assert_eq!(
            parse_address(" 14 Jet Park Road \r\n\r\nBoksburg\n1459 ").unwrap(),
            "14 Jet Park Road\nBoksburg\n1459"
        );
        assert!(parse_address(" \n ").is_err());
        assert!(parse_address("a\u{1b}[2J").is_err());
        assert!(parse_address(&"x".repeat(301)).is_err());
    }

    #[test]
    fn vat_numbers_have_ten_digits_starting_with_4() {
        assert_eq!(VatNumber::parse(" 4123456789 ").unwrap().as_str(), "4123456789");
        assert_eq!(VatNumber::parse("4123 456 789").unwrap().as_str(), "4123456789");
        for bad in ["", "5123456789", "412345678", "41234567890", "41234567a9", "４123456789"] {
            assert!(VatNumber::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  Acme  ").unwrap(), "Acme");
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"x".repeat(201)).is_err());
        assert!(parse_name("Acme\0").is_err());
        assert!(parse_name("Acme\nLogistics").is_err());
    }
}
