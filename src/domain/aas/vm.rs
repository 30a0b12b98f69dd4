//! The price of a VM quote: a template, or a custom size priced from the component
//! products, times how many VMs, over a term. A template gives one monthly line (and a
//! once-off setup line where it has a setup cost); a custom size gives one monthly line
//! per component (vCPUs, GB of RAM, GB of disk, the OS licence), each for all the VMs.

use rust_decimal::Decimal;

use super::{Product, VmTemplate};
use crate::domain::pricing::{Billing, PricedLine};
use crate::domain::quote::{PricedQuote, QuoteLine, VmSpec};
use crate::domain::states::{Catalog, QuoteKind, VmComponent};

/// `quote_lines.item_kind` of a template's lines and of a custom size's component lines.
pub const ITEM_TEMPLATE: &str = "vm_template";
pub const ITEM_COMPONENT: &str = "vm_component";

/// The disk of a custom size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskType {
    Ssd,
    Nvme,
    Hdd,
}

impl DiskType {
    pub const ALL: [DiskType; 3] = [DiskType::Ssd, DiskType::Nvme, DiskType::Hdd];

    pub fn slug(self) -> &'static str {
        match self {
            DiskType::Ssd => "ssd",
            DiskType::Nvme => "nvme",
            DiskType::Hdd => "hdd",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DiskType::Ssd => "SSD",
            DiskType::Nvme => "NVMe",
            DiskType::Hdd => "HDD",
        }
    }

    pub fn from_slug(slug: &str) -> Option<DiskType> {
        DiskType::ALL.into_iter().find(|disk| disk.slug() == slug)
    }

    /// The product a GB of this disk is priced from.
    pub fn component(self) -> VmComponent {
        match self {
            DiskType::Ssd => VmComponent::DiskGbSsd,
            DiskType::Nvme => VmComponent::DiskGbNvme,
            DiskType::Hdd => VmComponent::DiskGbHdd,
        }
    }
}

/// The operating system of a custom size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    Windows,
}

impl Os {
    pub const ALL: [Os; 2] = [Os::Linux, Os::Windows];

    pub fn slug(self) -> &'static str {
        match self {
            Os::Linux => "linux",
            Os::Windows => "windows",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Os::Linux => "Linux",
            Os::Windows => "Windows Server",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Os> {
        Os::ALL.into_iter().find(|os| os.slug() == slug)
    }

    /// The product this OS's licence is priced from.
    pub fn component(self) -> VmComponent {
        match self {
            Os::Linux => VmComponent::OsLinux,
            Os::Windows => VmComponent::OsWindows,
        }
    }
}

/// Why a custom size cannot be priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoPrice {
    #[error("this custom size cannot be priced right now; choose a template")]
    ComponentNotOnSale(VmComponent),
}

/// A custom size with the component products it is priced from.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomSize {
    pub vcpu: i32,
    pub ram_gb: i32,
    pub disk_gb: i32,
    pub disk_type: DiskType,
    pub os: Os,
    /// vCPU, GB of RAM, GB of this disk type, this OS's licence: the order of the lines.
    parts: Box<[Product; 4]>,
}

impl CustomSize {
    /// The size, priced from the active products among `components` that price each of
    /// its parts; refused when one of those is not on sale.
    pub fn new(
        vcpu: i32,
        ram_gb: i32,
        disk_gb: i32,
        disk_type: DiskType,
        os: Os,
        components: &[Product],
    ) -> Result<CustomSize, NoPrice> {
        let part = |component: VmComponent| {
            components
                .iter()
                .find(|p| p.active && p.vm_component == Some(component))
                .cloned()
                .ok_or(NoPrice::ComponentNotOnSale(component))
        };
        let parts =
            [part(VmComponent::Vcpu)?, part(VmComponent::RamGb)?, part(disk_type.component())?, part(os.component())?];
        Ok(CustomSize { vcpu, ram_gb, disk_gb, disk_type, os, parts: Box::new(parts) })
    }

