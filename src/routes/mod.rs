//! Routes, one module per area. Every route states its permission through an
//! extractor; the authentication middleware has already turned away anonymous visitors.
//! The table of routes is [`route_table!`]'s invocation below.

mod account;
mod activity;
mod alerts;
pub mod api;
mod api_keys;
mod auth;
mod cards;
mod catalog;
mod corrections;
mod dashboard;
mod health;
mod invoices;
mod network;
mod ops;
mod organisations;
mod pickers;
mod pricing;
mod quotes;
mod roles;
mod second_factor;
mod services;
mod transactions;
mod users;
mod vm_quotes;
mod wallet;

use std::future::{Ready, ready};

use actix_session::Session;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{CustomizeResponder, Either, FromRequest, HttpRequest, HttpResponse, Responder, guard, web};

use crate::auth::CurrentUser;
use crate::auth::session::{Flash, push_flash};
use crate::db::main::activity::Actor;
use crate::domain::text::{self, Lines, escape_controls};
use crate::error::AppError;

/// Every route: its path pattern, and each method with its handler. A `GET` route also
/// answers `HEAD` (the same handler; actix sends no body); any other method on a known
/// path answers 405 with `Allow`; an unknown path answers 404. Resources are matched in
/// this order, so a fixed path comes before the pattern it would also match.
macro_rules! route_table {
    ($($path:expr => [$($method:ident $handler:path),+ $(,)?]),* $(,)?) => {
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $(cfg.service(
                web::resource($path)
                    $(.route(method_route(stringify!($method)).to($handler)))+
                    .default_service(web::to(|| async {
                        Err::<HttpResponse, _>(AppError::MethodNotAllowed(allow(&[$(stringify!($method)),+])))
                    })),
            );)*
            cfg.default_service(web::to(|| async { Err::<HttpResponse, _>(AppError::NotFound) }));
        }

        /// Every (method, path pattern) served, `HEAD` aside: the access tests check that
        /// each is listed with the permission it needs.
        pub const TABLE: &[(&str, &str)] = &[$($((stringify!($method), $path)),+),*];
    };
}

