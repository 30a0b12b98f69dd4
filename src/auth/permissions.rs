//! Permissions, never role names, decide what a person may do. Deny by default: a
//! handler states the permission it needs as an extractor, `Require<perm::X>`, and the
//! request is refused (403) before the handler runs when the user lacks it.

use std::collections::HashMap;
use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};

use crate::domain::ids::{OrganisationId, RoleId, UserId};
use crate::domain::states::OrganisationStatus;
use crate::error::AppError;

macro_rules! permissions {
    ($($variant:ident = $code:literal,)*) => {
        /// The fifteen permissions of DESIGN.md §4.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Permission { $($variant),* }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),*];

            pub fn code(self) -> &'static str {
                match self { $(Permission::$variant => $code),* }
            }

            pub fn from_code(code: &str) -> Option<Permission> {
                match code { $($code => Some(Permission::$variant),)* _ => None }
            }
        }

        /// Marker types naming one permission each, for `Require<perm::X>`.
        pub mod perm {
            $(
                pub struct $variant;
                impl super::PermissionMarker for $variant {
                    const PERMISSION: super::Permission = super::Permission::$variant;
                }
            )*
        }
    };
}

permissions! {
    CatalogView = "catalog.view",
    QuoteCreate = "quote.create",
    QuoteAccept = "quote.accept",
    QuoteViewAll = "quote.view_all",
    WalletView = "wallet.view",
    WalletCredit = "wallet.credit",
    TransactionsViewAll = "transactions.view_all",
    OrgManage = "org.manage",
    UserManage = "user.manage",
    RoleManage = "role.manage",
    ActivityView = "activity.view",
    AlertsView = "alerts.view",
    OpsLogsView = "ops_logs.view",
    PricingManage = "pricing.manage",
    CardsManage = "cards.manage",
}

pub trait PermissionMarker {
    const PERMISSION: Permission;
}

/// A set of permissions as bits (fifteen fit in a u32).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PermissionSet(u32);

impl PermissionSet {
    /// Unknown codes (a permission added to the database but not to the code) are ignored.
    pub fn from_codes<'a>(codes: impl IntoIterator<Item = &'a str>) -> Self {
        PermissionSet(codes.into_iter().filter_map(Permission::from_code).fold(0, |bits, p| bits | 1 << p as u32))
    }

    pub fn contains(self, p: Permission) -> bool {
        self.0 & (1 << p as u32) != 0
    }
}

/// Every role's name and permissions as of one `access_matrix_version`.
#[derive(Debug)]
pub struct AccessMatrix {
    pub version: i64,
    pub roles: HashMap<RoleId, (String, PermissionSet)>,
}

impl AccessMatrix {
    /// The names (sorted) and the union of the permissions of these roles.
    pub fn grant(&self, ids: &[RoleId]) -> (Vec<String>, PermissionSet) {
        let mut names = Vec::new();
        let mut bits = 0;
        for (name, set) in ids.iter().filter_map(|id| self.roles.get(id)) {
            names.push(name.clone());
            bits |= set.0;
        }
        names.sort();
        (names, PermissionSet(bits))
    }
}

/// The matrix this process loaded last. The session check reads the current version
/// with the user; a different one means a role or grant changed: load it again.
#[derive(Default)]
pub struct AccessCache(RwLock<Option<Arc<AccessMatrix>>>);

impl AccessCache {
    /// The kept matrix, when it is of `version`.
    pub fn get(&self, version: i64) -> Option<Arc<AccessMatrix>> {
        self.0.read().expect("access cache lock").as_ref().filter(|m| m.version == version).cloned()
    }

    pub fn keep(&self, matrix: AccessMatrix) -> Arc<AccessMatrix> {
        let matrix = Arc::new(matrix);
        *self.0.write().expect("access cache lock") = Some(matrix.clone());
        matrix
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifteen_permissions_round_trip_their_codes() {
        assert_eq!(Permission::ALL.len(), 15);
        for p in Permission::ALL {
            assert_eq!(Permission::from_code(p.code()), Some(*p));
        }
    }

    #[test]
    fn sets_hold_what_they_are_given() {
        let set = PermissionSet::from_codes(["catalog.view", "wallet.view", "no.such"]);
        assert!(set.contains(Permission::CatalogView));
        assert!(set.contains(Permission::WalletView));
        assert!(!set.contains(Permission::WalletCredit));
        assert!(!PermissionSet::default().contains(Permission::CatalogView));
    }
}
