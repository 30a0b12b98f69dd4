//! One error type for handlers, and how each kind is answered.
//!
//! | layer                          | returns                    | answered with                          |
//! |--------------------------------|----------------------------|----------------------------------------|
//! | extractors (no session)        | `Unauthenticated`          | 303 to `/login?next=…` (htmx: HX-Redirect) |
//! | extractors (missing permission)| `Forbidden`                | 403 page                               |
//! | CSRF middleware                | `Csrf`                     | 403 page saying the form expired       |
//! | input guard (query strings)    | `Invalid`                  | 422 page saying what to change         |
//! | queries: row not found         | `NotFound` (via `From`)    | 404 page                               |
//! | pool: no connection in time    | `Unavailable` (via `From`) | 503 page, `Retry-After`                |
//! | queries: the connection is lost| `Unavailable` (via `From`) | 503 page, `Retry-After`                |
//! | anything else                  | `Internal`                 | logged with its cause chain, 500 page  |
//!
//! Forms with bad input are not errors: their handlers answer 422 with the form again.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, ResponseError};
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
    #[error("{0}")]
    Invalid(String),
    #[error("the service is temporarily unavailable")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => AppError::NotFound,
            e if connection_lost(&e) => AppError::Unavailable(e.to_string()),
            e => AppError::Internal(e.into()),
        }
    }
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

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated { .. } => StatusCode::SEE_OTHER,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, message) = match self {
            AppError::Unauthenticated { next } => {
                let location = match next {
                    Some(next) => format!("/login?next={}", crate::auth::safe_next_encoded(next)),
                    None => "/login".to_owned(),
                };
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, location.as_str()))
                    .insert_header(("HX-Redirect", location.as_str()))
                    .finish();
            }
            AppError::Forbidden => (
                "Not allowed",
                "Your account does not have permission for this page or action. If you need it, ask an administrator.",
            ),
            AppError::Csrf => (
                "Form expired",
                "This form has expired or did not come from this site, so nothing was changed. Go back, reload the page and try again.",
            ),
            AppError::NotFound => ("Not found", "There is nothing at this address, or it is not yours to see."),
            AppError::Invalid(message) => ("Cannot use this input", message.as_str()),
            AppError::Unavailable(cause) => {
                tracing::warn!(%cause, "answering 503");
                (
                    "Temporarily unavailable",
                    "The portal cannot reach its database right now. Please try again in a moment: a payment or acceptance you repeat is never made twice.",
                )
            }
            AppError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                (
                    "Something went wrong",
                    "An unexpected error occurred and has been logged. Nothing was changed; please try again.",
                )
            }
        };
        let status = self.status_code();
        let page = ErrorPage { status: status.as_u16(), title, message };
        let body = page.render().unwrap_or_else(|_| message.to_owned());
        let mut response = HttpResponse::build(status);
        response.content_type(ContentType::html());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, "5"));
        }
        response.body(body)
    }
}
