//! Routes, one module per area. Every route states its permission through an
//! extractor; the authentication middleware has already turned away anonymous visitors.

mod alerts;
mod assets;
mod auth;
mod cards;
mod catalog;
mod corrections;
mod dashboard;
mod health;
mod ops;
mod organisations;
mod quotes;
mod soon;
mod transactions;
mod vm_quotes;
mod wallet;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::AppError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/static/{file}", web::get().to(assets::serve))
        .route("/login", web::get().to(auth::login_form))
        .route("/login", web::post().to(auth::login))
        .route("/logout", web::post().to(auth::logout))
        .route("/", web::get().to(dashboard::show))
        .route("/catalog", web::get().to(catalog::index))
        .route("/catalog/vm", web::get().to(catalog::vm_templates))
        .route("/catalog/{category_slug}", web::get().to(catalog::category))
        .route("/quotes/service", web::post().to(catalog::create_service_quote))
        .route("/quotes", web::get().to(quotes::list))
        .route("/quotes/new/vm", web::get().to(vm_quotes::new_vm))
        .route("/quotes/vm", web::post().to(vm_quotes::create_vm))
        .route("/quotes/{id}", web::get().to(quotes::show))
        .route("/quotes/{id}/accept", web::post().to(quotes::accept))
        .route("/quotes/{id}/decline", web::post().to(quotes::decline))
        .route("/quotes/{id}/refund", web::get().to(corrections::refund_form))
        .route("/quotes/{id}/refund", web::post().to(corrections::refund))
        .route("/wallet", web::get().to(wallet::show))
        .route("/wallet/threshold", web::post().to(wallet::set_threshold))
        .route("/alerts", web::get().to(alerts::list))
        .route("/alerts/count", web::get().to(alerts::count))
        .route("/alerts/read-all", web::post().to(alerts::mark_all_read))
        .route("/alerts/{id}/read", web::post().to(alerts::mark_read))
        .route("/cards", web::get().to(cards::list))
        .route("/cards", web::post().to(cards::add))
        .route("/cards/{id}/default", web::post().to(cards::set_default))
        .route("/cards/{id}/remove", web::post().to(cards::remove))
        .route("/ops/vms", web::get().to(ops::vms))
        .route("/ops/disks", web::get().to(ops::disks))
        .route("/transactions", web::get().to(transactions::list))
        .route("/transactions.csv", web::get().to(transactions::csv))
        .route("/admin/organisations/{id}", web::get().to(organisations::show))
        .route("/admin/organisations/{id}/credit", web::post().to(organisations::credit))
        .route("/admin/organisations/{id}/adjust", web::get().to(corrections::adjustment_form))
        .route("/admin/organisations/{id}/adjust", web::post().to(corrections::adjust));
    soon::configure(cfg);
    cfg.default_service(web::to(|| async { Err::<HttpResponse, _>(AppError::NotFound) }));
}

/// The client's address for the activity log: the TCP peer (no proxy header is trusted).
fn client_ip(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

/// `303 See Other`: where a successful POST sends the browser.
fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

/// An htmx request wants the fragment, not the page.
fn is_htmx(req: &HttpRequest) -> bool {
    req.headers().contains_key("HX-Request")
}
