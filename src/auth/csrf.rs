//! CSRF protection for every state-changing request, whatever its route: the session's
//! token must come back in the `X-CSRF-Token` header (htmx) or the `csrf_token` form
//! field. The form body is read here and put back for the handler. Bearer requests to
//! `/api/` need none: no cookie is accepted there.

use actix_session::SessionExt;
use actix_web::HttpMessage;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::BytesMut;
use futures_util::StreamExt;
use subtle::ConstantTimeEq;

use super::session;
use crate::error::{AppError, FORM_LIMIT};

pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "X-CSRF-Token";

pub async fn verify(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // Only POST changes anything: no route takes PUT, PATCH or DELETE (the router answers
    // them 405, which the route table's test pins), so they need no token.
    // The API takes no cookie (its key comes in a header a browser never adds by
    // itself), so a forged cross-site request carries nothing to act with.
    if *req.method() != Method::POST || crate::routes::api::is_api(req.path()) {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let expected = session::expected_csrf_token(&req.get_session());
    let mut provided = req.headers().get(HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if provided.is_none() && is_form {
        let mut payload = req.take_payload();
        let mut body = BytesMut::new();
        // Answered here (not returned as an error) so the response still passes the
        // security-headers middleware on its way out.
        while let Some(chunk) = payload.next().await {
            match chunk {
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(e) => return Ok(req.error_response(e)),
            }
            if body.len() > FORM_LIMIT {
                return Ok(req.error_response(AppError::PayloadTooLarge));
            }
        }
        let body = body.freeze();
        provided = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .ok()
            .and_then(|fields| fields.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v));
        req.set_payload(Payload::from(body));
    }
    let valid = match (expected, provided) {
        (Some(expected), Some(provided)) => bool::from(expected.as_bytes().ct_eq(provided.as_bytes())),
        _ => false,
    };
    if !valid {
        tracing::warn!(path = req.path(), "refused a request without a valid CSRF token");
        return Ok(req.error_response(AppError::Csrf));
    }
    next.call(req).await.map(ServiceResponse::map_into_boxed_body)
}
