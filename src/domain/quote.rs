//! A quote as a builder prices it, before it is stored: lines that each copy what they
//! were priced from (so later catalog changes never change an issued quote), and the
//! totals. Each kind makes one: [`super::aas::vm`], [`super::aas::service`] and
//! [`super::network`]; `db::main::quotes::create` stores it as it is.

use rust_decimal::Decimal;

use super::ids::TemplateId;
use super::pricing::{PricedLine, Totals};
use super::states::{Catalog, QuoteKind};

/// One line of a quote: the catalog row it was priced from and its price then.
#[derive(Debug, Clone, PartialEq)]
pub struct QuoteLine {
    pub catalog: Catalog,
    /// What kind of row `item_id` is in its catalog (each kind's module names its own).
    pub item_kind: &'static str,
    /// The id of the row the line was priced from.
    pub item_id: i64,
    pub sku: String,
    pub description: String,
    pub priced: PricedLine,
    /// The VMs the line provisions once the quote is accepted (a VM quote's first line).
    pub vm: Option<VmSpec>,
}

/// The VM configuration a quote line provisions (`vm_quotes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmSpec {
    /// The template, or none for a custom size.
    pub template_id: Option<TemplateId>,
    pub name: String,
    pub vcpu: i32,
    pub ram_gb: i32,
    pub disk_gb: i32,
    pub disk_type: String,
    pub os: String,
    pub count: i32,
}

/// Where a network link goes, as typed (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub address: String,
    pub suburb: String,
}

/// A priced quote, ready to be stored for an organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedQuote {
    pub kind: QuoteKind,
    pub title: String,
    pub term_months: Option<i32>,
    pub site: Option<Site>,
    pub lines: Vec<QuoteLine>,
    pub vat_rate: Decimal,
    pub totals: Totals,
}

impl PricedQuote {
    /// The quote of these lines, its totals at `vat_rate_pct` by the rules of
    /// [`Totals::of`].
    pub fn new(
        kind: QuoteKind,
        title: String,
        term_months: Option<i32>,
        site: Option<Site>,
        lines: Vec<QuoteLine>,
        vat_rate_pct: Decimal,
    ) -> PricedQuote {
        let priced: Vec<PricedLine> = lines.iter().map(|line| line.priced.clone()).collect();
        let totals = Totals::of(&priced, vat_rate_pct);
        PricedQuote { kind, title, term_months, site, lines, vat_rate: vat_rate_pct, totals }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::domain::pricing::Billing;

    fn line(billing: Billing, cost: Decimal, quantity: i32) -> QuoteLine {
        QuoteLine {
            catalog: Catalog::Aas,
            item_kind: "product",
            item_id: 1,
            sku: "SKU".into(),
            description: "Thing".into(),
            priced: PricedLine::new(billing, cost, dec!(0), quantity),
            vm: None,
        }
    }

    #[test]
    fn totals_are_those_of_the_lines() {
        let lines = vec![line(Billing::OnceOff, dec!(100), 1), line(Billing::Monthly, dec!(10), 3)];
        let quote = PricedQuote::new(QuoteKind::Service, "Thing".into(), Some(12), None, lines, dec!(15));
        assert_eq!(quote.totals.once_off_total, dec!(115.00));
        assert_eq!(quote.totals.monthly_total, dec!(34.50));
        assert_eq!(quote.totals.amount_due, dec!(149.50));
        assert_eq!(quote.vat_rate, dec!(15));
    }
}
