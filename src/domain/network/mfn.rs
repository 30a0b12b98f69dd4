//! Metro Fibre Networx: a speed × term grid of MRCs with an installation (NRC) that falls
//! as the term grows and is waived on 36 months. Not every speed comes on every term
//! (1000 Mbps is not sold on 12 months), and a missing cell is no offer.

use rust_decimal::Decimal;

use super::{Access, MfnRow, NoOffer, grid_cell};

/// From this term on MFN charges no installation. The table's CHECK says the same; the
/// rule is applied here as well so an imported or hand-edited row can never charge one.
const NRC_WAIVED_FROM_MONTHS: i32 = 36;

pub(super) fn access(rows: &[MfnRow], speed_mbps: i32, term_months: i32) -> Result<Access, NoOffer> {
    grid_cell(rows, speed_mbps, term_months, |row| (row.speed_mbps, row.term_months)).map(to_access)
}

pub(super) fn all(rows: &[MfnRow]) -> impl Iterator<Item = Access> + '_ {
    rows.iter().map(to_access)
}

fn to_access(row: &MfnRow) -> Access {
    Access {
        item_id: row.id,
        speed_mbps: row.speed_mbps,
        term_months: row.term_months,
        sku: format!("MFN-{}-{}", row.speed_mbps, row.term_months),
        name: format!("Metro Fibre Networx {} Mbps, {} months", row.speed_mbps, row.term_months),
        nrc_name: "installation",
        mrc_cost: row.mrc_cost,
        nrc_cost: if row.term_months >= NRC_WAIVED_FROM_MONTHS { Decimal::ZERO } else { row.nrc_cost },
        margin_pct: row.margin_pct,
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::super::{ITEM_ACCESS, NoOffer, PriceTables, Provider, request};
    use super::*;
    use crate::domain::pricing::Billing;

    fn row(id: i64, speed_mbps: i32, term_months: i32, mrc_cost: Decimal, nrc_cost: Decimal) -> MfnRow {
        MfnRow { id, speed_mbps, term_months, mrc_cost, nrc_cost, margin_pct: dec!(27.5) }
    }

    fn tables() -> PriceTables {
        PriceTables {
            mfn: vec![
                row(10, 100, 12, dec!(4490), dec!(5750)),
                row(11, 100, 24, dec!(3990), dec!(2875)),
                row(12, 100, 36, dec!(3590), dec!(0)),
                MfnRow { margin_pct: dec!(20), ..row(19, 1000, 24, dec!(13490), dec!(3450)) },
                MfnRow { margin_pct: dec!(20), ..row(20, 1000, 36, dec!(11990), dec!(0)) },
            ],
            ..PriceTables::default()
        }
    }

    #[test]
    fn the_installation_falls_with_the_term_and_is_waived_at_36() {
        let tables = tables();
        let offer = |term| tables.offer(Provider::Mfn, &request(100, term)).unwrap();
        assert_eq!([offer(12).nrc(), offer(24).nrc(), offer(36).nrc()], [dec!(7331.25), dec!(3665.63), dec!(0)]);

        let offer = offer(36);
        let [mrc] = &offer.lines[..] else { panic!("only the monthly line, got {:?}", offer.lines) };
        assert_eq!((mrc.item_kind, mrc.item_id, mrc.sku.as_str()), (ITEM_ACCESS, 12, "MFN-100-36"));
        assert_eq!(mrc.description, "Metro Fibre Networx 100 Mbps, 36 months: monthly access");
        assert_eq!((mrc.priced.billing, mrc.priced.unit_price), (Billing::Monthly, dec!(4577.25)));
        assert_eq!(offer.contract_value(), dec!(4577.25) * dec!(36));
    }

    #[test]
    fn the_36_month_waiver_holds_even_if_a_row_carries_an_nrc() {
        let tables = PriceTables { mfn: vec![row(1, 100, 36, dec!(3590), dec!(999))], ..PriceTables::default() };
        let offer = tables.offer(Provider::Mfn, &request(100, 36)).unwrap();
        assert_eq!((offer.nrc(), offer.lines.len()), (dec!(0), 1));
        assert_eq!(tables.grid()[0].nrc, dec!(0));
    }

    #[test]
    fn an_installation_line_is_once_off_and_names_the_link() {
        let offer = tables().offer(Provider::Mfn, &request(100, 24)).unwrap();
        let nrc = &offer.lines[1];
        assert_eq!(nrc.description, "Metro Fibre Networx 100 Mbps, 24 months: installation");
        assert_eq!((nrc.item_id, nrc.priced.billing, nrc.priced.unit_cost), (11, Billing::OnceOff, dec!(2875)));
    }

    #[test]
    fn gigabit_is_not_sold_on_12_months() {
        let tables = tables();
        assert_eq!(tables.offer(Provider::Mfn, &request(1000, 12)), Err(NoOffer::TermNotOffered));
        assert_eq!(tables.offer(Provider::Mfn, &request(1000, 24)).unwrap().mrc(), dec!(16188.00));
    }

    #[test]
    fn a_speed_without_a_row_is_not_offered() {
        // MFN sells 25 and 250 Mbps where others sell 20 and 200: no rounding to a near speed
        assert_eq!(tables().offer(Provider::Mfn, &request(200, 24)), Err(NoOffer::SpeedNotOffered));
    }

    #[test]
    fn sell_prices_round_half_away_from_zero() {
        let tables = PriceTables { mfn: vec![row(1, 100, 24, dec!(3990.20), dec!(2875))], ..PriceTables::default() };
        // 3990.20 × 1.275 = 5087.505: away from zero gives .51 where banker's rounding gives .50
        assert_eq!(tables.offer(Provider::Mfn, &request(100, 24)).unwrap().mrc(), dec!(5087.51));
    }
}
