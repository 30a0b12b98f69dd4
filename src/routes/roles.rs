//! `/admin/roles` (`role.manage`): the matrix of roles × permissions, saved in one
//! transaction; create, rename and delete (only a role no one holds). Permissions are
//! read from the database on every request, so a saved matrix applies at once.

use std::collections::{BTreeMap, BTreeSet};

use actix_session::Session;
use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{PageOr303, done, unprocessable};
use crate::auth::session::Flash;
use crate::auth::{Require, perm};
use crate::db::main::activity::Actor;
use crate::db::main::roles::{self, RoleError};
use crate::domain::ids::RoleId;
use crate::domain::organisation::parse_name;
use crate::domain::text::{self, Lines};
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Page, sentence};

const MAX_ROLE_NAME_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 500;
const NAME_TAKEN: &str = "A role with this name already exists.";
const LAST_ADMIN: &str = "This would leave no active user who can manage users and roles (user.manage and \
                          role.manage), so nothing was changed. Grant both to another active user's role first.";

#[derive(Deserialize, Default, Clone)]
pub struct RoleForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

#[derive(Default)]
pub struct RoleErrors {
    name: Option<String>,
    description: Option<String>,
}

impl RoleForm {
    fn parse(&self) -> Result<(String, String), RoleErrors> {
        let mut errors = RoleErrors::default();
        let name = match parse_name(&self.name) {
            Ok(name) if name.chars().count() > MAX_ROLE_NAME_CHARS => {
                errors.name = Some(format!("Use at most {MAX_ROLE_NAME_CHARS} characters."));
                None
            }
            Ok(name) => Some(name.to_owned()),
            Err(e) => {
                errors.name = Some(sentence(&e));
                None
            }
        };
        let description = self.description.trim();
        if let Err(e) = text::check(description, Lines::One) {
            errors.description = Some(sentence(e));
        } else if description.chars().count() > MAX_DESCRIPTION_CHARS {
            errors.description = Some(format!("Use at most {MAX_DESCRIPTION_CHARS} characters."));
        }
        match name {
            Some(name) if errors.description.is_none() => Ok((name, description.to_owned())),
            _ => Err(errors),
        }
    }
}

pub struct Cell {
    role_id: RoleId,
    /// For screen readers: the checkbox is named by its role and its permission.
    role_name: String,
    checked: bool,
}

pub struct MatrixRow {
    code: String,
    description: String,
    cells: Vec<Cell>,
}

pub struct RoleView {
    id: RoleId,
    holders: i64,
    /// The rename form: stored values, or as submitted with errors.
    form: RoleForm,
    errors: RoleErrors,
}

#[derive(Template, WebTemplate)]
#[template(path = "roles.html")]
pub struct RolesPage {
    page: Page,
    roles: Vec<RoleView>,
    matrix: Vec<MatrixRow>,
    matrix_error: Option<String>,
    new_role: RoleForm,
    new_role_errors: RoleErrors,
}

/// What one of the page's forms brought back with errors.
#[derive(Default)]
struct Submitted {
    matrix: Option<BTreeMap<RoleId, BTreeSet<String>>>,
    matrix_error: Option<String>,
    new_role: RoleForm,
    new_role_errors: RoleErrors,
    rename: Option<(RoleId, RoleForm, RoleErrors)>,
}

async fn roles_page(state: &AppState, page: Page, submitted: Submitted) -> Result<RolesPage, AppError> {
    let mut conn = state.pools.main.get().await?;
    let all = roles::all(&mut conn).await?;
    let permissions = roles::permissions(&mut conn).await?;
    let holders = roles::holders(&mut conn).await?;
    let granted = match submitted.matrix {
        Some(matrix) => matrix,
        None => roles::matrix(&mut conn).await?,
    };
    let mut rename = submitted.rename;
    let matrix = permissions
        .into_iter()
        .map(|(code, description)| MatrixRow {
            cells: all
                .iter()
                .map(|r| Cell {
                    role_id: r.id,
                    role_name: r.name.clone(),
                    checked: granted.get(&r.id).is_some_and(|set| set.contains(&code)),
                })
                .collect(),
            code,
            description,
        })
        .collect();
    let roles = all
        .into_iter()
        .map(|r| {
            let (form, errors) = match rename.take_if(|(id, _, _)| *id == r.id) {
                Some((_, form, errors)) => (form, errors),
                None => (RoleForm { name: r.name, description: r.description }, RoleErrors::default()),
            };
            RoleView { id: r.id, holders: holders.get(&r.id).copied().unwrap_or(0), form, errors }
        })
        .collect();
    Ok(RolesPage {
        page,
        roles,
        matrix,
        matrix_error: submitted.matrix_error,
        new_role: submitted.new_role,
        new_role_errors: submitted.new_role_errors,
    })
}

async fn again(state: &AppState, page: Page, submitted: Submitted) -> Result<PageOr303<RolesPage>, AppError> {
    let view = roles_page(state, page, submitted).await?;
    unprocessable(view)
}

pub async fn show(_: Require<perm::RoleManage>, page: Page, state: web::Data<AppState>) -> Result<RolesPage, AppError> {
    roles_page(&state, page, Submitted::default()).await
}

