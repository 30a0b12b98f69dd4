//! `/admin/activity` (`activity.view`): who did what to what, when and from where,
//! newest first, with filters (`user`, `org`, `action`, `from`, `to` in South African
//! days) and keyset paging (`after`).

use actix_web::http::StatusCode;
use actix_web::{CustomizeResponder, Either, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::pickers::{self, Picker, Resolved};
use crate::auth::{Require, perm};
use crate::db::main::activity::{self, ActivityFilter, ActivityRow};
use crate::domain::ids::{OrganisationId, UserId};
use crate::domain::time::format_sast;
use crate::domain::time::{parse_date, sast_midnight};
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::Page;

const PAGE_SIZE: i64 = 50;
const MAX_ACTION_CHARS: usize = 100;

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
    fn parse(&self, user: &Resolved<UserId>, org: &Resolved<OrganisationId>) -> Result<ActivityFilter, FilterErrors> {
        let mut errors = FilterErrors { user: user.error.clone(), org: org.error.clone(), ..Default::default() };
        let (user, organisation) = (user.id, org.id);
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

    fn query_string(&self, user: &Resolved<UserId>, org: &Resolved<OrganisationId>) -> String {
        serde_urlencoded::to_string([
            ("user", user.link_value().as_str()),
            ("org", org.link_value().as_str()),
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
    /// The detail as sentences ("Name: Acme → Acme Logistics"), not JSON.
    detail: Vec<String>,
}

impl From<ActivityRow> for ActivityView {
    fn from(row: ActivityRow) -> Self {
        let who = match (row.user_name, row.actor_email) {
            (Some(name), Some(email)) => format!("{name} <{email}>"),
            (Some(name), None) => name,
            (None, Some(email)) => email,
            (None, None) => "system".into(),
        };
        ActivityView {
            id: row.id,
            when: format_sast(row.created_at),
            user_id: row.user_id,
            who,
            organisation: row.organisation_id.zip(row.organisation_name),
            action: row.action,
            target: row.target.unwrap_or_default(),
            ip: row.ip.unwrap_or_default(),
            detail: readable(&row.detail),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "activity.html")]
pub struct ActivityPage {
    page: Page,
    form: FilterForm,
    errors: FilterErrors,
    user: Picker,
    organisation: Picker,
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
    let user = pickers::resolve_user(&mut conn, &form.user).await?;
    let org = pickers::resolve_organisation(&mut conn, &form.org).await?;
    let mut view = ActivityPage {
        page,
        user: Picker::user("user", "User", &user),
        organisation: Picker::organisation("org", "Organisation", &org),
        form: form.clone(),
        errors: FilterErrors::default(),
        rows: Vec::new(),
        next: None,
    };
    match form.parse(&user, &org) {
        Ok(filter) => {
            let rows = activity::list(&mut conn, &filter, PAGE_SIZE).await?;
            if rows.len() as i64 == PAGE_SIZE {
                view.next =
                    rows.last().map(|r| format!("/admin/activity?{}&after={}", form.query_string(&user, &org), r.id));
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

/// An activity row's detail as lines a person reads: a change as "Field: before →
/// after" for each field that changed, anything else as "Field: value", nested values
/// by their path ("Totals, amount due: …").
fn readable(detail: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    let Value::Object(fields) = detail else {
        return match detail {
            Value::Null => Vec::new(),
            other => vec![plain(other)],
        };
    };
    if let (Some(before), Some(after)) = (fields.get("before"), fields.get("after")) {
        let mut lines = changes(before, after);
        lines.extend(
            fields.iter().filter(|(k, _)| *k != "before" && *k != "after").flat_map(|(k, v)| lines_of(&label(k), v)),
        );
        return lines;
    }
    fields.iter().flat_map(|(k, v)| lines_of(&label(k), v)).collect()
}

/// "Field: before → after" for each field that differs (a creation: "Field: value").
fn changes(before: &serde_json::Value, after: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    let empty = serde_json::Map::new();
    let (old, new) = match (before, after) {
        (Value::Object(old), Value::Object(new)) => (old, new),
        (Value::Null, Value::Object(new)) => (&empty, new),
        (Value::Object(old), Value::Null) => (old, &empty),
        (old, new) => return vec![format!("{} → {}", plain(old), plain(new))],
    };
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let (was, now) = (old.get(k).unwrap_or(&Value::Null), new.get(k).unwrap_or(&Value::Null));
            match (was == now, old.is_empty()) {
                (true, _) => None,
                (false, true) => Some(format!("{}: {}", label(k), plain(now))),
                (false, false) => Some(format!("{}: {} → {}", label(k), plain(was), plain(now))),
            }
        })
        .collect()
}

fn lines_of(path: &str, value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::Object(fields) => {
            fields.iter().flat_map(|(k, v)| lines_of(&format!("{path}, {}", label(k).to_lowercase()), v)).collect()
        }
        other => vec![format!("{path}: {}", plain(other))],
    }
}

/// `amount_due` → "Amount due".
fn label(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn plain(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "(none)".into(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::String(text) if text.is_empty() => "(empty)".into(),
        Value::String(text) => text.clone(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) if items.is_empty() => "(none)".into(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        Value::Object(_) => lines_of("", value).join("; "),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::readable;

    #[test]
    fn details_read_as_text_not_json() {
        assert!(readable(&json!({})).is_empty());
        assert_eq!(
            readable(&json!({ "number": "Q-2026-000006", "amount_due": "8618.51", "full": true })),
            ["Amount due: 8618.51", "Full: yes", "Number: Q-2026-000006"]
        );
        assert_eq!(
            readable(&json!({
                "before": { "name": "Acme", "vat_number": null, "roles": ["customer"] },
                "after": { "name": "Acme Logistics", "vat_number": null, "roles": ["customer", "admin"] },
            })),
            ["Name: Acme → Acme Logistics", "Roles: customer → customer, admin"]
        );
        assert_eq!(readable(&json!({ "before": null, "after": { "name": "Umoya" } })), ["Name: Umoya"]);
        assert_eq!(readable(&json!({ "totals": { "net": "5.00" } })), ["Totals, net: 5.00"]);
    }
}
