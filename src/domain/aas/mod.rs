//! The AAS catalog's priced rows as pricing reads them (`db::aas` maps its rows into
//! these), and the two kinds of quote made from them: [`vm`] and [`service`].

pub mod service;
pub mod vm;

use rust_decimal::Decimal;

use super::ids::{CategoryId, ProductId, TemplateId};
use super::pricing::{Billing, sell_price};
use super::states::VmComponent;

/// A product: sold on its own in a service quote, or as a part of a custom VM size.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: ProductId,
    pub category_id: CategoryId,
    pub sku: String,
    pub name: String,
    pub description: String,
    /// What one of it is ("per vCPU", "per GB"), for the catalog pages.
    pub unit: String,
    pub billing: Billing,
    pub cost: Decimal,
    pub margin_pct: Decimal,
    /// The part of a custom VM size it prices, if any.
    pub vm_component: Option<VmComponent>,
    pub active: bool,
}

impl Product {
    /// The sell price of one unit, excl. VAT.
    pub fn unit_price(&self) -> Decimal {
        sell_price(self.cost, self.margin_pct)
    }
}

/// A VM template (`terraform_vm_config`): a fixed size with a monthly cost per VM and a
/// once-off setup cost (zero for most).
#[derive(Debug, Clone, PartialEq)]
pub struct VmTemplate {
    pub id: TemplateId,
    pub name: String,
    pub description: String,
    pub vcpu: i32,
    pub ram_gb: i32,
    pub disk_gb: i32,
    pub disk_type: String,
    pub os: String,
    pub os_family: String,
    pub cost: Decimal,
    pub setup_cost: Decimal,
    pub margin_pct: Decimal,
}

impl VmTemplate {
    /// The sell price of one VM a month, excl. VAT.
    pub fn monthly_price(&self) -> Decimal {
        sell_price(self.cost, self.margin_pct)
    }

    /// The once-off sell price of setting one VM up, excl. VAT; none when there is no
    /// setup cost.
    pub fn setup_price(&self) -> Option<Decimal> {
        (!self.setup_cost.is_zero()).then(|| sell_price(self.setup_cost, self.margin_pct))
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn template(cost: Decimal, setup_cost: Decimal) -> VmTemplate {
        VmTemplate {
            id: TemplateId(1),
            name: "lin-small".into(),
            description: String::new(),
            vcpu: 2,
            ram_gb: 4,
            disk_gb: 50,
            disk_type: "ssd".into(),
            os: "Ubuntu 24.04".into(),
            os_family: "linux".into(),
            cost,
            setup_cost,
            margin_pct: dec!(25),
        }
    }

    #[test]
    fn a_template_shows_its_monthly_price_and_a_setup_price_only_when_it_has_one() {
        // 0.42 × 1.25 = 0.525: half away from zero
        assert_eq!(template(dec!(0.42), dec!(0)).monthly_price(), dec!(0.53));
        assert_eq!(template(dec!(400), dec!(0)).setup_price(), None);
        assert_eq!(template(dec!(400), dec!(100)).setup_price(), Some(dec!(125.00)));
    }

    #[test]
    fn a_product_shows_the_sell_price_of_one_unit() {
        let product = Product {
            id: ProductId(1),
            category_id: CategoryId(1),
            sku: "SEC-EDR".into(),
            name: "Endpoint protection (EDR)".into(),
            description: String::new(),
            unit: "per device".into(),
            billing: Billing::Monthly,
            cost: dec!(62),
            margin_pct: dec!(30),
            vm_component: None,
            active: true,
        };
        assert_eq!(product.unit_price(), dec!(80.60));
    }
}
