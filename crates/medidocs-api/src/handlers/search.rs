//! Searching a patient's documents, in their OCR models.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use medidocs_core::access::Action;
use medidocs_core::model::Status;
use medidocs_core::search;

use super::{AppState, Verified, authorize, caller, ocr_of, patient_id};
use crate::problem::Problem;
use crate::views::*;

#[utoipa::path(get, path = "/v1/patients/{patient_id}/search", tag = "documents",
    security(("bearer" = [])),
    params(("patient_id" = String, Path),
        ("q" = String, Query, description = "Words; a document matches when it holds every word (or a word starting with it)")),
    responses((status = 200, body = SearchResults), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub(crate) async fn search(
    State(app): AppState,
    Path(pid): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    claims: Verified,
) -> Result<Json<SearchResults>, Problem> {
    // Authorised before the query is read: an attempt on another patient's records is
    // refused (and on record) whatever it asked.
    let who = caller(&app, &headers, &claims, Action::Search, Some(&pid), None).await?;
    patient_id(&pid)?;
    authorize(&app, &who, Action::Search, &pid, None).await?;
    let query = q.get("q").map(|s| s.trim()).unwrap_or_default().to_string();
    let parsed = search::Query::parse(&query)
        .map_err(|e| Problem::bad_request("invalid_query", format!("q: {e}")))?;
    let mut results = Vec::new();
    let mut searched = 0;
    let mut cursor: Option<String> = None;
    // A patient's records: read them all, up to a bound that keeps a search interactive.
    for _ in 0..20 {
        let page = app
            .meta
            .list_patient_documents(&pid, 100, cursor.as_deref())
            .await?;
        for doc in page.documents.iter().filter(|d| d.status == Status::Ready) {
            let Ok(ocr) = ocr_of(&app, doc).await else {
                continue;
            };
            searched += 1;
            let Some(hits) = parsed.find(&ocr) else {
                continue;
            };
            results.push(SearchResult {
                document_id: doc.id.clone(),
                created_at: doc.created_at.clone(),
                href: format!("/v1/documents/{}", doc.id),
                hits: hits
                    .into_iter()
                    .map(|h| SearchHit {
                        page: h.page,
                        text: h.text,
                        bbox: h.bbox.into(),
                    })
                    .collect(),
            });
        }
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    Ok(Json(SearchResults {
        query,
        results,
        searched,
    }))
}
