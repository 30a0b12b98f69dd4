//! The few static files, compiled into the binary so that `portal` runs from anywhere.
//! htmx is vendored unmodified (version in its name, licence beside it).

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::error::AppError;

pub const HTMX: &str = "htmx-2.0.11.min.js";

const FILES: &[(&str, &str, &[u8])] = &[
    ("app.css", "text/css; charset=utf-8", include_bytes!("../../static/app.css")),
    (HTMX, "text/javascript; charset=utf-8", include_bytes!("../../static/htmx-2.0.11.min.js")),
    ("favicon.svg", "image/svg+xml", include_bytes!("../../static/favicon.svg")),
];

pub async fn serve(name: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (_, content_type, bytes) = FILES.iter().find(|(n, _, _)| *n == name.as_str()).ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, *content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(*bytes))
}
