//! Organisation and user fields that scale: a text field a person types a name into,
//! with suggestions as they type (htmx asks `/pickers/…` for a `<datalist>` of at most
//! [`SUGGESTIONS`] matches), never a `<select>` of every organisation. Without
//! JavaScript it is a plain text field: what was typed is resolved on submit (an exact
//! name, an id from one of our own links, or the one name that contains it), and
//! anything else comes back with a message by the field.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde::Deserialize;

use crate::auth::{CurrentUser, Permission};
use crate::db::main::{organisations, users};
use crate::domain::ids::{OrganisationId, UserId};
use crate::domain::text::{self, Lines};
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::sentence;

/// How many matches a field suggests (and names in its message when several match).
pub const SUGGESTIONS: i64 = 20;
/// Longer text matches nothing anyone typed on purpose.
const MAX_CHARS: usize = 200;

/// Who may look organisations up: everyone whose pages filter or choose by one.
pub const ORGANISATION_PICKERS: &[Permission] = &[
    Permission::OrgManage,
    Permission::WalletCredit,
    Permission::TransactionsViewAll,
    Permission::QuoteViewAll,
    Permission::OpsLogsView,
    Permission::UserManage,
    Permission::ActivityView,
];

/// Who may look users up: the activity log's user filter.
pub const USER_PICKERS: &[Permission] = &[Permission::ActivityView, Permission::UserManage];

/// What the field sent: its own name is the parameter's (htmx sends the input's value
/// under its name), so every field name in use is accepted.
#[derive(Deserialize)]
pub struct Typed {
    #[serde(default, alias = "org", alias = "organisation", alias = "organisation_id", alias = "user")]
    q: String,
}

/// The suggestions: `<option>`s for the field's `<datalist>`.
#[derive(Template, WebTemplate)]
#[template(path = "picker_options_partial.html")]
pub struct Options {
    /// (value to fill in, label: empty when the value says it all)
    options: Vec<(String, String)>,
}

pub async fn organisation_options(
    user: CurrentUser,
    state: web::Data<AppState>,
    typed: web::Query<Typed>,
) -> Result<Options, AppError> {
    user.require_any(ORGANISATION_PICKERS)?;
    let text: String = typed.q.trim().chars().take(MAX_CHARS).collect();
    if text.is_empty() {
        return Ok(Options { options: Vec::new() });
    }
    let mut conn = state.pools.main.get().await?;
    let found = organisations::search_names(&mut conn, &text, SUGGESTIONS).await?;
    Ok(Options { options: found.into_iter().map(|(_, name)| (name, String::new())).collect() })
}

pub async fn user_options(
    user: CurrentUser,
    state: web::Data<AppState>,
    typed: web::Query<Typed>,
) -> Result<Options, AppError> {
    user.require_any(USER_PICKERS)?;
    let text: String = typed.q.trim().chars().take(MAX_CHARS).collect();
    if text.is_empty() {
        return Ok(Options { options: Vec::new() });
    }
    let mut conn = state.pools.main.get().await?;
    let found = users::search_choices(&mut conn, &text, SUGGESTIONS).await?;
    Ok(Options { options: found.into_iter().map(|u| (u.email, u.name)).collect() })
}

/// A typed organisation or user, resolved: its id (None: the field was empty, or it
/// named nothing), what the field shows again, and why it named nothing.
pub struct Resolved<Id> {
    pub id: Option<Id>,
    pub shown: String,
    pub error: Option<String>,
}

impl<Id: ToString> Resolved<Id> {
    /// The value for links (paging, CSV): the id when resolved, else what was typed.
    pub fn link_value(&self) -> String {
        self.id.as_ref().map_or_else(|| self.shown.clone(), ToString::to_string)
    }
}

impl<Id> Default for Resolved<Id> {
    /// An empty field: nothing chosen, nothing wrong.
    fn default() -> Self {
        Resolved { id: None, shown: String::new(), error: None }
    }
}

/// `typed`, an organisation: an exact name (any case), an id (our own links carry
/// ids), or the one organisation whose name contains it.
pub async fn resolve_organisation(conn: &mut AsyncPgConnection, typed: &str) -> QueryResult<Resolved<OrganisationId>> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(Resolved::default());
    }
    if typed.chars().count() > MAX_CHARS {
        return Ok(refused(typed, format!("Type at most {MAX_CHARS} characters of the name.")));
    }
    if let Err(e) = text::check(typed, Lines::One) {
        return Ok(refused(typed, sentence(e)));
    }
    let found = organisations::search_names(conn, typed, SUGGESTIONS).await?;
    let exact = found.iter().find(|(_, name)| name.to_lowercase() == typed.to_lowercase());
    if let Some((id, name)) = exact.or(if found.len() == 1 { found.first() } else { None }) {
        return Ok(Resolved { id: Some(*id), shown: name.clone(), error: None });
    }
    if let Ok(id) = typed.parse::<i64>()
        && let Some(name) = organisations::name_of(conn, OrganisationId(id)).await?
    {
        return Ok(Resolved { id: Some(OrganisationId(id)), shown: name, error: None });
    }
    let names: Vec<String> = found.into_iter().map(|(_, name)| name).collect();
    Ok(refused(typed, ambiguity("organisation", typed, &names)))
}

