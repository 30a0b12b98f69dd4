//! Money: ZAR amounts as exact decimals, one rounding rule, one display format.

use rust_decimal::{Decimal, RoundingStrategy};

/// Rounds to cents, half away from zero: the portal's one rounding rule.
pub fn round_cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// `R 12 345.67`: a space between thousands, two decimals, a minus sign before the R.
/// The only place an amount becomes text for people.
/// A quantity, rate or percentage as written by hand, without trailing zeros (`2`, `1.5`,
/// `15`): not money, which [`format_zar`] shows.
pub fn format_plain(value: Decimal) -> String {
    value.normalize().to_string()
}

pub fn format_zar(amount: Decimal) -> String {
    let rounded = round_cents(amount);
    let text = format!("{:.2}", rounded.abs());
    let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(' ');
        }
        grouped.push(digit);
    }
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() { "-" } else { "" };
    format!("{sign}R {grouped}.{cents}")
}

/// `12345.67`: two decimals, no currency or separators; money as the API writes it.
pub fn format_decimal(amount: Decimal) -> String {
    format!("{:.2}", round_cents(amount))
}

/// Parses an amount typed by a person: `1234.5`, `R 1 234.50`, and the South African
/// way with a decimal comma, `1 000,50` (spaces, including no-break and thin spaces,
/// separate thousands). A comma is read as the decimal separator only when that is
/// unambiguous: there is no point, there is one comma, and at most two digits follow
/// it; `1,500` (three digits after the comma: a thousands separator or a typo?) is
/// refused with a message saying so. At most two decimals; the result is exact.
pub fn parse_amount(input: &str) -> Result<Decimal, String> {
    let cleaned: String = input
        .trim()
        .trim_start_matches(['R', 'r'])
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '\u{a0}' | '\u{202f}' | '\u{2009}'))
        .collect();
    if cleaned.is_empty() {
        return Err("enter an amount".into());
    }
    if !cleaned.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-')) {
        return Err("use digits and a decimal point or comma only, e.g. 1 500.00 or 1 500,00".into());
    }
    let normalised = match (cleaned.matches(',').count(), cleaned.contains('.')) {
        (0, _) => cleaned,
        (1, false) if cleaned.rsplit(',').next().is_some_and(|cents| cents.len() <= 2) => cleaned.replace(',', "."),
        _ => {
            return Err("a comma is read as the decimal separator only with at most two digits after it; \
                        separate thousands with spaces, e.g. 1 500,00 or 1 500.00"
                .into());
        }
    };
    let amount: Decimal = normalised.parse().map_err(|_| "not a valid amount, e.g. 1 500.00".to_owned())?;
    if amount.scale() > 2 && amount.normalize().scale() > 2 {
        return Err("at most two decimals (cents)".into());
    }
    Ok(amount.round_dp(2))
}

/// A wallet's balance stays below this (`NUMERIC(14,2)`: twelve digits before the point).
pub const WALLET_LIMIT: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0);

/// The largest single top-up accepted: a typo guard, not a business limit.
pub const MAX_TOP_UP: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 2);

/// A top-up amount: positive, at most two decimals, at most [`MAX_TOP_UP`].
pub fn parse_top_up(input: &str) -> Result<Decimal, String> {
    let amount = parse_amount(input)?;
    if amount <= Decimal::ZERO {
        return Err("must be more than zero".into());
    }
    if amount > MAX_TOP_UP {
        return Err(format!("at most {} in one top-up", format_zar(MAX_TOP_UP)));
    }
    Ok(amount)
}

