//! The authentication middleware: on every request it checks the session (user active,
//! organisation active, session version current, timeouts), against the database or
//! against this worker's copy once `copies` has fenced it, and
//! puts a [`CurrentUser`] into the request. Anything but the public paths without a
//! signed-in user is redirected to the sign-in page: deny by default. A user with a
//! temporary password is held at the password page, and one whose permissions need a
//! second factor they have not set up, at its enrolment page.

use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};

use std::sync::Arc;

use diesel_async::AsyncPgConnection;

use super::permissions::{AccessMatrix, CurrentUser, PermissionSet};
use super::session::{self, Flash, SessionCheck};
use crate::db::main::roles;
use crate::db::main::users::{self, SessionUser};
use crate::domain::ids::UserId;
use crate::domain::second_factor;
use crate::error::AppError;
use crate::state::AppState;

/// Paths anyone may reach without signing in.
fn is_public(path: &str) -> bool {
    matches!(path, "/login" | SECOND_STEP | "/healthz" | "/readyz" | "/metrics" | "/favicon.ico")
        || path.starts_with("/static/")
}

/// Where a user with a temporary password is sent, and what else they may do there.
pub const CHANGE_PASSWORD: &str = "/account/password";

fn allowed_before_password_change(path: &str) -> bool {
    path == CHANGE_PASSWORD || path == "/logout"
}

/// The sign-in's second step (public: nobody is signed in until it is done).
pub const SECOND_STEP: &str = "/login/second-factor";

/// Where a user who must have a second factor and has none is sent, and what else they
/// may do there.
pub const ENROL: &str = "/account/second-factor";

fn allowed_before_enrolment(path: &str) -> bool {
    path == ENROL || path == "/logout"
}

/// `303` to `location`, which htmx follows as a full page load.
fn held_at(location: &'static str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location))
        .insert_header(("HX-Redirect", location))
        .finish()
}

/// Paths that htmx polls on its own: not a sign of the person's activity.
fn is_polling(path: &str) -> bool {
    path == "/alerts/count"
}

/// The session check's row, and the role × permission matrix of the version it names:
/// the worker's copies once a fence vouches for them (see `copies`), else from the
/// database (the matrix loaded again when a role or grant has changed).
async fn load_user(state: &AppState, user: UserId) -> Result<Option<(SessionUser, Arc<AccessMatrix>)>, AppError> {
    if let (Some(row), _) = state.copies.user(user).await
        && let Some(matrix) = state.access.get(row.access_version)
    {
        state.metrics.count_access_check(true);
        return Ok(Some((row, matrix)));
    }
    state.metrics.count_access_check(false);
    let ticket = state.copies.ticket();
    let mut conn = state.pools.main.get().await?;
    let Some(row) = users::load_session_user(&mut conn, user).await? else { return Ok(None) };
    let matrix = access_matrix(state, &mut conn, row.access_version).await?;
    state.copies.keep_user(ticket, &row);
    Ok(Some((row, matrix)))
}

/// The role × permission matrix of `version`: this process's copy, loaded again on
/// `conn` when a role or grant has changed since.
pub(super) async fn access_matrix(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    version: i64,
) -> Result<Arc<AccessMatrix>, AppError> {
    Ok(match state.access.get(version) {
        Some(matrix) => matrix,
        None => state.access.keep(roles::access_matrix(conn).await?),
    })
}

/// The request's user, from the checked row and the permissions its roles grant.
pub(super) fn current_user(row: SessionUser, roles: Vec<String>, permissions: PermissionSet) -> CurrentUser {
    CurrentUser {
        id: row.id,
        organisation_id: row.organisation_id,
        email: row.email,
        name: row.name,
        organisation_name: row.org_name,
        organisation_status: row.org_status,
        organisation_is_operator: row.org_is_operator,
        roles,
        permissions,
        must_change_password: row.must_change_password,
        unread_alerts: row.unread_alerts,
    }
}

pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // Static files need no session; no route takes a method other than GET, HEAD or POST,
    // so the router answers those 405 (or 404) without running a handler.
    // Health checks touch neither the session nor the database.
    let routed = matches!(*req.method(), Method::GET | Method::HEAD | Method::POST);
    if req.path().starts_with("/static/") || matches!(req.path(), "/healthz" | "/readyz") || !routed {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    // API clients bring a key, never a session.
    if crate::routes::api::is_api(req.path()) {
        return super::api_key::authenticate(req, next).await;
    }
    let session = req.get_session();
    match session::check(&session, !is_polling(req.path())) {
        SessionCheck::Anonymous => {}
        SessionCheck::Expired => {
            session::sign_out(&session, Some(Flash::info("Your session has expired. Please sign in again.")));
        }
        SessionCheck::Active { user, version } => {
            let state = req.app_data::<web::Data<AppState>>().expect("AppState is registered").clone();
            match load_user(&state, user).await {
                Ok(Some((row, matrix)))
                    if row.is_active && row.org_status.is_active() && row.session_version == version =>
                {
                    if row.must_change_password && !allowed_before_password_change(req.path()) {
                        return Ok(req.into_response(held_at(CHANGE_PASSWORD)));
                    }
                    let (roles, permissions) = matrix.grant(&row.role_ids);
                    if !row.second_factor
                        && second_factor::required_for(permissions)
                        && !allowed_before_enrolment(req.path())
                    {
                        return Ok(req.into_response(held_at(ENROL)));
                    }
                    req.extensions_mut().insert(current_user(row, roles, permissions));
                }
                Ok(_) => {
                    session::sign_out(&session, Some(Flash::info("Your session has ended. Please sign in again.")))
                }
                Err(e) => return Ok(req.error_response(e)),
            }
        }
    }
    let signed_in = req.extensions().contains::<CurrentUser>();
    if !signed_in && !is_public(req.path()) {
        let next = req.uri().to_string();
        let next = (req.method() == actix_web::http::Method::GET).then_some(next);
        return Ok(req.error_response(AppError::Unauthenticated { next }));
    }
    next.call(req).await.map(ServiceResponse::map_into_boxed_body)
}
