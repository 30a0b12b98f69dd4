//! Permissions, never role names, decide what a person may do. Deny by default: a
//! handler states the permission it needs as an extractor, `Require<perm::X>`, and the
//! request is refused (403) before the handler runs when the user lacks it.

use std::future::{Ready, ready};
use std::marker::PhantomData;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};

use crate::domain::ids::{OrganisationId, UserId};
pub use crate::domain::permissions::{AccessCache, AccessMatrix, Permission, PermissionMarker, PermissionSet, perm};
use crate::domain::states::OrganisationStatus;
use crate::error::AppError;

/// The signed-in person, put into the request by the authentication middleware after
/// checking the session against the database.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: UserId,
    pub organisation_id: OrganisationId,
    pub email: String,
    pub name: String,
    pub organisation_name: String,
    /// Always active for a signed-in user (the middleware signs out everyone else).
    pub organisation_status: OrganisationStatus,
    /// The organisation is the operator (the reseller itself), which buys nothing from
    /// itself: no wallet, cards or services of its own to show.
    pub organisation_is_operator: bool,
    pub roles: Vec<String>,
    pub permissions: PermissionSet,
    /// Signed in with a temporary password: only the change form is open.
    pub must_change_password: bool,
    /// Unread alerts of the user and their organisation when the request began.
    pub unread_alerts: i64,
}

impl CurrentUser {
    pub fn can(&self, p: Permission) -> bool {
        self.permissions.contains(p)
    }

    /// For pages open to holders of any of several permissions.
    pub fn require_any(&self, needs: &[Permission]) -> Result<(), AppError> {
        if needs.iter().any(|p| self.can(*p)) { Ok(()) } else { Err(AppError::Forbidden) }
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<CurrentUser>()
                .cloned()
                .ok_or_else(|| AppError::Unauthenticated { next: Some(req.uri().to_string()) }),
        )
    }
}

/// The current user, known to hold permission `P`.
pub struct Require<P: PermissionMarker> {
    pub user: CurrentUser,
    _permission: PhantomData<P>,
}

impl<P: PermissionMarker> FromRequest for Require<P> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(match CurrentUser::from_request(req, payload).into_inner() {
            Ok(user) if user.can(P::PERMISSION) => Ok(Require { user, _permission: PhantomData }),
            Ok(_) => Err(AppError::Forbidden),
            Err(e) => Err(e),
        })
    }
}
