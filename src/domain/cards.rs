//! Saved card references: what a card form may hold, parsed (parse, don't validate).
//! The portal keeps only a gateway token and what identifies the card to a person
//! (brand, last four, expiry, holder): a full card number must never reach it, so any
//! run of 12 to 19 digits in any field is refused, however it is written (see
//! [`looks_like_card_number`]).

use chrono::{Datelike, NaiveDate};
use unicode_normalization::UnicodeNormalization;

use super::text::{self, Lines};

pub const BRANDS: [&str; 4] = ["Visa", "Mastercard", "American Express", "Diners Club"];
const MAX_HOLDER_CHARS: usize = 100;
const MAX_TOKEN_CHARS: usize = 200;

/// Where each run of ten decimal digits (Unicode category Nd, 0 to 9 in code point
/// order, as Unicode guarantees) starts, as of Unicode 15.1: ASCII, Arabic-Indic,
/// Devanagari, full-width and the rest.
const DECIMAL_ZEROS: [u32; 68] = [
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0DE6,
    0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40,
    0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x104A0, 0x10D30, 0x11066, 0x110F0,
    0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50,
    0x11DA0, 0x11F50, 0x16A60, 0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0,
    0x1E4F0, 0x1E950, 0x1FBF0,
];

/// The ASCII digit a decimal digit of any script stands for.
fn ascii_digit(c: char) -> Option<char> {
    let code = u32::from(c);
    let zero = DECIMAL_ZEROS[DECIMAL_ZEROS.partition_point(|zero| *zero <= code).checked_sub(1)?];
    char::from_digit(code - zero, 10)
}

/// `text` as the card filter reads it: Unicode NFKC (full-width and other compatibility
/// forms become plain ones), every decimal digit as its ASCII digit, and nothing but
/// letters and digits (dots, slashes, underscores, commas, plus signs, spaces, dashes,
/// zero-width and other invisible characters all go). A numeric character of no known
/// digit value (a script newer than the table) is kept and still counts as a digit.
pub fn normalise(text: &str) -> String {
    text.nfkc()
        .filter_map(|c| match ascii_digit(c) {
            Some(digit) => Some(digit),
            None if c.is_alphabetic() || c.is_numeric() => Some(c),
            None => None,
        })
        .collect()
}

