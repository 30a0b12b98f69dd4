//! Tax documents as issued (VAT Act s20 tax invoices, s21 credit notes) and monthly
//! statements: what the HTML pages and the PDFs show, read from the stored document,
//! never re-computed from data that may have changed since.
//!
//! Amounts: a line's `unit_price` and `amount` exclude VAT, its `vat` is the VAT on it;
//! the lines' amounts add up to `subtotal`, their VAT to `vat`, and `subtotal + vat =
//! total`, which is the ledger amount the document stands for. Credit notes hold
//! positive amounts too: their kind says they reverse.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::money::{format_zar, round_cents};
use super::states::InvoiceKind;

/// Over this total (VAT included) a tax invoice must be a full one: the recipient's
/// name, address and VAT number (if registered). At or below it, it may be abridged.
pub const FULL_INVOICE_ABOVE: Decimal = Decimal::from_parts(5000, 0, 0, false, 0);

/// A supplier or recipient as they were when the document was issued.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Party {
    pub name: String,
    /// Several lines, as typed.
    pub address: String,
    pub vat_number: Option<String>,
    pub registration_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLine {
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub amount: Decimal,
    pub vat: Decimal,
}

/// The invoice a credit note corrects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub number: String,
    pub issued_at: DateTime<Utc>,
}

/// A tax invoice or credit note, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxDocument {
    pub kind: InvoiceKind,
    /// `INV-000001`: one gap-free series for both kinds.
    pub number: String,
    pub issued_at: DateTime<Utc>,
    /// Issued after the debit it stands for (documents backfilled for debits made
    /// before the portal issued them).
    pub issued_late: bool,
    pub supplier: Party,
    pub recipient: Party,
    /// VAT in percent, e.g. 15.
    pub vat_rate: Decimal,
    pub lines: Vec<DocumentLine>,
    pub subtotal: Decimal,
    pub vat: Decimal,
    pub total: Decimal,
    /// Credit notes: the invoice corrected, and why.
    pub original: Option<Original>,
    pub reason: Option<String>,
    /// What the debit or refund was for: the quote number, or the billing month.
    pub reference: String,
}

impl TaxDocument {
    /// "Tax Invoice" or "Credit Note": the words the Act wants prominent.
    pub fn title(&self) -> &'static str {
        match self.kind {
            InvoiceKind::TaxInvoice => "Tax Invoice",
            InvoiceKind::CreditNote => "Credit Note",
        }
    }

    /// A tax invoice of R 5 000 or less may leave out the recipient's details (s20(5)).
    pub fn abridged(&self) -> bool {
        self.kind == InvoiceKind::TaxInvoice && self.total <= FULL_INVOICE_ABOVE
    }
}

/// One ledger row of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRow {
    pub at: DateTime<Utc>,
    pub description: String,
    /// The tax invoice or credit note issued for the row, if any.
    pub document: Option<String>,
    /// Signed: money in positive, money out negative.
    pub amount: Decimal,
    pub balance_after: Decimal,
}

impl StatementRow {
    /// The amount as a statement prints it, in its "In" or its "Out" column (the other
    /// left empty), positive either way.
    pub fn money_in_out(&self) -> (String, String) {
        if self.amount > Decimal::ZERO {
            (format_zar(self.amount), String::new())
        } else if self.amount < Decimal::ZERO {
            (String::new(), format_zar(-self.amount))
        } else {
            (String::new(), String::new())
        }
    }
}

/// A month of an organisation's wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub supplier: Party,
    pub recipient: Party,
    /// The first day of the month.
    pub month: NaiveDate,
    pub opening_balance: Decimal,
    pub rows: Vec<StatementRow>,
    pub closing_balance: Decimal,
    /// What the organisation's active services cost each month, VAT included.
    pub committed_monthly: Decimal,
    pub generated_at: DateTime<Utc>,
}

/// A quote line as a tax invoice charges it at acceptance: once-off lines in full, monthly
/// lines for the first month.
pub struct ChargedLine<'a> {
    pub description: &'a str,
    pub monthly: bool,
    pub quantity: i32,
    pub unit_price: Decimal,
    pub amount: Decimal,
}

/// The tax invoice's lines for an acceptance: the quote's lines with the quote's VAT
/// (`total_vat`) spread over them to the cent.
pub fn acceptance_lines(lines: &[ChargedLine<'_>], total_vat: Decimal) -> Vec<DocumentLine> {
    let amounts: Vec<Decimal> = lines.iter().map(|l| l.amount).collect();
    lines
        .iter()
        .zip(spread_vat(&amounts, total_vat))
        .map(|(line, vat)| DocumentLine {
            description: if line.monthly {
                format!("{} (monthly: first month)", line.description)
            } else {
                line.description.to_owned()
            },
            quantity: Decimal::from(line.quantity),
            unit_price: line.unit_price,
            amount: line.amount,
            vat,
        })
        .collect()
}

/// A month of a service as the billing run's tax invoice charges it (VAT included).
pub struct ChargedMonth<'a> {
    pub description: &'a str,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub amount: Decimal,
}

