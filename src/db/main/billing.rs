//! The monthly billing run (DESIGN.md §10): for a date, every organisation with a month
//! due, one transaction each: lock the wallet, lock its billable services, ask
//! `domain::billing::plan` what to do, then (pipelined, one round trip) one ledger debit
//! for all its due months through `ledger::post`, the `service_charges` rows, the
//! services' new `paid_through` and status, the provisioning requests and, when the
//! wallet is short, one alert per organisation and run date. Organisations are streamed
//! in batches by id, so a run's memory does not grow with the number of services.
//! `UNIQUE (service_id, period_start)` makes each month chargeable once, whatever runs.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sql_types::{Array, BigInt, Date, Numeric, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use std::collections::HashMap;

use super::alerts::{self, NewAlert};
use super::invoices::{self, NewDocument};
use super::ledger::{self, Direction, Posting, PostingError, Wallet};
use super::schema::{billing_runs, organisations, services};
use super::services::{self as svc, Service};
use crate::db::Prepared;
use crate::db::pipeline::{Pipeline, transaction};
use crate::domain::billing::{Billable, Plan, VmRequest, plan};
use crate::domain::documents::{ChargedMonth, DocumentLine, monthly_lines};
use crate::domain::ids::{BillingRunId, OrganisationId, ServiceId};
use crate::domain::money::format_zar;
use crate::domain::states::{InvoiceKind, RunSource, ServiceStatus, TransactionKind};

/// Organisations read per query: bounds a run's memory, whatever the number of services.
const BATCH: i64 = 500;

/// How many organisations a run bills side by side (connections besides its own).
pub const WORKERS: usize = 4;

/// The PostgreSQL advisory lock key of the scheduled and staff runs: one at a time,
/// whichever instance of many gets it.
const RUN_LOCK_KEY: i64 = 0x6269_6c6c_696e_6721; // "billing!"

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// Takes the run's session-level advisory lock on this connection if no other session
/// holds it. Released by [`unlock_run`] or when the connection closes (a crash too).
pub async fn try_lock_run(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    let sql = format!("SELECT pg_try_advisory_lock({RUN_LOCK_KEY}) AS locked");
    Ok(diesel::sql_query(sql).get_result::<Locked>(conn).await?.locked)
}

pub async fn unlock_run(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    let sql = format!("SELECT pg_advisory_unlock({RUN_LOCK_KEY}) AS locked");
    Ok(diesel::sql_query(sql).get_result::<Locked>(conn).await?.locked)
}

#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub date: NaiveDate,
    pub grace_days: u32,
    /// VAT in percent on the run's tax invoices: the rate of the day.
    pub vat_rate: Decimal,
    pub dry_run: bool,
    pub source: RunSource,
}

/// What the run did (or, dry, would do) to one organisation.
pub struct OrganisationBill {
    pub organisation_id: OrganisationId,
    pub name: String,
    pub plan: Plan,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub organisations_charged: i32,
    pub organisations_short: i32,
    /// Organisations skipped this time (a wallet held too long elsewhere, a race another
    /// run won); the next run picks them up.
    pub organisations_skipped: i32,
    pub months_charged: i32,
    pub total_charged: Decimal,
}

