//! The six provider price tables and the Helios node coverage, read whole: they are a
//! few hundred rows at most, so pricing works on them in memory
//! ([`crate::domain::network::PriceTables`]). Only active rows are read; retired rows
//! stay in the database so that quote snapshots can still be traced back to them.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::schema::{
    bandwidth_costs, dfa_helios, dfa_helios_nodes, dfa_helios_suburbs, dfa_magellan, liquid_costs, liquid_cpe, mfn,
};
use crate::domain::network::PriceTables;

/// DFA Magellan: one cell of the speed × term grid.
#[derive(Queryable, Selectable, Debug, Clone, PartialEq)]
#[diesel(table_name = dfa_magellan, check_for_backend(Pg))]
pub struct DfaMagellanRow {
    pub id: i64,
    pub speed_mbps: i32,
    pub term_months: i32,
    pub mrc_cost: Decimal,
    pub nrc_cost: Decimal,
    pub margin_pct: Decimal,
}

/// DFA Helios: one speed, its flat MRC and connection fee (the term is always 24).
#[derive(Queryable, Selectable, Debug, Clone, PartialEq)]
#[diesel(table_name = dfa_helios, check_for_backend(Pg))]
pub struct DfaHeliosRow {
    pub id: i64,
    pub speed_mbps: i32,
    pub term_months: i32,
    pub mrc_cost: Decimal,
    pub connection_fee_cost: Decimal,
    pub margin_pct: Decimal,
}

/// A suburb an active Helios node serves, with the node it is served from.
#[derive(Queryable, Selectable, Debug, Clone, PartialEq)]
#[diesel(table_name = dfa_helios_suburbs, check_for_backend(Pg))]
pub struct HeliosSuburb {
    pub suburb: String,
    #[diesel(select_expression = dfa_helios_nodes::name)]
    pub node: String,
    pub distance_km: Decimal,
}

/// Metro Fibre Networx: one cell of the speed × term grid.
#[derive(Queryable, Selectable, Debug, Clone, PartialEq)]
#[diesel(table_name = mfn, check_for_backend(Pg))]
pub struct MfnRow {
    pub id: i64,
    pub speed_mbps: i32,
    pub term_months: i32,
    pub mrc_cost: Decimal,
    pub nrc_cost: Decimal,
    pub margin_pct: Decimal,
}

/// Liquid: one cell of the speed × term grid.
#[derive(Queryable, Selectable, Debug, Clone, PartialEq)]
#[diesel(table_name = liquid_costs, check_for_backend(Pg))]
pub struct LiquidRow {
    pub id: i64,
    pub speed_mbps: i32,
    pub term_months: i32,
    pub mrc_cost: Decimal,
    pub nrc_cost: Decimal,
    pub margin_pct: Decimal,
}

/// A Liquid router. At least one of the two prices is set (a table CHECK).
#[derive(Queryable, Selectable, Debug, Clone, PartialEq)]
#[diesel(table_name = liquid_cpe, check_for_backend(Pg))]
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
#[derive(Queryable, Selectable, Debug, Clone, PartialEq)]
#[diesel(table_name = bandwidth_costs, check_for_backend(Pg))]
pub struct BandwidthRow {
    pub id: i64,
    pub speed_mbps: i32,
    pub contention: String,
    pub mrc_cost: Decimal,
    pub margin_pct: Decimal,
}

/// Every active row of every price table. One read-only repeatable-read transaction,
/// so a price edit committed half-way through cannot give a mix of old and new tables.
pub async fn load(conn: &mut AsyncPgConnection) -> QueryResult<PriceTables> {
    conn.build_transaction()
        .read_only()
        .repeatable_read()
        .run(async |conn| {
            let magellan = dfa_magellan::table
                .filter(dfa_magellan::active.eq(true))
                .order((dfa_magellan::speed_mbps, dfa_magellan::term_months))
                .select(DfaMagellanRow::as_select())
                .load(conn)
                .await?;
            let helios = dfa_helios::table
                .filter(dfa_helios::active.eq(true))
                .order(dfa_helios::speed_mbps)
                .select(DfaHeliosRow::as_select())
                .load(conn)
                .await?;
            let helios_suburbs = dfa_helios_suburbs::table
                .inner_join(dfa_helios_nodes::table)
                .filter(dfa_helios_nodes::active.eq(true))
                .order((dfa_helios_suburbs::suburb, dfa_helios_suburbs::distance_km, dfa_helios_nodes::name))
                .select(HeliosSuburb::as_select())
                .load(conn)
                .await?;
            let mfn = mfn::table
                .filter(mfn::active.eq(true))
                .order((mfn::speed_mbps, mfn::term_months))
                .select(MfnRow::as_select())
                .load(conn)
                .await?;
            let liquid = liquid_costs::table
                .filter(liquid_costs::active.eq(true))
                .order((liquid_costs::speed_mbps, liquid_costs::term_months))
                .select(LiquidRow::as_select())
                .load(conn)
                .await?;
            let liquid_cpe = liquid_cpe::table
                .filter(liquid_cpe::active.eq(true))
                .order((liquid_cpe::max_throughput_mbps, liquid_cpe::model))
                .select(LiquidCpeRow::as_select())
                .load(conn)
                .await?;
            let bandwidth = bandwidth_costs::table
                .filter(bandwidth_costs::active.eq(true))
                .order(bandwidth_costs::speed_mbps)
                .select(BandwidthRow::as_select())
                .load(conn)
                .await?;
            Ok(PriceTables { magellan, helios, helios_suburbs, mfn, liquid, liquid_cpe, bandwidth })
        })
        .await
}
