//! Bearer authentication for `/api/`: `Authorization: Bearer pk_live_…` names a key,
//! which acts as the user who made it, with that user's permissions now. The key and
//! its user are checked on every request (the key not revoked, the user active, the
//! organisation not suspended), against the database or against this worker's copy
//! once `copies` has fenced it, so a revocation or deactivation holds on the next
//! request on every instance. Cookies are never read here: a session alone is refused.

use actix_web::HttpMessage;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web;
use diesel_async::AsyncPgConnection;

use super::middleware::{access_matrix, current_user};
use super::permissions::CurrentUser;
use crate::copies::Fenced;
use crate::db::PooledConn;
use crate::db::main::api_keys;
use crate::domain::api_key;
use crate::domain::ids::ApiKeyId;
use crate::domain::second_factor;
use crate::routes::api::ApiError;
use crate::state::AppState;

/// The key a request came with, for its idempotency records and its rate limit.
#[derive(Debug, Clone, Copy)]
pub struct KeyInUse(pub ApiKeyId);

/// The API's description, which anyone may read.
fn is_public(path: &str) -> bool {
    matches!(path, "/api/v1/openapi.json" | "/api/docs")
}

pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if is_public(req.path()) {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let state = req.app_data::<web::Data<AppState>>().expect("AppState is registered").clone();
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_owned());
    match identify(&state, presented.as_deref()).await {
        Ok((user, key, fenced)) => {
            if let Err(e) = state.api_limits.check(key) {
                return Ok(req.error_response(e));
            }
            req.extensions_mut().insert(user);
            req.extensions_mut().insert(KeyInUse(key));
            if fenced {
                req.extensions_mut().insert(Fenced);
            }
            next.call(req).await.map(ServiceResponse::map_into_boxed_body)
        }
        Err(e) => Ok(req.error_response(e)),
    }
}

/// The key's user, the key, and whether a fence passed on the way.
async fn identify(state: &AppState, presented: Option<&str>) -> Result<(CurrentUser, ApiKeyId, bool), ApiError> {
    let presented = presented.ok_or_else(ApiError::unauthenticated)?;
    let prefix = api_key::prefix_of(presented).ok_or_else(ApiError::unauthenticated)?;
    let mut conn = None;
    let (cached, fenced) = state.copies.keys(prefix).await;
    state.metrics.count_access_check(cached.is_some());
    let candidates = match cached {
        Some(candidates) => candidates,
        None => {
            let ticket = state.copies.ticket();
            let candidates = api_keys::unrevoked_with_prefix(connection(state, &mut conn).await?, prefix).await?;
            state.copies.keep_keys(ticket, prefix, &candidates);
            candidates
        }
    };
    let key = candidates
        .into_iter()
        .find(|c| api_key::matches(presented, &c.secret_hash))
        .ok_or_else(ApiError::unauthenticated)?;
    let matrix = match state.access.get(key.user.access_version) {
        Some(matrix) => matrix,
        None => access_matrix(state, connection(state, &mut conn).await?, key.user.access_version).await?,
    };
    let (id, stale, row) = (key.id, key.stale(), key.user);
    if !row.is_active || !row.org_status.is_active() {
        return Err(ApiError::unauthenticated());
    }
    let (roles, permissions) = matrix.grant(&row.role_ids);
    // What holds the person at a page in the browser holds their keys too.
    if row.must_change_password {
        let message = "The key's user signed in with a temporary password: sign in to the portal and choose one first.";
        return Err(ApiError::new(StatusCode::FORBIDDEN, "password_change_required", message));
    }
    if !row.second_factor && second_factor::required_for(permissions) {
        let message = "The key's user must set up a second factor in the portal first.";
        return Err(ApiError::new(StatusCode::FORBIDDEN, "second_factor_required", message));
    }
    if stale {
        api_keys::touch(connection(state, &mut conn).await?, id).await?;
        state.copies.forget_keys(prefix);
    }
    Ok((current_user(row, roles, permissions), id, fenced))
}

/// A main-database connection, taken from the pool the first time one is needed.
async fn connection<'a>(
    state: &AppState,
    conn: &'a mut Option<PooledConn>,
) -> Result<&'a mut AsyncPgConnection, ApiError> {
    if conn.is_none() {
        *conn = Some(state.pools.main.get().await?);
    }
    Ok(conn.as_mut().expect("just taken from the pool"))
}
