//! The doctors' web page: one HTML file and its script, both static.

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

/// The doctors' page: static, no build step; it talks to this API with the user's token.
pub(crate) async fn web_page() -> Response {
    let mut resp = Html(include_str!("../web/index.html")).into_response();
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
             img-src 'self' blob: https://*.amazonaws.com; connect-src 'self'; \
             form-action 'none'; base-uri 'none'; \
             frame-ancestors 'none'",
        ),
    );
    resp
}

/// The page's script, served from here so the page's policy allows no inline script.
pub(crate) async fn web_script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../web/app.js"),
    )
        .into_response()
}
