//! `/alerts`: the in-app alerts of the user's organisation (and the user's own), read
//! and unread; marking one or all read; and `/alerts/count`, the header bell, which
//! htmx refreshes every 30 seconds. Another organisation's alert is a 404.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::see_other;
use crate::auth::session::{Flash, push_flash};
use crate::auth::{Require, perm};
use crate::db::main::alerts;
use crate::domain::ids::AlertId;
use crate::domain::time::format_sast;
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Bell, Page, filters};

const PAGE_SIZE: i64 = 25;

pub struct AlertView {
    id: AlertId,
    level: String,
    title: String,
    body: String,
    link: Option<String>,
    is_read: bool,
    when: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "alerts.html")]
pub struct AlertsPage {
    page: Page,
    alerts: Vec<AlertView>,
    unread_only: bool,
    older: Option<String>,
}

#[derive(Deserialize)]
pub struct AlertsQuery {
    #[serde(default)]
    show: String,
    before: Option<i64>,
}

pub async fn list(
    required: Require<perm::AlertsView>,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<AlertsQuery>,
) -> Result<AlertsPage, AppError> {
    let user = required.user;
    let unread_only = query.show == "unread";
    let mut conn = state.pools.main.get().await?;
    let rows =
        alerts::page(&mut conn, user.organisation_id, user.id, unread_only, query.before.map(AlertId), PAGE_SIZE)
            .await?;
    let older = (rows.len() as i64 == PAGE_SIZE)
        .then(|| rows.last().map(|a| format!("/alerts?show={}&before={}", query.show, a.id)))
        .flatten();
    let alerts = rows
        .into_iter()
        .map(|a| AlertView {
            id: a.id,
            level: a.level,
            title: a.title,
            body: a.body,
            // Only our own paths become links.
            link: a.link.filter(|l| l.starts_with('/') && !l.starts_with("//")),
            is_read: a.is_read,
            when: format_sast(a.created_at),
        })
        .collect();
    Ok(AlertsPage { page, alerts, unread_only, older })
}

#[derive(Template, WebTemplate)]
#[template(path = "bell_partial.html")]
pub struct BellPartial {
    bell: Bell,
}

/// The bell alone, for htmx to swap in.
pub async fn count(required: Require<perm::AlertsView>, state: web::Data<AppState>) -> Result<BellPartial, AppError> {
    let user = required.user;
    let mut conn = state.pools.main.get().await?;
    let unread = alerts::count_unread(&mut conn, user.organisation_id, user.id).await?;
    Ok(BellPartial { bell: Bell { unread } })
}

pub async fn mark_read(
    required: Require<perm::AlertsView>,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<AlertId>,
) -> Result<HttpResponse, AppError> {
    let user = required.user;
    let mut conn = state.pools.main.get().await?;
    if !alerts::mark_read(&mut conn, id.into_inner(), user.organisation_id, user.id).await? {
        return Err(AppError::NotFound);
    }
    push_flash(&session, Flash::success("Alert marked as read."));
    Ok(see_other("/alerts"))
}

pub async fn mark_all_read(
    required: Require<perm::AlertsView>,
    session: Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let user = required.user;
    let mut conn = state.pools.main.get().await?;
    let marked = alerts::mark_all_read(&mut conn, user.organisation_id, user.id).await?;
    let message = match marked {
        0 => "There were no unread alerts.".to_owned(),
        1 => "Marked 1 alert as read.".to_owned(),
        n => format!("Marked {n} alerts as read."),
    };
    push_flash(&session, Flash::success(message));
    Ok(see_other("/alerts"))
}