/// The matrix form: a `role` field per role shown, a `grant` field (`{role_id}:{code}`)
/// per ticked box. Roles not on the form (created meanwhile) are left alone.
fn parse_matrix(fields: &[(String, String)]) -> Option<BTreeMap<RoleId, BTreeSet<String>>> {
    let mut matrix: BTreeMap<RoleId, BTreeSet<String>> = BTreeMap::new();
    for (key, value) in fields {
        match key.as_str() {
            "role" => {
                matrix.entry(RoleId(value.trim().parse().ok()?)).or_default();
            }
            "grant" => {
                let (role, code) = value.split_once(':')?;
                matrix.entry(RoleId(role.trim().parse().ok()?)).or_default().insert(code.trim().to_owned());
            }
            _ => {}
        }
    }
    Some(matrix)
}

pub async fn save_matrix(
    actor: Actor,
    _: Require<perm::RoleManage>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<PageOr303<RolesPage>, AppError> {
    let Some(matrix) = parse_matrix(&form) else {
        let matrix_error = Some("This form is incomplete. Reload the page and make the changes again.".into());
        return again(&state, page, Submitted { matrix_error, ..Default::default() }).await;
    };
    let outcome = {
        let mut conn = state.pools.main.get().await?;
        roles::save_matrix(&mut conn, &matrix, &actor).await
    };
    let matrix_error = match outcome {
        Ok(0) => return done(&session, "/admin/roles", Flash::info("Nothing changed.")),
        Ok(n) => {
            let roles = if n == 1 { "one role" } else { "several roles" };
            return done(
                &session,
                "/admin/roles",
                Flash::success(format!("Saved the permissions of {roles}. They apply at once.")),
            );
        }
        Err(RoleError::UnknownPermission(code)) => {
            format!("There is no permission “{code}”, so nothing was changed. Reload the page and try again.")
        }
        Err(RoleError::UnknownRole) => {
            "A role on this form no longer exists, so nothing was changed. Reload the page and try again.".into()
        }
        Err(RoleError::LastAdmin) => LAST_ADMIN.into(),
        Err(RoleError::Database(e)) => return Err(e.into()),
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    again(&state, page, Submitted { matrix: Some(matrix), matrix_error: Some(matrix_error), ..Default::default() })
        .await
}

pub async fn create(
    actor: Actor,
    _: Require<perm::RoleManage>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<RoleForm>,
) -> Result<PageOr303<RolesPage>, AppError> {
    let form = form.into_inner();
    let errors = match form.parse() {
        Ok((name, description)) => {
            let outcome = {
                let mut conn = state.pools.main.get().await?;
                roles::create(&mut conn, &name, &description, &actor).await
            };
            match outcome {
                Ok(_) => {
                    return done(
                        &session,
                        "/admin/roles",
                        Flash::success(format!("Created the role {name}. Tick its permissions in the matrix.")),
                    );
                }
                Err(RoleError::NameTaken) => RoleErrors { name: Some(NAME_TAKEN.into()), ..Default::default() },
                Err(RoleError::Database(e)) => return Err(e.into()),
                Err(e) => return Err(AppError::Internal(e.into())),
            }
        }
        Err(errors) => errors,
    };
    again(&state, page, Submitted { new_role: form, new_role_errors: errors, ..Default::default() }).await
}

pub async fn rename(
    actor: Actor,
    _: Require<perm::RoleManage>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<RoleId>,
    form: web::Form<RoleForm>,
) -> Result<PageOr303<RolesPage>, AppError> {
    let id = id.into_inner();
    let form = form.into_inner();
    let errors = match form.parse() {
        Ok((name, description)) => {
            let outcome = {
                let mut conn = state.pools.main.get().await?;
                roles::rename(&mut conn, id, &name, &description, &actor).await
            };
            match outcome {
                Ok(true) => return done(&session, "/admin/roles", Flash::success(format!("Saved the role {name}."))),
                Ok(false) => return done(&session, "/admin/roles", Flash::info("Nothing changed.")),
                Err(RoleError::NameTaken) => RoleErrors { name: Some(NAME_TAKEN.into()), ..Default::default() },
                Err(RoleError::Database(e)) => return Err(e.into()),
                Err(e) => return Err(AppError::Internal(e.into())),
            }
        }
        Err(errors) => errors,
    };
    again(&state, page, Submitted { rename: Some((id, form, errors)), ..Default::default() }).await
}

pub async fn delete(
    actor: Actor,
    _: Require<perm::RoleManage>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<RoleId>,
) -> Result<PageOr303<RolesPage>, AppError> {
    let id = id.into_inner();
    let outcome = {
        let mut conn = state.pools.main.get().await?;
        roles::delete(&mut conn, id, &actor).await
    };
    let matrix_error = match outcome {
        Ok(()) => return done(&session, "/admin/roles", Flash::success("Deleted the role.")),
        Err(RoleError::InUse(n)) => {
            let users = if n == 1 { "one user holds".to_owned() } else { format!("{n} users hold") };
            format!("This role cannot be deleted: {users} it. Give them another role first.")
        }
        Err(RoleError::Database(e)) => return Err(e.into()),
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    again(&state, page, Submitted { matrix_error: Some(matrix_error), ..Default::default() }).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_form_names_each_role_and_its_ticked_permissions() {
        let fields =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        let matrix = parse_matrix(&fields(&[
            ("csrf_token", "x"),
            ("role", "1"),
            ("role", "2"),
            ("grant", "1:catalog.view"),
            ("grant", "1:wallet.view"),
        ]))
        .unwrap();
        assert_eq!(matrix[&RoleId(1)].len(), 2);
        assert!(matrix[&RoleId(2)].is_empty(), "a role with no box ticked loses every permission");
        assert!(parse_matrix(&fields(&[("grant", "catalog.view")])).is_none());
        assert!(parse_matrix(&fields(&[("role", "x")])).is_none());
    }
}
