//! The price of a service quote: products chosen from the catalog, each at a quantity,
//! each one line charged the way the product is (once-off or monthly).

use rust_decimal::Decimal;

use super::Product;
use crate::domain::ids::ProductId;
use crate::domain::pricing::PricedLine;
use crate::domain::quote::{PricedQuote, QuoteLine};
use crate::domain::states::{Catalog, QuoteKind};

/// `quote_lines.item_kind` of a product's line.
pub const ITEM_PRODUCT: &str = "product";

/// Why a service quote cannot be made. Each message is a whole sentence: one starts with
/// a product's name, which must keep its case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotQuotable {
    /// Not in the catalog, or not even a product id.
    #[error("One of the chosen products does not exist. Choose from the list.")]
    Unknown,
    /// An inactive product has no row on a customer's list, so it is named.
    #[error("{name} is no longer offered; choose another product.")]
    Retired { id: ProductId, name: String },
    #[error("Enter a quantity for at least one product.")]
    NothingChosen,
}

/// A line per chosen (product, quantity), in the order chosen, priced from `products`
/// (the chosen ids as the catalog has them, active or not). Every chosen product that
/// cannot be quoted is refused, in the same order.
pub fn lines(chosen: &[(ProductId, i32)], products: &[Product]) -> Result<Vec<QuoteLine>, Vec<NotQuotable>> {
    let mut lines = Vec::new();
    let mut refused = Vec::new();
    for (id, quantity) in chosen {
        match products.iter().find(|p| p.id == *id) {
            Some(p) if p.active => lines.push(QuoteLine {
                catalog: Catalog::Aas,
                item_kind: ITEM_PRODUCT,
                item_id: p.id.0,
                sku: p.sku.clone(),
                description: p.name.clone(),
                priced: PricedLine::new(p.billing, p.cost, p.margin_pct, *quantity),
                vm: None,
            }),
            Some(p) => refused.push(NotQuotable::Retired { id: p.id, name: p.name.clone() }),
            None => refused.push(NotQuotable::Unknown),
        }
    }
    if refused.is_empty() { Ok(lines) } else { Err(refused) }
}

/// The quote of these lines, titled after its first product; a quote needs one.
pub fn quote(lines: Vec<QuoteLine>, vat_rate_pct: Decimal) -> Result<PricedQuote, NotQuotable> {
    let title = match lines.as_slice() {
        [] => return Err(NotQuotable::NothingChosen),
        [only] => only.description.clone(),
        [first, rest @ ..] => format!("{} and {} more", first.description, rest.len()),
    };
    Ok(PricedQuote::new(QuoteKind::Service, title, None, None, lines, vat_rate_pct))
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::domain::ids::CategoryId;
    use crate::domain::pricing::Billing;

    fn product(id: i64, name: &str, billing: Billing, cost: Decimal, margin_pct: Decimal) -> Product {
        Product {
            id: ProductId(id),
            category_id: CategoryId(1),
            sku: format!("SKU-{id}"),
            name: name.into(),
            description: String::new(),
            unit: "each".into(),
            billing,
            cost,
            margin_pct,
            vm_component: None,
            active: true,
        }
    }

    fn products() -> Vec<Product> {
        vec![
            product(1, "Backup repository", Billing::Monthly, dec!(0.42), dec!(25)),
            product(2, "Onboarding", Billing::OnceOff, dec!(1750), dec!(20)),
            Product { active: false, ..product(3, "vGPU (T4)", Billing::Monthly, dec!(4000), dec!(20)) },
        ]
    }

    #[test]
    fn each_product_is_a_line_at_its_own_billing_in_the_order_chosen() {
        let chosen = [(ProductId(2), 1), (ProductId(1), 1000)];
        let lines = lines(&chosen, &products()).unwrap();
        let summary: Vec<_> = lines
            .iter()
            .map(|l| (l.item_id, l.sku.as_str(), l.description.as_str(), l.priced.billing, l.priced.amount))
            .collect();
        assert_eq!(
            summary,
            [
                (2, "SKU-2", "Onboarding", Billing::OnceOff, dec!(2100.00)),
                // 0.42 × 1.25 = 0.525 → 0.53 per unit, then × 1000
                (1, "SKU-1", "Backup repository", Billing::Monthly, dec!(530.00)),
            ]
        );
        assert!(lines.iter().all(|l| l.catalog == Catalog::Aas && l.item_kind == ITEM_PRODUCT && l.vm.is_none()));
        let quote = quote(lines, dec!(15)).unwrap();
        assert_eq!(
            (quote.kind, quote.title.as_str(), quote.term_months),
            (QuoteKind::Service, "Onboarding and 1 more", None)
        );
        assert_eq!(quote.totals.amount_due, dec!(2415.00) + dec!(609.50));
    }

    #[test]
    fn one_product_titles_the_quote_with_its_name() {
        let quote = quote(lines(&[(ProductId(1), 1)], &products()).unwrap(), dec!(15)).unwrap();
        assert_eq!(quote.title, "Backup repository");
    }

    #[test]
    fn unknown_and_retired_products_are_each_refused_in_order() {
        let chosen = [(ProductId(3), 1), (ProductId(1), 1), (ProductId(99), 2)];
        assert_eq!(
            lines(&chosen, &products()),
            Err(vec![NotQuotable::Retired { id: ProductId(3), name: "vGPU (T4)".into() }, NotQuotable::Unknown,])
        );
    }

    #[test]
    fn messages_keep_the_product_name_as_it_is() {
        let retired = NotQuotable::Retired { id: ProductId(3), name: "vGPU (T4)".into() };
        assert_eq!(retired.to_string(), "vGPU (T4) is no longer offered; choose another product.");
    }

    #[test]
    fn a_quote_needs_a_line() {
        assert_eq!(lines(&[], &products()), Ok(Vec::new()));
        assert_eq!(quote(Vec::new(), dec!(15)), Err(NotQuotable::NothingChosen));
    }
}
