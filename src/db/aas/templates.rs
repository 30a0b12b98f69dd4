//! VM templates (`terraform_vm_config`).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::schema::terraform_vm_config as t;
use crate::domain::ids::TemplateId;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = t)]
pub struct VmTemplate {
    pub id: TemplateId,
    pub name: String,
    pub description: String,
    pub vcpu: i32,
    pub ram_gb: i32,
    pub disk_gb: i32,
    pub disk_type: String,
    pub os: String,
    pub os_family: String,
    pub cost: Decimal,
    pub setup_cost: Decimal,
    pub margin_pct: Decimal,
}

/// The templates customers may quote, smallest first within each OS family.
pub async fn list_active(conn: &mut AsyncPgConnection) -> QueryResult<Vec<VmTemplate>> {
    t::table
        .filter(t::active.eq(true))
        .order((t::os_family.asc(), t::vcpu.asc(), t::ram_gb.asc(), t::name.asc()))
        .select(VmTemplate::as_select())
        .load(conn)
        .await
}

pub async fn find_active(conn: &mut AsyncPgConnection, id: TemplateId) -> QueryResult<Option<VmTemplate>> {
    t::table.find(id).filter(t::active.eq(true)).select(VmTemplate::as_select()).first(conn).await.optional()
}
