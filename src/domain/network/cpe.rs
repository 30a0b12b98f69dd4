//! Liquid's routers (CPE), offered with any provider's link: bought once-off or rented
//! monthly where the row has that price, and only for links no faster than the router
//! can carry.

use rust_decimal::Decimal;

use super::{CpeBilling, ITEM_CPE, LiquidCpeRow, NoOffer};
use crate::domain::pricing::{PricedLine, sell_price};
use crate::domain::quote::QuoteLine;
use crate::domain::states::Catalog;

/// `CPE-` and the model in upper case with dashes for spaces: `CPE-FORTINET-FORTIGATE-40F`.
pub fn sku(model: &str) -> String {
    format!("CPE-{}", model.split_whitespace().collect::<Vec<_>>().join("-").to_uppercase())
}

impl LiquidCpeRow {
    /// The cost on that billing, if the router is offered on it.
    pub fn cost(&self, billing: CpeBilling) -> Option<Decimal> {
        match billing {
            CpeBilling::OnceOff => self.once_off_cost,
            CpeBilling::Monthly => self.monthly_rental_cost,
        }
    }

    /// The sell price on that billing, excl. VAT, for showing on the form.
    pub fn sell_price(&self, billing: CpeBilling) -> Option<Decimal> {
        self.cost(billing).map(|cost| sell_price(cost, self.margin_pct))
    }

    pub fn carries(&self, speed_mbps: i32) -> bool {
        self.max_throughput_mbps >= speed_mbps
    }
}

