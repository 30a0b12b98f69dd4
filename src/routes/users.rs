//! `/admin/users` (`user.manage`): the list with search and filters; `/admin/users/new`:
//! the create form, which posts to `/admin/users`; and `/admin/users/{id}`: edit, deactivate and reactivate, unlock, reset password.
//! A new role or organisation, a deactivation or a password reset ends the user's
//! sessions on their next request (their session version moves on).

use actix_session::Session;
use actix_web::{Either, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::Utc;
use serde::Deserialize;

use super::pickers::{self, Picker, Resolved};
use super::see_other;
use super::{PageOr303, done, unprocessable};
use crate::auth::session::{self, Flash, push_flash};
use crate::auth::{CurrentUser, Permission, Require, perm};
use crate::db::main::activity::Actor;
use crate::db::main::second_factor::{self, Removal};
use crate::db::main::users::{self, AdminUserError, NewUser, UserEdit, UserFilter, UserRow};
use crate::db::main::{organisations, roles};
use crate::domain::email::Email;
use crate::domain::ids::{OrganisationId, RoleId, UserId};
use crate::domain::organisation::parse_name;
use crate::domain::password::{self as password_rule, NewPassword};
use crate::domain::time::format_sast;
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Page, SelectOption, sentence};

const LIST_LIMIT: i64 = 200;
const EMAIL_TAKEN: &str = "A user with this email address already exists.";
const LAST_ADMIN: &str = "This would leave no active user who can manage users and roles, so nothing was changed. Give another active user that access first.";

/// The user form (create and edit), as typed. `password` is only on the create form.
#[derive(Deserialize, Default, Clone)]
pub struct UserForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    organisation_id: String,
    #[serde(default)]
    role_id: String,
    #[serde(default)]
    password: String,
    /// The "I understand" box, ticked when an operator's role goes to a customer's user.
    #[serde(default)]
    understood: String,
}

#[derive(Default)]
pub struct UserErrors {
    name: Option<String>,
    email: Option<String>,
    organisation_id: Option<String>,
    role_id: Option<String>,
    password: Option<String>,
    /// The role reaches every organisation and the user's is a customer: the form asks
    /// to confirm with the "I understand" box.
    understood: Option<String>,
}

/// Why the role may not go to this organisation's user without a confirmation: it
/// reaches every organisation's data, and the organisation is a customer, not the
/// operator. None when it is harmless, confirmed, or what the user already has
/// (`current`: their organisation and roles, when editing).
async fn unconfirmed_reach(
    conn: &mut diesel_async::AsyncPgConnection,
    choices: &Choices,
    parsed: &ParsedUser,
    form: &UserForm,
    current: Option<&UserRow>,
) -> Result<Option<String>, AppError> {
    let unchanged = current
        .is_some_and(|row| row.organisation_id == parsed.organisation_id && row.role_ids.contains(&parsed.role_id.0));
    if unchanged || !form.understood.trim().is_empty() {
        return Ok(None);
    }
    let Some(org) = organisations::find_by_id(conn, parsed.organisation_id).await? else { return Ok(None) };
    if org.is_operator {
        return Ok(None);
    }
    let matrix = roles::matrix(conn).await?;
    let reaching: Vec<&str> = matrix
        .get(&parsed.role_id)
        .into_iter()
        .flatten()
        .filter(|code| Permission::from_code(code).is_some_and(Permission::reaches_every_organisation))
        .map(String::as_str)
        .collect();
    if reaching.is_empty() {
        return Ok(None);
    }
    let role = choices.roles.iter().find(|r| r.id == parsed.role_id).map_or("this role", |r| r.name.as_str());
    Ok(Some(format!(
        "The role {role} lets its holder see or change every organisation's data ({}), and {} is a customer \
         organisation, not the operator. Tick \"I understand\" to give it anyway.",
        reaching.join(", "),
        org.name
    )))
}

struct ParsedUser {
    name: String,
    email: Email,
    organisation_id: OrganisationId,
    role_id: RoleId,
    /// None: a temporary one (create form only).
    password: Option<NewPassword>,
}

