//! Network offers and the price of a network quote. Each provider prices access in its
//! own table shape, and its module turns that shape into the common [`Offer`]: access MRC
//! and NRC, plus internet bandwidth and a router when asked for, all priced with the one
//! sell-price rule. A quote is the chosen provider's offer ([`PriceTables::quote`]),
//! priced from tables read from the database when the quote is made, never from a cache.

pub mod bandwidth;
pub mod cpe;
pub mod helios;
pub mod liquid;
pub mod magellan;
pub mod mfn;
mod tables;

use std::collections::BTreeSet;
use std::fmt;

use rust_decimal::Decimal;

use crate::domain::pricing::{self, Billing, PricedLine, Totals, sell_price};
use crate::domain::quote::{PricedQuote, QuoteLine, Site};
use crate::domain::states::{Catalog, QuoteKind};
pub use tables::{BandwidthRow, DfaHeliosRow, DfaMagellanRow, HeliosSuburb, LiquidCpeRow, LiquidRow, MfnRow};

/// `quote_lines.item_kind` of each kind of network line.
pub const ITEM_ACCESS: &str = "network_access";
pub const ITEM_BANDWIDTH: &str = "bandwidth";
pub const ITEM_CPE: &str = "cpe";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    DfaMagellan,
    DfaHelios,
    Mfn,
    Liquid,
}

impl Provider {
    pub const ALL: [Provider; 4] = [Provider::DfaMagellan, Provider::DfaHelios, Provider::Mfn, Provider::Liquid];

    pub fn slug(self) -> &'static str {
        match self {
            Provider::DfaMagellan => "dfa-magellan",
            Provider::DfaHelios => "dfa-helios",
            Provider::Mfn => "mfn",
            Provider::Liquid => "liquid",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Provider::DfaMagellan => "DFA Magellan",
            Provider::DfaHelios => "DFA Helios",
            Provider::Mfn => "Metro Fibre Networx",
            Provider::Liquid => "Liquid",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|provider| provider.slug() == slug)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The active rows of every network price table, as the database has them when they are
/// read. Pricing trusts that retired rows are not here.
#[derive(Debug, Clone, Default)]
pub struct PriceTables {
    pub magellan: Vec<DfaMagellanRow>,
    pub helios: Vec<DfaHeliosRow>,
    /// Suburbs served by active Helios nodes only.
    pub helios_suburbs: Vec<HeliosSuburb>,
    pub mfn: Vec<MfnRow>,
    pub liquid: Vec<LiquidRow>,
    pub liquid_cpe: Vec<LiquidCpeRow>,
    pub bandwidth: Vec<BandwidthRow>,
}

/// What one provider would charge for one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub provider: Provider,
    pub speed_mbps: i32,
    pub term_months: i32,
    /// Access MRC, access NRC (left out when it is zero), then bandwidth and router,
    /// each for one link.
    pub lines: Vec<QuoteLine>,
}

impl Offer {
    /// Monthly sell total, excl. VAT.
    pub fn mrc(&self) -> Decimal {
        self.sum(Billing::Monthly)
    }

    /// Once-off sell total, excl. VAT.
    pub fn nrc(&self) -> Decimal {
        self.sum(Billing::OnceOff)
    }

    /// Everything the contract costs over its term, excl. VAT: what providers are
    /// compared on, since a low MRC can hide a high installation and the other way round.
    pub fn contract_value(&self) -> Decimal {
        pricing::contract_value(self.nrc(), self.mrc(), self.term_months)
    }

    /// The quote totals these lines would give.
    pub fn totals(&self, vat_rate_pct: Decimal) -> Totals {
        let lines: Vec<PricedLine> = self.lines.iter().map(|line| line.priced.clone()).collect();
        Totals::of(&lines, vat_rate_pct)
    }

