//! What every page's layout needs (the user, the navigation their permissions allow,
//! the CSRF token for its forms, a flash message, the unread alerts for the bell),
//! gathered by one extractor.

use actix_session::SessionExt;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};
use futures_util::future::{Ready, ready};

use crate::auth::permissions::{CurrentUser, Permission};
use crate::auth::session::{self, Flash};
use crate::error::AppError;

/// A navigation entry: shown when the user holds any of `needs` (empty: any signed-in
/// user). `own_wallet` entries are about the organisation's own wallet and services,
/// which the operator's people do not have: they see them only in a customer organisation.
pub struct NavEntry {
    pub href: &'static str,
    pub label: &'static str,
    pub needs: &'static [Permission],
    pub own_wallet: bool,
}

const fn entry(href: &'static str, label: &'static str, needs: &'static [Permission]) -> NavEntry {
    NavEntry { href, label, needs, own_wallet: false }
}

const fn own_wallet(href: &'static str, label: &'static str, needs: &'static [Permission]) -> NavEntry {
    NavEntry { href, label, needs, own_wallet: true }
}

/// The header's menus, in order: a label (`None`: links on the bar itself) and its
/// entries. The alerts are the bell's link.
pub const NAV: &[(Option<&str>, &[NavEntry])] = &[
    (None, &[entry("/", "Dashboard", &[])]),
    (
        Some("Sell"),
        &[
            entry("/catalog", "Catalog", &[Permission::CatalogView]),
            entry("/quotes", "Quotes", QUOTE_READERS),
            own_wallet("/services", "Services", &[Permission::WalletView]),
        ],
    ),
    (
        Some("Money"),
        &[
            own_wallet("/wallet", "Wallet", &[Permission::WalletView]),
            entry("/invoices", "Invoices", &[Permission::WalletView, Permission::TransactionsViewAll]),
            own_wallet("/cards", "Cards", &[Permission::CardsManage]),
            entry("/transactions", "Transactions", &[Permission::TransactionsViewAll]),
            entry("/admin/billing", "Billing", &[Permission::TransactionsViewAll]),
            entry("/admin/vat", "VAT", &[Permission::TransactionsViewAll]),
        ],
    ),
    (
        Some("Admin"),
        &[
            entry("/admin/organisations", "Organisations", &[Permission::OrgManage, Permission::WalletCredit]),
            entry("/admin/users", "Users", &[Permission::UserManage]),
            entry("/admin/roles", "Roles", &[Permission::RoleManage]),
            entry("/admin/pricing", "Pricing", &[Permission::PricingManage]),
            entry("/admin/activity", "Activity", &[Permission::ActivityView]),
        ],
    ),
    (
        Some("Operations"),
        &[
            entry("/ops/vms", "VM logs", &[Permission::OpsLogsView]),
            entry("/ops/disks", "Disk logs", &[Permission::OpsLogsView]),
        ],
    ),
];

/// Up to this many entries in all, the menus open up into links on the bar: a
/// customer's few pages are one click away.
const FLAT_UP_TO: usize = 8;

impl NavEntry {
    pub fn allows(&self, user: &CurrentUser) -> bool {
        (self.needs.is_empty() || self.needs.iter().any(|p| user.can(*p)))
            && !(self.own_wallet && user.organisation_is_operator)
    }

