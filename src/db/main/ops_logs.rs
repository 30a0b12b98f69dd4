//! Provisioning logs: `vm_logs` and `disk_logs` rows (an accepted VM quote writes
//! "provision requested" rows for its VMs and disks), for the staff log pages and a
//! quote's own provisioning table.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{disk_logs, organisations, quotes, vm_logs};
use crate::domain::ids::{OrganisationId, QuoteId};

/// The statuses a provisioning row can have (the schema's CHECK).
pub const STATUSES: [&str; 4] = ["requested", "in_progress", "succeeded", "failed"];

#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub organisation: Option<OrganisationId>,
    pub status: Option<&'static str>,
    /// A quote number, matched exactly (case-insensitively).
    pub quote_number: Option<String>,
    /// Keyset cursor: only rows older than this id.
    pub after: Option<i64>,
}

/// One log row of either table, as the log pages show it.
#[derive(Debug)]
pub struct LogRow {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub organisation_id: OrganisationId,
    pub organisation_name: String,
    pub quote_id: Option<QuoteId>,
    pub quote_number: Option<String>,
    pub vm_name: String,
    /// Disk rows only: name, size in GB, type.
    pub disk: Option<(String, i32, String)>,
    pub event: String,
    pub status: String,
}

macro_rules! filter_logs {
    ($query:expr, $table:ident, $filter:expr) => {{
        let mut query = $query;
        let filter: &LogFilter = $filter;
        if let Some(org) = filter.organisation {
            query = query.filter($table::organisation_id.eq(org));
        }
        if let Some(status) = filter.status {
            query = query.filter($table::status.eq(status));
        }
        if let Some(number) = &filter.quote_number {
            query = query.filter(quotes::number.nullable().eq(number.to_uppercase()));
        }
        if let Some(after) = filter.after {
            query = query.filter($table::id.lt(after));
        }
        query.order($table::id.desc())
    }};
}

type Common = (i64, DateTime<Utc>, OrganisationId, String, Option<QuoteId>, Option<String>, String, String, String);

pub async fn vm_logs(conn: &mut AsyncPgConnection, filter: &LogFilter, limit: i64) -> QueryResult<Vec<LogRow>> {
    let query = vm_logs::table
        .inner_join(organisations::table)
        .left_join(quotes::table)
        .limit(limit)
        .select((
            vm_logs::id,
            vm_logs::created_at,
            vm_logs::organisation_id,
            organisations::name,
            vm_logs::quote_id,
            quotes::number.nullable(),
            vm_logs::vm_name,
            vm_logs::event,
            vm_logs::status,
        ))
        .into_boxed();
    let rows: Vec<Common> = filter_logs!(query, vm_logs, filter).load(conn).await?;
    Ok(rows.into_iter().map(|r| log_row(r, None)).collect())
}

pub async fn disk_logs(conn: &mut AsyncPgConnection, filter: &LogFilter, limit: i64) -> QueryResult<Vec<LogRow>> {
    let query = disk_logs::table
        .inner_join(organisations::table)
        .left_join(quotes::table)
        .limit(limit)
        .select((
            (
                disk_logs::id,
                disk_logs::created_at,
                disk_logs::organisation_id,
                organisations::name,
                disk_logs::quote_id,
                quotes::number.nullable(),
                disk_logs::vm_name,
                disk_logs::event,
                disk_logs::status,
            ),
            (disk_logs::disk_name, disk_logs::size_gb, disk_logs::disk_type),
        ))
        .into_boxed();
    let rows: Vec<(Common, (String, i32, String))> = filter_logs!(query, disk_logs, filter).load(conn).await?;
    Ok(rows.into_iter().map(|(r, disk)| log_row(r, Some(disk))).collect())
}

fn log_row(r: Common, disk: Option<(String, i32, String)>) -> LogRow {
    let (id, created_at, organisation_id, organisation_name, quote_id, quote_number, vm_name, event, status) = r;
    LogRow { id, created_at, organisation_id, organisation_name, quote_id, quote_number, vm_name, disk, event, status }
}

/// A quote's VM provisioning rows, oldest first: (VM, event, status, when).
pub async fn vm_logs_of_quote(
    conn: &mut AsyncPgConnection,
    quote: QuoteId,
) -> QueryResult<Vec<(String, String, String, DateTime<Utc>)>> {
    vm_logs::table
        .filter(vm_logs::quote_id.eq(quote))
        .order(vm_logs::id.asc())
        .select((vm_logs::vm_name, vm_logs::event, vm_logs::status, vm_logs::created_at))
        .load(conn)
        .await
}
