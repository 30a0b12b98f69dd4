//! DFA Helios, DFA's lower-cost business link: a flat MRC and a once-off connection fee
//! per speed on a fixed 24-month term, sold only within 5 km of a DFA node. The suburbs
//! each active node serves stand in for that distance; any other site gets no offer.

use super::{Access, DfaHeliosRow, HeliosSuburb, NoOffer, Request};

/// The node that serves a suburb, nearest first when two do. Suburbs are matched
/// ignoring case and extra spaces, since they arrive as typed into the quote form.
pub fn serving_node<'t>(suburbs: &'t [HeliosSuburb], suburb: &str) -> Option<&'t HeliosSuburb> {
    let wanted = normalise(suburb);
    if wanted.is_empty() {
        return None;
    }
    suburbs.iter().filter(|served| normalise(&served.suburb) == wanted).min_by_key(|served| served.distance_km)
}

fn normalise(suburb: &str) -> String {
    suburb.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Coverage is checked first: for a site out of reach no other speed or term would help.
pub(super) fn access(rows: &[DfaHeliosRow], suburbs: &[HeliosSuburb], request: &Request) -> Result<Access, NoOffer> {
    serving_node(suburbs, request.suburb).ok_or(NoOffer::SiteNotServed)?;
    let row = rows.iter().find(|row| row.speed_mbps == request.speed_mbps).ok_or(NoOffer::SpeedNotOffered)?;
    // The term is the row's (24 months, by a table CHECK), not a choice.
    if row.term_months != request.term_months {
        return Err(NoOffer::OnlyTerm { months: row.term_months });
    }
    Ok(to_access(row))
}

pub(super) fn all(rows: &[DfaHeliosRow]) -> impl Iterator<Item = Access> + '_ {
    rows.iter().map(to_access)
}

fn to_access(row: &DfaHeliosRow) -> Access {
    Access {
        item_id: row.id,
        speed_mbps: row.speed_mbps,
        term_months: row.term_months,
        sku: format!("DFA-HEL-{}-{}", row.speed_mbps, row.term_months),
        name: format!("DFA Helios {} Mbps, {} months", row.speed_mbps, row.term_months),
        nrc_name: "connection fee",
        mrc_cost: row.mrc_cost,
        nrc_cost: row.connection_fee_cost,
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

    fn row(id: i64, speed_mbps: i32, mrc_cost: Decimal) -> DfaHeliosRow {
        DfaHeliosRow {
            id,
            speed_mbps,
            term_months: 24,
            mrc_cost,
            connection_fee_cost: dec!(3500),
            margin_pct: dec!(30),
        }
    }

    fn served(suburb: &str, node: &str, distance_km: Decimal) -> HeliosSuburb {
        HeliosSuburb { suburb: suburb.into(), node: node.into(), distance_km }
    }

    fn tables() -> PriceTables {
        PriceTables {
            helios: vec![row(1, 10, dec!(1350)), row(3, 50, dec!(2290))],
            helios_suburbs: vec![
                served("Sandton", "Sandton Node", dec!(0.6)),
                served("Illovo", "Sandton Node", dec!(4.1)),
                served("Illovo", "Rosebank Node", dec!(2.6)),
                served("Cape Town CBD", "Woodstock Node", dec!(2.8)),
            ],
            ..PriceTables::default()
        }
    }

    fn at(suburb: &str, speed_mbps: i32, term_months: i32) -> Request<'_> {
        Request { suburb, ..request(speed_mbps, term_months) }
    }

    #[test]
    fn a_served_site_gets_a_flat_mrc_and_a_connection_fee_for_24_months() {
        let offer = tables().offer(Provider::DfaHelios, &at("Sandton", 50, 24)).unwrap();
        assert_eq!(offer.term_months, 24);
        let lines: Vec<_> = offer
            .lines
            .iter()
            .map(|l| {
                (l.item_kind, l.item_id, l.sku.as_str(), l.description.as_str(), l.priced.billing, l.priced.unit_price)
            })
            .collect();
        assert_eq!(
            lines,
            [
                (
                    ITEM_ACCESS,
                    3,
                    "DFA-HEL-50-24",
                    "DFA Helios 50 Mbps, 24 months: monthly access",
                    Billing::Monthly,
                    dec!(2977.00)
                ),
                (
                    ITEM_ACCESS,
                    3,
                    "DFA-HEL-50-24",
                    "DFA Helios 50 Mbps, 24 months: connection fee",
                    Billing::OnceOff,
                    dec!(4550.00)
                ),
            ]
        );
    }

    #[test]
    fn suburbs_match_whatever_the_case_and_spacing() {
        let tables = tables();
        for typed in ["sandton", "  SANDTON ", "cape   town cbd", "Cape Town CBD\n"] {
            assert!(tables.offer(Provider::DfaHelios, &at(typed, 10, 24)).is_ok(), "{typed:?}");
        }
    }

    #[test]
    fn an_unserved_or_missing_suburb_gets_no_offer() {
        let tables = tables();
        for typed in ["Soweto", "", "   ", "Sandton East"] {
            assert_eq!(tables.offer(Provider::DfaHelios, &at(typed, 50, 24)), Err(NoOffer::SiteNotServed), "{typed:?}");
        }
        // no active node, no coverage at all
        let no_nodes = PriceTables { helios_suburbs: vec![], ..tables };
        assert_eq!(no_nodes.offer(Provider::DfaHelios, &at("Sandton", 50, 24)), Err(NoOffer::SiteNotServed));
    }

    #[test]
    fn coverage_is_reported_before_speed_or_term() {
        assert_eq!(tables().offer(Provider::DfaHelios, &at("Soweto", 500, 36)), Err(NoOffer::SiteNotServed));
    }

    #[test]
    fn only_24_months_is_offered() {
        let tables = tables();
        let only_24 = Err(NoOffer::OnlyTerm { months: 24 });
        assert_eq!(tables.offer(Provider::DfaHelios, &at("Sandton", 50, 36)), only_24);
        assert_eq!(tables.offer(Provider::DfaHelios, &at("Sandton", 50, 12)), only_24);
        assert_eq!(NoOffer::OnlyTerm { months: 24 }.to_string(), "this provider sells it on 24-month terms only");
    }

    #[test]
    fn a_speed_without_a_row_is_not_offered() {
        assert_eq!(tables().offer(Provider::DfaHelios, &at("Sandton", 500, 24)), Err(NoOffer::SpeedNotOffered));
    }

    #[test]
    fn a_suburb_served_by_two_nodes_is_served_by_the_nearest() {
        let tables = tables();
        assert_eq!(serving_node(&tables.helios_suburbs, " illovo").map(|s| s.node.as_str()), Some("Rosebank Node"));
        assert_eq!(serving_node(&tables.helios_suburbs, "Rosebank"), None);
    }

    #[test]
    fn sell_prices_round_half_away_from_zero() {
        let tables = PriceTables { helios: vec![row(1, 50, dec!(2290.05))], ..tables() };
        // 2290.05 × 1.3 = 2977.065: away from zero gives .07 where banker's rounding gives .06
        assert_eq!(tables.offer(Provider::DfaHelios, &at("Sandton", 50, 24)).unwrap().mrc(), dec!(2977.07));
    }
}
