//! The queries of the admin price editor (`/admin/pricing`): the cost and margin of
//! every priced row, in either catalog database, read and edited through one description
//! of each table. Prices are computed from these columns elsewhere (`domain::pricing`
//! and each quote kind's module); this only reads and writes them. Table and column names
//! come only from [`TABLES`], never from input; values are always bound.

use diesel::sql_types::{BigInt, Bool, Nullable, Numeric, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use crate::domain::states::Catalog;

/// One priced table: where it lives and which of its columns hold costs.
pub struct PriceTable {
    pub key: &'static str,
    pub title: &'static str,
    pub catalog: Catalog,
    table: &'static str,
    label_sql: &'static str,
    order_sql: &'static str,
    /// (column, label); at most two, the second may be NULL where the table allows it.
    pub costs: &'static [(&'static str, &'static str)],
}

pub const TABLES: &[PriceTable] = &[
    PriceTable {
        key: "products",
        title: "Cloud products",
        catalog: Catalog::Aas,
        table: "products",
        label_sql: "sku || ' · ' || name",
        order_sql: "sku",
        costs: &[("cost", "Cost per unit")],
    },
    PriceTable {
        key: "vm-templates",
        title: "VM templates",
        catalog: Catalog::Aas,
        table: "terraform_vm_config",
        label_sql: "name",
        order_sql: "name",
        costs: &[("cost", "Monthly cost"), ("setup_cost", "Setup cost")],
    },
    PriceTable {
        key: "dfa-magellan",
        title: "DFA Magellan",
        catalog: Catalog::Enetworks,
        table: "dfa_magellan",
        label_sql: "speed_mbps || ' Mbps, ' || term_months || ' months'",
        order_sql: "speed_mbps, term_months",
        costs: &[("mrc_cost", "Monthly cost"), ("nrc_cost", "Installation cost")],
    },
    PriceTable {
        key: "dfa-helios",
        title: "DFA Helios",
        catalog: Catalog::Enetworks,
        table: "dfa_helios",
        label_sql: "speed_mbps || ' Mbps, ' || term_months || ' months'",
        order_sql: "speed_mbps",
        costs: &[("mrc_cost", "Monthly cost"), ("connection_fee_cost", "Connection fee cost")],
    },
    PriceTable {
        key: "mfn",
        title: "Metro Fibre Networx",
        catalog: Catalog::Enetworks,
        table: "mfn",
        label_sql: "speed_mbps || ' Mbps, ' || term_months || ' months'",
        order_sql: "speed_mbps, term_months",
        costs: &[("mrc_cost", "Monthly cost"), ("nrc_cost", "Installation cost")],
    },
    PriceTable {
        key: "liquid",
        title: "Liquid",
        catalog: Catalog::Enetworks,
        table: "liquid_costs",
        label_sql: "speed_mbps || ' Mbps, ' || term_months || ' months'",
        order_sql: "speed_mbps, term_months",
        costs: &[("mrc_cost", "Monthly cost"), ("nrc_cost", "Installation cost")],
    },
    PriceTable {
        key: "liquid-cpe",
        title: "Liquid routers",
        catalog: Catalog::Enetworks,
        table: "liquid_cpe",
        label_sql: "model",
        order_sql: "model",
        costs: &[("once_off_cost", "Purchase cost"), ("monthly_rental_cost", "Monthly rental cost")],
    },
    PriceTable {
        key: "bandwidth",
        title: "Internet bandwidth",
        catalog: Catalog::Enetworks,
        table: "bandwidth_costs",
        label_sql: "speed_mbps || ' Mbps (' || contention || ')'",
        order_sql: "speed_mbps",
        costs: &[("mrc_cost", "Monthly cost")],
    },
];

pub fn table(key: &str) -> Option<&'static PriceTable> {
    TABLES.iter().find(|t| t.key == key)
}

#[derive(diesel::QueryableByName, Debug, Clone, PartialEq)]
pub struct PricedRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub label: String,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub cost_a: Option<Decimal>,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub cost_b: Option<Decimal>,
    #[diesel(sql_type = Numeric)]
    pub margin_pct: Decimal,
    #[diesel(sql_type = Bool)]
    pub active: bool,
}

impl PriceTable {
    fn select(&self) -> String {
        let cost_b = self.costs.get(1).map_or("NULL::numeric", |(column, _)| column);
        format!(
            "SELECT id, {label} AS label, {a} AS cost_a, {cost_b} AS cost_b, margin_pct, active FROM {table}",
            label = self.label_sql,
            a = self.costs[0].0,
            table = self.table,
        )
    }

    pub async fn rows(&self, conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<PricedRow>> {
        diesel::sql_query(format!("{} ORDER BY {}", self.select(), self.order_sql)).load(conn).await
    }

    pub async fn row(&self, conn: &mut AsyncPgConnection, id: i64) -> diesel::QueryResult<Option<PricedRow>> {
        use diesel::OptionalExtension;
        diesel::sql_query(format!("{} WHERE id = $1", self.select()))
            .bind::<BigInt, _>(id)
            .get_result(conn)
            .await
            .optional()
    }

    /// Changes a row's costs, margin and active flag in one transaction; returns the
    /// row as it was and as it is now, for the activity log.
    pub async fn update(
        &self,
        conn: &mut AsyncPgConnection,
        id: i64,
        costs: (Option<Decimal>, Option<Decimal>),
        margin_pct: Decimal,
        active: bool,
    ) -> diesel::QueryResult<Option<(PricedRow, PricedRow)>> {
        conn.transaction(async |conn| {
            use diesel::OptionalExtension;
            let before: Option<PricedRow> = diesel::sql_query(format!("{} WHERE id = $1 FOR UPDATE", self.select()))
                .bind::<BigInt, _>(id)
                .get_result(conn)
                .await
                .optional()?;
            let Some(before) = before else { return Ok(None) };
            let cost_b = self.costs.get(1).map(|(column, _)| format!(", {column} = $2")).unwrap_or_default();
            diesel::sql_query(format!(
                "UPDATE {table} SET {a} = $1{cost_b}, margin_pct = $3, active = $4, updated_at = now() WHERE id = $5",
                table = self.table,
                a = self.costs[0].0,
            ))
            .bind::<Nullable<Numeric>, _>(costs.0)
            .bind::<Nullable<Numeric>, _>(costs.1)
            .bind::<Numeric, _>(margin_pct)
            .bind::<Bool, _>(active)
            .bind::<BigInt, _>(id)
            .execute(conn)
            .await?;
            let after = diesel::sql_query(format!("{} WHERE id = $1", self.select()))
                .bind::<BigInt, _>(id)
                .get_result(conn)
                .await?;
            Ok(Some((before, after)))
        })
        .await
    }
}
