//! Pricing (DESIGN.md §3): sell price per unit from cost and margin, line amounts,
//! once-off and monthly subtotals, VAT on each subtotal, and the amount due on
//! acceptance. Every rounding goes through [`round_cents`].

use rust_decimal::Decimal;

use super::money::{format_zar, round_cents};
/// Every price is charged once-off or monthly; the enum lives with the other stored words.
pub use super::states::Billing;

/// The most lines one quote may have: far more than any real order (a service quote has
/// a line per product), and a bound on the work and storage one form can ask for.
pub const MAX_QUOTE_LINES: usize = 100;

/// The most a quote may come to (the amount due, VAT included): R 100 000 000. Far above
/// any real order and far below what the quote columns (`NUMERIC(14,2)`) hold, so no
/// subtotal, total or line amount can overflow them.
pub const MAX_QUOTE_TOTAL: Decimal = Decimal::from_parts(100_000_000, 0, 0, false, 0);

/// Why a quote is too large to make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteTooLarge {
    #[error("a quote has at most {MAX_QUOTE_LINES} lines: split the order into several quotes")]
    Lines,
    #[error(
        "this quote would come to {}, and a quote may come to at most {}: lower the quantities or split the order",
        format_zar(*.0),
        format_zar(MAX_QUOTE_TOTAL)
    )]
    Total(Decimal),
}

/// A quote of `lines` lines is not too long to make.
pub fn check_line_count(lines: usize) -> Result<(), QuoteTooLarge> {
    if lines > MAX_QUOTE_LINES { Err(QuoteTooLarge::Lines) } else { Ok(()) }
}

/// Sell price of one unit: cost × (1 + margin% / 100), rounded half away from zero.
pub fn sell_price(cost: Decimal, margin_pct: Decimal) -> Decimal {
    round_cents(cost * (Decimal::ONE + margin_pct / Decimal::ONE_HUNDRED))
}

/// One priced line: what a quote line snapshots.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedLine {
    pub billing: Billing,
    pub unit_cost: Decimal,
    pub margin_pct: Decimal,
    pub unit_price: Decimal,
    pub quantity: i32,
    pub amount: Decimal,
}

impl PricedLine {
    pub fn new(billing: Billing, unit_cost: Decimal, margin_pct: Decimal, quantity: i32) -> PricedLine {
        let unit_price = sell_price(unit_cost, margin_pct);
        PricedLine {
            billing,
            unit_cost,
            margin_pct,
            unit_price,
            quantity,
            amount: unit_price * Decimal::from(quantity),
        }
    }
}

/// The portal's one definition of a contract's value: the once-off charges plus every
/// month of the term. Pages show it excl. and incl. VAT, each labelled; the network
/// comparison ranks providers on the excl. VAT figure.
pub fn contract_value(once_off: Decimal, monthly: Decimal, term_months: i32) -> Decimal {
    once_off + monthly * Decimal::from(term_months)
}

/// A contract's value both ways (see [`contract_value`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractValue {
    pub excl_vat: Decimal,
    pub incl_vat: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub once_off_subtotal: Decimal,
    pub monthly_subtotal: Decimal,
    pub once_off_vat: Decimal,
    pub monthly_vat: Decimal,
    pub once_off_total: Decimal,
    pub monthly_total: Decimal,
    /// Once-off total + the first month's recurring total, VAT included.
    pub amount_due: Decimal,
}

impl Totals {
    /// VAT is computed on each subtotal and rounded once per subtotal.
    pub fn of(lines: &[PricedLine], vat_rate_pct: Decimal) -> Totals {
        let sum = |billing| lines.iter().filter(|l| l.billing == billing).map(|l| l.amount).sum::<Decimal>();
        let once_off_subtotal = sum(Billing::OnceOff);
        let monthly_subtotal = sum(Billing::Monthly);
        let vat = |amount: Decimal| round_cents(amount * vat_rate_pct / Decimal::ONE_HUNDRED);
        let once_off_vat = vat(once_off_subtotal);
        let monthly_vat = vat(monthly_subtotal);
        let once_off_total = once_off_subtotal + once_off_vat;
        let monthly_total = monthly_subtotal + monthly_vat;
        Totals {
            once_off_subtotal,
            monthly_subtotal,
            once_off_vat,
            monthly_vat,
            once_off_total,
            monthly_total,
            amount_due: once_off_total + monthly_total,
        }
    }

    /// The quote comes to at most [`MAX_QUOTE_TOTAL`].
    pub fn check_total(&self) -> Result<(), QuoteTooLarge> {
        if self.amount_due > MAX_QUOTE_TOTAL { Err(QuoteTooLarge::Total(self.amount_due)) } else { Ok(()) }
    }

