//! The permissions (DESIGN.md §4), sets of them, and the role × permission matrix: plain
//! data, used by the database layer (which loads the matrix) and by `auth` (whose
//! extractors refuse a request that lacks one), so neither depends on the other.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::domain::ids::RoleId;

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

impl Permission {
    /// Whether it reaches beyond the holder's own organisation (every organisation's
    /// quotes, money, people or prices): meant for the operator's own staff, and a
    /// mistake to give to a customer organisation's user without knowing it.
    pub fn reaches_every_organisation(self) -> bool {
        !matches!(
            self,
            Permission::CatalogView
                | Permission::QuoteCreate
                | Permission::QuoteAccept
                | Permission::WalletView
                | Permission::AlertsView
                | Permission::CardsManage
        )
    }
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
    fn the_customer_role_reaches_no_other_organisation() {
        let customer = ["catalog.view", "quote.create", "quote.accept", "wallet.view", "alerts.view", "cards.manage"];
        for p in Permission::ALL {
            assert_eq!(p.reaches_every_organisation(), !customer.contains(&p.code()), "{}", p.code());
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
