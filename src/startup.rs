//! Builds the actix application: shared state, middleware order, routes. Tests bind
//! port 0 and call [`run`] just as `portal serve` does.

use std::net::TcpListener;

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity};
use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;

use actix_session::storage::{
    CookieSessionStore, LoadError, RedisSessionStore, SaveError, SessionKey, SessionStore, UpdateError,
};
use actix_web::ResponseError;
use actix_web::body::BodySize;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::time::Duration;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::middleware::{Compress, DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::auth::{csrf, middleware::authenticate};
use crate::error::AppError;
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

/// How long one call to the session store (Redis) may take: a Redis that stops
/// answering never makes a request hang.
pub const SESSION_STORE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

tokio::task_local! {
    /// Set when a call to the session store failed or timed out during this request.
    static STORE_FAILED: Cell<bool>;
}

/// A session store whose every call is bounded by [`SESSION_STORE_TIMEOUT`]. A call that
/// fails or times out is answered as if there were no session (so no handler runs for a
/// signed-in user, and nothing waits), and marks the request, which
/// [`session_store_guard`] then answers with 503 and `Retry-After`.
#[derive(Clone)]
pub struct Bounded<S>(pub S);

async fn bounded<T, E: std::fmt::Display>(call: impl Future<Output = Result<T, E>>) -> Option<T> {
    match tokio::time::timeout(SESSION_STORE_TIMEOUT, call).await {
        Ok(Ok(value)) => Some(value),
        failed => {
            match failed {
                Ok(Err(e)) => tracing::warn!(error = %e, "the session store failed"),
                _ => tracing::warn!("the session store did not answer in time"),
            }
            let _ = STORE_FAILED.try_with(|failed| failed.set(true));
            None
        }
    }
}

/// A key for state that could not be stored: the request is answered 503 anyway.
fn unstored_key() -> SessionKey {
    let key: String = (0..64).map(|_| char::from(b'a' + rand::random_range(0..26u8))).collect();
    SessionKey::try_from(key).expect("64 letters make a valid session key")
}

impl<S: SessionStore> SessionStore for Bounded<S> {
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        Ok(bounded(self.0.load(key)).await.flatten())
    }

    async fn save(&self, state: HashMap<String, String>, ttl: &Duration) -> Result<SessionKey, SaveError> {
        Ok(bounded(self.0.save(state, ttl)).await.unwrap_or_else(unstored_key))
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        Ok(bounded(self.0.update(key, state, ttl)).await.unwrap_or_else(unstored_key))
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> Result<(), anyhow::Error> {
        bounded(self.0.update_ttl(key, ttl)).await;
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        bounded(self.0.delete(key)).await;
        Ok(())
    }
}

/// Wraps the session middleware. Health checks, metrics and the API never carry a
/// session (their cookie is dropped here, so they never wait on the session store, and
/// an API request is never answered for a browser's session), and a request
/// during which the session store failed is answered 503 with `Retry-After`.
async fn session_store_guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if matches!(req.path(), "/healthz" | "/readyz" | "/metrics") || routes::api::is_api(req.path()) {
        req.headers_mut().remove(header::COOKIE);
    }
    let (response, failed) = STORE_FAILED
        .scope(Cell::new(false), async {
            let response = next.call(req).await;
            (response, STORE_FAILED.with(Cell::get))
        })
        .await;
    let response = response?.map_into_boxed_body();
    if failed {
        let unavailable = AppError::SessionsUnavailable.error_response();
        return Ok(response.into_response(unavailable));
    }
    Ok(response)
}

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
            serve(state, listener, workers, move || session_middleware(Bounded(store.clone()), key.clone()))
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
        // On the worker's own thread, like its pools: a fence wakes no other thread.
        actix_web::rt::spawn(crate::copies::listen(state.copies.clone(), state.pools.main_url.clone()));
        let (path, query, form, json) = crate::error::extractor_configs();
        state.metrics.watch(&state.pools);
        // Registered inside-out: a request meets headers, compression, metrics, logging,
        // session, the API's JSON errors, authentication, CSRF, the query-string guard,
        // the API's idempotency records, then the handler.
        App::new()
            .app_data(state.clone())
            .app_data(path)
            .app_data(query)
            .app_data(form)
            .app_data(json)
            .configure(routes::configure)
            .wrap(from_fn(routes::api::idempotency::replay))
            .wrap(from_fn(routes::refuse_control_characters))
            .wrap(from_fn(csrf::verify))
            .wrap(from_fn(authenticate))
            .wrap(from_fn(routes::api::json_errors))
            .wrap(sessions())
            .wrap(from_fn(session_store_guard))
            .wrap(TracingLogger::default())
            .wrap(from_fn(metrics::record))
            .wrap(from_fn(leave_small_bodies))
            .wrap(Compress::default())
            .wrap(from_fn(drop_identity_marker))
            .wrap(security_headers(state.hsts))
    })
    .workers(workers)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Bodies smaller than this are sent as they are: gzip would save a few bytes at most,
/// and costs the same per response.
pub const COMPRESS_FROM_BYTES: u64 = 1024;

/// Marks a small body `Content-Encoding: identity`, which `Compress` leaves alone;
/// [`drop_identity_marker`] removes the mark again on the way out.
async fn leave_small_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let mut response = next.call(req).await?.map_into_boxed_body();
    if let BodySize::Sized(size) = response.response().body().size()
        && size < COMPRESS_FROM_BYTES
        && !response.headers().contains_key(header::CONTENT_ENCODING)
    {
        response.headers_mut().insert(header::CONTENT_ENCODING, header::HeaderValue::from_static("identity"));
    }
    Ok(response)
}

async fn drop_identity_marker(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let mut response = next.call(req).await?.map_into_boxed_body();
    if response.headers().get(header::CONTENT_ENCODING).is_some_and(|v| v == "identity") {
        response.headers_mut().remove(header::CONTENT_ENCODING);
    }
    Ok(response)
}
