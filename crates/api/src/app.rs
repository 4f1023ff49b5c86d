//! The web app's pages, embedded in the binary: `web/out`, which vite builds from `web/` and which
//! is checked in (`web/check.sh`, run by `scripts/test`, fails when it is stale), so that
//! `medshare serve` needs nothing but itself. Served at `/` and `/assets/…`; the pages call the
//! API under `/api`.

use axum::{
    body::Body,
    http::{HeaderValue, Uri, header},
    response::{IntoResponse, Response},
};

#[derive(rust_embed::RustEmbed)]
#[folder = "../../web/out/"]
struct Pages;

/// The page or asset at `uri`'s path (`/` is `index.html`); a JSON 404 for anything else.
pub(crate) async fn page(uri: Uri) -> Response {
    let path = match uri.path().trim_start_matches('/') {
        "" => "index.html",
        p => p,
    };
    let Some(file) = Pages::get(path) else {
        return crate::Error::NotFound(format!("no page {}", uri.path())).into_response();
    };
    let mime = file.metadata.mimetype();
    // Assets are named by their content's hash: they never change under one name.
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = Response::new(Body::from(file.data.into_owned()));
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; \
             base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    response
}
