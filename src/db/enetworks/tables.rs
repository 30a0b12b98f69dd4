//! The six provider price tables and the Helios node coverage, read whole: they are a
//! few hundred rows at most, so pricing works on them in memory
//! ([`crate::domain::network::PriceTables`]). Only active rows are read; retired rows
//! stay in the database so that quote snapshots can still be traced back to them.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::schema::{
    bandwidth_costs, dfa_helios, dfa_helios_nodes, dfa_helios_suburbs, dfa_magellan, liquid_costs, liquid_cpe, mfn,
};
use crate::db::{into_domain, record};
use crate::domain::network::{
    BandwidthRow, DfaHeliosRow, DfaMagellanRow, HeliosSuburb, LiquidCpeRow, LiquidRow, MfnRow, PriceTables,
};

record!(DfaMagellanRecord from dfa_magellan into DfaMagellanRow {
    id: i64, speed_mbps: i32, term_months: i32, mrc_cost: Decimal, nrc_cost: Decimal, margin_pct: Decimal,
});

record!(DfaHeliosRecord from dfa_helios into DfaHeliosRow {
    id: i64, speed_mbps: i32, term_months: i32, mrc_cost: Decimal, connection_fee_cost: Decimal, margin_pct: Decimal,
});

record!(HeliosSuburbRecord from dfa_helios_suburbs into HeliosSuburb {
    suburb: String,
    #[diesel(select_expression = dfa_helios_nodes::name)]
    node: String,
    distance_km: Decimal,
});

record!(MfnRecord from mfn into MfnRow {
    id: i64, speed_mbps: i32, term_months: i32, mrc_cost: Decimal, nrc_cost: Decimal, margin_pct: Decimal,
});

record!(LiquidRecord from liquid_costs into LiquidRow {
    id: i64, speed_mbps: i32, term_months: i32, mrc_cost: Decimal, nrc_cost: Decimal, margin_pct: Decimal,
});

record!(LiquidCpeRecord from liquid_cpe into LiquidCpeRow {
    id: i64,
    model: String,
    description: String,
    max_throughput_mbps: i32,
    once_off_cost: Option<Decimal>,
    monthly_rental_cost: Option<Decimal>,
    margin_pct: Decimal,
});

record!(BandwidthRecord from bandwidth_costs into BandwidthRow {
    id: i64, speed_mbps: i32, contention: String, mrc_cost: Decimal, margin_pct: Decimal,
});

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
                .select(DfaMagellanRecord::as_select())
                .load(conn)
                .await
                .map(into_domain)?;
            let helios = dfa_helios::table
                .filter(dfa_helios::active.eq(true))
                .order(dfa_helios::speed_mbps)
                .select(DfaHeliosRecord::as_select())
                .load(conn)
                .await
                .map(into_domain)?;
            let helios_suburbs = dfa_helios_suburbs::table
                .inner_join(dfa_helios_nodes::table)
                .filter(dfa_helios_nodes::active.eq(true))
                .order((dfa_helios_suburbs::suburb, dfa_helios_suburbs::distance_km, dfa_helios_nodes::name))
                .select(HeliosSuburbRecord::as_select())
                .load(conn)
                .await
                .map(into_domain)?;
            let mfn = mfn::table
                .filter(mfn::active.eq(true))
                .order((mfn::speed_mbps, mfn::term_months))
                .select(MfnRecord::as_select())
                .load(conn)
                .await
                .map(into_domain)?;
            let liquid = liquid_costs::table
                .filter(liquid_costs::active.eq(true))
                .order((liquid_costs::speed_mbps, liquid_costs::term_months))
                .select(LiquidRecord::as_select())
                .load(conn)
                .await
                .map(into_domain)?;
            let liquid_cpe = liquid_cpe::table
                .filter(liquid_cpe::active.eq(true))
                .order((liquid_cpe::max_throughput_mbps, liquid_cpe::model))
                .select(LiquidCpeRecord::as_select())
                .load(conn)
                .await
                .map(into_domain)?;
            let bandwidth = bandwidth_costs::table
                .filter(bandwidth_costs::active.eq(true))
                .order(bandwidth_costs::speed_mbps)
                .select(BandwidthRecord::as_select())
                .load(conn)
                .await
                .map(into_domain)?;
            Ok(PriceTables { magellan, helios, helios_suburbs, mfn, liquid, liquid_cpe, bandwidth })
        })
        .await
}