/// The largest low-balance threshold accepted (what `NUMERIC(14,2)` holds, rounded down).
pub const MAX_THRESHOLD: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// A low-balance threshold: zero or more, at most two decimals; empty means zero.
pub fn parse_threshold(input: &str) -> Result<Decimal, String> {
    if input.trim().is_empty() {
        return Ok(Decimal::ZERO);
    }
    let amount = parse_amount(input)?;
    if amount < Decimal::ZERO {
        return Err("must not be negative".into());
    }
    if amount > MAX_THRESHOLD {
        return Err(format!("at most {}", format_zar(MAX_THRESHOLD)));
    }
    Ok(amount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(round_cents(dec!(1.005)), dec!(1.01));
        assert_eq!(round_cents(dec!(1.004)), dec!(1.00));
        assert_eq!(round_cents(dec!(-1.005)), dec!(-1.01));
        assert_eq!(round_cents(dec!(2.675)), dec!(2.68));
    }

    #[test]
    fn formats_with_space_thousands() {
        assert_eq!(format_zar(dec!(12345.67)), "R 12 345.67");
        assert_eq!(format_zar(dec!(0)), "R 0.00");
        assert_eq!(format_zar(dec!(999.5)), "R 999.50");
        assert_eq!(format_zar(dec!(1000)), "R 1 000.00");
        assert_eq!(format_zar(dec!(1234567.891)), "R 1 234 567.89");
        assert_eq!(format_zar(dec!(-50.1)), "-R 50.10");
        assert_eq!(format_zar(dec!(-0.001)), "R 0.00");
    }

    #[test]
    fn parses_typed_amounts() {
        assert_eq!(parse_amount(" 1 500.5 "), Ok(dec!(1500.50)));
        assert_eq!(parse_amount("R250"), Ok(dec!(250)));
        assert_eq!(parse_amount("1.230"), Ok(dec!(1.23)));
        assert!(parse_amount("").is_err());
        assert!(parse_amount("1,500").unwrap_err().contains("spaces"), "three digits after a comma: ambiguous");
        assert!(parse_amount("1.234").is_err());
        assert!(parse_amount("abc").is_err());
        assert!(parse_amount("1e5").is_err());
    }

    #[test]
    fn parses_south_african_decimal_commas() {
        assert_eq!(parse_amount("1 000,50"), Ok(dec!(1000.50)));
        assert_eq!(parse_amount("R 1 000,5"), Ok(dec!(1000.50)));
        assert_eq!(parse_amount("1\u{a0}000,50"), Ok(dec!(1000.50)), "a no-break space between thousands");
        assert_eq!(parse_amount("1\u{202f}234\u{202f}567,89"), Ok(dec!(1234567.89)), "narrow no-break spaces");
        assert_eq!(parse_amount("250,"), Ok(dec!(250)));
        assert_eq!(parse_amount(",5"), Ok(dec!(0.50)));
        assert_eq!(parse_amount("1 000.50"), Ok(dec!(1000.50)), "a point still works");
        assert!(parse_amount("1,000.50").is_err(), "a comma and a point: which is which?");
        assert!(parse_amount("1,000,000").is_err());
        assert!(parse_amount("1,234").is_err(), "three digits after the comma");
        assert!(parse_amount("1,2,3").is_err());
        assert!(parse_amount("1,234,5").is_err());
        assert_eq!(parse_top_up("1 500,25"), Ok(dec!(1500.25)));
        assert_eq!(parse_threshold("0,5"), Ok(dec!(0.50)));
    }

    #[test]
    fn the_wallet_limit_is_a_trillion_rand() {
        assert_eq!(WALLET_LIMIT, Decimal::from(1_000_000_000_000i64));
    }

    #[test]
    fn top_ups_are_positive_and_bounded() {
        assert_eq!(parse_top_up("10000000"), Ok(dec!(10000000)));
        assert_eq!(parse_top_up("0.01"), Ok(dec!(0.01)));
        assert!(parse_top_up("0").is_err());
        assert!(parse_top_up("-5").is_err());
        assert!(parse_top_up("10000000.01").unwrap_err().contains("R 10 000 000.00"));
        assert!(parse_top_up("100000000000000000000").is_err());
    }
}
