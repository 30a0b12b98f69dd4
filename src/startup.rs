//! Builds the actix application: shared state, middleware order, routes. Tests bind
//! port 0 and call [`run`] just as `portal serve` does.

use std::net::TcpListener;

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::{CookieSessionStore, RedisSessionStore, SessionStore};
use actix_web::cookie::time::Duration;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::auth::{csrf, middleware::authenticate};
use crate::metrics;
use crate::routes;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "portal_session";

/// HSTS for a year, subdomains included, when the portal is served over HTTPS.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Strict headers on every response. No inline script or style anywhere, so the CSP
/// allows only this origin's files.
pub fn security_headers(hsts: bool) -> DefaultHeaders {
    let headers =
        if hsts { DefaultHeaders::new().add(("Strict-Transport-Security", HSTS)) } else { DefaultHeaders::new() };
    headers
        .add((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add(("Cache-Control", "no-store"))
}

/// Where session state lives: inside the encrypted cookie (one instance needs nothing
/// else), or in Redis under a random key the encrypted cookie carries, so that several
/// instances share sign-ins and a sign-out ends the session on all of them.
#[derive(Clone)]
pub enum Sessions {
    Cookie,
    Redis(RedisSessionStore),
}

impl Sessions {
    /// Connects to Redis when `redis_url` (`PORTAL_REDIS_URL`) is set.
    pub async fn connect(redis_url: Option<&str>) -> anyhow::Result<Sessions> {
        match redis_url {
            None => Ok(Sessions::Cookie),
            // The client retries a refused connection for minutes; give up after a few seconds.
            Some(url) => match tokio::time::timeout(REDIS_CONNECT_TIMEOUT, RedisSessionStore::new(url)).await {
                Ok(Ok(store)) => Ok(Sessions::Redis(store)),
                Ok(Err(e)) => Err(anyhow::anyhow!("cannot reach Redis at PORTAL_REDIS_URL ({e})")),
                Err(_) => Err(anyhow::anyhow!(
                    "cannot reach Redis at PORTAL_REDIS_URL (no answer within {} s)",
                    REDIS_CONNECT_TIMEOUT.as_secs()
                )),
            },
        }
    }
}

const REDIS_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A session lasts at most 12 hours (the absolute timeout in `auth::session`); Redis
/// forgets it then too.
const SESSION_STATE_TTL: Duration = Duration::hours(12);

fn session_middleware<S: SessionStore>(store: S, key: Key) -> SessionMiddleware<S> {
    SessionMiddleware::builder(store, key)
        .cookie_name(SESSION_COOKIE.to_owned())
        .cookie_secure(true)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(BrowserSession::default().state_ttl(SESSION_STATE_TTL))
        .build()
}

/// Serves the app on `workers` threads. `state` runs once on each worker's own thread:
/// pools it opens there are driven by that thread, so a query needs no wake-up of
/// another thread (a connection opened on one thread and used on another costs an
/// eventfd write and a context switch each way, measured in BENCHMARKS.md).
pub fn run(
    state: impl Fn() -> AppState + Send + Clone + 'static,
    listener: TcpListener,
    session_key: &[u8],
    sessions: Sessions,
    workers: usize,
) -> std::io::Result<Server> {
    let key = Key::from(session_key);
    match sessions {
        Sessions::Cookie => {
            serve(state, listener, workers, move || session_middleware(CookieSessionStore::default(), key.clone()))
        }
        Sessions::Redis(store) => {
            serve(state, listener, workers, move || session_middleware(store.clone(), key.clone()))
        }
    }
}

fn serve<S: SessionStore + 'static>(
    state: impl Fn() -> AppState + Send + Clone + 'static,
    listener: TcpListener,
    workers: usize,
    sessions: impl Fn() -> SessionMiddleware<S> + Send + Clone + 'static,
) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        let state = web::Data::new(state());
        let (path, query, form, json) = crate::error::extractor_configs();
        state.metrics.watch(&state.pools);
        // Registered inside-out: a request meets headers, metrics, logging, session,
        // authentication, CSRF, the query-string guard, then the handler.
        App::new()
            .app_data(state.clone())
            .app_data(path)
            .app_data(query)
            .app_data(form)
            .app_data(json)
            .configure(routes::configure)
            .wrap(from_fn(routes::refuse_control_characters))
            .wrap(from_fn(csrf::verify))
            .wrap(from_fn(authenticate))
            .wrap(sessions())
            .wrap(TracingLogger::default())
            .wrap(from_fn(metrics::record))
            .wrap(security_headers(state.hsts))
    })
    .workers(workers)
    .listen(listener)?
    .run();
    Ok(server)
}
