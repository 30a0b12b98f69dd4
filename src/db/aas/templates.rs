//! VM templates (`terraform_vm_config`).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::schema::terraform_vm_config as t;
use crate::domain::aas::VmTemplate;
use crate::domain::ids::TemplateId;

/// A `terraform_vm_config` row, read as the [`VmTemplate`] pricing knows.
#[derive(Queryable, Selectable)]
#[diesel(table_name = t)]
struct TemplateRow {
    id: TemplateId,
    name: String,
    description: String,
    vcpu: i32,
    ram_gb: i32,
    disk_gb: i32,
    disk_type: String,
    os: String,
    os_family: String,
    cost: Decimal,
    setup_cost: Decimal,
    margin_pct: Decimal,
}

impl From<TemplateRow> for VmTemplate {
    fn from(row: TemplateRow) -> VmTemplate {
        let TemplateRow {
            id,
            name,
            description,
            vcpu,
            ram_gb,
            disk_gb,
            disk_type,
            os,
            os_family,
            cost,
            setup_cost,
            margin_pct,
        } = row;
        VmTemplate {
            id,
            name,
            description,
            vcpu,
            ram_gb,
            disk_gb,
            disk_type,
            os,
            os_family,
            cost,
            setup_cost,
            margin_pct,
        }
    }
}

/// The templates customers may quote, smallest first within each OS family.
pub async fn list_active(conn: &mut AsyncPgConnection) -> QueryResult<Vec<VmTemplate>> {
    t::table
        .filter(t::active.eq(true))
        .order((t::os_family.asc(), t::vcpu.asc(), t::ram_gb.asc(), t::name.asc()))
        .select(TemplateRow::as_select())
        .load(conn)
        .await
        .map(|rows| rows.into_iter().map(VmTemplate::from).collect())
}

pub async fn find_active(conn: &mut AsyncPgConnection, id: TemplateId) -> QueryResult<Option<VmTemplate>> {
    let row = t::table.find(id).filter(t::active.eq(true)).select(TemplateRow::as_select()).first(conn).await;
    row.optional().map(|row| row.map(VmTemplate::from))
}
