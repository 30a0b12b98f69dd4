//! The billing API under `/api/v1/` (DESIGN.md §11): JSON in and out, with the pages'
//! rules. A bearer key stands for its creator (`auth::api_key`), so the permission
//! extractors, the domain and the queries are the pages' own; these handlers only read
//! JSON and write JSON. Every failure under `/api/` is `{"error": {"code", "message",
//! "field"}}`: handlers return [`ApiError`], and [`json_errors`] rewrites whatever else
//! answers there (the router's 404 and 405, the extractors' 400, 413 and 415).

pub mod catalog;
pub mod docs;
pub mod idempotency;
pub mod invoices;
pub mod quotes;
pub mod rate_limit;
pub mod services;
pub mod wallet;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;

/// Paths served to API clients.
pub fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// A failure as an API client sees it.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The request field at fault, named as the request names it (`lines[1].quantity`).
    pub field: Option<String>,
    allow: Option<String>,
    /// Seconds, for 429.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), field: None, allow: None, retry_after: None }
    }

    /// 422: this field cannot be used, with the form's message.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError { field: Some(field.into()), ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message) }
    }

    /// 401: no valid key came with the request.
    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Send a valid API key as `Authorization: Bearer pk_live_…`; keys are made at /account/api-keys.",
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        e.log();
        describe(&e)
    }
}

/// The API's answer for a page's error, with the page's message.
fn describe(e: &AppError) -> ApiError {
    let code = match e {
        AppError::Unauthenticated { .. } => return ApiError::unauthenticated(),
        AppError::Forbidden | AppError::Csrf => "forbidden",
        AppError::NotFound => "not_found",
        AppError::MethodNotAllowed(_) => "method_not_allowed",
        AppError::BadRequest(_) => "bad_request",
        AppError::UnsupportedMediaType => "unsupported_media_type",
        AppError::PayloadTooLarge => "payload_too_large",
        AppError::Invalid(_) => "invalid",
        AppError::Unavailable(_) | AppError::SessionsUnavailable => "unavailable",
        AppError::Busy => "busy",
        AppError::Internal(_) => "internal",
    };
    let message = match e {
        AppError::UnsupportedMediaType => "Send the body as JSON, with `Content-Type: application/json`.",
        AppError::MethodNotAllowed(_) => "This address does not answer that method; `Allow` lists the ones it does.",
        other => other.explain().1,
    };
    let allow = match e {
        AppError::MethodNotAllowed(allow) => Some(allow.clone()),
        _ => None,
    };
    ApiError { allow, ..ApiError::new(e.status_code(), code, message) }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> ApiError {
        AppError::from(e).into()
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> ApiError {
        AppError::from(e).into()
    }
}

/// Every failure: what went wrong, in a word for programs and a sentence for people.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `invalid`, `not_found`, `unauthenticated`, `forbidden`, `insufficient_funds`, …
    code: String,
    /// The sentence the portal's pages show for the same failure.
    message: String,
    /// The request field at fault (`lines[1].quantity`, `Idempotency-Key`), if one is.
    field: Option<String>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, "5"));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if let Some(allow) = &self.allow {
            response.insert_header((header::ALLOW, allow.as_str()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(ErrorBody {
            error: ErrorDetail { code: self.code.to_owned(), message: self.message.clone(), field: self.field.clone() },
        })
    }
}

/// Under `/api/`, an error answered by anything but an API handler (the router, an
/// extractor, a middleware) is rewritten as the API's JSON error.
pub async fn json_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !is_api(req.path()) {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    Ok(jsonify(next.call(req).await?.map_into_boxed_body()))
}

/// The response, or the API's JSON error in place of a page's error.
pub fn jsonify(response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if status.as_u16() < 400 || json {
        return response;
    }
    let error = match response.response().error().and_then(|e| e.as_error::<AppError>()) {
        // Logged already, when the page's answer was made.
        Some(app) => describe(app),
        None => ApiError::new(status, "error", status.canonical_reason().unwrap_or("Error")),
    };
    let (req, _) = response.into_parts();
    ServiceResponse::new(req, error.error_response())
}

/// A page of a list, newest first: `next_before` is the `before` of the next page, or
/// null on the last.
#[derive(Serialize, ToSchema)]
pub struct List<T> {
    pub data: Vec<T>,
    pub next_before: Option<i64>,
}

/// How many rows a list answers at a time.
pub const PAGE_SIZE: i64 = 50;

impl<T> List<T> {
    /// A full page may have a next one, after the last row's `id`.
    pub fn of(data: Vec<T>, id: impl Fn(&T) -> i64) -> List<T> {
        let next_before = (data.len() as i64 == PAGE_SIZE).then(|| data.last().map(id)).flatten();
        List { data, next_before }
    }
}

/// The `before` cursor of a list: an id from a page's `next_before`.
pub fn cursor(raw: Option<&str>) -> Result<Option<i64>, ApiError> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(raw) => match raw.parse::<i64>() {
            Ok(id) if id > 0 => Ok(Some(id)),
            _ => Err(ApiError::invalid("before", "Send the `next_before` of the page before, a whole number.")),
        },
    }
}
