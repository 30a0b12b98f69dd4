//! `Idempotency-Key` on the API's POSTs (Stripe's rule): the same key with the same
//! request (method, path and body) gets the first answer again, status included; the
//! same key with another request is refused (422); a repeat that arrives while the
//! first is still being answered waits for that answer (409 if it never comes within
//! [`WAIT`]). Keys are per API key and kept a day. Answers of 5xx are not kept: the
//! request did not happen, so a retry runs it again.

use std::time::{Duration, Instant};

use actix_web::HttpMessage;
use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::{self, BytesMut};
use actix_web::{HttpResponse, ResponseError};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::{ApiError, is_api, jsonify};
use crate::auth::api_key::KeyInUse;
use crate::db::main::idempotency::{self, Claim};
use crate::domain::text::{self, Lines};
use crate::error::FORM_LIMIT;
use crate::state::AppState;

pub const HEADER: &str = "Idempotency-Key";

/// A replayed answer says so.
pub const REPLAYED: &str = "Idempotent-Replayed";

/// How long a repeat waits for the first request's answer.
pub const WAIT: Duration = Duration::from_secs(20);

const POLL: Duration = Duration::from_millis(20);

const MAX_KEY_CHARS: usize = 255;

pub async fn replay(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let key = req.headers().get(HEADER).cloned();
    let api_key = req.extensions().get::<KeyInUse>().copied();
    let (Some(key), Some(KeyInUse(api_key)), true) =
        (key, api_key, *req.method() == Method::POST && is_api(req.path()))
    else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let key = match key.to_str().ok().map(str::trim).filter(|k| valid_key(k)) {
        Some(key) => key.to_owned(),
        None => {
            let message =
                format!("An idempotency key is one line of 1 to {MAX_KEY_CHARS} visible characters, such as a UUID.");
            return Ok(req.error_response(ApiError::invalid(HEADER, message)));
        }
    };
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        body.extend_from_slice(&chunk?);
        if body.len() > FORM_LIMIT {
            return Ok(req.error_response(crate::error::AppError::PayloadTooLarge));
        }
    }
    let body = body.freeze();
    let mut hasher = Sha256::new();
    for part in [req.method().as_str().as_bytes(), req.uri().to_string().as_bytes(), &body] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    let hash = hasher.finalize();
    req.set_payload(Payload::from(body));

    let state = req.app_data::<web::Data<AppState>>().expect("AppState is registered").clone();
    let started = Instant::now();
    loop {
        let claim = async {
            let mut conn = state.pools.main.get().await?;
            Ok::<_, ApiError>(idempotency::claim(&mut conn, api_key, &key, &hash).await?)
        };
        match claim.await {
            Err(e) => return Ok(req.error_response(e)),
            Ok(Claim::Claimed) => break,
            Ok(Claim::Answered { status, body }) => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let response = HttpResponse::build(status)
                    .content_type(header::ContentType::json())
                    .insert_header((REPLAYED, "true"))
                    .body(body);
                return Ok(req.into_response(response));
            }
            Ok(Claim::OtherRequest) => {
                let message = "This idempotency key was used with another request; send a new key for a new request.";
                let error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", message);
                return Ok(req.error_response(ApiError { field: Some(HEADER.into()), ..error }));
            }
            Ok(Claim::InFlight) if started.elapsed() < WAIT => tokio::time::sleep(POLL).await,
            Ok(Claim::InFlight) => {
                let message = "A request with this idempotency key is still being answered; try again in a moment.";
                let error = ApiError::new(StatusCode::CONFLICT, "idempotency_key_in_flight", message);
                return Ok(req.error_response(error));
            }
        }
    }

    let response = jsonify(next.call(req).await?.map_into_boxed_body());
    let status = response.status();
    let (req, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let bytes = match body::to_bytes(body).await {
        Ok(bytes) => bytes,
        Err(e) => {
            let e = ApiError::from(crate::error::AppError::Internal(anyhow::anyhow!("{e}")));
            return Ok(ServiceResponse::new(req, e.error_response()));
        }
    };
    let stored = async {
        let mut conn = state.pools.main.get().await?;
        if status.is_server_error() {
            idempotency::release(&mut conn, api_key, &key).await?;
        } else {
            idempotency::finish(&mut conn, api_key, &key, status.as_u16(), &String::from_utf8_lossy(&bytes)).await?;
        }
        Ok::<_, ApiError>(())
    };
    if let Err(e) = stored.await {
        // The claim stays unanswered: repeats wait, then take it over and run again,
        // which acceptance's exactly-once rule makes safe.
        tracing::warn!(error = %e, "an idempotent answer could not be stored");
    }
    Ok(ServiceResponse::new(req, head.set_body(BoxBody::new(bytes))))
}

fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.chars().count() <= MAX_KEY_CHARS && text::check(key, Lines::One).is_ok()
}
