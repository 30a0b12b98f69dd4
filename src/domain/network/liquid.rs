//! Liquid: a speed × term grid, each cell with its own MRC and NRC. Not every speed comes
//! on every term (10 Gbps is a 36-month product), and a missing cell is no offer.

use super::{Access, LiquidRow, NoOffer, grid_cell};

pub(super) fn access(rows: &[LiquidRow], speed_mbps: i32, term_months: i32) -> Result<Access, NoOffer> {
    grid_cell(rows, speed_mbps, term_months, |row| (row.speed_mbps, row.term_months)).map(to_access)
}

pub(super) fn all(rows: &[LiquidRow]) -> impl Iterator<Item = Access> + '_ {
    rows.iter().map(to_access)
}

fn to_access(row: &LiquidRow) -> Access {
    Access {
        item_id: row.id,
        speed_mbps: row.speed_mbps,
        term_months: row.term_months,
        sku: format!("LIQ-{}-{}", row.speed_mbps, row.term_months),
        name: format!("Liquid fibre {} Mbps, {} months", row.speed_mbps, row.term_months),
        nrc_name: "installation",
        mrc_cost: row.mrc_cost,
        nrc_cost: row.nrc_cost,
        margin_pct: row.margin_pct,
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    use super::super::{NoOffer, PriceTables, Provider, request};
    use super::*;
    use crate::domain::pricing::Billing;

    fn row(id: i64, speed_mbps: i32, term_months: i32, mrc_cost: Decimal, nrc_cost: Decimal) -> LiquidRow {
        LiquidRow { id, speed_mbps, term_months, mrc_cost, nrc_cost, margin_pct: dec!(22.5) }
    }

    fn tables() -> PriceTables {
        PriceTables {
            liquid: vec![
                row(13, 200, 12, dec!(7490), dec!(9500)),
                row(14, 200, 24, dec!(6790), dec!(6500)),
                row(15, 200, 36, dec!(6190), dec!(3500)),
                LiquidRow { margin_pct: dec!(15), ..row(22, 10000, 36, dec!(89500), dec!(25000)) },
            ],
            ..PriceTables::default()
        }
    }

    #[test]
    fn a_cell_prices_its_mrc_and_nrc() {
        let offer = tables().offer(Provider::Liquid, &request(200, 36)).unwrap();
        let lines: Vec<_> = offer
            .lines
            .iter()
            .map(|l| (l.item_id, l.sku.as_str(), l.description.as_str(), l.priced.billing, l.priced.unit_price))
            .collect();
        assert_eq!(
            lines,
            [
                (15, "LIQ-200-36", "Liquid fibre 200 Mbps, 36 months: monthly access", Billing::Monthly, dec!(7582.75)),
                (15, "LIQ-200-36", "Liquid fibre 200 Mbps, 36 months: installation", Billing::OnceOff, dec!(4287.50)),
            ]
        );
    }

    #[test]
    fn ten_gigabit_comes_on_36_months_only() {
        let tables = tables();
        assert_eq!(tables.offer(Provider::Liquid, &request(10000, 12)), Err(NoOffer::TermNotOffered));
        assert_eq!(tables.offer(Provider::Liquid, &request(10000, 24)), Err(NoOffer::TermNotOffered));
        let offer = tables.offer(Provider::Liquid, &request(10000, 36)).unwrap();
        assert_eq!((offer.mrc(), offer.nrc()), (dec!(102925.00), dec!(28750.00)));
        assert_eq!(offer.lines[0].description, "Liquid fibre 10000 Mbps, 36 months: monthly access");
    }

    #[test]
    fn a_speed_without_a_row_is_not_offered() {
        assert_eq!(tables().offer(Provider::Liquid, &request(1000, 36)), Err(NoOffer::SpeedNotOffered));
    }

    #[test]
    fn sell_prices_round_half_away_from_zero() {
        let tables = PriceTables { liquid: vec![row(1, 100, 24, dec!(4890), dec!(6500.20))], ..PriceTables::default() };
        let offer = tables.offer(Provider::Liquid, &request(100, 24)).unwrap();
        // 6500.20 × 1.225 = 7962.745: away from zero gives .75 where banker's rounding gives .74
        assert_eq!(offer.nrc(), dec!(7962.75));
        assert_eq!(offer.mrc(), dec!(5990.25));
    }
}