/// The billing run's invoice lines: one per month charged, the VAT inside each amount at
/// `rate_percent`, so the lines add up to the debit exactly.
pub fn monthly_lines(months: &[ChargedMonth<'_>], rate_percent: Decimal) -> Vec<DocumentLine> {
    months
        .iter()
        .map(|m| {
            let vat = vat_inside(m.amount, rate_percent);
            DocumentLine {
                description: format!(
                    "{}: {} to {}",
                    m.description,
                    m.start.format("%-d %b %Y"),
                    m.end.format("%-d %b %Y")
                ),
                quantity: Decimal::ONE,
                unit_price: m.amount - vat,
                amount: m.amount - vat,
                vat,
            }
        })
        .collect()
}

/// A credit note's one line for a refund of `refund` (VAT included) at `rate_percent`.
pub fn refund_line(description: String, refund: Decimal, rate_percent: Decimal) -> DocumentLine {
    let vat = vat_inside(refund, rate_percent);
    DocumentLine { description, quantity: Decimal::ONE, unit_price: refund - vat, amount: refund - vat, vat }
}

/// The VAT inside `gross` (an amount that includes VAT at `rate_percent`), in cents.
pub fn vat_inside(gross: Decimal, rate_percent: Decimal) -> Decimal {
    round_cents(gross * rate_percent / (Decimal::ONE_HUNDRED + rate_percent))
}

/// Spreads `total_vat` over lines of `amounts` (VAT excluded) in proportion, each in
/// cents, so that the lines add up to `total_vat` exactly: each line gets its own
/// rounded VAT, and the cents the rounding lost or gained go to the largest lines.
pub fn spread_vat(amounts: &[Decimal], total_vat: Decimal) -> Vec<Decimal> {
    let sum: Decimal = amounts.iter().sum();
    if sum.is_zero() {
        let mut vats = vec![Decimal::ZERO; amounts.len()];
        if let Some(first) = vats.first_mut() {
            *first = total_vat;
        }
        return vats;
    }
    let mut vats: Vec<Decimal> = amounts.iter().map(|a| round_cents(total_vat * a / sum)).collect();
    let mut left = total_vat - vats.iter().sum::<Decimal>();
    let cent = Decimal::new(1, 2);
    let mut order: Vec<usize> = (0..amounts.len()).collect();
    order.sort_by(|a, b| amounts[*b].abs().cmp(&amounts[*a].abs()));
    for i in order.iter().cycle().take(amounts.len() * 100) {
        if left.is_zero() {
            break;
        }
        let step = if left.is_sign_positive() { cent } else { -cent };
        vats[*i] += step;
        left -= step;
    }
    vats
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn a_statement_row_prints_its_amount_in_or_out() {
        let row = |amount| StatementRow {
            at: DateTime::UNIX_EPOCH,
            description: String::new(),
            document: None,
            amount,
            balance_after: dec!(0),
        };
        assert_eq!(row(dec!(1000.5)).money_in_out(), ("R 1 000.50".into(), String::new()));
        assert_eq!(row(dec!(-875.5)).money_in_out(), (String::new(), "R 875.50".into()));
    }

    #[test]
    fn vat_inside_a_gross_amount() {
        assert_eq!(vat_inside(dec!(115.00), dec!(15)), dec!(15.00));
        assert_eq!(vat_inside(dec!(100.00), dec!(15)), dec!(13.04));
        assert_eq!(vat_inside(dec!(0), dec!(15)), dec!(0));
    }

    #[test]
    fn monthly_lines_add_up_to_what_was_charged() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
        let months = [
            ChargedMonth { description: "Backup", start: day(31), end: day(31), amount: dec!(115.00) },
            ChargedMonth { description: "VM", start: day(1), end: day(31), amount: dec!(100.01) },
        ];
        let lines = monthly_lines(&months, dec!(15));
        assert_eq!(lines[0].description, "Backup: 31 Jan 2026 to 31 Jan 2026");
        assert_eq!((lines[0].amount, lines[0].vat), (dec!(100.00), dec!(15.00)));
        assert_eq!(lines.iter().map(|l| l.amount + l.vat).sum::<Decimal>(), dec!(215.01));
    }

    #[test]
    fn spread_vat_adds_up_exactly() {
        let amounts = [dec!(33.33), dec!(33.33), dec!(33.34)];
        let vats = spread_vat(&amounts, dec!(15.00));
        assert_eq!(vats.iter().sum::<Decimal>(), dec!(15.00));
        assert!(vats.iter().all(|v| (*v - dec!(5.00)).abs() <= dec!(0.01)), "{vats:?}");
        // Rounding that gains: three lines of 0.10 at 15 % is 0.045 in total → 0.05.
        let vats = spread_vat(&[dec!(0.10), dec!(0.10), dec!(0.10)], dec!(0.05));
        assert_eq!(vats.iter().sum::<Decimal>(), dec!(0.05));
        assert_eq!(spread_vat(&[dec!(0), dec!(0)], dec!(0)), vec![dec!(0), dec!(0)]);
        assert_eq!(spread_vat(&[], dec!(0)), Vec::<Decimal>::new());
    }

    #[test]
    fn abridged_only_for_small_tax_invoices() {
        let mut doc = TaxDocument {
            kind: InvoiceKind::TaxInvoice,
            number: "INV-000001".into(),
            issued_at: Utc::now(),
            issued_late: false,
            supplier: Party::default(),
            recipient: Party::default(),
            vat_rate: dec!(15),
            lines: Vec::new(),
            subtotal: dec!(4347.83),
            vat: dec!(652.17),
            total: dec!(5000.00),
            original: None,
            reason: None,
            reference: "Q-2026-000001".into(),
        };
        assert!(doc.abridged());
        assert_eq!(doc.title(), "Tax Invoice");
        doc.total = dec!(5000.01);
        assert!(!doc.abridged());
        doc.kind = InvoiceKind::CreditNote;
        doc.total = dec!(10);
        assert!(!doc.abridged());
        assert_eq!(doc.title(), "Credit Note");
    }
}