    /// The quote of this offer for a site: its lines as they are, titled with the
    /// provider, the speed and the site.
    pub fn quote(self, site: Site, vat_rate_pct: Decimal) -> PricedQuote {
        let title = format!("{} {} Mbps at {}", self.provider.label(), self.speed_mbps, site.address);
        PricedQuote::new(QuoteKind::Network, title, Some(self.term_months), Some(site), self.lines, vat_rate_pct)
    }

    fn sum(&self, billing: Billing) -> Decimal {
        self.lines.iter().filter(|line| line.priced.billing == billing).map(|line| line.priced.amount).sum()
    }
}

/// How a router is paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpeBilling {
    OnceOff,
    Monthly,
}

impl CpeBilling {
    /// The same words as [`Billing::as_str`], so one form value serves both.
    pub fn slug(self) -> &'static str {
        Billing::from(self).as_str()
    }

    pub fn from_slug(slug: &str) -> Option<CpeBilling> {
        [CpeBilling::OnceOff, CpeBilling::Monthly].into_iter().find(|billing| billing.slug() == slug)
    }
}

impl From<CpeBilling> for Billing {
    fn from(billing: CpeBilling) -> Billing {
        match billing {
            CpeBilling::OnceOff => Billing::OnceOff,
            CpeBilling::Monthly => Billing::Monthly,
        }
    }
}

/// What a customer asks for; the provider is chosen separately (or compared).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub speed_mbps: i32,
    pub term_months: i32,
    /// The site's suburb, as typed: only DFA Helios depends on it.
    pub suburb: &'a str,
    pub bandwidth: Bandwidth,
    /// A `liquid_cpe` row id and how it is paid for.
    pub cpe: Option<(i64, CpeBilling)>,
}

/// The internet bandwidth (IP transit) on the link: none, a tier of the customer's
/// choice up to the link speed, or the largest tier that fits (the form's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bandwidth {
    None,
    LargestThatFits,
    Tier(i32),
}

/// Why a provider makes no offer for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoOffer {
    #[error("this provider does not offer that speed")]
    SpeedNotOffered,
    #[error("this provider does not offer that term at that speed")]
    TermNotOffered,
    #[error("this provider sells it on {months}-month terms only")]
    OnlyTerm { months: i32 },
    #[error("the site's suburb is not within 5 km of a DFA Helios node")]
    SiteNotServed,
    #[error("no internet bandwidth tier is as slow as the link")]
    BandwidthNotOffered,
    #[error("that bandwidth tier is faster than the link; choose one up to the link speed")]
    BandwidthAboveLink,
    #[error("that router is not available")]
    UnknownCpe,
    #[error("that router handles at most {max_mbps} Mbps, less than the link speed")]
    CpeTooSlow { max_mbps: i32 },
    #[error("that router cannot be had on that billing: choose purchase or rental instead")]
    CpeBillingNotOffered,
}

/// One line of the network catalog: a provider's sell prices for one speed and term.
#[derive(Debug, Clone, PartialEq)]
pub struct GridRow {
    pub provider: Provider,
    pub speed_mbps: i32,
    pub term_months: i32,
    pub sku: String,
    /// Sell prices per unit, excl. VAT.
    pub mrc: Decimal,
    pub nrc: Decimal,
}

impl GridRow {
    /// Once-off plus every month of the term, excl. VAT.
    pub fn contract_value(&self) -> Decimal {
        pricing::contract_value(self.nrc, self.mrc, self.term_months)
    }
}

impl PriceTables {
    pub fn offer(&self, provider: Provider, request: &Request) -> Result<Offer, NoOffer> {
        let (speed, term) = (request.speed_mbps, request.term_months);
        let access = match provider {
            Provider::DfaMagellan => magellan::access(&self.magellan, speed, term),
            Provider::DfaHelios => helios::access(&self.helios, &self.helios_suburbs, request),
            Provider::Mfn => mfn::access(&self.mfn, speed, term),
            Provider::Liquid => liquid::access(&self.liquid, speed, term),
        }?;
        let mut lines = access.lines();
        if let Some(line) = bandwidth::line(&self.bandwidth, request.bandwidth, speed)? {
            lines.push(line);
        }
        if let Some((cpe_id, billing)) = request.cpe {
            lines.push(cpe::line(&self.liquid_cpe, cpe_id, billing, speed)?);
        }
        Ok(Offer { provider, speed_mbps: speed, term_months: term, lines })
    }

