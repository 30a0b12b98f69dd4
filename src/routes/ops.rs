//! `/ops/vms` and `/ops/disks` (`ops_logs.view`): every organisation's provisioning
//! logs, filtered by organisation, status and quote number, newest first with keyset
//! paging (`after`).

use actix_web::http::StatusCode;
use actix_web::{CustomizeResponder, Either, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::pickers::{self, Picker, Resolved};
use crate::auth::{Require, perm};
use crate::db::main::ops_logs::{self, LogFilter, LogRow, STATUSES};
use crate::domain::ids::{OrganisationId, QuoteId};
use crate::domain::time::format_sast;
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Page, SelectOption};

const PAGE_SIZE: i64 = 50;
const MAX_QUOTE_CHARS: usize = 20;

#[derive(Deserialize, Default, Clone)]
pub struct LogForm {
    #[serde(default)]
    org: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    quote: String,
    #[serde(default)]
    after: String,
}

#[derive(Default)]
pub struct LogErrors {
    org: Option<String>,
    status: Option<&'static str>,
    quote: Option<&'static str>,
}

impl LogForm {
    fn parse(&self, org: &Resolved<OrganisationId>) -> Result<LogFilter, LogErrors> {
        let mut errors = LogErrors { org: org.error.clone(), ..Default::default() };
        let organisation = org.id;
        let status = match self.status.trim() {
            "" => None,
            raw => {
                let status = STATUSES.iter().find(|s| **s == raw).copied();
                if status.is_none() {
                    errors.status = Some("Choose requested, in progress, succeeded or failed.");
                }
                status
            }
        };
        let quote = self.quote.trim();
        if quote.chars().count() > MAX_QUOTE_CHARS || !quote.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            errors.quote = Some("Enter a quote number like Q-2026-000123.");
        }
        if errors.org.is_some() || errors.status.is_some() || errors.quote.is_some() {
            return Err(errors);
        }
        Ok(LogFilter {
            organisation,
            status,
            quote_number: (!quote.is_empty()).then(|| quote.to_owned()),
            // A malformed cursor is ignored: it only ever comes from our own links.
            after: self.after.trim().parse().ok(),
        })
    }

    fn query_string(&self, org: &Resolved<OrganisationId>) -> String {
        serde_urlencoded::to_string([
            ("org", org.link_value().as_str()),
            ("status", self.status.trim()),
            ("quote", self.quote.trim()),
        ])
        .unwrap_or_default()
    }
}

pub struct LogView {
    id: i64,
    when: String,
    organisation_id: OrganisationId,
    organisation: String,
    quote: Option<(QuoteId, String)>,
    vm_name: String,
    disk: Option<String>,
    event: String,
    status: String,
}

impl From<LogRow> for LogView {
    fn from(row: LogRow) -> Self {
        LogView {
            id: row.id,
            when: format_sast(row.created_at),
            organisation_id: row.organisation_id,
            organisation: row.organisation_name,
            quote: row.quote_id.zip(row.quote_number),
            vm_name: row.vm_name,
            disk: row.disk.map(|(name, size, kind)| format!("{name} · {size} GB {kind}")),
            event: row.event,
            status: row.status,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "ops_logs.html")]
pub struct LogsPage {
    page: Page,
    /// `vms` or `disks`.
    which: &'static str,
    form: LogForm,
    errors: LogErrors,
    organisation: Picker,
    statuses: Vec<SelectOption>,
    rows: Vec<LogView>,
    next: Option<String>,
}

#[derive(Clone, Copy)]
enum Which {
    Vms,
    Disks,
}

async fn logs(
    which: Which,
    page: Page,
    state: &AppState,
    form: LogForm,
) -> Result<Either<LogsPage, CustomizeResponder<LogsPage>>, AppError> {
    let mut conn = state.pools.main.get().await?;
    let org = pickers::resolve_organisation(&mut conn, &form.org).await?;
    let path = match which {
        Which::Vms => "vms",
        Which::Disks => "disks",
    };
    let mut view = LogsPage {
        page,
        which: path,
        organisation: Picker::organisation("org", "Organisation", &org),
        statuses: STATUSES.iter().map(|s| SelectOption::new(s, s.replace('_', " "), &form.status)).collect(),
        form: form.clone(),
        errors: LogErrors::default(),
        rows: Vec::new(),
        next: None,
    };
    match form.parse(&org) {
        Ok(filter) => {
            let rows = match which {
                Which::Vms => ops_logs::vm_logs(&mut conn, &filter, PAGE_SIZE).await?,
                Which::Disks => ops_logs::disk_logs(&mut conn, &filter, PAGE_SIZE).await?,
            };
            if rows.len() as i64 == PAGE_SIZE {
                view.next = rows.last().map(|r| format!("/ops/{path}?{}&after={}", form.query_string(&org), r.id));
            }
            view.rows = rows.into_iter().map(LogView::from).collect();
            Ok(Either::Left(view))
        }
        Err(errors) => {
            view.errors = errors;
            Ok(Either::Right(view.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY)))
        }
    }
}

pub async fn vms(
    _: Require<perm::OpsLogsView>,
    page: Page,
    state: web::Data<AppState>,
    form: web::Query<LogForm>,
) -> Result<Either<LogsPage, CustomizeResponder<LogsPage>>, AppError> {
    logs(Which::Vms, page, &state, form.into_inner()).await
}

pub async fn disks(
    _: Require<perm::OpsLogsView>,
    page: Page,
    state: web::Data<AppState>,
    form: web::Query<LogForm>,
) -> Result<Either<LogsPage, CustomizeResponder<LogsPage>>, AppError> {
    logs(Which::Disks, page, &state, form.into_inner()).await
}