/// The choices of the role select (organisations are typed: see `pickers`).
struct Choices {
    roles: Vec<roles::Role>,
}

impl Choices {
    async fn load(conn: &mut diesel_async::AsyncPgConnection) -> Result<Choices, AppError> {
        Ok(Choices { roles: roles::all(conn).await? })
    }

    fn role_options(&self, chosen: &str) -> Vec<SelectOption> {
        self.roles.iter().map(|r| SelectOption::new(r.id, r.name.as_str(), chosen)).collect()
    }
}

impl UserForm {
    fn parse(
        &self,
        org: &Resolved<OrganisationId>,
        choices: &Choices,
        with_password: bool,
    ) -> Result<ParsedUser, Box<UserErrors>> {
        let mut errors = UserErrors::default();
        let name = parse_name(&self.name).map_err(|e| errors.name = Some(sentence(&e))).ok();
        let email = Email::parse(&self.email).map_err(|e| errors.email = Some(sentence(e))).ok();
        let organisation_id = org.id;
        if organisation_id.is_none() {
            errors.organisation_id = Some(org.error.clone().unwrap_or_else(|| "Choose an organisation.".into()));
        }
        let role_id =
            self.role_id.trim().parse().ok().map(RoleId).filter(|id| choices.roles.iter().any(|r| r.id == *id));
        if role_id.is_none() {
            errors.role_id = Some("Choose a role.".into());
        }
        let password = if with_password && !self.password.is_empty() {
            NewPassword::parse(&self.password, self.email.trim())
                .map_err(|e| errors.password = Some(sentence(&e)))
                .ok()
                .map(Some)
        } else {
            Some(None)
        };
        match (name, email, organisation_id, role_id, password) {
            (Some(name), Some(email), Some(organisation_id), Some(role_id), Some(password)) => {
                Ok(ParsedUser { name: name.to_owned(), email, organisation_id, role_id, password })
            }
            _ => Err(Box::new(errors)),
        }
    }
}

// ---------------------------------------------------------------------------
// The list and the create form
// ---------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    active: String,
}

impl ListQuery {
    /// Unknown roles are ignored: they only come from edited links.
    fn filter(&self, org: &Resolved<OrganisationId>) -> UserFilter {
        UserFilter {
            text: Some(self.q.trim()).filter(|q| !q.is_empty()).map(|q| q.chars().take(100).collect()),
            organisation: org.id,
            role: self.role.trim().parse().ok().map(RoleId),
            active: match self.active.trim() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
        }
    }
}

pub struct UserView {
    id: UserId,
    name: String,
    email: String,
    organisation_id: OrganisationId,
    organisation: String,
    roles: String,
    is_active: bool,
    /// Sign-ins with this address wait (too many failures from some client address).
    delayed: bool,
    last_login: String,
}

