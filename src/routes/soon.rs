//! Pages of the navigation whose issues have not landed yet: each checks the same
//! permissions as its navigation entry and says what it will hold. Each later issue
//! removes its entries from `PLANNED` as it builds the real page.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::templates::{NAV, Page};

const PLANNED: &[(&str, &str)] = &[
    ("/admin/organisations", "Organisations, their status and wallets."),
    ("/admin/users", "Users, their roles and access."),
    ("/admin/roles", "Roles and the permission matrix."),
    ("/admin/activity", "Who did what, when and from where."),
];

#[derive(Template, WebTemplate)]
#[template(path = "soon.html")]
pub struct SoonPage {
    page: Page,
    title: &'static str,
    summary: &'static str,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    for (href, summary) in PLANNED {
        let entry = NAV.iter().find(|e| e.href == *href).expect("every planned page has a navigation entry");
        cfg.route(
            href,
            web::get().to(move |user: CurrentUser, page: Page| async move {
                if !entry.allows(&user) {
                    return Err(AppError::Forbidden);
                }
                Ok(SoonPage { page, title: entry.label, summary })
            }),
        );
    }
}
