//! Routes, one module per area. Every route states its permission through an
//! extractor; the authentication middleware has already turned away anonymous visitors.

mod account;
mod activity;
mod alerts;
mod assets;
mod auth;
mod cards;
mod catalog;
mod corrections;
mod dashboard;
mod health;
mod network;
mod ops;
mod organisations;
mod pricing;
mod quotes;
mod roles;
mod transactions;
mod users;
mod vm_quotes;
mod wallet;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::CurrentUser;
use crate::db::main::activity::Actor;
use crate::domain::text::{self, Lines, escape_controls};
use crate::error::AppError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(crate::metrics::show))
        .route("/static/{file}", web::get().to(assets::serve))
        .route("/login", web::get().to(auth::login_form))
        .route("/login", web::post().to(auth::login))
        .route("/logout", web::post().to(auth::logout))
        .route("/", web::get().to(dashboard::show))
        .route("/catalog", web::get().to(catalog::index))
        .route("/catalog/vm", web::get().to(catalog::vm_templates))
        .route("/catalog/network", web::get().to(network::catalog))
        .route("/catalog/{category_slug}", web::get().to(catalog::category))
        .route("/quotes/service", web::post().to(catalog::create_service_quote))
        .route("/quotes", web::get().to(quotes::list))
        .route("/quotes/new/vm", web::get().to(vm_quotes::new_vm))
        .route("/quotes/vm", web::post().to(vm_quotes::create_vm))
        .route("/quotes/new/network", web::get().to(network::new_network))
        .route("/quotes/network", web::post().to(network::create))
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
        .route("/transactions/totals", web::get().to(transactions::totals))
        .route("/admin/organisations", web::get().to(organisations::list))
        .route("/admin/organisations", web::post().to(organisations::create))
        .route("/admin/organisations/{id}", web::get().to(organisations::show))
        .route("/admin/organisations/{id}", web::post().to(organisations::update))
        .route("/admin/organisations/{id}/suspend", web::post().to(organisations::suspend))
        .route("/admin/organisations/{id}/reactivate", web::post().to(organisations::reactivate))
        .route("/admin/organisations/{id}/credit", web::post().to(organisations::credit))
        .route("/admin/organisations/{id}/adjust", web::get().to(corrections::adjustment_form))
        .route("/admin/organisations/{id}/adjust", web::post().to(corrections::adjust))
        .route("/admin/users", web::get().to(users::list))
        .route("/admin/users", web::post().to(users::create))
        .route("/admin/users/{id}", web::get().to(users::show))
        .route("/admin/users/{id}", web::post().to(users::update))
        .route("/admin/users/{id}/deactivate", web::post().to(users::deactivate))
        .route("/admin/users/{id}/reactivate", web::post().to(users::reactivate))
        .route("/admin/users/{id}/unlock", web::post().to(users::unlock))
        .route("/admin/users/{id}/reset-password", web::post().to(users::reset_password))
        .route("/admin/roles", web::get().to(roles::show))
        .route("/admin/roles", web::post().to(roles::save_matrix))
        .route("/admin/roles/new", web::post().to(roles::create))
        .route("/admin/roles/{id}/rename", web::post().to(roles::rename))
        .route("/admin/roles/{id}/delete", web::post().to(roles::delete))
        .route("/admin/activity", web::get().to(activity::list))
        .route(account::CHANGE_PASSWORD, web::get().to(account::form))
        .route(account::CHANGE_PASSWORD, web::post().to(account::change))
        .route("/admin/pricing", web::get().to(pricing::index))
        .route("/admin/pricing/{table}/{id}", web::get().to(pricing::edit))
        .route("/admin/pricing/{table}/{id}", web::post().to(pricing::update));
    cfg.default_service(web::to(|| async { Err::<HttpResponse, _>(AppError::NotFound) }));
}

/// Every query string, whatever the route, before any handler: a control character in a
/// parameter (`/transactions.csv?q=%00`) is refused with a 422 page, so no search,
/// filter or export ever sends one to the database. The sign-in page is left alone: its
/// only parameter, `next`, is dropped by `safe_next` when unsafe, and the form shows.
pub async fn refuse_control_characters(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if req.path() != "/login"
        && let Some(message) = query_problem(req.query_string())
    {
        return Ok(req.error_response(AppError::Invalid(message)));
    }
    next.call(req).await.map(ServiceResponse::map_into_boxed_body)
}

/// What is wrong with the first parameter that holds a control character, if any.
fn query_problem(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes()).find_map(|(name, value)| {
        let c = text::first_forbidden(&name, Lines::One).or_else(|| text::first_forbidden(&value, Lines::One))?;
        Some(format!(
            "The search field \"{}\" holds an invisible control character (U+{:04X}), which no search takes. \
             Go back, remove it and search again.",
            escape_controls(&name),
            u32::from(c)
        ))
    })
}

/// The client's address for the activity log: the TCP peer (no proxy header is trusted).
fn client_ip(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

/// The signed-in user as the checks and the activity log see them.
fn actor<'a>(user: &'a CurrentUser, ip: &'a Option<String>) -> Actor<'a> {
    Actor { user_id: user.id, organisation_id: user.organisation_id, email: &user.email, ip: ip.as_deref() }
}

/// `303 See Other`: where a successful POST sends the browser.
fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

/// An htmx request wants the fragment, not the page.
fn is_htmx(req: &HttpRequest) -> bool {
    req.headers().contains_key("HX-Request")
}