    /// What the whole contract costs over `term_months`, excl. and incl. VAT.
    pub fn contract_value(&self, term_months: i32) -> ContractValue {
        ContractValue {
            excl_vat: contract_value(self.once_off_subtotal, self.monthly_subtotal, term_months),
            incl_vat: contract_value(self.once_off_total, self.monthly_total, term_months),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn sell_price_rounds_half_away_from_zero_per_unit() {
        assert_eq!(sell_price(dec!(100), dec!(25)), dec!(125.00));
        // 0.42 × 1.25 = 0.525 exactly: half away from zero gives 0.53 (banker's would give 0.52)
        assert_eq!(sell_price(dec!(0.42), dec!(25)), dec!(0.53));
        // 33.3333 % on 0.35 = 0.466666… → 0.47
        assert_eq!(sell_price(dec!(0.35), dec!(33.3333)), dec!(0.47));
        assert_eq!(sell_price(dec!(1.01), dec!(-50)), dec!(0.51), "0.505 rounds up");
    }

    #[test]
    fn zero_margin_and_zero_cost() {
        assert_eq!(sell_price(dec!(1234.56), dec!(0)), dec!(1234.56));
        assert_eq!(sell_price(dec!(0), dec!(40)), dec!(0));
    }

    #[test]
    fn line_amount_is_the_rounded_unit_price_times_quantity() {
        let line = PricedLine::new(Billing::Monthly, dec!(0.42), dec!(25), 1000);
        assert_eq!(line.unit_price, dec!(0.53));
        assert_eq!(line.amount, dec!(530.00), "not round(0.525 × 1000) = 525.00");
    }

    #[test]
    fn vat_is_rounded_once_per_subtotal_and_due_adds_the_first_month() {
        let lines = [
            PricedLine::new(Billing::OnceOff, dec!(0.03), dec!(0), 1),
            PricedLine::new(Billing::OnceOff, dec!(0.03), dec!(0), 1),
            PricedLine::new(Billing::Monthly, dec!(99.99), dec!(10), 3),
        ];
        let t = Totals::of(&lines, dec!(15));
        assert_eq!(t.once_off_subtotal, dec!(0.06));
        // per-line VAT would be 0.00 + 0.00; on the subtotal it is 0.009 → 0.01
        assert_eq!(t.once_off_vat, dec!(0.01));
        assert_eq!(lines[2].unit_price, dec!(109.99)); // 109.989
        assert_eq!(t.monthly_subtotal, dec!(329.97));
        assert_eq!(t.monthly_vat, dec!(49.50)); // 49.4955
        assert_eq!(t.once_off_total, dec!(0.07));
        assert_eq!(t.monthly_total, dec!(379.47));
        assert_eq!(t.amount_due, dec!(379.54));
        assert_eq!(t.contract_value(12).incl_vat, dec!(0.07) + dec!(379.47) * dec!(12));
        assert_eq!(t.contract_value(12).excl_vat, t.once_off_subtotal + t.monthly_subtotal * dec!(12));
    }

    #[test]
    fn large_counts_stay_exact() {
        let line = PricedLine::new(Billing::Monthly, dec!(12345.67), dec!(37.5), 100_000);
        assert_eq!(line.unit_price, dec!(16975.30)); // 16975.29625
        assert_eq!(line.amount, dec!(1697530000.00));
        let t = Totals::of(&[line], dec!(15));
        assert_eq!(t.monthly_vat, dec!(254629500.00));
        assert_eq!(t.amount_due, dec!(1952159500.00));
    }

    #[test]
    fn an_empty_quote_is_all_zero() {
        assert_eq!(Totals::of(&[], dec!(15)), Totals::default());
    }

    #[test]
    fn a_quote_is_bounded_in_lines_and_total() {
        let line = |quantity| PricedLine::new(Billing::Monthly, dec!(1000), dec!(0), quantity);
        assert!(check_line_count(MAX_QUOTE_LINES).is_ok());
        assert_eq!(check_line_count(MAX_QUOTE_LINES + 1), Err(QuoteTooLarge::Lines));
        // 86 956.52 units of R 1 000 with 15% VAT is just under R 100 000 000.
        assert!(Totals::of(&[line(86_956)], dec!(15)).check_total().is_ok());
        let too_much = Totals::of(&[line(86_957)], dec!(15)).check_total().unwrap_err();
        assert_eq!(too_much, QuoteTooLarge::Total(dec!(100000550.00)));
        assert!(too_much.to_string().contains("R 100 000 550.00"), "{too_much}");
        assert!(too_much.to_string().contains("at most R 100 000 000.00"), "{too_much}");
    }
}
