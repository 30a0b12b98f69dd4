//! The few static files, compiled into the binary so that `portal` runs from anywhere.
//! htmx is vendored unmodified (version in its name, licence beside it).
//!
//! Each file is also served under a name with its content's hash (`app.1a2b3c4d5e.css`),
//! which pages link to: such a name never changes content, so browsers keep it for a
//! year (`immutable`) and a new build's pages name new files. Every file has an `ETag`
//! (`If-None-Match` → 304) and is gzipped once at start-up for clients that accept it.

use std::io::Write as _;
use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::error::AppError;

const FILES: &[(&str, &str, &[u8])] = &[
    ("app.css", "text/css; charset=utf-8", include_bytes!("../static/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../static/app.js")),
    ("htmx-2.0.11.min.js", "text/javascript; charset=utf-8", include_bytes!("../static/htmx-2.0.11.min.js")),
    ("favicon.svg", "image/svg+xml", include_bytes!("../static/favicon.svg")),
];

struct Asset {
    name: &'static str,
    /// The name with the content's hash before the extension.
    hashed: String,
    content_type: &'static str,
    bytes: &'static [u8],
    gzipped: Vec<u8>,
    etag: String,
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(name, content_type, bytes)| {
            let hash: String = Sha256::digest(bytes).iter().take(5).map(|b| format!("{b:02x}")).collect();
            let hashed = match name.rsplit_once('.') {
                Some((stem, extension)) => format!("{stem}.{hash}.{extension}"),
                None => format!("{name}.{hash}"),
            };
            let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gzip.write_all(bytes).expect("gzip into memory");
            Asset {
                name,
                hashed,
                content_type,
                bytes,
                gzipped: gzip.finish().expect("gzip into memory"),
                etag: format!("\"{hash}\""),
            }
        })
        .collect()
});

/// Where a page links to a static file: its content-hashed name.
pub fn url(name: &str) -> String {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => format!("/static/{}", asset.hashed),
        None => format!("/static/{name}"),
    }
}

/// A year for a content-hashed name; an hour for the plain one (old links, bookmarks).
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT: &str = "public, max-age=3600";

pub async fn serve(req: HttpRequest, name: web::Path<String>) -> Result<HttpResponse, AppError> {
    let name = name.as_str();
    let (asset, cache) = ASSETS
        .iter()
        .find_map(|a| {
            if a.hashed == name {
                Some((a, IMMUTABLE))
            } else if a.name == name {
                Some((a, SHORT))
            } else {
                None
            }
        })
        .ok_or(AppError::NotFound)?;
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::ETAG, asset.etag.as_str()))
        .insert_header((header::VARY, "Accept-Encoding"));
    let matches = |value: &HeaderValue| {
        value.to_str().is_ok_and(|v| v.split(',').any(|tag| tag.trim() == asset.etag || tag.trim() == "*"))
    };
    if req.headers().get(header::IF_NONE_MATCH).is_some_and(matches) {
        return Ok(response.status(actix_web::http::StatusCode::NOT_MODIFIED).finish());
    }
    response.insert_header((header::CONTENT_TYPE, asset.content_type));
    if accepts_gzip(&req) {
        return Ok(response.insert_header((header::CONTENT_ENCODING, "gzip")).body(asset.gzipped.as_slice()));
    }
    Ok(response.body(asset.bytes))
}

fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers().get_all(header::ACCEPT_ENCODING).filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',').any(|coding| {
            let mut parts = coding.trim().split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_keep_the_extension() {
        let css = url("app.css");
        assert!(css.starts_with("/static/app.") && css.ends_with(".css") && css.len() == "/static/app.css".len() + 11);
        assert!(url("htmx-2.0.11.min.js").starts_with("/static/htmx-2.0.11.min."));
        assert_eq!(url("nope.js"), "/static/nope.js");
    }

    #[test]
    fn gzip_is_smaller_for_text() {
        let htmx = ASSETS.iter().find(|a| a.name.starts_with("htmx")).unwrap();
        assert!(htmx.gzipped.len() * 2 < htmx.bytes.len());
    }
}