    fn item(&self, path: &str) -> NavItem {
        let active = path == self.href || (self.href != "/" && path.starts_with(self.href));
        NavItem { href: self.href, label: self.label, active }
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

/// One place on the bar: a menu of links (with its label), or links of their own.
pub struct NavMenu {
    pub label: Option<&'static str>,
    pub items: Vec<NavItem>,
}

impl NavMenu {
    /// The current page is in this menu.
    pub fn active(&self) -> bool {
        self.items.iter().any(|i| i.active)
    }
}

/// The user's navigation: the menus with an entry they may open; a menu of one entry is
/// that link, and a short navigation is links only.
fn navigation(user: &CurrentUser, path: &str) -> Vec<NavMenu> {
    let mut menus: Vec<NavMenu> = NAV
        .iter()
        .map(|(label, entries)| NavMenu {
            label: *label,
            items: entries.iter().filter(|e| e.allows(user)).map(|e| e.item(path)).collect(),
        })
        .filter(|menu| !menu.items.is_empty())
        .collect();
    let count: usize = menus.iter().map(|m| m.items.len()).sum();
    for menu in &mut menus {
        if menu.items.len() == 1 || count <= FLAT_UP_TO {
            menu.label = None;
        }
    }
    menus
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
    pub nav: Vec<NavMenu>,
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
            Some(user) => navigation(user, path),
            None => Vec::new(),
        };
        let csrf_token = session::csrf_token(&session);
        let flash = session::take_flash(&session);
        let bell = user.as_ref().filter(|u| u.can(Permission::AlertsView)).map(|u| Bell { unread: u.unread_alerts });
        ready(Ok(Page { user, nav, csrf_token, flash, bell }))
    }
}

/// The portal's own template filters.
pub mod filters {
    use std::fmt::Display;

    /// Text, escaped, with each amount (`R 5 087.25`) and document number
    /// (`Q-2026-000018`, `INV-000012`) in a `nowrap` span, so that none breaks across
    /// lines: for sentences made in Rust that name them (an alert's text).
    #[askama::filter_fn]
    pub fn nobreak(text: impl Display, _: &dyn askama::Values) -> askama::Result<askama::filters::Safe<String>> {
        Ok(askama::filters::Safe(keep_together(&text.to_string())))
    }

    pub(super) fn keep_together(text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 32);
        let mut done = 0;
        let mut previous: Option<char> = None;
        for (at, c) in text.char_indices() {
            if at >= done
                && !previous.is_some_and(char::is_alphanumeric)
                && let Some(len) = number_at(&text[at..])
            {
                escape_into(&mut out, &text[done..at]);
                out.push_str("<span class=\"nowrap\">");
                out.push_str(&text[at..at + len]);
                out.push_str("</span>");
                done = at + len;
            }
            previous = Some(c);
        }
        escape_into(&mut out, &text[done..]);
        out
    }

    /// The length of the amount or document number `text` starts with (ASCII only).
    fn number_at(text: &str) -> Option<usize> {
        let b = text.as_bytes();
        let digits_from = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        if text.starts_with("R ") {
            let start = if b.get(2) == Some(&b'-') { 3 } else { 2 };
            let mut end = digits_from(start);
            if end == start {
                return None;
            }
            while b.get(end) == Some(&b' ') && digits_from(end + 1) == end + 4 {
                end += 4;
            }
            return (b.get(end) == Some(&b'.') && digits_from(end + 1) == end + 3).then_some(end + 3);
        }
        let prefix = ["Q-", "INV-"].into_iter().find(|p| text.starts_with(p))?.len();
        let mut end = digits_from(prefix);
        while end > prefix && b.get(end) == Some(&b'-') && digits_from(end + 1) > end + 1 {
            end = digits_from(end + 1);
        }
        (end > prefix).then_some(end)
    }

    fn escape_into(out: &mut String, text: &str) {
        for c in text.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::filters::keep_together;
    use super::sentence;

    #[test]
    fn amounts_and_numbers_are_kept_on_one_line_and_the_rest_escaped() {
        assert_eq!(
            keep_together("Quote Q-2026-000018 <b> accepted: R 5 087.25 & R -12.00 (INV-000012)."),
            "Quote <span class=\"nowrap\">Q-2026-000018</span> &lt;b&gt; accepted: \
             <span class=\"nowrap\">R 5 087.25</span> &amp; <span class=\"nowrap\">R -12.00</span> \
             (<span class=\"nowrap\">INV-000012</span>)."
        );
        // Not an amount or a number: left as it is.
        assert_eq!(keep_together("R 5 apples, Q- and AQ-1 Ré"), "R 5 apples, Q- and AQ-1 Ré");
        assert_eq!(keep_together("R 1 000 000.00"), "<span class=\"nowrap\">R 1 000 000.00</span>");
    }

    #[test]
    fn fragments_become_sentences() {
        assert_eq!(sentence("choose a VM template"), "Choose a VM template.");
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
    }
}