pub(super) fn line(
    rows: &[LiquidCpeRow],
    cpe_id: i64,
    billing: CpeBilling,
    speed_mbps: i32,
) -> Result<QuoteLine, NoOffer> {
    let row = rows.iter().find(|row| row.id == cpe_id).ok_or(NoOffer::UnknownCpe)?;
    if !row.carries(speed_mbps) {
        return Err(NoOffer::CpeTooSlow { max_mbps: row.max_throughput_mbps });
    }
    let cost = row.cost(billing).ok_or(NoOffer::CpeBillingNotOffered)?;
    let how = match billing {
        CpeBilling::OnceOff => "purchase",
        CpeBilling::Monthly => "monthly rental",
    };
    Ok(QuoteLine {
        catalog: Catalog::Enetworks,
        item_kind: ITEM_CPE,
        item_id: row.id,
        sku: sku(&row.model),
        description: format!("{} router: {how}", row.model),
        priced: PricedLine::new(billing.into(), cost, row.margin_pct, 1),
        vm: None,
    })
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::super::{LiquidRow, NoOffer, PriceTables, Provider, Request, request};
    use super::*;
    use crate::domain::pricing::Billing;

    fn router(
        id: i64,
        model: &str,
        max_mbps: i32,
        once_off: Option<Decimal>,
        monthly: Option<Decimal>,
    ) -> LiquidCpeRow {
        LiquidCpeRow {
            id,
            model: model.into(),
            description: String::new(),
            max_throughput_mbps: max_mbps,
            once_off_cost: once_off,
            monthly_rental_cost: monthly,
            margin_pct: dec!(25),
        }
    }

    fn tables() -> PriceTables {
        let link = |id, speed_mbps| LiquidRow {
            id,
            speed_mbps,
            term_months: 36,
            mrc_cost: dec!(4000),
            nrc_cost: dec!(0),
            margin_pct: dec!(0),
        };
        PriceTables {
            liquid: vec![link(1, 500), link(2, 1000)],
            liquid_cpe: vec![
                router(1, "MikroTik RB5009", 1000, Some(dec!(4350)), Some(dec!(219))),
                router(2, "Cisco C1111-8P", 500, None, Some(dec!(595))),
                router(3, "Fortinet FortiGate 40F", 600, Some(dec!(8950)), None),
            ],
            ..PriceTables::default()
        }
    }

    fn with_cpe(speed_mbps: i32, cpe_id: i64, billing: CpeBilling) -> Request<'static> {
        Request { cpe: Some((cpe_id, billing)), ..request(speed_mbps, 36) }
    }

    fn cpe_line(tables: &PriceTables, request: &Request) -> Result<QuoteLine, NoOffer> {
        tables.offer(Provider::Liquid, request).map(|offer| offer.lines.last().unwrap().clone())
    }

    #[test]
    fn skus_are_the_model_upper_case_with_dashes() {
        assert_eq!(sku("Fortinet FortiGate 40F"), "CPE-FORTINET-FORTIGATE-40F");
        assert_eq!(sku("Cisco C1111-8P"), "CPE-CISCO-C1111-8P");
        assert_eq!(sku(" MikroTik  RB5009 "), "CPE-MIKROTIK-RB5009");
    }

    #[test]
    fn a_router_is_bought_once_off_or_rented_monthly() {
        let tables = tables();
        let bought = cpe_line(&tables, &with_cpe(1000, 1, CpeBilling::OnceOff)).unwrap();
        assert_eq!((bought.item_kind, bought.item_id, bought.sku.as_str()), (ITEM_CPE, 1, "CPE-MIKROTIK-RB5009"));
        assert_eq!(bought.description, "MikroTik RB5009 router: purchase");
        assert_eq!((bought.priced.billing, bought.priced.unit_price), (Billing::OnceOff, dec!(5437.50)));

        let rented = cpe_line(&tables, &with_cpe(1000, 1, CpeBilling::Monthly)).unwrap();
        assert_eq!(rented.description, "MikroTik RB5009 router: monthly rental");
        assert_eq!((rented.priced.billing, rented.priced.unit_price), (Billing::Monthly, dec!(273.75)));
    }

    #[test]
    fn a_router_not_in_the_active_list_is_unknown() {
        // a retired router is never loaded, so it looks the same as a made-up id
        assert_eq!(cpe_line(&tables(), &with_cpe(500, 5, CpeBilling::OnceOff)), Err(NoOffer::UnknownCpe));
    }

    #[test]
    fn a_router_slower_than_the_link_cannot_be_chosen() {
        let tables = tables();
        assert_eq!(
            cpe_line(&tables, &with_cpe(1000, 2, CpeBilling::Monthly)),
            Err(NoOffer::CpeTooSlow { max_mbps: 500 })
        );
        assert!(cpe_line(&tables, &with_cpe(500, 2, CpeBilling::Monthly)).is_ok(), "exactly its limit is fine");
        assert!(!tables.cpes()[1].carries(1000));
    }

    #[test]
    fn a_router_is_only_offered_on_the_billing_it_has_a_price_for() {
        let tables = tables();
        assert_eq!(cpe_line(&tables, &with_cpe(500, 2, CpeBilling::OnceOff)), Err(NoOffer::CpeBillingNotOffered));
        assert_eq!(cpe_line(&tables, &with_cpe(500, 3, CpeBilling::Monthly)), Err(NoOffer::CpeBillingNotOffered));
        assert_eq!(tables.cpes()[2].sell_price(CpeBilling::OnceOff), Some(dec!(11187.50)));
        assert_eq!(tables.cpes()[2].sell_price(CpeBilling::Monthly), None);
    }

    #[test]
    fn a_too_slow_router_is_reported_before_its_billing() {
        assert_eq!(
            cpe_line(&tables(), &with_cpe(1000, 3, CpeBilling::Monthly)),
            Err(NoOffer::CpeTooSlow { max_mbps: 600 })
        );
    }

    #[test]
    fn sell_prices_round_half_away_from_zero() {
        let tables =
            PriceTables { liquid_cpe: vec![router(2, "Cisco C1111-8P", 500, None, Some(dec!(594.98)))], ..tables() };
        // 594.98 × 1.25 = 743.725: away from zero gives .73 where banker's rounding gives .72
        let line = cpe_line(&tables, &with_cpe(500, 2, CpeBilling::Monthly)).unwrap();
        assert_eq!(line.priced.unit_price, dec!(743.73));
    }
}
