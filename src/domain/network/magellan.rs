//! DFA Magellan, DFA's metro fibre: a full speed × term grid (12, 24 or 36 months),
//! each cell with its MRC and a once-off installation that DFA discounts on longer terms
//! (the discount is in the rows, not computed here).

use super::{Access, DfaMagellanRow, NoOffer, grid_cell};

pub(super) fn access(rows: &[DfaMagellanRow], speed_mbps: i32, term_months: i32) -> Result<Access, NoOffer> {
    grid_cell(rows, speed_mbps, term_months, |row| (row.speed_mbps, row.term_months)).map(to_access)
}

pub(super) fn all(rows: &[DfaMagellanRow]) -> impl Iterator<Item = Access> + '_ {
    rows.iter().map(to_access)
}

fn to_access(row: &DfaMagellanRow) -> Access {
    Access {
        item_id: row.id,
        speed_mbps: row.speed_mbps,
        term_months: row.term_months,
        sku: format!("DFA-MAG-{}-{}", row.speed_mbps, row.term_months),
        name: format!("DFA Magellan {} Mbps, {} months", row.speed_mbps, row.term_months),
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

    use super::super::{ITEM_ACCESS, NoOffer, PriceTables, Provider, request};
    use super::*;
    use crate::domain::pricing::Billing;

    fn row(id: i64, speed_mbps: i32, term_months: i32, mrc_cost: Decimal, nrc_cost: Decimal) -> DfaMagellanRow {
        DfaMagellanRow { id, speed_mbps, term_months, mrc_cost, nrc_cost, margin_pct: dec!(25) }
    }

    fn tables() -> PriceTables {
        PriceTables {
            magellan: vec![
                row(10, 100, 12, dec!(4950), dec!(8500)),
                row(11, 100, 24, dec!(4390), dec!(4250)),
                row(12, 100, 36, dec!(3950), dec!(1950)),
                row(13, 200, 12, dec!(6850), dec!(8500)),
            ],
            ..PriceTables::default()
        }
    }

    #[test]
    fn a_grid_cell_is_a_monthly_line_and_an_installation() {
        let offer = tables().offer(Provider::DfaMagellan, &request(100, 36)).unwrap();
        assert_eq!((offer.provider, offer.speed_mbps, offer.term_months), (Provider::DfaMagellan, 100, 36));
        let [mrc, nrc] = &offer.lines[..] else { panic!("two lines, got {:?}", offer.lines) };
        for line in [mrc, nrc] {
            assert_eq!((line.item_kind, line.item_id, line.sku.as_str()), (ITEM_ACCESS, 12, "DFA-MAG-100-36"));
        }
        assert_eq!(mrc.description, "DFA Magellan 100 Mbps, 36 months: monthly access");
        assert_eq!(
            (mrc.priced.billing, mrc.priced.unit_cost, mrc.priced.unit_price),
            (Billing::Monthly, dec!(3950), dec!(4937.50))
        );
        assert_eq!(nrc.description, "DFA Magellan 100 Mbps, 36 months: installation");
        assert_eq!((nrc.priced.billing, nrc.priced.unit_price), (Billing::OnceOff, dec!(2437.50)));
    }

    #[test]
    fn each_term_is_its_own_cell() {
        let tables = tables();
        let installation = |term| tables.offer(Provider::DfaMagellan, &request(100, term)).unwrap().nrc();
        assert_eq!(
            [installation(12), installation(24), installation(36)],
            [dec!(10625.00), dec!(5312.50), dec!(2437.50)]
        );
    }

    #[test]
    fn a_speed_without_a_row_is_not_offered() {
        assert_eq!(tables().offer(Provider::DfaMagellan, &request(50, 36)), Err(NoOffer::SpeedNotOffered));
    }

    #[test]
    fn a_term_without_a_row_is_not_offered() {
        let tables = tables();
        assert_eq!(tables.offer(Provider::DfaMagellan, &request(200, 36)), Err(NoOffer::TermNotOffered));
        assert_eq!(tables.offer(Provider::DfaMagellan, &request(100, 48)), Err(NoOffer::TermNotOffered));
    }

    #[test]
    fn sell_prices_round_half_away_from_zero() {
        let tables = PriceTables { magellan: vec![row(1, 100, 36, dec!(3950.02), dec!(0))], ..PriceTables::default() };
        let offer = tables.offer(Provider::DfaMagellan, &request(100, 36)).unwrap();
        // 3950.02 × 1.25 = 4937.525: away from zero gives .53 where banker's rounding gives .52
        assert_eq!(offer.mrc(), dec!(4937.53));
        assert_eq!(offer.lines.len(), 1, "a free installation is left off");
    }
}