route_table! {
    "/healthz" => [GET health::healthz],
    "/readyz" => [GET health::readyz],
    "/metrics" => [GET crate::metrics::show],
    "/static/{file}" => [GET crate::assets::serve],
    "/login" => [GET auth::login_form, POST auth::login],
    crate::auth::middleware::SECOND_STEP => [GET second_factor::second_step_form, POST second_factor::second_step],
    "/logout" => [POST auth::logout],
    "/" => [GET dashboard::show],
    "/catalog" => [GET catalog::index],
    "/catalog/vm" => [GET catalog::vm_templates],
    "/catalog/network" => [GET network::catalog],
    "/catalog/{category_slug}" => [GET catalog::category],
    "/quotes/service" => [POST catalog::create_service_quote],
    "/quotes" => [GET quotes::list],
    "/quotes/new/vm" => [GET vm_quotes::new_vm],
    "/quotes/vm" => [POST vm_quotes::create_vm],
    "/quotes/new/network" => [GET network::new_network],
    "/quotes/network" => [POST network::create],
    "/quotes/{id}" => [GET quotes::show],
    "/quotes/{id}/accept" => [GET quotes::confirm_accept, POST quotes::accept],
    "/quotes/{id}/decline" => [GET quotes::confirm_decline, POST quotes::decline],
    "/quotes/{id}/refund" => [GET corrections::refund_form, POST corrections::refund],
    "/quotes/{id}/address" => [POST invoices::set_address],
    "/invoices" => [GET invoices::list],
    "/invoices/{id}.pdf" => [GET invoices::pdf],
    "/invoices/{id}" => [GET invoices::show],
    "/statements/{month}.pdf" => [GET invoices::statement_pdf],
    "/statements/{month}" => [GET invoices::statement],
    "/wallet.csv" => [GET transactions::wallet_csv],
    "/admin/vat.csv" => [GET invoices::vat_csv],
    "/admin/vat" => [GET invoices::vat],
    "/services" => [GET services::list],
    "/services/{id}/cancel" => [GET services::confirm_cancel, POST services::cancel],
    "/wallet" => [GET wallet::show],
    "/wallet/threshold" => [POST wallet::set_threshold],
    "/alerts" => [GET alerts::list],
    "/alerts/count" => [GET alerts::count],
    "/alerts/read-all" => [POST alerts::mark_all_read],
    "/alerts/{id}/read" => [POST alerts::mark_read],
    "/cards" => [GET cards::list, POST cards::add],
    "/cards/{id}/default" => [POST cards::set_default],
    "/cards/{id}/remove" => [POST cards::remove],
    "/ops/vms" => [GET ops::vms],
    "/ops/disks" => [GET ops::disks],
    "/transactions" => [GET transactions::list],
    "/transactions.csv" => [GET transactions::csv],
    "/transactions/totals" => [GET transactions::totals],
    "/admin/organisations" => [GET organisations::list, POST organisations::create],
    "/admin/organisations/new" => [GET organisations::new_form],
    "/admin/organisations/{id}" => [GET organisations::show, POST organisations::update],
    "/admin/organisations/{id}/suspend" => [POST organisations::suspend],
    "/admin/organisations/{id}/reactivate" => [POST organisations::reactivate],
    "/admin/organisations/{id}/credit" => [POST organisations::credit],
    "/admin/organisations/{id}/adjust" => [GET corrections::adjustment_form, POST corrections::adjust],
    "/admin/users" => [GET users::list, POST users::create],
    "/admin/users/new" => [GET users::new_form],
    "/admin/users/{id}" => [GET users::show, POST users::update],
    "/admin/users/{id}/deactivate" => [POST users::deactivate],
    "/admin/users/{id}/reactivate" => [POST users::reactivate],
    "/admin/users/{id}/unlock" => [POST users::unlock],
    "/admin/users/{id}/reset-password" => [POST users::reset_password],
    "/admin/users/{id}/reset-second-factor" => [POST users::reset_second_factor],
    "/admin/roles" => [GET roles::show, POST roles::save_matrix],
    "/admin/roles/new" => [POST roles::create],
    "/admin/roles/{id}/rename" => [POST roles::rename],
    "/admin/roles/{id}/delete" => [POST roles::delete],
    "/admin/activity" => [GET activity::list],
    "/admin/billing" => [GET services::billing],
    "/admin/billing/run" => [POST services::run_now],
    account::CHANGE_PASSWORD => [GET account::form, POST account::change],
    crate::auth::middleware::ENROL => [GET second_factor::show, POST second_factor::enrol],
    "/account/second-factor/recovery-codes" => [POST second_factor::renew_codes],
    "/account/second-factor/remove" => [POST second_factor::remove],
    "/admin/pricing" => [GET pricing::index],
    "/admin/pricing/{table}/{id}" => [GET pricing::edit, POST pricing::update],
    "/pickers/organisations" => [GET pickers::organisation_options],
    "/pickers/users" => [GET pickers::user_options],
    api_keys::PATH => [GET api_keys::list, POST api_keys::create],
    "/account/api-keys/{id}/revoke" => [POST api_keys::revoke],
    "/api/docs" => [GET api::docs::page],
    "/api/v1/openapi.json" => [GET api::docs::openapi_json],
    "/api/v1/wallet" => [GET api::wallet::show],
    "/api/v1/wallet/transactions" => [GET api::wallet::transactions],
    "/api/v1/quotes" => [GET api::quotes::list, POST api::quotes::create],
    "/api/v1/quotes/{id}" => [GET api::quotes::show],
    "/api/v1/quotes/{id}/accept" => [POST api::quotes::accept],
    "/api/v1/quotes/{id}/decline" => [POST api::quotes::decline],
    "/api/v1/catalog/products" => [GET api::catalog::products],
    "/api/v1/catalog/vm-templates" => [GET api::catalog::vm_templates],
    "/api/v1/catalog/network-offers" => [GET api::catalog::network_offers],
    "/api/v1/services" => [GET api::services::list],
    "/api/v1/services/{id}/cancel" => [POST api::services::cancel],
    "/api/v1/invoices" => [GET api::invoices::list],
    "/api/v1/invoices/{id}.pdf" => [GET api::invoices::pdf],
    "/api/v1/invoices/{id}" => [GET api::invoices::show],
}

/// The route of one method; `GET` also answers `HEAD`.
fn method_route(method: &str) -> actix_web::Route {
    match method {
        "GET" => web::route().guard(guard::Any(guard::Get()).or(guard::Head())),
        "POST" => web::post(),
        other => unreachable!("the route table names only GET and POST, not {other}"),
    }
}

/// The `Allow` header of a path served for `methods`.
fn allow(methods: &[&str]) -> String {
    let mut allowed: Vec<&str> = Vec::new();
    for method in methods {
        allowed.push(method);
        if *method == "GET" {
            allowed.push("HEAD");
        }
    }
    allowed.join(", ")
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

/// Who acts: the signed-in user and their address, for the checks of a change and its
/// activity-log row.
impl FromRequest for Actor {
    type Error = AppError;
    type Future = Ready<Result<Actor, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(CurrentUser::from_request(req, payload).into_inner().map(|user| Actor {
            user_id: user.id,
            organisation_id: user.organisation_id,
            email: user.email,
            ip: client_ip(req),
        }))
    }
}

/// `303 See Other`: where a successful POST sends the browser.
fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

/// An htmx request wants the fragment, not the page.
fn is_htmx(req: &HttpRequest) -> bool {
    req.headers().contains_key("HX-Request")
}

/// A form's answer: 303 to the next page, or the form's page again.
type PageOr303<P> = Either<HttpResponse, CustomizeResponder<P>>;

/// The form's page again, 422, with the person's values and a message by each field.
fn unprocessable<P: Responder>(page: P) -> Result<PageOr303<P>, AppError> {
    Ok(Either::Right(page.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY)))
}

/// The form did its work: a flash for the next page, and 303 to it.
fn done<P>(session: &Session, location: &str, flash: Flash) -> Result<PageOr303<P>, AppError> {
    push_flash(session, flash);
    Ok(Either::Left(see_other(location)))
}