/// True when `text` holds a run of at least 12 digits once [`normalise`]d: the shape
/// of a card number (12 to 19 digits; a longer run contains one), whatever separates
/// the digits or however they are written. No Luhn check: a mistyped card number is
/// still one, and no field here has a reason to hold twelve digits in a row.
pub fn looks_like_card_number(text: &str) -> bool {
    let mut run = 0;
    for c in normalise(text).chars() {
        if c.is_numeric() {
            run += 1;
            if run >= 12 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// A card is valid to the end of its expiry month.
pub fn is_expired(month: i16, year: i16, today: NaiveDate) -> bool {
    (i32::from(year), u32::try_from(month).unwrap_or(0)) < (today.year(), today.month())
}

pub const CARD_NUMBER_MESSAGE: &str =
    "This looks like a card number. Never enter one here: only the last four digits and the gateway's token.";

#[derive(Debug, Default, Clone)]
pub struct CardForm {
    pub brand: String,
    pub last_four: String,
    pub exp_month: String,
    pub exp_year: String,
    pub holder_name: String,
    pub gateway_token: String,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct CardErrors {
    pub brand: Option<&'static str>,
    pub last_four: Option<&'static str>,
    pub exp_month: Option<&'static str>,
    pub exp_year: Option<&'static str>,
    pub holder_name: Option<&'static str>,
    pub gateway_token: Option<&'static str>,
}

/// A card reference fit to save.
#[derive(Debug, PartialEq, Eq)]
pub struct NewCard {
    pub brand: &'static str,
    pub last_four: String,
    pub exp_month: i16,
    pub exp_year: i16,
    pub holder_name: String,
    pub gateway_token: String,
}

impl CardForm {
    /// Every field that holds something shaped like a card number is emptied, so that
    /// it is never shown again (nor kept anywhere).
    pub fn scrub(&mut self) {
        for field in [
            &mut self.brand,
            &mut self.last_four,
            &mut self.exp_month,
            &mut self.exp_year,
            &mut self.holder_name,
            &mut self.gateway_token,
        ] {
            if looks_like_card_number(field) {
                field.clear();
            }
        }
    }

    pub fn parse(&self, today: NaiveDate) -> Result<NewCard, CardErrors> {
        let mut e = CardErrors::default();
        let card_number = |field: &str| looks_like_card_number(field).then_some(CARD_NUMBER_MESSAGE);
        let brand = BRANDS.iter().find(|b| **b == self.brand.trim()).copied();
        e.brand = card_number(&self.brand).or(brand.is_none().then_some("Choose the card's brand."));
        let last_four = self.last_four.trim();
        e.last_four = card_number(last_four)
            .or((last_four.len() != 4 || !last_four.bytes().all(|b| b.is_ascii_digit()))
                .then_some("Enter the last four digits of the card, e.g. 4242."));
        let month = self.exp_month.trim().parse::<i16>().ok().filter(|m| (1..=12).contains(m));
        e.exp_month = card_number(&self.exp_month).or(month.is_none().then_some("Enter the expiry month, 1 to 12."));
        let year = self.exp_year.trim().parse::<i16>().ok().filter(|y| (2000..=2100).contains(y));
        e.exp_year = card_number(&self.exp_year)
            .or(year.is_none().then_some("Enter the expiry year in four digits, e.g. 2028."));
        if let (Some(month), Some(year), None) = (month, year, e.exp_year)
            && is_expired(month, year, today)
        {
            e.exp_year = Some("This card has expired.");
        }
        let holder = self.holder_name.trim();
        e.holder_name = card_number(holder).or(text::check(holder, Lines::One).err()).or(if holder.is_empty() {
            Some("Enter the name on the card.")
        } else if holder.chars().count() > MAX_HOLDER_CHARS {
            Some("Use at most 100 characters.")
        } else {
            None
        });
        let token = self.gateway_token.trim();
        e.gateway_token = card_number(token).or(text::check(token, Lines::One).err()).or(if token.is_empty() {
            Some("Enter the token the payment gateway gave for this card.")
        } else if token.chars().count() > MAX_TOKEN_CHARS || token.chars().any(char::is_whitespace) {
            Some("A gateway token has no spaces and at most 200 characters.")
        } else {
            None
        });
        match (brand, month, year, e == CardErrors::default()) {
            (Some(brand), Some(exp_month), Some(exp_year), true) => Ok(NewCard {
                brand,
                last_four: last_four.to_owned(),
                exp_month,
                exp_year,
                holder_name: holder.to_owned(),
                gateway_token: token.to_owned(),
            }),
            _ => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    fn good() -> CardForm {
        CardForm {
            brand: "Visa".into(),
            last_four: "4242".into(),
            exp_month: "11".into(),
            exp_year: "2026".into(),
            holder_name: "A. Naidoo".into(),
            gateway_token: "tok_live_9f8e7d".into(),
        }
    }

    #[test]
    fn runs_of_twelve_or_more_digits_look_like_card_numbers() {
        for number in ["4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242", "tok_378282246310005x"] {
            assert!(looks_like_card_number(number), "{number}");
        }
        assert!(looks_like_card_number("5105 1051 0510 5100 and more"));
        assert!(looks_like_card_number("123456789012"), "twelve digits");
        assert!(!looks_like_card_number("12345678901"), "eleven digits");
        assert!(!looks_like_card_number("tok_2026_11_4242"));
        assert!(!looks_like_card_number("tok_live_9f8e7d"));
        assert!(!looks_like_card_number("4242a4242b4242c4242"), "letters break a run");
        assert!(!looks_like_card_number(""));
    }

    #[test]
    fn a_card_number_is_seen_through_any_separator_or_script() {
        for number in [
            "4242.4242.4242.4242",
            "4242/4242/4242/4242",
            "4242_4242_4242_4242",
            "4242,4242,4242,4242",
            "4242+4242+4242+4242",
            "4242\u{200b}4242\u{200b}4242\u{200b}4242",
            "4242\u{feff}4242\u{2060}4242\u{00ad}4242",
            "\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}",
            "\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}",
            "\u{6f4}\u{6f2}\u{6f4}\u{6f2} \u{6f4}\u{6f2}\u{6f4}\u{6f2} \u{6f4}\u{6f2}\u{6f4}\u{6f2} \u{6f4}\u{6f2}\u{6f4}\u{6f2}",
            "\u{96a}\u{968}\u{96a}\u{968}\u{96a}\u{968}\u{96a}\u{968}\u{96a}\u{968}\u{96a}\u{968}",
            "\u{1d7d2}\u{1d7d0}\u{1d7d2}\u{1d7d0}\u{1d7d2}\u{1d7d0}\u{1d7d2}\u{1d7d0}\u{1d7d2}\u{1d7d0}\u{1d7d2}\u{1d7d0}",
            "\u{2463}\u{2461}\u{2463}\u{2461}\u{2463}\u{2461}\u{2463}\u{2461}\u{2463}\u{2461}\u{2463}\u{2461}",
            "4\u{301}242 4242 4242 4242",
            "4242 \u{ff14}\u{ff12}\u{ff14}\u{ff12}.\u{664}\u{662}\u{664}\u{662}/4242",
        ] {
            assert!(looks_like_card_number(number), "{number:?} normalises to {:?}", normalise(number));
        }
    }

    #[test]
    fn normalising_keeps_letters_and_ascii_digits() {
        assert_eq!(normalise("A. Naidoo-Smith"), "ANaidooSmith");
        assert_eq!(normalise("\u{ff21}\u{664}\u{0662}_x"), "A42x");
        assert_eq!(normalise("Zo\u{eb} \u{fb01}"), "Zo\u{eb}fi", "NFKC composes and unfolds ligatures");
        for (zero, script) in DECIMAL_ZEROS.iter().zip(0..) {
            let nine = char::from_u32(zero + 9).unwrap();
            assert_eq!(ascii_digit(nine), Some('9'), "script {script}");
            assert!(nine.is_numeric(), "U+{:04X} is a digit", zero + 9);
        }
        assert_eq!(ascii_digit('a'), None);
        assert_eq!(ascii_digit('\u{0669}'), Some('9'));
        assert_eq!(ascii_digit('\u{066a}'), None, "the Arabic percent sign follows the digits");
    }

    #[test]
    fn a_card_is_good_to_the_end_of_its_month() {
        assert!(!is_expired(11, 2026, today()));
        assert!(is_expired(10, 2026, today()));
        assert!(is_expired(12, 2025, today()));
        assert!(!is_expired(1, 2027, today()));
    }

    #[test]
    fn a_good_form_parses_and_every_field_refuses_a_card_number() {
        let card = good().parse(today()).unwrap();
        assert_eq!((card.brand, card.exp_month, card.exp_year), ("Visa", 11, 2026));
        let number = "4111 1111 1111 1111";
        let fields: [fn(&mut CardForm) -> &mut String; 6] = [
            |f| &mut f.brand,
            |f| &mut f.last_four,
            |f| &mut f.exp_month,
            |f| &mut f.exp_year,
            |f| &mut f.holder_name,
            |f| &mut f.gateway_token,
        ];
        for (i, field) in fields.iter().enumerate() {
            let mut form = good();
            *field(&mut form) = number.into();
            let errors = form.parse(today()).unwrap_err();
            let messages = [
                errors.brand,
                errors.last_four,
                errors.exp_month,
                errors.exp_year,
                errors.holder_name,
                errors.gateway_token,
            ];
            assert_eq!(messages[i], Some(CARD_NUMBER_MESSAGE), "field {i}");
            form.scrub();
            assert_eq!(field(&mut form).as_str(), "", "field {i} is emptied");
        }
    }

    #[test]
    fn bad_fields_get_their_own_messages() {
        let form = CardForm { exp_month: "13".into(), exp_year: "26".into(), last_four: "42a2".into(), ..good() };
        let errors = form.parse(today()).unwrap_err();
        assert!(errors.exp_month.is_some() && errors.exp_year.is_some() && errors.last_four.is_some());
        let expired = CardForm { exp_month: "10".into(), ..good() };
        assert_eq!(expired.parse(today()).unwrap_err().exp_year, Some("This card has expired."));
        let spaced = CardForm { gateway_token: "tok 1".into(), brand: "Discover".into(), ..good() };
        let errors = spaced.parse(today()).unwrap_err();
        assert!(errors.gateway_token.is_some() && errors.brand.is_some());
    }
}