    /// The price of a network quote: the chosen provider's offer for the request, at the
    /// site (whose suburb is the request's).
    pub fn quote(
        &self,
        provider: Provider,
        request: &Request,
        site_address: &str,
        vat_rate_pct: Decimal,
    ) -> Result<PricedQuote, NoOffer> {
        let site = Site { address: site_address.to_owned(), suburb: request.suburb.to_owned() };
        Ok(self.offer(provider, request)?.quote(site, vat_rate_pct))
    }

    /// Every provider that can serve the request, cheapest contract value first (ties
    /// in [`Provider::ALL`] order, so the list is stable from one page load to the next).
    pub fn offers(&self, request: &Request) -> Vec<Offer> {
        let mut offers: Vec<Offer> =
            Provider::ALL.into_iter().filter_map(|provider| self.offer(provider, request).ok()).collect();
        offers.sort_by_key(|offer| (offer.contract_value(), offer.provider));
        offers
    }

    /// Every access speed any provider offers, ascending.
    pub fn speeds(&self) -> Vec<i32> {
        let speeds: BTreeSet<i32> = (self.magellan.iter().map(|row| row.speed_mbps))
            .chain(self.helios.iter().map(|row| row.speed_mbps))
            .chain(self.mfn.iter().map(|row| row.speed_mbps))
            .chain(self.liquid.iter().map(|row| row.speed_mbps))
            .collect();
        speeds.into_iter().collect()
    }

    /// The active routers, for the quote form.
    pub fn cpes(&self) -> &[LiquidCpeRow] {
        &self.liquid_cpe
    }

    /// Every provider × speed × term with its access sell prices, by provider, then
    /// speed, then term. Helios rows are listed whatever the site: coverage is checked
    /// when a site is quoted.
    pub fn grid(&self) -> Vec<GridRow> {
        let mut rows: Vec<GridRow> = (magellan::all(&self.magellan).map(|a| a.grid_row(Provider::DfaMagellan)))
            .chain(helios::all(&self.helios).map(|a| a.grid_row(Provider::DfaHelios)))
            .chain(mfn::all(&self.mfn).map(|a| a.grid_row(Provider::Mfn)))
            .chain(liquid::all(&self.liquid).map(|a| a.grid_row(Provider::Liquid)))
            .collect();
        rows.sort_by_key(|row| (row.provider, row.speed_mbps, row.term_months));
        rows
    }
}

/// One provider's access price for one speed and term, in cost terms: the common shape
/// every provider module reduces its own table to.
struct Access {
    item_id: i64,
    speed_mbps: i32,
    term_months: i32,
    sku: String,
    /// e.g. "DFA Magellan 100 Mbps, 36 months"
    name: String,
    /// What the provider calls its once-off charge ("installation", "connection fee").
    nrc_name: &'static str,
    mrc_cost: Decimal,
    nrc_cost: Decimal,
    margin_pct: Decimal,
}

impl Access {
    fn lines(&self) -> Vec<QuoteLine> {
        let line = |billing, cost, what: &str| QuoteLine {
            catalog: Catalog::Enetworks,
            item_kind: ITEM_ACCESS,
            item_id: self.item_id,
            sku: self.sku.clone(),
            description: format!("{}: {what}", self.name),
            priced: PricedLine::new(billing, cost, self.margin_pct, 1),
            vm: None,
        };
        let mut lines = vec![line(Billing::Monthly, self.mrc_cost, "monthly access")];
        let nrc = line(Billing::OnceOff, self.nrc_cost, self.nrc_name);
        // A waived installation is left off the quote rather than shown at R 0.00.
        if !nrc.priced.amount.is_zero() {
            lines.push(nrc);
        }
        lines
    }