impl From<UserRow> for UserView {
    fn from(row: UserRow) -> Self {
        UserView {
            delayed: row.is_delayed(Utc::now()),
            id: row.id,
            name: row.name,
            email: row.email,
            organisation_id: row.organisation_id,
            organisation: row.organisation_name,
            roles: row.roles.join(", "),
            is_active: row.is_active,
            last_login: row.last_login_at.map(format_sast).unwrap_or_else(|| "never".into()),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "users.html")]
pub struct UsersPage {
    page: Page,
    query: ListQuery,
    filter_organisation: Picker,
    filter_roles: Vec<SelectOption>,
    filter_active: Vec<SelectOption>,
    rows: Vec<UserView>,
    truncated: bool,
}

/// The create form: a page of its own, so that the list has the page's whole width.
#[derive(Template, WebTemplate)]
#[template(path = "user_new.html")]
pub struct NewUserPage {
    page: Page,
    form: UserForm,
    errors: UserErrors,
    organisation: Picker,
    roles: Vec<SelectOption>,
}

/// The user form's organisation field (what it shows, its message from the form's errors).
async fn organisation_field(
    conn: &mut diesel_async::AsyncPgConnection,
    form: &UserForm,
    errors: &UserErrors,
) -> Result<Picker, AppError> {
    let mut org = pickers::resolve_organisation(conn, &form.organisation_id).await?;
    org.error = errors.organisation_id.clone();
    Ok(Picker::organisation("organisation_id", "Organisation", &org).required())
}

impl NewUserPage {
    async fn new(
        conn: &mut diesel_async::AsyncPgConnection,
        choices: &Choices,
        page: Page,
        form: UserForm,
        errors: UserErrors,
    ) -> Result<NewUserPage, AppError> {
        Ok(NewUserPage {
            page,
            organisation: organisation_field(conn, &form, &errors).await?,
            roles: choices.role_options(&form.role_id),
            form,
            errors,
        })
    }
}

pub async fn list(
    _: Require<perm::UserManage>,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<UsersPage, AppError> {
    let mut conn = state.pools.main.get().await?;
    let choices = Choices::load(&mut conn).await?;
    let query = query.into_inner();
    let org = pickers::resolve_organisation(&mut conn, &query.org).await?;
    let rows = match org.error {
        None => users::list(&mut conn, &query.filter(&org), LIST_LIMIT).await?,
        Some(_) => Vec::new(),
    };
    Ok(UsersPage {
        page,
        filter_organisation: Picker::organisation("org", "Organisation", &org),
        filter_roles: choices.role_options(&query.role),
        filter_active: [("yes", "Active"), ("no", "Inactive")]
            .iter()
            .map(|(v, l)| SelectOption::new(v, *l, &query.active))
            .collect(),
        truncated: rows.len() as i64 == LIST_LIMIT,
        rows: rows.into_iter().map(UserView::from).collect(),
        query,
    })
}

/// `GET /admin/users/new` (`?org=` the organisation chosen, as the list's filter passes it).
pub async fn new_form(
    _: Require<perm::UserManage>,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<NewUserPage, AppError> {
    let mut conn = state.pools.main.get().await?;
    let choices = Choices::load(&mut conn).await?;
    let form = UserForm { organisation_id: query.into_inner().org, ..Default::default() };
    NewUserPage::new(&mut conn, &choices, page, form, UserErrors::default()).await
}

pub async fn create(
    actor: Actor,
    _: Require<perm::UserManage>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<UserForm>,
) -> Result<PageOr303<NewUserPage>, AppError> {
    let form = form.into_inner();
    let mut conn = state.pools.main.get().await?;
    let choices = Choices::load(&mut conn).await?;
    let org = pickers::resolve_organisation(&mut conn, &form.organisation_id).await?;
    let errors = match form.parse(&org, &choices, true) {
        Ok(parsed) if let Some(message) = unconfirmed_reach(&mut conn, &choices, &parsed, &form, None).await? => {
            UserErrors { understood: Some(message), ..Default::default() }
        }
        Ok(parsed) => {
            let (password, temporary) = match &parsed.password {
                Some(chosen) => (chosen.expose().to_owned(), false),
                None => (password_rule::temporary(), true),
            };
            let hash = state.hasher.hash(password.clone()).await?;
            let new = NewUser {
                organisation_id: parsed.organisation_id,
                email: &parsed.email,
                name: &parsed.name,
                password_hash: &hash,
                must_change_password: temporary,
            };
            match users::create_by_admin(&mut conn, &new, parsed.role_id, &actor).await {
                Ok(id) => {
                    let message = if temporary {
                        format!(
                            "Created {}. Give them this temporary password; it is shown only this once and must be changed at the first sign-in: {password}",
                            parsed.name
                        )
                    } else {
                        format!("Created {} with the password you chose.", parsed.name)
                    };
                    push_flash(&session, Flash::success(message));
                    return Ok(Either::Left(see_other(&format!("/admin/users/{id}"))));
                }
                Err(AdminUserError::EmailTaken) => UserErrors { email: Some(EMAIL_TAKEN.into()), ..Default::default() },
                Err(AdminUserError::LastAdmin) => UserErrors { role_id: Some(LAST_ADMIN.into()), ..Default::default() },
                Err(AdminUserError::Database(e)) => return Err(e.into()),
            }
        }
        Err(errors) => *errors,
    };
    let form = UserForm { password: String::new(), ..form };
    unprocessable(NewUserPage::new(&mut conn, &choices, page, form, errors).await?)
}

// ---------------------------------------------------------------------------
// One user
// ---------------------------------------------------------------------------

#[derive(Template, WebTemplate)]
#[template(path = "user.html")]
pub struct UserPage {
    page: Page,
    user: UserView,
    is_self: bool,
    must_change_password: bool,
    failed_sign_ins: i32,
    delayed_until: Option<String>,
    second_factor_since: Option<String>,
    form: UserForm,
    errors: UserErrors,
    organisation: Picker,
    roles: Vec<SelectOption>,
    action_error: Option<String>,
}

async fn user_page(
    conn: &mut diesel_async::AsyncPgConnection,
    me: &CurrentUser,
    page: Page,
    id: UserId,
    form: Option<UserForm>,
    errors: UserErrors,
    action_error: Option<String>,
) -> Result<UserPage, AppError> {
    let row = users::find(conn, id).await?.ok_or(AppError::NotFound)?;
    let choices = Choices::load(conn).await?;
    let form = form.unwrap_or_else(|| UserForm {
        name: row.name.clone(),
        email: row.email.clone(),
        organisation_id: row.organisation_id.to_string(),
        role_id: row.role_ids.first().map(i64::to_string).unwrap_or_default(),
        password: String::new(),
        understood: String::new(),
    });
    let now = Utc::now();
    Ok(UserPage {
        page,
        is_self: row.id == me.id,
        must_change_password: row.must_change_password,
        failed_sign_ins: row.failed_sign_ins,
        delayed_until: row.delayed_until.filter(|until| *until > now).map(format_sast),
        second_factor_since: row.second_factor_since.map(format_sast),
        organisation: organisation_field(conn, &form, &errors).await?,
        roles: choices.role_options(&form.role_id),
        user: UserView::from(row),
        form,
        errors,
        action_error,
    })
}

pub async fn show(
    required: Require<perm::UserManage>,
    page: Page,
    state: web::Data<AppState>,
    id: web::Path<UserId>,
) -> Result<UserPage, AppError> {
    let mut conn = state.pools.main.get().await?;
    user_page(&mut conn, &required.user, page, id.into_inner(), None, UserErrors::default(), None).await
}

pub async fn update(
    actor: Actor,
    required: Require<perm::UserManage>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<UserId>,
    form: web::Form<UserForm>,
) -> Result<PageOr303<UserPage>, AppError> {
    let me = required.user;
    let id = id.into_inner();
    let form = form.into_inner();
    let mut conn = state.pools.main.get().await?;
    let current = users::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let choices = Choices::load(&mut conn).await?;
    let org = pickers::resolve_organisation(&mut conn, &form.organisation_id).await?;
    let errors = match form.parse(&org, &choices, false) {
        Ok(parsed)
            if let Some(message) = unconfirmed_reach(&mut conn, &choices, &parsed, &form, Some(&current)).await? =>
        {
            UserErrors { understood: Some(message), ..Default::default() }
        }
        Ok(parsed) => {
            let edit = UserEdit {
                name: &parsed.name,
                email: parsed.email.as_str(),
                organisation_id: parsed.organisation_id,
                role: parsed.role_id,
            };
            match users::update(&mut conn, id, &edit, &actor).await {
                Ok((false, _)) => {
                    return done(&session, &format!("/admin/users/{id}"), Flash::info("Nothing changed."));
                }
                Ok((true, version)) => {
                    if let (true, Some(version)) = (id == me.id, version) {
                        // Your own sessions elsewhere end; this one carries on.
                        session::sign_in(&session, me.id, version);
                    }
                    let message = if version.is_some() {
                        "Saved. The new access applies from the user's next request; their other sessions have ended."
                    } else {
                        "Saved."
                    };
                    return done(&session, &format!("/admin/users/{id}"), Flash::success(message));
                }
                Err(AdminUserError::EmailTaken) => UserErrors { email: Some(EMAIL_TAKEN.into()), ..Default::default() },
                Err(AdminUserError::LastAdmin) => UserErrors { role_id: Some(LAST_ADMIN.into()), ..Default::default() },
                Err(AdminUserError::Database(e)) => return Err(e.into()),
            }
        }
        Err(errors) => *errors,
    };
    unprocessable(user_page(&mut conn, &me, page, id, Some(form), errors, None).await?)
}

async fn set_active(
    actor: Actor,
    me: CurrentUser,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: UserId,
    active: bool,
) -> Result<PageOr303<UserPage>, AppError> {
    let mut conn = state.pools.main.get().await?;
    users::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let refusal = if !active && id == me.id {
        "You cannot deactivate your own account. Ask another administrator.".to_owned()
    } else {
        match users::set_active(&mut conn, id, active, &actor).await {
            Ok(true) if active => {
                return done(
                    &session,
                    &format!("/admin/users/{id}"),
                    Flash::success("Reactivated: they can sign in again."),
                );
            }
            Ok(true) => {
                return done(
                    &session,
                    &format!("/admin/users/{id}"),
                    Flash::success("Deactivated: every session of this user has ended."),
                );
            }
            Ok(false) => return done(&session, &format!("/admin/users/{id}"), Flash::info("Nothing changed.")),
            Err(AdminUserError::LastAdmin) => LAST_ADMIN.to_owned(),
            Err(AdminUserError::Database(e)) => return Err(e.into()),
            Err(e) => return Err(AppError::Internal(e.into())),
        }
    };
    unprocessable(user_page(&mut conn, &me, page, id, None, UserErrors::default(), Some(refusal)).await?)
}

pub async fn deactivate(
    actor: Actor,
    required: Require<perm::UserManage>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<UserId>,
) -> Result<PageOr303<UserPage>, AppError> {
    set_active(actor, required.user, page, session, state, id.into_inner(), false).await
}

pub async fn reactivate(
    actor: Actor,
    required: Require<perm::UserManage>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<UserId>,
) -> Result<PageOr303<UserPage>, AppError> {
    set_active(actor, required.user, page, session, state, id.into_inner(), true).await
}

pub async fn unlock(
    actor: Actor,
    _: Require<perm::UserManage>,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<UserId>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let mut conn = state.pools.main.get().await?;
    users::unlock(&mut conn, id, &actor).await?;
    push_flash(&session, Flash::success("Unlocked: the failed sign-ins are forgotten, from every address."));
    Ok(see_other(&format!("/admin/users/{id}")))
}

/// Forgets another user's second factor (a lost phone): their sessions end and they
/// set it up again at their next sign-in. Logged as `user.second_factor_reset`.
pub async fn reset_second_factor(
    actor: Actor,
    required: Require<perm::UserManage>,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<UserId>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    if id == required.user.id {
        push_flash(&session, Flash::info("Manage your own second factor on the Second factor page instead."));
        return Ok(see_other(crate::auth::middleware::ENROL));
    }
    let mut conn = state.pools.main.get().await?;
    users::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let message = if second_factor::remove(&mut conn, id, Removal::ByAdmin, &actor).await? {
        "Second factor reset and every session of this user ended. They set it up again at their next sign-in."
    } else {
        "This user had no second factor; their sessions ended."
    };
    push_flash(&session, Flash::success(message));
    Ok(see_other(&format!("/admin/users/{id}")))
}

pub async fn reset_password(
    actor: Actor,
    required: Require<perm::UserManage>,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<UserId>,
) -> Result<HttpResponse, AppError> {
    let me = required.user;
    let id = id.into_inner();
    if id == me.id {
        push_flash(&session, Flash::info("Change your own password on the Password page instead."));
        return Ok(see_other(super::account::CHANGE_PASSWORD));
    }
    let temporary = password_rule::temporary();
    let hash = state.hasher.hash(temporary.clone()).await?;
    let mut conn = state.pools.main.get().await?;
    users::set_password(&mut conn, id, &hash, true, &actor).await?;
    push_flash(
        &session,
        Flash::success(format!(
            "Password reset and every session of this user ended. Give them this temporary password; it is shown only this once and must be changed at the next sign-in: {temporary}"
        )),
    );
    Ok(see_other(&format!("/admin/users/{id}")))
}
