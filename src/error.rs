//! One error type for handlers, and how each kind is answered.
//!
//! | layer                          | returns                    | answered with                          |
//! |--------------------------------|----------------------------|----------------------------------------|
//! | extractors (no session)        | `Unauthenticated`          | 303 to `/login?next=…` (htmx: HX-Redirect) |
//! | extractors (missing permission)| `Forbidden`                | 403 page                               |
//! | CSRF middleware                | `Csrf`                     | 403 page saying the form expired       |
//! | router: no such path           | `NotFound`                 | 404 page                               |
//! | router: path, other method     | `MethodNotAllowed`         | 405 page with `Allow`                  |
//! | extractors: path doesn't parse | `NotFound`                 | 404 page (`/quotes/abc` names nothing) |
//! | extractors: query doesn't parse| `BadRequest`               | 400 page saying what was wrong         |
//! | extractors: body of another type| `UnsupportedMediaType`    | 415 page                               |
//! | extractors: body too large     | `PayloadTooLarge`          | 413 page                               |
//! | input guard (query strings)    | `Invalid`                  | 422 page saying what to change         |
//! | queries: row not found         | `NotFound` (via `From`)    | 404 page                               |
//! | pool: no connection in time    | `Unavailable` (via `From`) | 503 page, `Retry-After`                |
//! | queries: row lock not in time  | `Busy` (via `From`)        | 503 page "busy, try again"             |
//! | bulkhead: no turn in time      | `Busy`                     | 503 page "busy, try again"             |
//! | queries: the connection is lost| `Unavailable` (via `From`) | 503 page, `Retry-After`                |
//! | anything else                  | `Internal`                 | logged with its cause chain, 500 page  |
//!
//! Forms with bad input are not errors: their handlers answer 422 with the form again.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, ResponseError, web};
use askama::Template;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("sign in to continue")]
    Unauthenticated { next: Option<String> },
    #[error("you do not have permission to do this")]
    Forbidden,
    #[error("the form expired or did not come from this site")]
    Csrf,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("{0}")]
    Invalid(String),
    #[error("the service is temporarily unavailable")]
    Unavailable(String),
    /// The session store (Redis) failed or did not answer in time.
    #[error("the session store is unavailable")]
    SessionsUnavailable,
    /// A money request waited its bounded time for a lock or its organisation's turn.
    #[error("busy: try again")]
    Busy,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => AppError::NotFound,
            e if lock_timed_out(&e) => AppError::Busy,
            e if connection_lost(&e) => AppError::Unavailable(e.to_string()),
            e => AppError::Internal(e.into()),
        }
    }
}

/// A statement gave up waiting for a row lock (`lock_timeout`, SQLSTATE 55P03): the
/// transaction rolled back, and asking again is safe.
fn lock_timed_out(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(e, Error::DatabaseError(DatabaseErrorKind::Unknown, info)
        if info.message().starts_with("canceling statement due to lock timeout"))
}

/// The database went away under a query: the server restarted or shut down (SQLSTATE
/// class 57P, sent with the connection's last message), or the connection is closed.
/// The transaction did not commit, or the commit's answer was lost; either way, asking
/// again is safe because every payment carries an idempotency key or a unique index.
fn connection_lost(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _) => true,
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let message = info.message();
            message.starts_with("terminating connection") || message.starts_with("the database system is")
        }
        Error::BrokenTransactionManager => true,
        _ => false,
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        AppError::Unavailable(e.to_string())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

impl AppError {
    /// The title and the sentence a person is shown: the error page's, and the API's
    /// `message`, so both say the same.
    pub fn explain(&self) -> (&str, &str) {
        match self {
            AppError::Unauthenticated { .. } => ("Sign in", "Sign in to continue."),
            AppError::Forbidden => (
                "Not allowed",
                "Your account does not have permission for this page or action. If you need it, ask an administrator.",
            ),
            AppError::Csrf => (
                "Form expired",
                "This form has expired or did not come from this site, so nothing was changed. Go back, reload the page and try again.",
            ),
            AppError::NotFound => ("Not found", "There is nothing at this address, or it is not yours to see."),
            AppError::MethodNotAllowed(_) => (
                "Not allowed here",
                "This address does not answer that kind of request. Use the portal's links and forms.",
            ),
            AppError::BadRequest(detail) => ("Bad request", detail),
            AppError::UnsupportedMediaType => (
                "Unsupported form",
                "This address takes a form submitted from the portal's pages, not another kind of body.",
            ),
            AppError::PayloadTooLarge => ("Too large", "What was sent is larger than this address accepts."),
            AppError::Invalid(message) => ("Cannot use this input", message.as_str()),
            AppError::Unavailable(_) => (
                "Temporarily unavailable",
                "The portal cannot reach its database right now. Please try again in a moment: a payment or acceptance you repeat is never made twice.",
            ),
            AppError::SessionsUnavailable => (
                "Temporarily unavailable",
                "Sign-in sessions cannot be reached right now. Please try again in a moment: a payment or acceptance you repeat is never made twice.",
            ),
            AppError::Busy => (
                "Busy, try again",
                "Another payment of your organisation is being processed, so nothing was changed. Please try again in a moment.",
            ),
            AppError::Internal(_) => (
                "Something went wrong",
                "An unexpected error occurred and has been logged. Nothing was changed; please try again.",
            ),
        }
    }

