//! The rows of the provider price tables, as pricing reads them (`db::enetworks::tables`
//! maps the database's rows into these). Costs are per link, excl. VAT; the sell price is
//! always computed, never stored.

use rust_decimal::Decimal;

/// DFA Magellan: one cell of the speed × term grid.
#[derive(Debug, Clone, PartialEq)]
pub struct DfaMagellanRow {
    pub id: i64,
    pub speed_mbps: i32,
    pub term_months: i32,
    pub mrc_cost: Decimal,
    pub nrc_cost: Decimal,
    pub margin_pct: Decimal,
}

/// DFA Helios: one speed, its flat MRC and connection fee (the term is always 24).
#[derive(Debug, Clone, PartialEq)]
pub struct DfaHeliosRow {
    pub id: i64,
    pub speed_mbps: i32,
    pub term_months: i32,
    pub mrc_cost: Decimal,
    pub connection_fee_cost: Decimal,
    pub margin_pct: Decimal,
}

/// A suburb an active Helios node serves, with the node it is served from.
#[derive(Debug, Clone, PartialEq)]
pub struct HeliosSuburb {
    pub suburb: String,
    pub node: String,
    pub distance_km: Decimal,
}

/// Metro Fibre Networx: one cell of the speed × term grid.
#[derive(Debug, Clone, PartialEq)]
pub struct MfnRow {
    pub id: i64,
    pub speed_mbps: i32,
    pub term_months: i32,
    pub mrc_cost: Decimal,
    pub nrc_cost: Decimal,
    pub margin_pct: Decimal,
}

/// Liquid: one cell of the speed × term grid.
#[derive(Debug, Clone, PartialEq)]
pub struct LiquidRow {
    pub id: i64,
    pub speed_mbps: i32,
    pub term_months: i32,
    pub mrc_cost: Decimal,
    pub nrc_cost: Decimal,
    pub margin_pct: Decimal,
}

/// A Liquid router. At least one of the two prices is set (a table CHECK).
#[derive(Debug, Clone, PartialEq)]
pub struct LiquidCpeRow {
    pub id: i64,
    pub model: String,
    pub description: String,
    pub max_throughput_mbps: i32,
    pub once_off_cost: Option<Decimal>,
    pub monthly_rental_cost: Option<Decimal>,
    pub margin_pct: Decimal,
}

/// Internet bandwidth: one speed tier.
#[derive(Debug, Clone, PartialEq)]
pub struct BandwidthRow {
    pub id: i64,
    pub speed_mbps: i32,
    pub contention: String,
    pub mrc_cost: Decimal,
    pub margin_pct: Decimal,
}
