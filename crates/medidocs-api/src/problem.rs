//! Errors as RFC 9457 problem details (`application/problem+json`), each with a stable
//! `code` a client can branch on.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use medidocs_core::ports::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// A problem detail. `type` is `urn:medidocs:problem:{code}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The stable, machine-readable reason.
    pub code: String,
    /// Seconds to wait before retrying (throttling, unavailable stores).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:medidocs:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_string(),
            retry_after: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn unauthenticated(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
    }
    pub fn forbidden(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }
    pub fn bad_request(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }
}

impl From<StoreError> for Problem {
    /// Store failures never echo their details (keys, ids) beyond the request's own.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => Problem::not_found("no such resource"),
            StoreError::Throttled { .. } => Problem {
                retry_after: Some(2),
                ..Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "throttled",
                    "the store is busy; retry shortly",
                )
            },
            StoreError::InvalidInput { what } => Problem::bad_request("invalid_request", what),
            other => {
                tracing::error!(error = %other, "store error");
                Problem {
                    retry_after: Some(5),
                    ..Problem::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "a store is unavailable; retry shortly",
                    )
                }
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut resp = (status, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}
