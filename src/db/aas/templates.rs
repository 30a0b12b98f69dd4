//! VM templates (`terraform_vm_config`).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::schema::terraform_vm_config as t;
use crate::db::{into_domain, record};
use crate::domain::aas::VmTemplate;
use crate::domain::ids::TemplateId;

record!(
    /// A `terraform_vm_config` row, read as the [`VmTemplate`] pricing knows.
    TemplateRecord from t into VmTemplate {
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
);

/// The templates customers may quote, smallest first within each OS family.
pub async fn list_active(conn: &mut AsyncPgConnection) -> QueryResult<Vec<VmTemplate>> {
    t::table
        .filter(t::active.eq(true))
        .order((t::os_family.asc(), t::vcpu.asc(), t::ram_gb.asc(), t::name.asc()))
        .select(TemplateRecord::as_select())
        .load(conn)
        .await
        .map(into_domain)
}

pub async fn find_active(conn: &mut AsyncPgConnection, id: TemplateId) -> QueryResult<Option<VmTemplate>> {
    let row = t::table.find(id).filter(t::active.eq(true)).select(TemplateRecord::as_select()).first(conn).await;
    row.optional().map(|row| row.map(VmTemplate::from))
}
