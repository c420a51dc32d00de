//! FHIR R4: a READY document as a DocumentReference, and a patient's as a searchset
//! Bundle (`core::fhir` makes the resources and reads the search parameters). Same
//! authentication, authorisation and audit as the text; a search that cannot be run is
//! answered with an OperationOutcome, other errors with problem+json like every route.

use std::sync::Arc;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use medidocs_core::access::Action;
use medidocs_core::fhir::{self, FHIR_JSON};
use medidocs_core::listing;
use medidocs_core::model::Status;

use super::{AppState, Verified, not_ready, open_document, open_patient};
use crate::App;
use crate::problem::Problem;

/// Documents read for one search at most (a patient has tens or hundreds).
const MAX_SEARCHED: usize = 5_000;

/// `value` as FHIR JSON.
fn fhir_json(status: StatusCode, value: &serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))],
        value.to_string(),
    )
        .into_response()
}

/// The API's absolute URL as the client reached it (`Host`, and `X-Forwarded-Proto`
/// behind API Gateway or a proxy), or empty (URLs relative to the server) when the host
/// is missing or not a host name.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    let proto = match headers
        .get("x-forwarded-proto")
        .and_then(|p| p.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    host.map(|h| format!("{proto}://{h}")).unwrap_or_default()
}

#[utoipa::path(get, path = "/v1/documents/{id}/fhir", tag = "fhir", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "A FHIR R4 DocumentReference (application/fhir+json): LOINC type, US Core clinical-note category, subject, date (when it came in), context.period (its document date), and the searchable PDF as content (size, base64 SHA-1, URL)", content_type = "application/fhir+json"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "Not READY", body = Problem)))]
pub(crate) async fn get_reference(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    claims: Verified,
) -> Result<Response, Problem> {
    let doc = open_document(&app, &headers, &claims, &id, Action::ReadFhir).await?;
    if doc.status != Status::Ready {
        return Err(not_ready(&doc));
    }
    Ok(fhir_json(
        StatusCode::OK,
        &fhir::document_reference(&doc, &base_url(&headers)),
    ))
}

#[utoipa::path(get, path = "/v1/patients/{patient_id}/fhir/DocumentReference", tag = "fhir",
    security(("bearer" = [])),
    params(("patient_id" = String, Path),
        ("type" = Option<String>, Query, description = "Token: `http://loinc.org|11502-2`, `11502-2`; commas for any of several; repeatable"),
        ("date" = Option<String>, Query, description = "DocumentReference.date (when the document came in): a prefix eq, ne, gt, lt, ge or le and YYYY, YYYY-MM or YYYY-MM-DD; repeatable, all must hold"),
        ("period" = Option<String>, Query, description = "context.period (the document's own date), as `date`"),
        ("_count" = Option<u32>, Query, description = "Entries per page: 50 unless given, at most 200; 0 for the total alone"),
        ("_offset" = Option<u32>, Query, description = "Matches before this page; the Bundle's `next`, `previous`, `first` and `last` links carry it")),
    responses((status = 200, description = "A FHIR R4 searchset Bundle of the patient's READY documents that match, newest upload first (application/fhir+json)", content_type = "application/fhir+json"),
        (status = 400, description = "An OperationOutcome naming the parameter that cannot be searched", content_type = "application/fhir+json"),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub(crate) async fn search_references(
    State(app): AppState,
    Path(pid): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    claims: Verified,
) -> Result<Response, Problem> {
    open_patient(&app, &headers, &claims, &pid, Action::ReadFhir).await?;
    let search = match fhir::Search::parse(&pairs) {
        Ok(s) => s,
        Err(e) => {
            return Ok(fhir_json(
                StatusCode::BAD_REQUEST,
                &fhir::operation_outcome("not-supported", &e),
            ));
        }
    };
    let docs = matching(&app, &pid, &search).await?;
    let base = base_url(&headers);
    // The search as asked, without its page: each link adds its own `_count` and
    // `_offset` (the other parameters kept as they were written).
    let kept: Vec<&str> = raw
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let name = p.split('=').next().unwrap_or("");
            !fhir::PAGING_PARAMETERS.contains(&name)
        })
        .collect();
    let mut search_url = format!("{base}/v1/patients/{pid}/fhir/DocumentReference");
    if !kept.is_empty() {
        search_url = format!("{search_url}?{}", kept.join("&"));
    }
    Ok(fhir_json(
        StatusCode::OK,
        &fhir::search_bundle(&docs, &base, &search_url, &search),
    ))
}

/// The patient's READY documents the search keeps, newest upload first.
async fn matching(
    app: &Arc<App>,
    pid: &str,
    search: &fhir::Search,
) -> Result<Vec<medidocs_core::model::DocumentRecord>, Problem> {
    let listing = listing::Listing {
        order: listing::Order::Uploaded,
        status: Some(Status::Ready),
        doc_type: None,
    };
    let (mut found, mut cursor, mut read) = (Vec::new(), None, 0);
    loop {
        let page =
            listing::patient_documents(app.meta.as_ref(), pid, &listing, 100, cursor).await?;
        read += page.documents.len();
        found.extend(page.documents.into_iter().filter(|d| search.keeps(d)));
        cursor = page.next;
        if cursor.is_none() || read >= MAX_SEARCHED {
            break;
        }
    }
    Ok(found)
}
