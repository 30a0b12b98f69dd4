//! What every page's layout needs (the user, the navigation their permissions allow,
//! the CSRF token for its forms, a flash message, the unread alerts for the bell),
//! gathered by one extractor.

use actix_session::SessionExt;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};
use futures_util::future::{Ready, ready};

use crate::auth::permissions::{CurrentUser, Permission};
use crate::auth::session::{self, Flash};
use crate::error::AppError;

/// A navigation entry: shown when the user holds any of `needs` (empty: any signed-in user).
pub struct NavEntry {
    pub href: &'static str,
    pub label: &'static str,
    pub needs: &'static [Permission],
}

pub const NAV: &[NavEntry] = &[
    NavEntry { href: "/", label: "Dashboard", needs: &[] },
    NavEntry { href: "/catalog", label: "Catalog", needs: &[Permission::CatalogView] },
    NavEntry { href: "/quotes", label: "Quotes", needs: QUOTE_READERS },
    NavEntry { href: "/wallet", label: "Wallet", needs: &[Permission::WalletView] },
    NavEntry { href: "/services", label: "Services", needs: &[Permission::WalletView] },
    NavEntry { href: "/transactions", label: "Transactions", needs: &[Permission::TransactionsViewAll] },
    NavEntry { href: "/admin/billing", label: "Billing", needs: &[Permission::TransactionsViewAll] },
    NavEntry { href: "/admin/pricing", label: "Pricing", needs: &[Permission::PricingManage] },
    // Staff who record top-ups find every organisation here (read only).
    NavEntry {
        href: "/admin/organisations",
        label: "Organisations",
        needs: &[Permission::OrgManage, Permission::WalletCredit],
    },
    NavEntry { href: "/admin/users", label: "Users", needs: &[Permission::UserManage] },
    NavEntry { href: "/admin/roles", label: "Roles", needs: &[Permission::RoleManage] },
    NavEntry { href: "/admin/activity", label: "Activity", needs: &[Permission::ActivityView] },
    NavEntry { href: "/alerts", label: "Alerts", needs: &[Permission::AlertsView] },
    NavEntry { href: "/cards", label: "Cards", needs: &[Permission::CardsManage] },
    NavEntry { href: "/ops/vms", label: "Operations", needs: &[Permission::OpsLogsView] },
];

impl NavEntry {
    pub fn allows(&self, user: &CurrentUser) -> bool {
        self.needs.is_empty() || self.needs.iter().any(|p| user.can(*p))
    }
}

/// Who may open the quotes pages (the list, one quote).
pub const QUOTE_READERS: &[Permission] = &[Permission::QuoteCreate, Permission::QuoteAccept, Permission::QuoteViewAll];

/// A message fragment (`"enter an amount"`, as the CLI prints it after a flag) as a
/// sentence for a form: capitalised, with a full stop.
pub fn sentence(fragment: &str) -> String {
    let mut chars = fragment.trim().chars();
    match chars.next() {
        Some(first) => {
            let mut text: String = first.to_uppercase().chain(chars).collect();
            if !text.ends_with(['.', '!', '?']) {
                text.push('.');
            }
            text
        }
        None => String::new(),
    }
}

/// One `<option>` of a select box, with whether the submitted form chose it.
pub struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl SelectOption {
    pub fn new(value: impl ToString, label: impl Into<String>, chosen: &str) -> SelectOption {
        let value = value.to_string();
        SelectOption { selected: value == chosen.trim(), value, label: label.into() }
    }
}

/// A contract's value as every page shows it: both figures, each labelled.
pub struct ContractValueView {
    pub excl_vat: String,
    pub incl_vat: String,
}

impl From<crate::domain::pricing::ContractValue> for ContractValueView {
    fn from(value: crate::domain::pricing::ContractValue) -> Self {
        ContractValueView {
            excl_vat: crate::domain::money::format_zar(value.excl_vat),
            incl_vat: crate::domain::money::format_zar(value.incl_vat),
        }
    }
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

/// The alert bell in the header: the unread count of the user's alerts.
pub struct Bell {
    pub unread: i64,
}

impl Bell {
    pub fn has_unread(&self) -> bool {
        self.unread > 0
    }

    /// The count as shown: "99+" once the count reaches its cap.
    pub fn label(&self) -> String {
        unread_label(self.unread)
    }
}

/// An unread count as the bell and the dashboard show it.
pub fn unread_label(unread: i64) -> String {
    if unread >= crate::db::main::alerts::UNREAD_COUNT_CAP { "99+".to_owned() } else { unread.to_string() }
}

pub struct Page {
    pub user: Option<CurrentUser>,
    pub nav: Vec<NavItem>,
    pub csrf_token: String,
    pub flash: Option<Flash>,
    /// For holders of `alerts.view` only, counted by the session check.
    pub bell: Option<Bell>,
}

impl Page {
    pub fn user_name(&self) -> &str {
        self.user.as_ref().map_or("", |u| u.name.as_str())
    }

    pub fn organisation_name(&self) -> &str {
        self.user.as_ref().map_or("", |u| u.organisation_name.as_str())
    }
}

impl FromRequest for Page {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let user = req.extensions().get::<CurrentUser>().cloned();
        let path = req.path();
        let nav = match &user {
            Some(user) if user.must_change_password => Vec::new(),
            Some(user) => NAV
                .iter()
                .filter(|entry| entry.allows(user))
                .map(|entry| NavItem {
                    href: entry.href,
                    label: entry.label,
                    active: path == entry.href || (entry.href != "/" && path.starts_with(entry.href)),
                })
                .collect(),
            None => Vec::new(),
        };
        let csrf_token = session::csrf_token(&session);
        let flash = session::take_flash(&session);
        let bell = user.as_ref().filter(|u| u.can(Permission::AlertsView)).map(|u| Bell { unread: u.unread_alerts });
        ready(Ok(Page { user, nav, csrf_token, flash, bell }))
    }
}

#[cfg(test)]
mod tests {
    use super::sentence;

    #[test]
    fn fragments_become_sentences() {
        assert_eq!(sentence("choose a VM template"), "Choose a VM template.");
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
    }
}