    /// Logs what the operator needs to know: the cause of a 503 or a 500.
    pub fn log(&self) {
        match self {
            AppError::Unavailable(cause) => tracing::warn!(%cause, "answering 503"),
            AppError::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
            _ => {}
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated { .. } => StatusCode::SEE_OTHER,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unavailable(_) | AppError::Busy | AppError::SessionsUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Unauthenticated { next } = self {
            let location = match next {
                Some(next) => format!("/login?next={}", crate::auth::safe_next_encoded(next)),
                None => "/login".to_owned(),
            };
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location.as_str()))
                .insert_header(("HX-Redirect", location.as_str()))
                .finish();
        }
        self.log();
        let (title, message) = self.explain();
        let status = self.status_code();
        let page = ErrorPage { status: status.as_u16(), title, message };
        let body = page.render().unwrap_or_else(|_| message.to_owned());
        let mut response = HttpResponse::build(status);
        response.content_type(ContentType::html());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, "5"));
        }
        if let AppError::MethodNotAllowed(allow) = self {
            response.insert_header((header::ALLOW, allow.as_str()));
        }
        response.body(body)
    }
}

/// The extractor settings that send every failure through [`AppError`], so a bad id,
/// query or body gets the portal's page rather than the framework's plain text.
pub fn extractor_configs() -> (web::PathConfig, web::QueryConfig, web::FormConfig, web::JsonConfig) {
    use actix_web::error::{JsonPayloadError, UrlencodedError};
    let path = web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into());
    let query = web::QueryConfig::default()
        .error_handler(|e, _| AppError::BadRequest(format!("The address's query could not be read: {e}.")).into());
    let form = web::FormConfig::default().limit(FORM_LIMIT).error_handler(|e, _| {
        match e {
            UrlencodedError::ContentType => AppError::UnsupportedMediaType,
            UrlencodedError::Overflow { .. } | UrlencodedError::UnknownLength => AppError::PayloadTooLarge,
            e => AppError::BadRequest(format!("The form could not be read: {e}.")),
        }
        .into()
    });
    let json = web::JsonConfig::default().limit(FORM_LIMIT).error_handler(|e, _| {
        match e {
            JsonPayloadError::ContentType => AppError::UnsupportedMediaType,
            JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                AppError::PayloadTooLarge
            }
            e => AppError::BadRequest(format!("The body could not be read: {e}.")),
        }
        .into()
    });
    (path, query, form, json)
}

/// Forms here are small; a larger body is refused rather than buffered.
pub const FORM_LIMIT: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_maps_to_its_status() {
        let cases = [
            (AppError::Unauthenticated { next: None }, 303),
            (AppError::Forbidden, 403),
            (AppError::Csrf, 403),
            (AppError::NotFound, 404),
            (AppError::MethodNotAllowed("GET, HEAD".into()), 405),
            (AppError::BadRequest("no".into()), 400),
            (AppError::UnsupportedMediaType, 415),
            (AppError::PayloadTooLarge, 413),
            (AppError::Unavailable("down".into()), 503),
            (AppError::Busy, 503),
            (AppError::SessionsUnavailable, 503),
            (AppError::Internal(anyhow::anyhow!("boom")), 500),
        ];
        for (error, status) in cases {
            let response = error.error_response();
            assert_eq!(response.status().as_u16(), status, "{error:?}");
            if status >= 400 {
                assert_eq!(
                    response.headers().get(header::CONTENT_TYPE).unwrap(),
                    "text/html; charset=utf-8",
                    "{error:?}"
                );
            }
        }
        let response = AppError::MethodNotAllowed("POST".into()).error_response();
        assert_eq!(response.headers().get(header::ALLOW).unwrap(), "POST");
        assert!(AppError::Unavailable(String::new()).error_response().headers().contains_key(header::RETRY_AFTER));
    }

    #[test]
    fn database_errors_map_by_kind() {
        assert!(matches!(AppError::from(diesel::result::Error::NotFound), AppError::NotFound));
        assert!(matches!(AppError::from(diesel::result::Error::BrokenTransactionManager), AppError::Unavailable(_)));
        assert!(matches!(AppError::from(diesel::result::Error::RollbackTransaction), AppError::Internal(_)));
    }
}
