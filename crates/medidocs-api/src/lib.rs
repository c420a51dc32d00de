//! The HTTP API of the document pipeline: one axum [`Router`] served by `medidocs serve`
//! on one machine and by a Lambda function behind API Gateway in AWS.
//!
//! Every request that touches a patient's records is authorised by
//! [`medidocs_core::access::decide`]; every read of text or renditions, every search and
//! every refusal is written to the audit trail before the response leaves, and a read whose
//! audit record cannot be written is refused.

pub mod auth;
pub mod delivery;
mod handlers;
pub mod openapi;
pub mod problem;
pub mod server;
pub mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use medidocs_core::ports::{AccessStore, MetadataStore, ObjectStore};

pub use auth::{Authenticator, Claims, DevTokens, GatewayClaims};
pub use delivery::{Delivery, LocalDelivery, UploadCapability, UploadGrant};
pub use problem::Problem;

/// The types a patient may upload: exactly what the pipeline reads (`media::sniff`). An
/// upload declared as anything else is refused with 415 before any byte is sent.
pub const UPLOAD_TYPES: [&str; 7] = [
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/tiff",
    "image/webp",
    "image/heic",
    "image/heif",
];

/// Everything the router needs; adapters are chosen by the entrypoint.
pub struct App {
    pub meta: Arc<dyn MetadataStore>,
    pub access: Arc<dyn AccessStore>,
    /// Where the artefacts (text, OCR model, renditions) are read from.
    pub artefacts: Arc<dyn ObjectStore>,
    pub auth: Arc<dyn Authenticator>,
    pub delivery: Arc<dyn Delivery>,
    /// The search index (rebuilt from the records, never the only copy).
    pub search: Arc<dyn medidocs_core::ports::SearchIndex>,
    /// Starts the runs staff ask for (a retry of a FAILED document).
    pub orchestrator: Arc<dyn medidocs_core::ports::Orchestrator>,
    /// Largest accepted upload, in bytes.
    pub max_upload_bytes: u64,
}

/// Headers on every response: nothing medical is cached, sniffed or sent on as a referrer.
async fn security_headers(mut resp: Response) -> Response {
    set_security_headers(resp.headers_mut());
    resp
}

pub(crate) fn set_security_headers(h: &mut axum::http::HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// The stable code of an error status the router or the HTTP layer answers by itself.
pub fn code_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "missing_token",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        411 => "length_required",
        413 => "too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        429 => "rate_limited",
        431 => "headers_too_large",
        503 => "unavailable",
        s if s >= 500 => "internal_error",
        _ => "error",
    }
}

/// Every error the service sends is problem+json: one the handlers did not make (the
/// router's 405, an extractor's refusal, a layer's 408 or 413) gets a body with its
/// status's stable code; its other headers (`Allow`, `Retry-After`) are kept. (A FHIR
/// search's refusal is an OperationOutcome, as FHIR clients read it.)
async fn problem_everywhere(resp: Response) -> Response {
    let status = resp.status();
    let is_problem = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"application/problem+json")
            || v.as_bytes() == medidocs_core::fhir::FHIR_JSON.as_bytes()
    });
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return resp;
    }
    let detail = match status.as_u16() {
        405 => "this endpoint does not take this method; see the Allow header".to_string(),
        _ => status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase(),
    };
    let (parts, _) = resp.into_parts();
    let mut fresh = Problem::new(status, code_for_status(status), detail).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fresh.headers_mut().insert(name.clone(), value.clone());
        }
    }
    fresh
}

pub fn router(app: Arc<App>) -> Router {
    let upload_limit = (app.max_upload_bytes as usize).saturating_add(1);
    Router::new()
        .route("/", get(handlers::pages::web_page))
        .route("/app.js", get(handlers::pages::web_script))
        .route(
            "/favicon.ico",
            get(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .route("/v1/health", get(handlers::service::health))
        .route("/v1/openapi.json", get(handlers::service::openapi))
        .route("/v1/me", get(handlers::service::me))
        .route(
            "/v1/patients/{patient_id}/uploads",
            post(handlers::uploads::create_upload),
        )
        .route(
            "/v1/uploads/{capability}",
            put(handlers::uploads::receive_upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route(
            "/v1/patients/{patient_id}/documents",
            get(handlers::documents::list_documents),
        )
        .route(
            "/v1/patients/{patient_id}/search",
            get(handlers::search::search),
        )
        .route("/v1/search", get(handlers::search::search_all))
        .route("/v1/documents/{id}", get(handlers::documents::get_document))
        .route(
            "/v1/documents/{id}/text",
            get(handlers::documents::get_text),
        )
        .route("/v1/documents/{id}/pdf", get(handlers::documents::get_pdf))
        .route(
            "/v1/documents/{id}/fhir",
            get(handlers::fhir::get_reference),
        )
        .route(
            "/v1/patients/{patient_id}/fhir/DocumentReference",
            get(handlers::fhir::search_references),
        )
        .route(
            "/v1/documents/{id}/type",
            put(handlers::documents::file_document),
        )
        .route(
            "/v1/documents/{id}/retry",
            post(handlers::documents::retry_document),
        )
        .route(
            "/v1/documents/{id}/pages",
            get(handlers::documents::get_pages),
        )
        .route(
            "/v1/documents/{id}/pages/{page}/{rendition}",
            get(handlers::documents::get_rendition),
        )
        .fallback(handlers::service::no_route)
        .layer(axum::middleware::map_response(problem_everywhere))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(app)
}
