//! Saved card references: what a card form may hold, parsed (parse, don't validate).
//! The portal keeps only a gateway token and what identifies the card to a person
//! (brand, last four, expiry, holder): a full card number must never reach it, so any
//! run of 12 to 19 digits in any field (spaces and dashes ignored) is refused.

use chrono::{Datelike, NaiveDate};

pub const BRANDS: [&str; 4] = ["Visa", "Mastercard", "American Express", "Diners Club"];
const MAX_HOLDER_CHARS: usize = 100;
const MAX_TOKEN_CHARS: usize = 200;

/// True when `text` holds a run of at least 12 digits, however spaced or dashed: the
/// shape of a card number (12 to 19 digits; a longer run contains one).
pub fn looks_like_card_number(text: &str) -> bool {
    let mut run = 0;
    for c in text.chars() {
        if c.is_ascii_digit() {
            run += 1;
            if run >= 12 {
                return true;
            }
        } else if c != ' ' && c != '-' {
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
        e.holder_name = card_number(holder).or(if holder.is_empty() {
            Some("Enter the name on the card.")
        } else if holder.chars().count() > MAX_HOLDER_CHARS {
            Some("Use at most 100 characters.")
        } else {
            None
        });
        let token = self.gateway_token.trim();
        e.gateway_token = card_number(token).or(if token.is_empty() {
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
        assert!(!looks_like_card_number("4242/4242/4242/4242"), "other separators break the run");
        assert!(!looks_like_card_number("tok_2026_11_4242"));
        assert!(!looks_like_card_number(""));
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
