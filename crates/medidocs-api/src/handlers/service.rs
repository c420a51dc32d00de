//! The service's own routes: health, the OpenAPI document, who the caller is, and the
//! answer for a route that does not exist.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use medidocs_core::access::{Action, Role};
use medidocs_core::ports::StoreError;

use super::{AppState, Verified, caller};
use crate::problem::Problem;
use crate::views::*;

#[utoipa::path(get, path = "/v1/health", tag = "service",
    responses((status = 200, description = "The service and its metadata store answer", body = Health),
        (status = 503, description = "The metadata store does not answer: fail over", body = Problem)))]
/// What a load balancer or Route 53 health check asks: answering needs the metadata
/// store (one read of an id no document has), so a region whose table is down is
/// reported unhealthy, not only one whose function is.
pub(crate) async fn health(State(app): AppState) -> Result<Json<Health>, Problem> {
    match app.meta.get_document("000000000000000000000000").await {
        Ok(_) | Err(StoreError::NotFound { .. }) => Ok(Json(Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        })),
        Err(e) => {
            tracing::warn!(error = %e, "health check: the metadata store does not answer");
            Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "dependency_unavailable",
                "the metadata store does not answer",
            ))
        }
    }
}

#[utoipa::path(get, path = "/v1/openapi.json", tag = "service",
    responses((status = 200, description = "This document")))]
pub(crate) async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::json(),
    )
        .into_response()
}

pub(crate) async fn no_route() -> Problem {
    Problem::not_found("no such endpoint; see /v1/openapi.json")
}

#[utoipa::path(get, path = "/v1/me", tag = "identity", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
pub(crate) async fn me(
    State(app): AppState,
    headers: HeaderMap,
    claims: Verified,
) -> Result<Json<Me>, Problem> {
    let who = caller(&app, &headers, &claims, Action::ReadIdentity, None, None).await?;
    let patients = match who.role {
        Role::Patient => vec![who.sub.clone()],
        _ => app.access.member_patients(&who.sub).await?,
    };
    Ok(Json(Me {
        sub: who.sub,
        role: who.role.as_str().into(),
        patients,
    }))
}
