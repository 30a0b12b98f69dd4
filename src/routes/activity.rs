//! `/admin/activity` (`activity.view`): who did what to what, when and from where,
//! newest first, with filters (`user`, `org`, `action`, `from`, `to` in South African
//! days) and keyset paging (`after`).

use actix_web::http::StatusCode;
use actix_web::{CustomizeResponder, Either, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::{Require, perm};
use crate::db::main::activity::{self, ActivityFilter, ActivityRow};
use crate::db::main::{organisations, users};
use crate::domain::ids::{OrganisationId, UserId};
use crate::domain::time::format_sast;
use crate::domain::time::{parse_date, sast_midnight};
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Page, SelectOption};

const PAGE_SIZE: i64 = 50;
const MAX_ACTION_CHARS: usize = 100;
const USER_CHOICES: i64 = 1000;

#[derive(Deserialize, Default, Clone)]
pub struct FilterForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    after: String,
}

#[derive(Default)]
pub struct FilterErrors {
    user: Option<String>,
    org: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl FilterForm {
    fn parse(&self) -> Result<ActivityFilter, FilterErrors> {
        let mut errors = FilterErrors::default();
        let id = |raw: &str, error: &mut Option<String>, message: &str| match raw.trim() {
            "" => None,
            raw => raw.parse::<i64>().map_err(|_| *error = Some(message.to_owned())).ok(),
        };
        let user = id(&self.user, &mut errors.user, "Choose a user.").map(UserId);
        let organisation = id(&self.org, &mut errors.org, "Choose an organisation.").map(OrganisationId);
        let action = self.action.trim();
        if action.chars().count() > MAX_ACTION_CHARS {
            errors.action = Some(format!("Use at most {MAX_ACTION_CHARS} characters."));
        }
        let from = parse_date(&self.from).map_err(|e| errors.from = Some(e.into())).ok().flatten();
        let to = parse_date(&self.to).map_err(|e| errors.to = Some(e.into())).ok().flatten();
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            errors.to = Some("The end date is before the start date.".into());
        }
        let any = errors.user.is_some()
            || errors.org.is_some()
            || errors.action.is_some()
            || errors.from.is_some()
            || errors.to.is_some();
        if any {
            return Err(errors);
        }
        Ok(ActivityFilter {
            user,
            organisation,
            action: (!action.is_empty()).then(|| action.to_owned()),
            from: from.map(sast_midnight),
            until: to.map(|d| sast_midnight(d + chrono::Days::new(1))),
            // A malformed cursor is ignored: it only ever comes from our own links.
            after: self.after.trim().parse().ok(),
        })
    }

    fn query_string(&self) -> String {
        serde_urlencoded::to_string([
            ("user", self.user.trim()),
            ("org", self.org.trim()),
            ("action", self.action.trim()),
            ("from", self.from.trim()),
            ("to", self.to.trim()),
        ])
        .unwrap_or_default()
    }
}

pub struct ActivityView {
    id: i64,
    when: String,
    user_id: Option<UserId>,
    who: String,
    organisation: Option<(OrganisationId, String)>,
    action: String,
    target: String,
    ip: String,
    detail: String,
}

impl From<ActivityRow> for ActivityView {
    fn from(row: ActivityRow) -> Self {
        let who = match (row.user_name, row.actor_email) {
            (Some(name), Some(email)) => format!("{name} <{email}>"),
            (Some(name), None) => name,
            (None, Some(email)) => email,
            (None, None) => "system".into(),
        };
        let empty = row.detail.as_object().is_some_and(|o| o.is_empty());
        ActivityView {
            id: row.id,
            when: format_sast(row.created_at),
            user_id: row.user_id,
            who,
            organisation: row.organisation_id.zip(row.organisation_name),
            action: row.action,
            target: row.target.unwrap_or_default(),
            ip: row.ip.unwrap_or_default(),
            detail: if empty { String::new() } else { row.detail.to_string() },
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "activity.html")]
pub struct ActivityPage {
    page: Page,
    form: FilterForm,
    errors: FilterErrors,
    users: Vec<SelectOption>,
    organisations: Vec<SelectOption>,
    rows: Vec<ActivityView>,
    next: Option<String>,
}

pub async fn list(
    _: Require<perm::ActivityView>,
    page: Page,
    state: web::Data<AppState>,
    form: web::Query<FilterForm>,
) -> Result<Either<ActivityPage, CustomizeResponder<ActivityPage>>, AppError> {
    let form = form.into_inner();
    let mut conn = state.pools.main.get().await?;
    let people = users::list(&mut conn, &Default::default(), USER_CHOICES).await?;
    let organisations = organisations::names(&mut conn).await?;
    let mut view = ActivityPage {
        page,
        users: people
            .into_iter()
            .map(|u| SelectOption::new(u.id, format!("{} <{}>", u.name, u.email), &form.user))
            .collect(),
        organisations: organisations.into_iter().map(|(id, name)| SelectOption::new(id, name, &form.org)).collect(),
        form: form.clone(),
        errors: FilterErrors::default(),
        rows: Vec::new(),
        next: None,
    };
    match form.parse() {
        Ok(filter) => {
            let rows = activity::list(&mut conn, &filter, PAGE_SIZE).await?;
            if rows.len() as i64 == PAGE_SIZE {
                view.next = rows.last().map(|r| format!("/admin/activity?{}&after={}", form.query_string(), r.id));
            }
            view.rows = rows.into_iter().map(ActivityView::from).collect();
            Ok(Either::Left(view))
        }
        Err(errors) => {
            view.errors = errors;
            Ok(Either::Right(view.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY)))
        }
    }
}