    /// e.g. `custom-4vcpu-8gb-100gb-nvme`.
    fn name(&self) -> String {
        format!("custom-{}vcpu-{}gb-{}gb-{}", self.vcpu, self.ram_gb, self.disk_gb, self.disk_type.slug())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Size {
    Template(VmTemplate),
    Custom(CustomSize),
}

/// What a customer orders: a size, how many VMs of it, and the term.
#[derive(Debug, Clone, PartialEq)]
pub struct VmOrder {
    pub size: Size,
    pub count: i32,
    pub term_months: i32,
}

/// The quote of an order, its totals at `vat_rate_pct`.
pub fn quote(order: &VmOrder, vat_rate_pct: Decimal) -> PricedQuote {
    let title = match &order.size {
        Size::Template(t) => format!("{} × {}", order.count, t.name),
        Size::Custom(c) => {
            format!("{} × custom VM ({} vCPU, {} GB RAM, {} GB disk)", order.count, c.vcpu, c.ram_gb, c.disk_gb)
        }
    };
    PricedQuote::new(QuoteKind::Vm, title, Some(order.term_months), None, lines(order), vat_rate_pct)
}

fn lines(order: &VmOrder) -> Vec<QuoteLine> {
    match &order.size {
        Size::Template(t) => template_lines(t, order.count),
        Size::Custom(c) => custom_lines(c, order.count),
    }
}

fn template_lines(t: &VmTemplate, count: i32) -> Vec<QuoteLine> {
    let spec = VmSpec {
        template_id: Some(t.id),
        name: t.name.clone(),
        vcpu: t.vcpu,
        ram_gb: t.ram_gb,
        disk_gb: t.disk_gb,
        disk_type: t.disk_type.clone(),
        os: t.os.clone(),
        count,
    };
    let line = |description: String, priced: PricedLine, vm: Option<VmSpec>| QuoteLine {
        catalog: Catalog::Aas,
        item_kind: ITEM_TEMPLATE,
        item_id: t.id.0,
        sku: t.name.clone(),
        description,
        priced,
        vm,
    };
    let description = format!(
        "{}: {} vCPU, {} GB RAM, {} GB {}, {}",
        t.name,
        t.vcpu,
        t.ram_gb,
        t.disk_gb,
        t.disk_type.to_uppercase(),
        t.os
    );
    let mut lines = vec![line(description, PricedLine::new(Billing::Monthly, t.cost, t.margin_pct, count), Some(spec))];
    if t.setup_cost > Decimal::ZERO {
        let setup = PricedLine::new(Billing::OnceOff, t.setup_cost, t.margin_pct, count);
        lines.push(line(format!("Setup: {}", t.name), setup, None));
    }
    lines
}

fn custom_lines(c: &CustomSize, count: i32) -> Vec<QuoteLine> {
    let name = c.name();
    let mut spec = Some(VmSpec {
        template_id: None,
        name: name.clone(),
        vcpu: c.vcpu,
        ram_gb: c.ram_gb,
        disk_gb: c.disk_gb,
        disk_type: c.disk_type.slug().to_owned(),
        os: c.os.label().to_owned(),
        count,
    });
    let units_and_what = [
        (c.vcpu, format!("{} vCPU", c.vcpu)),
        (c.ram_gb, format!("{} GB RAM", c.ram_gb)),
        (c.disk_gb, format!("{} GB {} disk", c.disk_gb, c.disk_type.label())),
        (1, c.os.label().to_owned()),
    ];
    c.parts
        .iter()
        .zip(units_and_what)
        .map(|(p, (units, what))| QuoteLine {
            catalog: Catalog::Aas,
            item_kind: ITEM_COMPONENT,
            item_id: p.id.0,
            sku: p.sku.clone(),
            description: format!("Custom VM ({name}): {what}"),
            priced: PricedLine::new(Billing::Monthly, p.cost, p.margin_pct, units * count),
            // The VM configuration rides on the first line.
            vm: spec.take(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::domain::ids::{CategoryId, ProductId, TemplateId};

    fn template(setup_cost: Decimal) -> VmTemplate {
        VmTemplate {
            id: TemplateId(7),
            name: "win-medium".into(),
            description: String::new(),
            vcpu: 4,
            ram_gb: 8,
            disk_gb: 100,
            disk_type: "nvme".into(),
            os: "Windows Server 2022".into(),
            os_family: "windows".into(),
            cost: dec!(800),
            setup_cost,
            margin_pct: dec!(25),
        }
    }

    fn component(id: i64, sku: &str, component: VmComponent, cost: Decimal, margin_pct: Decimal) -> Product {
        Product {
            id: ProductId(id),
            category_id: CategoryId(1),
            sku: sku.into(),
            name: sku.into(),
            description: String::new(),
            unit: "each".into(),
            billing: Billing::Monthly,
            cost,
            margin_pct,
            vm_component: Some(component),
            active: true,
        }
    }

    /// The seed's component products and prices.
    fn components() -> Vec<Product> {
        vec![
            component(1, "CMP-VCPU", VmComponent::Vcpu, dec!(95), dec!(30)),
            component(2, "CMP-RAM", VmComponent::RamGb, dec!(38), dec!(30)),
            component(3, "CMP-OS-LINUX", VmComponent::OsLinux, dec!(0), dec!(25)),
            component(4, "CMP-OS-WIN", VmComponent::OsWindows, dec!(320), dec!(20)),
            component(5, "STO-SSD", VmComponent::DiskGbSsd, dec!(1.60), dec!(35)),
            component(7, "STO-NVME", VmComponent::DiskGbNvme, dec!(2.40), dec!(35)),
        ]
    }

    fn order(size: Size, count: i32) -> VmOrder {
        VmOrder { size, count, term_months: 24 }
    }

    fn custom(disk_type: DiskType, os: Os) -> Result<CustomSize, NoPrice> {
        CustomSize::new(4, 8, 100, disk_type, os, &components())
    }

    #[test]
    fn a_template_is_one_monthly_line_for_all_its_vms() {
        let quote = quote(&order(Size::Template(template(dec!(0))), 3), dec!(15));
        assert_eq!((quote.kind, quote.title.as_str(), quote.term_months), (QuoteKind::Vm, "3 × win-medium", Some(24)));
        let [line] = quote.lines.as_slice() else { panic!("{:?}", quote.lines) };
        assert_eq!(
            (line.catalog, line.item_kind, line.item_id, line.sku.as_str()),
            (Catalog::Aas, ITEM_TEMPLATE, 7, "win-medium")
        );
        assert_eq!(line.description, "win-medium: 4 vCPU, 8 GB RAM, 100 GB NVME, Windows Server 2022");
        assert_eq!(
            (line.priced.billing, line.priced.unit_price, line.priced.quantity),
            (Billing::Monthly, dec!(1000.00), 3)
        );
        let spec = line.vm.as_ref().unwrap();
        assert_eq!((spec.template_id, spec.name.as_str(), spec.count), (Some(TemplateId(7)), "win-medium", 3));
        assert_eq!((spec.disk_type.as_str(), spec.os.as_str()), ("nvme", "Windows Server 2022"));
        assert_eq!(quote.totals.monthly_total, dec!(3450.00));
        assert_eq!(quote.totals.once_off_total, dec!(0));
    }

    #[test]
    fn a_template_with_a_setup_cost_adds_a_once_off_line_per_vm() {
        let quote = quote(&order(Size::Template(template(dec!(150.02))), 2), dec!(15));
        let setup = &quote.lines[1];
        assert_eq!(setup.description, "Setup: win-medium");
        // 150.02 × 1.25 = 187.525: half away from zero gives .53
        assert_eq!(
            (setup.priced.billing, setup.priced.unit_price, setup.priced.quantity),
            (Billing::OnceOff, dec!(187.53), 2)
        );
        assert_eq!(setup.vm, None, "the VMs are provisioned once, from the first line");
        assert_eq!(quote.totals.once_off_subtotal, dec!(375.06));
    }

    #[test]
    fn a_custom_size_is_a_line_per_component_for_all_the_vms() {
        let size = custom(DiskType::Nvme, Os::Windows).unwrap();
        let quote = quote(&order(Size::Custom(size), 2), dec!(15));
        assert_eq!(quote.title, "2 × custom VM (4 vCPU, 8 GB RAM, 100 GB disk)");
        let lines: Vec<_> = quote
            .lines
            .iter()
            .map(|l| (l.item_id, l.sku.as_str(), l.description.as_str(), l.priced.quantity, l.priced.unit_price))
            .collect();
        assert_eq!(
            lines,
            [
                (1, "CMP-VCPU", "Custom VM (custom-4vcpu-8gb-100gb-nvme): 4 vCPU", 8, dec!(123.50)),
                (2, "CMP-RAM", "Custom VM (custom-4vcpu-8gb-100gb-nvme): 8 GB RAM", 16, dec!(49.40)),
                (7, "STO-NVME", "Custom VM (custom-4vcpu-8gb-100gb-nvme): 100 GB NVMe disk", 200, dec!(3.24)),
                (4, "CMP-OS-WIN", "Custom VM (custom-4vcpu-8gb-100gb-nvme): Windows Server", 2, dec!(384.00)),
            ]
        );
        assert!(quote.lines.iter().all(|l| l.item_kind == ITEM_COMPONENT && l.priced.billing == Billing::Monthly));
        let spec = quote.lines[0].vm.as_ref().unwrap();
        assert_eq!(
            (spec.template_id, spec.name.as_str(), spec.disk_type.as_str(), spec.os.as_str(), spec.count),
            (None, "custom-4vcpu-8gb-100gb-nvme", "nvme", "Windows Server", 2)
        );
        assert!(quote.lines[1..].iter().all(|l| l.vm.is_none()));
    }

    #[test]
    fn a_free_component_still_gets_its_line() {
        let size = custom(DiskType::Ssd, Os::Linux).unwrap();
        let quote = quote(&order(Size::Custom(size), 1), dec!(15));
        let os = quote.lines.last().unwrap();
        assert_eq!((os.sku.as_str(), os.priced.quantity, os.priced.amount), ("CMP-OS-LINUX", 1, dec!(0)));
    }

    #[test]
    fn a_custom_size_whose_component_is_not_on_sale_cannot_be_priced() {
        // No HDD product in the list.
        assert_eq!(custom(DiskType::Hdd, Os::Linux), Err(NoPrice::ComponentNotOnSale(VmComponent::DiskGbHdd)));
        // A retired product prices nothing, even when it is passed in.
        let mut retired = components();
        retired.iter_mut().filter(|p| p.sku == "CMP-RAM").for_each(|p| p.active = false);
        assert_eq!(
            CustomSize::new(2, 4, 50, DiskType::Ssd, Os::Linux, &retired),
            Err(NoPrice::ComponentNotOnSale(VmComponent::RamGb))
        );
        assert_eq!(
            CustomSize::new(2, 4, 50, DiskType::Ssd, Os::Linux, &[]),
            Err(NoPrice::ComponentNotOnSale(VmComponent::Vcpu)),
            "the first missing part is named"
        );
    }

    #[test]
    fn choices_round_trip_through_their_slugs() {
        for disk in DiskType::ALL {
            assert_eq!(DiskType::from_slug(disk.slug()), Some(disk));
        }
        for os in Os::ALL {
            assert_eq!(Os::from_slug(os.slug()), Some(os));
        }
        assert_eq!(DiskType::from_slug("floppy"), None);
        assert_eq!(Os::from_slug("Linux"), None, "the label is not a slug");
    }
}
