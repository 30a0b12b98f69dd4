//! Internet bandwidth (IP transit): one monthly price per speed tier, added to any
//! provider's access link at a tier up to the link's speed.

use rust_decimal::Decimal;

use super::{Bandwidth, BandwidthRow, ITEM_BANDWIDTH, NoOffer};
use crate::domain::pricing::{Billing, PricedLine, sell_price};
use crate::domain::quote::QuoteLine;
use crate::domain::states::Catalog;

impl BandwidthRow {
    /// The sell price a month, excl. VAT.
    pub fn sell_price(&self) -> Decimal {
        sell_price(self.mrc_cost, self.margin_pct)
    }
}

/// The bandwidth line of a link of `speed_mbps`, if any is asked for. A tier faster than
/// the link could never be used, so the largest tier up to the link speed is the most a
/// link takes (25 Mbps gets the 20 Mbps tier; 10 Gbps the 1 Gbps tier).
pub(super) fn line(rows: &[BandwidthRow], choice: Bandwidth, speed_mbps: i32) -> Result<Option<QuoteLine>, NoOffer> {
    let row = match choice {
        Bandwidth::None => return Ok(None),
        Bandwidth::LargestThatFits => rows
            .iter()
            .filter(|row| row.speed_mbps <= speed_mbps)
            .max_by_key(|row| row.speed_mbps)
            .ok_or(NoOffer::BandwidthNotOffered)?,
        Bandwidth::Tier(tier) if tier > speed_mbps => return Err(NoOffer::BandwidthAboveLink),
        Bandwidth::Tier(tier) => rows.iter().find(|row| row.speed_mbps == tier).ok_or(NoOffer::BandwidthNotOffered)?,
    };
    Ok(Some(QuoteLine {
        catalog: Catalog::Enetworks,
        item_kind: ITEM_BANDWIDTH,
        item_id: row.id,
        sku: format!("BW-{}", row.speed_mbps),
        description: format!("Internet bandwidth {} Mbps ({})", row.speed_mbps, row.contention),
        priced: PricedLine::new(Billing::Monthly, row.mrc_cost, row.margin_pct, 1),
        vm: None,
    }))
}

/// The tiers a link of `speed_mbps` can take, slowest first.
pub fn tiers_up_to(rows: &[BandwidthRow], speed_mbps: i32) -> impl Iterator<Item = &BandwidthRow> {
    rows.iter().filter(move |row| row.speed_mbps <= speed_mbps)
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    use super::super::{ITEM_ACCESS, LiquidRow, MfnRow, NoOffer, PriceTables, Provider, Request, request};
    use super::*;

    fn tier(id: i64, speed_mbps: i32, mrc_cost: Decimal) -> BandwidthRow {
        BandwidthRow { id, speed_mbps, contention: "1:1".into(), mrc_cost, margin_pct: dec!(25) }
    }

    fn tables() -> PriceTables {
        let zero = Decimal::ZERO;
        PriceTables {
            liquid: vec![LiquidRow {
                id: 1,
                speed_mbps: 100,
                term_months: 24,
                mrc_cost: dec!(4890),
                nrc_cost: zero,
                margin_pct: zero,
            }],
            mfn: vec![
                MfnRow {
                    id: 1,
                    speed_mbps: 25,
                    term_months: 24,
                    mrc_cost: dec!(2240),
                    nrc_cost: zero,
                    margin_pct: zero,
                },
                MfnRow {
                    id: 2,
                    speed_mbps: 100,
                    term_months: 24,
                    mrc_cost: dec!(3990),
                    nrc_cost: zero,
                    margin_pct: zero,
                },
            ],
            bandwidth: vec![tier(3, 50, dec!(1750)), tier(4, 100, dec!(2950))],
            ..PriceTables::default()
        }
    }

    fn with_bandwidth(speed_mbps: i32) -> Request<'static> {
        Request { bandwidth: Bandwidth::LargestThatFits, ..request(speed_mbps, 24) }
    }

    #[test]
    fn bandwidth_is_a_monthly_line_at_the_link_speed() {
        let offer = tables().offer(Provider::Liquid, &with_bandwidth(100)).unwrap();
        let bandwidth = offer.lines.last().unwrap();
        assert_eq!((bandwidth.item_kind, bandwidth.item_id, bandwidth.sku.as_str()), (ITEM_BANDWIDTH, 4, "BW-100"));
        assert_eq!(bandwidth.description, "Internet bandwidth 100 Mbps (1:1)");
        assert_eq!((bandwidth.priced.billing, bandwidth.priced.unit_price), (Billing::Monthly, dec!(3687.50)));
        assert_eq!(offer.mrc(), dec!(4890) + dec!(3687.50));
        assert_eq!(tables().bandwidth[1].sell_price(), dec!(3687.50), "the price the catalog shows");
    }

    #[test]
    fn the_same_tier_goes_with_any_provider() {
        let tables = tables();
        let sku = |provider| tables.offer(provider, &with_bandwidth(100)).unwrap().lines.last().unwrap().sku.clone();
        assert_eq!(sku(Provider::Mfn), sku(Provider::Liquid));
    }

    #[test]
    fn no_bandwidth_line_unless_asked_for() {
        let offer = tables().offer(Provider::Liquid, &request(100, 24)).unwrap();
        assert!(offer.lines.iter().all(|line| line.item_kind == ITEM_ACCESS));
    }

    #[test]
    fn a_link_takes_the_largest_tier_that_fits_or_one_chosen_up_to_its_speed() {
        // MFN sells 25 Mbps; the tiers are 10, 50 and 100 Mbps here
        let tables = PriceTables {
            bandwidth: vec![tier(2, 10, dec!(450)), tier(3, 50, dec!(1750)), tier(4, 100, dec!(2950))],
            ..tables()
        };
        let sku = |request: &Request| tables.offer(Provider::Mfn, request).unwrap().lines.last().unwrap().sku.clone();
        assert_eq!(sku(&with_bandwidth(25)), "BW-10", "the largest that fits, not nothing");
        assert_eq!(sku(&with_bandwidth(100)), "BW-100");
        assert_eq!(sku(&Request { bandwidth: Bandwidth::Tier(50), ..request(100, 24) }), "BW-50");
        let above = Request { bandwidth: Bandwidth::Tier(50), ..request(25, 24) };
        assert_eq!(tables.offer(Provider::Mfn, &above), Err(NoOffer::BandwidthAboveLink));
        let unknown = Request { bandwidth: Bandwidth::Tier(20), ..request(25, 24) };
        assert_eq!(tables.offer(Provider::Mfn, &unknown), Err(NoOffer::BandwidthNotOffered));
        assert_eq!(tiers_up_to(&tables.bandwidth, 25).map(|t| t.speed_mbps).collect::<Vec<_>>(), [10]);
        // the default table here has no tier as slow as 25 Mbps
        assert_eq!(self::tables().offer(Provider::Mfn, &with_bandwidth(25)), Err(NoOffer::BandwidthNotOffered));
        assert!(tables.offer(Provider::Mfn, &request(25, 24)).is_ok(), "the link alone is still offered");
    }

    #[test]
    fn sell_prices_round_half_away_from_zero() {
        let tables = PriceTables { bandwidth: vec![tier(4, 100, dec!(2950.02))], ..tables() };
        let offer = tables.offer(Provider::Liquid, &with_bandwidth(100)).unwrap();
        // 2950.02 × 1.25 = 3687.525: away from zero gives .53 where banker's rounding gives .52
        assert_eq!(offer.lines.last().unwrap().priced.unit_price, dec!(3687.53));
    }
}