/// `typed`, a user: an exact email address (any case), an id, or the one user whose
/// name or email contains it.
pub async fn resolve_user(conn: &mut AsyncPgConnection, typed: &str) -> QueryResult<Resolved<UserId>> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(Resolved::default());
    }
    if typed.chars().count() > MAX_CHARS {
        return Ok(refused(typed, format!("Type at most {MAX_CHARS} characters of the name or email.")));
    }
    if let Err(e) = text::check(typed, Lines::One) {
        return Ok(refused(typed, sentence(e)));
    }
    let found = users::search_choices(conn, typed, SUGGESTIONS).await?;
    let exact = found.iter().find(|u| u.email.to_lowercase() == typed.to_lowercase());
    if let Some(user) = exact.or(if found.len() == 1 { found.first() } else { None }) {
        return Ok(Resolved { id: Some(user.id), shown: user.email.clone(), error: None });
    }
    if let Ok(id) = typed.parse::<i64>()
        && let Some(email) = users::email_of(conn, UserId(id)).await?
    {
        return Ok(Resolved { id: Some(UserId(id)), shown: email, error: None });
    }
    let names: Vec<String> = found.into_iter().map(|u| format!("{} <{}>", u.name, u.email)).collect();
    Ok(refused(typed, ambiguity("user", typed, &names)))
}

fn refused<Id>(typed: &str, error: String) -> Resolved<Id> {
    Resolved { id: None, shown: typed.to_owned(), error: Some(error) }
}

/// Why `typed` names no single one: nothing matches, or several do (the first few named).
fn ambiguity(what: &str, typed: &str, matches: &[String]) -> String {
    const NAMED: usize = 5;
    match matches {
        [] => format!("No {what} matches “{typed}”. Check the spelling, or type less of it."),
        several => {
            let more = if several.len() >= SUGGESTIONS as usize {
                " and more".to_owned()
            } else if several.len() > NAMED {
                format!(" and {} more", several.len() - NAMED)
            } else {
                String::new()
            };
            let named: Vec<&str> = several.iter().take(NAMED).map(String::as_str).collect();
            format!("Several match “{typed}”: {}{more}. Type the whole name of one.", named.join(", "))
        }
    }
}

/// The field itself, rendered into a page with `{{ picker|safe }}` (its own template
/// escapes every value).
#[derive(Template)]
#[template(path = "picker_partial.html")]
pub struct Picker {
    /// The form field's name and the input's id.
    pub field: &'static str,
    pub label: &'static str,
    /// Where suggestions come from (`/pickers/organisations`).
    pub source: &'static str,
    pub value: String,
    pub error: Option<String>,
    /// Under the field: what to type, and what leaving it empty means.
    pub hint: &'static str,
}

impl Picker {
    pub fn organisation<Id>(field: &'static str, label: &'static str, resolved: &Resolved<Id>) -> Picker {
        Picker {
            field,
            label,
            source: "/pickers/organisations",
            value: resolved.shown.clone(),
            error: resolved.error.clone(),
            hint: "Type part of the name and choose; empty for all.",
        }
    }

    pub fn user<Id>(field: &'static str, label: &'static str, resolved: &Resolved<Id>) -> Picker {
        Picker {
            field,
            label,
            source: "/pickers/users",
            value: resolved.shown.clone(),
            error: resolved.error.clone(),
            hint: "Type part of the name or email and choose; empty for anyone.",
        }
    }

    /// For a form where an organisation must be chosen (no "all").
    pub fn required(mut self) -> Picker {
        self.hint = "Type part of the name and choose.";
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambiguity_names_a_few_and_counts_the_rest() {
        assert!(ambiguity("organisation", "zz", &[]).starts_with("No organisation matches “zz”"));
        let seven: Vec<String> = (1..=7).map(|n| format!("Org {n}")).collect();
        let message = ambiguity("organisation", "Org", &seven);
        assert!(message.contains("Org 1, Org 2, Org 3, Org 4, Org 5 and 2 more"), "{message}");
        let many: Vec<String> = (1..=20).map(|n| format!("Org {n}")).collect();
        assert!(ambiguity("organisation", "Org", &many).contains("Org 5 and more"));
    }
}