    fn grid_row(self, provider: Provider) -> GridRow {
        GridRow {
            provider,
            speed_mbps: self.speed_mbps,
            term_months: self.term_months,
            mrc: sell_price(self.mrc_cost, self.margin_pct),
            nrc: sell_price(self.nrc_cost, self.margin_pct),
            sku: self.sku,
        }
    }
}

/// The cell of a speed × term table. A missing speed and a missing term are told apart,
/// so the form can say which of the two to change.
fn grid_cell<R>(rows: &[R], speed_mbps: i32, term_months: i32, key: impl Fn(&R) -> (i32, i32)) -> Result<&R, NoOffer> {
    if !rows.iter().any(|row| key(row).0 == speed_mbps) {
        return Err(NoOffer::SpeedNotOffered);
    }
    rows.iter().find(|row| key(row) == (speed_mbps, term_months)).ok_or(NoOffer::TermNotOffered)
}

#[cfg(test)]
fn request(speed_mbps: i32, term_months: i32) -> Request<'static> {
    Request { speed_mbps, term_months, suburb: "", bandwidth: Bandwidth::None, cpe: None }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    /// Margins of 0 % keep the arithmetic readable: sell price = cost.
    fn tables() -> PriceTables {
        let zero = Decimal::ZERO;
        PriceTables {
            magellan: vec![
                DfaMagellanRow {
                    id: 1,
                    speed_mbps: 100,
                    term_months: 24,
                    mrc_cost: dec!(4000),
                    nrc_cost: dec!(4000),
                    margin_pct: zero,
                },
                DfaMagellanRow {
                    id: 2,
                    speed_mbps: 100,
                    term_months: 36,
                    mrc_cost: dec!(3500),
                    nrc_cost: dec!(2000),
                    margin_pct: zero,
                },
            ],
            helios: vec![DfaHeliosRow {
                id: 4,
                speed_mbps: 100,
                term_months: 24,
                mrc_cost: dec!(3000),
                connection_fee_cost: dec!(3500),
                margin_pct: zero,
            }],
            helios_suburbs: vec![HeliosSuburb {
                suburb: "Sandton".into(),
                node: "Sandton Node".into(),
                distance_km: dec!(0.6),
            }],
            mfn: vec![
                MfnRow {
                    id: 11,
                    speed_mbps: 100,
                    term_months: 24,
                    mrc_cost: dec!(3900),
                    nrc_cost: dec!(2875),
                    margin_pct: zero,
                },
                MfnRow {
                    id: 12,
                    speed_mbps: 100,
                    term_months: 36,
                    mrc_cost: dec!(3600),
                    nrc_cost: zero,
                    margin_pct: zero,
                },
                MfnRow {
                    id: 13,
                    speed_mbps: 25,
                    term_months: 36,
                    mrc_cost: dec!(2000),
                    nrc_cost: zero,
                    margin_pct: zero,
                },
            ],
            liquid: vec![LiquidRow {
                id: 12,
                speed_mbps: 100,
                term_months: 36,
                mrc_cost: dec!(4450),
                nrc_cost: dec!(3500),
                margin_pct: zero,
            }],
            liquid_cpe: vec![LiquidCpeRow {
                id: 1,
                model: "MikroTik RB5009".into(),
                description: String::new(),
                max_throughput_mbps: 1000,
                once_off_cost: Some(dec!(4350)),
                monthly_rental_cost: Some(dec!(219)),
                margin_pct: zero,
            }],
            bandwidth: vec![BandwidthRow {
                id: 4,
                speed_mbps: 100,
                contention: "1:1".into(),
                mrc_cost: dec!(2950),
                margin_pct: zero,
            }],
        }
    }

    fn providers(offers: &[Offer]) -> Vec<Provider> {
        offers.iter().map(|offer| offer.provider).collect()
    }

    #[test]
    fn slugs_round_trip_and_unknown_slugs_are_refused() {
        for provider in Provider::ALL {
            assert_eq!(Provider::from_slug(provider.slug()), Some(provider));
        }
        assert_eq!(Provider::from_slug("dfa-hellios"), None);
        assert_eq!(Provider::from_slug("Liquid"), None);
        assert_eq!(Provider::Mfn.to_string(), "Metro Fibre Networx");
        assert_eq!(CpeBilling::from_slug("monthly"), Some(CpeBilling::Monthly));
        assert_eq!(CpeBilling::from_slug(CpeBilling::OnceOff.slug()), Some(CpeBilling::OnceOff));
        assert_eq!(CpeBilling::from_slug("yearly"), None);
    }

    #[test]
    fn offers_come_cheapest_contract_first() {
        let tables = tables();
        // 36 months: Magellan 2000 + 3500 × 36 = 128 000; MFN 0 + 3600 × 36 = 129 600;
        // Liquid 3500 + 4450 × 36 = 163 700. Helios has no 36-month term.
        let offers = tables.offers(&request(100, 36));
        assert_eq!(providers(&offers), [Provider::DfaMagellan, Provider::Mfn, Provider::Liquid]);
        assert_eq!(
            offers.iter().map(Offer::contract_value).collect::<Vec<_>>(),
            [dec!(128000), dec!(129600), dec!(163700)]
        );
    }

    #[test]
    fn offers_leave_out_providers_that_cannot_serve() {
        let tables = tables();
        // 24 months in Sandton: Helios 3500 + 3000 × 24 = 75 500, MFN 2875 + 3900 × 24 =
        // 96 475, Magellan 4000 + 4000 × 24 = 100 000; Liquid has no 24-month row.
        let sandton = Request { suburb: "Sandton", ..request(100, 24) };
        assert_eq!(providers(&tables.offers(&sandton)), [Provider::DfaHelios, Provider::Mfn, Provider::DfaMagellan]);
        let elsewhere = Request { suburb: "Soweto", ..request(100, 24) };
        assert_eq!(providers(&tables.offers(&elsewhere)), [Provider::Mfn, Provider::DfaMagellan]);
        // only MFN sells 25 Mbps, and no provider sells 30 Mbps
        assert_eq!(providers(&tables.offers(&request(25, 36))), [Provider::Mfn]);
        assert!(tables.offers(&request(30, 36)).is_empty());
        // a bandwidth tier or a router that does not fit rules every provider out
        assert!(tables.offers(&Request { bandwidth: Bandwidth::Tier(100), ..request(25, 36) }).is_empty());
        assert!(tables.offers(&Request { cpe: Some((9, CpeBilling::Monthly)), ..request(100, 36) }).is_empty());
    }

    #[test]
    fn an_offer_lists_access_then_bandwidth_then_router() {
        let tables = tables();
        let full =
            Request { bandwidth: Bandwidth::LargestThatFits, cpe: Some((1, CpeBilling::Monthly)), ..request(100, 36) };
        let offer = tables.offer(Provider::Liquid, &full).unwrap();
        let kinds: Vec<_> = offer.lines.iter().map(|line| (line.item_kind, line.priced.billing)).collect();
        assert_eq!(
            kinds,
            [
                (ITEM_ACCESS, Billing::Monthly),
                (ITEM_ACCESS, Billing::OnceOff),
                (ITEM_BANDWIDTH, Billing::Monthly),
                (ITEM_CPE, Billing::Monthly)
            ]
        );
        assert!(offer.lines.iter().all(|line| line.priced.quantity == 1));
    }

    #[test]
    fn contract_value_is_nrc_plus_mrc_times_term() {
        let tables = tables();
        let rented =
            Request { bandwidth: Bandwidth::LargestThatFits, cpe: Some((1, CpeBilling::Monthly)), ..request(100, 36) };
        let offer = tables.offer(Provider::Liquid, &rented).unwrap();
        assert_eq!(offer.mrc(), dec!(4450) + dec!(2950) + dec!(219));
        assert_eq!(offer.nrc(), dec!(3500));
        assert_eq!(offer.contract_value(), dec!(3500) + dec!(7619) * dec!(36));

        // bought outright, the router moves from the monthly to the once-off total
        let bought = Request { cpe: Some((1, CpeBilling::OnceOff)), ..rented };
        let offer = tables.offer(Provider::Liquid, &bought).unwrap();
        assert_eq!(offer.mrc(), dec!(7400));
        assert_eq!(offer.nrc(), dec!(7850));
        assert_eq!(offer.contract_value(), dec!(274250));

        // with no installation the contract is the monthly total over the term
        let offer = tables.offer(Provider::Mfn, &request(100, 36)).unwrap();
        assert_eq!(offer.nrc(), Decimal::ZERO);
        assert_eq!(offer.contract_value(), dec!(129600));
    }

    #[test]
    fn totals_use_the_quote_vat_rules() {
        let offer = tables().offer(Provider::DfaMagellan, &request(100, 36)).unwrap();
        let totals = offer.totals(dec!(15));
        assert_eq!(totals.once_off_subtotal, dec!(2000));
        assert_eq!(totals.monthly_subtotal, dec!(3500));
        assert_eq!(totals.amount_due, dec!(6325.00));
    }

    #[test]
    fn a_quote_is_the_chosen_offer_at_the_site() {
        let tables = tables();
        let request = Request { suburb: "Sandton", bandwidth: Bandwidth::LargestThatFits, ..request(100, 24) };
        let quote = tables.quote(Provider::DfaHelios, &request, "12 Rivonia Road", dec!(15)).unwrap();
        assert_eq!(
            (quote.kind, quote.title.as_str(), quote.term_months),
            (QuoteKind::Network, "DFA Helios 100 Mbps at 12 Rivonia Road", Some(24))
        );
        assert_eq!(quote.site, Some(Site { address: "12 Rivonia Road".into(), suburb: "Sandton".into() }));
        let offer = tables.offer(Provider::DfaHelios, &request).unwrap();
        assert_eq!(quote.totals, offer.totals(dec!(15)));
        assert_eq!(quote.lines, offer.lines);
        assert!(quote.lines.iter().all(|line| line.catalog == Catalog::Enetworks && line.vm.is_none()));
        // a provider that cannot serve the site makes no quote, and says why
        let soweto = Request { suburb: "Soweto", ..request };
        assert_eq!(tables.quote(Provider::DfaHelios, &soweto, "1 Main Road", dec!(15)), Err(NoOffer::SiteNotServed));
    }

    #[test]
    fn speeds_are_every_access_speed_once_ascending() {
        assert_eq!(tables().speeds(), [25, 100]);
        assert_eq!(PriceTables::default().speeds(), Vec::<i32>::new());
    }

    #[test]
    fn the_grid_lists_every_provider_speed_and_term_in_order() {
        let grid = tables().grid();
        let keys: Vec<_> = grid.iter().map(|row| (row.provider, row.speed_mbps, row.term_months)).collect();
        assert_eq!(
            keys,
            [
                (Provider::DfaMagellan, 100, 24),
                (Provider::DfaMagellan, 100, 36),
                (Provider::DfaHelios, 100, 24),
                (Provider::Mfn, 25, 36),
                (Provider::Mfn, 100, 24),
                (Provider::Mfn, 100, 36),
                (Provider::Liquid, 100, 36),
            ]
        );
        let helios = &grid[2];
        assert_eq!((helios.sku.as_str(), helios.mrc, helios.nrc), ("DFA-HEL-100-24", dec!(3000), dec!(3500)));
        assert_eq!(helios.contract_value(), dec!(75500));
    }

    #[test]
    fn no_offer_messages_say_what_to_change() {
        assert_eq!(
            NoOffer::CpeTooSlow { max_mbps: 500 }.to_string(),
            "that router handles at most 500 Mbps, less than the link speed"
        );
    }
}