#[derive(Debug, thiserror::Error)]
enum BillError {
    #[error(transparent)]
    Posting(#[from] PostingError),
    #[error(transparent)]
    Database(#[from] DieselError),
}

/// Runs the billing for `options.date` over every organisation with something due,
/// reporting each organisation's plan to `report` in the order of their ids. `conn`
/// reads the batches and records the run; the organisations of each batch are billed
/// on `workers` side by side (each its own transactions: their commits share the
/// server's flushes), or on `conn` when there are none. A dry run reads without locks,
/// on `conn`, and writes nothing.
pub async fn run(
    conn: &mut AsyncPgConnection,
    workers: &mut [&mut AsyncPgConnection],
    options: RunOptions,
    mut report: impl FnMut(&OrganisationBill),
) -> QueryResult<RunSummary> {
    let run_id = if options.dry_run { None } else { Some(start_run(conn, &options).await?) };
    let mut summary = RunSummary::default();
    let mut after = OrganisationId(0);
    loop {
        let batch = organisations_due(conn, options.date, after).await?;
        let Some(&(last, _)) = batch.last() else { break };
        after = last;
        let billed = if options.dry_run || workers.is_empty() {
            let mut billed = Vec::with_capacity(batch.len());
            for (org, _) in &batch {
                let plan =
                    if options.dry_run { dry(conn, *org, &options).await } else { bill(conn, *org, &options).await };
                billed.push(plan);
            }
            billed
        } else {
            bill_side_by_side(workers, &batch, &options).await
        };
        for ((org, name), billed) in batch.into_iter().zip(billed) {
            match billed {
                Ok(Some(plan)) => {
                    if plan.short {
                        summary.organisations_short += 1;
                    } else if !plan.charges.is_empty() {
                        summary.organisations_charged += 1;
                        summary.months_charged += plan.charges.len() as i32;
                        summary.total_charged += plan.total;
                    }
                    report(&OrganisationBill { organisation_id: org, name, plan });
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(organisation = %org, error = %e, "billing skipped this organisation this time");
                    summary.organisations_skipped += 1;
                }
            }
        }
    }
    if let Some(id) = run_id {
        finish_run(conn, id, &summary).await?;
    }
    Ok(summary)
}

/// Bills a batch on the workers, each taking every n-th organisation in turn; the
/// results in the batch's order.
async fn bill_side_by_side(
    workers: &mut [&mut AsyncPgConnection],
    batch: &[(OrganisationId, String)],
    options: &RunOptions,
) -> Vec<Result<Option<Plan>, BillError>> {
    let n = workers.len();
    let shares = workers.iter_mut().enumerate().map(|(i, worker)| async move {
        let mut billed = Vec::new();
        for (org, _) in batch.iter().skip(i).step_by(n) {
            billed.push(bill(worker, *org, options).await);
        }
        billed
    });
    let mut shares: Vec<_> = futures_util::future::join_all(shares).await.into_iter().map(Vec::into_iter).collect();
    (0..batch.len()).map(|i| shares[i % n].next().expect("each worker billed its share")).collect()
}

/// The next organisations after `after` (by id) with a billable service whose next
/// month has begun by `date`, with their names.
async fn organisations_due(
    conn: &mut AsyncPgConnection,
    date: NaiveDate,
    after: OrganisationId,
) -> QueryResult<Vec<(OrganisationId, String)>> {
    services::table
        .inner_join(organisations::table)
        .filter(services::status.eq_any(ServiceStatus::BILLABLE))
        .filter(services::paid_through.lt(date))
        .filter(services::organisation_id.gt(after))
        .select((services::organisation_id, organisations::name))
        .distinct()
        .order(services::organisation_id)
        .limit(BATCH)
        .load(conn)
        .await
}

/// What a run would do to `org`, read without locks; nothing is written.
async fn dry(
    conn: &mut AsyncPgConnection,
    org: OrganisationId,
    options: &RunOptions,
) -> Result<Option<Plan>, BillError> {
    let Some((wallet, services)) = svc::wallet_and_billable(conn, org).await? else { return Ok(None) };
    Ok(Some(plan(&services, wallet.balance, options.date, options.grace_days)))
}

/// Bills one organisation in one transaction of two round trips (`BEGIN` and the locks,
/// then the writes and `COMMIT`); `None` when it has no wallet or nothing changes
/// (another run got there first).
async fn bill(
    conn: &mut AsyncPgConnection,
    org: OrganisationId,
    options: &RunOptions,
) -> Result<Option<Plan>, BillError> {
    transaction::open(conn)?;
    let result = bill_in_transaction(conn, org, options).await;
    // Only the write pipeline carries the COMMIT; nothing to write rolls back.
    let closed = transaction::close(conn, matches!(result, Ok(Some(_)))).await;
    let plan = result?;
    closed?;
    Ok(plan)
}

async fn bill_in_transaction(
    conn: &mut AsyncPgConnection,
    org: OrganisationId,
    options: &RunOptions,
) -> Result<Option<Plan>, BillError> {
    let (wallet, services) = lock(conn, org).await?;
    let Some(wallet) = wallet else { return Ok(None) };
    let descriptions: HashMap<ServiceId, String> = services.iter().map(|s| (s.id, s.description.clone())).collect();
    let services: Vec<Billable> = crate::db::into_domain(services);
    let plan = plan(&services, wallet.balance, options.date, options.grace_days);
    if plan.charges.is_empty() && plan.changes.is_empty() && !plan.short {
        return Ok(None);
    }
    let charged: Vec<ChargedMonth<'_>> = plan
        .charges
        .iter()
        .map(|c| ChargedMonth {
            description: descriptions.get(&c.service).map_or("Service", String::as_str),
            start: c.period.start,
            end: c.period.end,
            amount: c.amount,
        })
        .collect();
    let lines = monthly_lines(&charged, options.vat_rate);
    write(conn, &wallet, &plan, &lines, options).await?;
    Ok(Some(plan))
}

/// `BEGIN`, then the wallet and the organisation's billable services, locked in that
/// order (the services' rows only change under their wallet's lock), in one round trip.
async fn lock(conn: &AsyncPgConnection, org: OrganisationId) -> QueryResult<(Option<Wallet>, Vec<Service>)> {
    let (mut wallet, mut rows) = (None, Vec::new());
    let mut pipeline = Pipeline::<DieselError>::default();
    pipeline.push(transaction::begin(conn));
    pipeline.push(ledger::bound_lock_waits(conn));
    pipeline.push(async {
        wallet = ledger::lock_wallet(conn, org).await?;
        QueryResult::Ok(())
    });
    pipeline.push(async {
        let mut c = conn;
        rows = services::table
            .filter(services::organisation_id.eq(org))
            .filter(services::status.eq_any(ServiceStatus::BILLABLE))
            .order(services::id)
            .select(Service::as_select())
            .for_update()
            .load(&mut c)
            .await?;
        QueryResult::Ok(())
    });
    pipeline.run().await?;
    Ok((wallet, rows))
}

/// The writes of one organisation's run and its `COMMIT`, pipelined in one round trip:
/// the debit (ledger row and balance), the services' rows, the provisioning requests,
/// the alert of a short wallet, then the tax invoice (`lines`: one per month charged;
/// it takes the series' next number, whose row stays locked until commit) and the
/// charge rows (which name the debit by its idempotency key, and the invoice).
async fn write(
    conn: &AsyncPgConnection,
    wallet: &Wallet,
    plan: &Plan,
    lines: &[DocumentLine],
    options: &RunOptions,
) -> Result<(), BillError> {
    let date = options.date;
    let org = wallet.organisation_id;
    // The oldest month charged names the debit: charged once, so posted once.
    let key = <[_]>::first(&plan.charges)
        .filter(|_| !plan.short)
        .map(|c| format!("billing:{}:{}:{}", org, c.service, c.period.start));
    let reference = format!("BILL-{date}-{org}");
    let description = format!("Monthly services: {} month(s)", plan.charges.len());
    let posting = key.as_deref().map(|key| Posting {
        kind: TransactionKind::Debit,
        direction: Direction::Out,
        amount: plan.total,
        quote_id: None,
        reference: &reference,
        description: &description,
        idempotency_key: key,
        created_by: None,
    });
    let short_alert = plan.short.then(|| short_alert(org, plan, wallet.balance, date));
    let vat: Decimal = lines.iter().map(|l| l.vat).sum();
    let document = key.as_deref().map(|key| NewDocument {
        kind: InvoiceKind::TaxInvoice,
        organisation_id: org,
        idempotency_key: key,
        original_invoice_id: None,
        reason: None,
        reference: &reference,
        vat_rate: options.vat_rate,
        lines,
        subtotal: plan.total - vat,
        vat,
        total: plan.total,
    });
    let mut pipeline = Pipeline::<BillError>::default();
    if let Some(posting) = &posting {
        pipeline.push(ledger::post(conn, wallet, posting));
    }
    if !plan.changes.is_empty() {
        pipeline.push(update_services(conn, plan));
    }
    for request in [VmRequest::Suspend, VmRequest::Resume, VmRequest::Deprovision] {
        let ids: Vec<_> = plan.changes.iter().filter(|c| c.request == Some(request)).map(|c| c.service).collect();
        if !ids.is_empty() {
            pipeline.push(svc::request_vm_work(conn, ids, request));
        }
    }
    if let Some(alert) = &short_alert {
        pipeline.push(alerts::raise(conn, alert));
    }
    if let (Some(key), Some(document)) = (&key, &document) {
        pipeline.push(ledger::check_balances_now(conn));
        pipeline.push(invoices::issue(conn, document));
        pipeline.push(insert_charges(conn, plan, key));
    }
    transaction::push_commit(&mut pipeline, conn, document.is_some());
    pipeline.run().await
}

async fn insert_charges(mut conn: &AsyncPgConnection, plan: &Plan, key: &str) -> QueryResult<usize> {
    let c = &plan.charges;
    Prepared::new(
        "INSERT INTO service_charges (service_id, period_start, period_end, amount, wallet_transaction_id, invoice_id)
         SELECT v.service_id, v.period_start, v.period_end, v.amount, t.id, i.id
         FROM unnest($1, $2, $3, $4) AS v (service_id, period_start, period_end, amount)
         CROSS JOIN (SELECT id FROM wallet_transactions WHERE idempotency_key = $5) t
         LEFT JOIN invoices i ON i.wallet_transaction_id = t.id",
    )
    .bind::<Array<BigInt>, _>(c.iter().map(|c| c.service.0).collect::<Vec<_>>())
    .bind::<Array<Date>, _>(c.iter().map(|c| c.period.start).collect::<Vec<_>>())
    .bind::<Array<Date>, _>(c.iter().map(|c| c.period.end).collect::<Vec<_>>())
    .bind::<Array<Numeric>, _>(c.iter().map(|c| c.amount).collect::<Vec<_>>())
    .bind::<Text, _>(key)
    .execute(&mut conn)
    .await
}

async fn update_services(mut conn: &AsyncPgConnection, plan: &Plan) -> QueryResult<usize> {
    let c = &plan.changes;
    Prepared::new(
        "UPDATE services s SET status = v.status, paid_through = v.paid_through, updated_at = now()
         FROM unnest($1, $2, $3) AS v (id, status, paid_through)
         WHERE s.id = v.id",
    )
    .bind::<Array<BigInt>, _>(c.iter().map(|c| c.service.0).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(c.iter().map(|c| c.status).collect::<Vec<_>>())
    .bind::<Array<Date>, _>(c.iter().map(|c| c.paid_through).collect::<Vec<_>>())
    .execute(&mut conn)
    .await
}

/// One alert per organisation and run date, however often the run repeats that day.
fn short_alert(org: OrganisationId, plan: &Plan, balance: Decimal, date: NaiveDate) -> NewAlert {
    let suspended = plan.changes.iter().any(|c| c.status == ServiceStatus::Suspended);
    NewAlert {
        organisation_id: Some(org),
        level: if suspended { "critical" } else { "warning" },
        kind: "billing_short",
        title: format!("Monthly charges of {} not paid", format_zar(plan.total)),
        body: format!(
            "{} month(s) of services are due and the wallet holds {}. {}",
            plan.charges.len(),
            format_zar(balance),
            if suspended {
                "Services unpaid past the grace period are suspended until a top-up pays them."
            } else {
                "Top up to keep your services running."
            }
        ),
        link: Some("/services".into()),
        dedupe_key: Some(format!("billing-short:{org}:{date}")),
    }
}

/// A recorded run (`billing_runs`).
#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = billing_runs)]
pub struct Run {
    pub run_for: NaiveDate,
    pub source: RunSource,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    pub organisations_charged: i32,
    pub organisations_short: i32,
    pub months_charged: i32,
    pub total_charged: Decimal,
}

/// The latest runs, newest first (a run without `finished_at` is under way, or died).
pub async fn recent_runs(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<Run>> {
    billing_runs::table.order(billing_runs::id.desc()).limit(limit).select(Run::as_select()).load(conn).await
}

#[derive(diesel::QueryableByName)]
struct Upcoming {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    services: i64,
    #[diesel(sql_type = Numeric)]
    amount: Decimal,
}

/// The charges of the next `days` days from `today`, per day: (day, services, amount).
/// The anniversary days are `started_on + n months`, PostgreSQL clamping to the month's
/// end as `domain::billing::period_start` does; months already due are not counted.
pub async fn upcoming(
    conn: &mut AsyncPgConnection,
    today: NaiveDate,
    days: i32,
) -> QueryResult<Vec<(NaiveDate, i64, Decimal)>> {
    let rows: Vec<Upcoming> = diesel::sql_query(
        "SELECT p.day, count(*) AS services, sum(s.monthly_amount) AS amount
         FROM services s
         CROSS JOIN LATERAL (
             SELECT (s.started_on + make_interval(months => n))::date AS day
             FROM generate_series(
                 ((extract(year FROM $1::date) - extract(year FROM s.started_on)) * 12
                  + extract(month FROM $1::date) - extract(month FROM s.started_on))::int,
                 ((extract(year FROM $1::date) - extract(year FROM s.started_on)) * 12
                  + extract(month FROM $1::date) - extract(month FROM s.started_on))::int + 2) n
         ) p
         WHERE s.status IN ('active', 'in_arrears', 'suspended')
           AND p.day > s.paid_through AND p.day >= $1 AND p.day < $1 + $2
           AND (s.cancel_at IS NULL OR p.day < s.cancel_at)
         GROUP BY p.day ORDER BY p.day",
    )
    .bind::<Date, _>(today)
    .bind::<diesel::sql_types::Integer, _>(days)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.day, r.services, r.amount)).collect())
}

/// Every service in arrears or suspended, with its organisation, ordered by it.
pub async fn in_arrears(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(OrganisationId, String, Service)>> {
    services::table
        .inner_join(organisations::table)
        .filter(services::status.eq_any([ServiceStatus::InArrears, ServiceStatus::Suspended]))
        .order((organisations::name, services::organisation_id, services::id))
        .select((services::organisation_id, organisations::name, Service::as_select()))
        .load(conn)
        .await
}

async fn start_run(conn: &mut AsyncPgConnection, options: &RunOptions) -> QueryResult<BillingRunId> {
    diesel::insert_into(billing_runs::table)
        .values((billing_runs::run_for.eq(options.date), billing_runs::source.eq(options.source)))
        .returning(billing_runs::id)
        .get_result(conn)
        .await
}

async fn finish_run(conn: &mut AsyncPgConnection, id: BillingRunId, summary: &RunSummary) -> QueryResult<usize> {
    diesel::update(billing_runs::table.find(id))
        .set((
            billing_runs::finished_at.eq(diesel::dsl::now),
            billing_runs::organisations_charged.eq(summary.organisations_charged),
            billing_runs::organisations_short.eq(summary.organisations_short),
            billing_runs::months_charged.eq(summary.months_charged),
            billing_runs::total_charged.eq(summary.total_charged),
        ))
        .execute(conn)
        .await
}
