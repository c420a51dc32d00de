//! A patient's documents: the listing, a document's metadata, its retry, and what it
//! holds once READY (text, OCR pages, renditions).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use medidocs_core::access::Action;
use medidocs_core::model::{Labels, Status};
use medidocs_core::ports::StoreError;
use medidocs_core::understand::DocumentType;
use medidocs_core::{keys, listing};

use super::{AppState, Verified, not_ready, ocr_of, open_document, open_patient};
use crate::problem::Problem;
use crate::views::*;

pub(super) fn query_limit(
    q: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> Result<usize, Problem> {
    match q.get("limit") {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                Problem::bad_request(
                    "invalid_limit",
                    format!("limit is a number from 1 to {max}"),
                )
            }),
    }
}

#[utoipa::path(get, path = "/v1/patients/{patient_id}/documents", tag = "documents",
    security(("bearer" = [])),
    params(("patient_id" = String, Path),
        ("sort" = Option<String>, Query, description = "`date` (default): the timeline, by the day each document is about (its document date, else the day it came in), newest first; `uploaded`: newest upload first"),
        ("type" = Option<String>, Query, description = "Only documents of this type: lab_report, imaging_report, prescription, referral_letter, discharge_summary, clinic_letter, consultation_note, operative_note, vaccination_record, insurance_card, consent_form or other"),
        ("from" = Option<String>, Query, description = "YYYY-MM-DD: only documents dated this day or later (sort=date)"),
        ("to" = Option<String>, Query, description = "YYYY-MM-DD: only documents dated this day or earlier (sort=date)"),
        ("status" = Option<String>, Query, description = "RECEIVED, PROCESSING, READY, REJECTED or FAILED"),
        ("limit" = Option<usize>, Query, description = "1 to 100; default 20"),
        ("cursor" = Option<String>, Query, description = "`next` of the previous page, with the same sort")),
    responses((status = 200, description = "A page of the patient's documents; when filters skip many, a page may hold fewer than `limit` with `next` to read on", body = DocumentList),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub(crate) async fn list_documents(
    State(app): AppState,
    Path(pid): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    claims: Verified,
) -> Result<Json<DocumentList>, Problem> {
    open_patient(&app, &headers, &claims, &pid, Action::ListDocuments).await?;
    let limit = query_limit(&q, 20, 100)?;
    let listing = listing_of(&q)?;
    let cursor = q.get("cursor").cloned();
    if cursor.as_deref().is_some_and(|c| !listing.is_cursor(c)) {
        return Err(Problem::bad_request(
            "invalid_cursor",
            "cursor is the `next` of a previous page with the same sort",
        ));
    }
    let page = listing::patient_documents(app.meta.as_ref(), &pid, &listing, limit, cursor).await?;
    Ok(Json(DocumentList {
        documents: page.documents.iter().map(DocumentView::from).collect(),
        next: page.next,
    }))
}

/// The `type` parameter: one of the document types.
pub(super) fn type_param(q: &HashMap<String, String>) -> Result<Option<DocumentType>, Problem> {
    match q.get("type") {
        None => Ok(None),
        Some(t) => Ok(Some(
            DocumentType::parse(&t.to_ascii_lowercase()).ok_or_else(|| {
                let codes: Vec<&str> = DocumentType::ALL.iter().map(|t| t.code()).collect();
                Problem::bad_request(
                    "invalid_type",
                    format!("type is one of {}", codes.join(", ")),
                )
            })?,
        )),
    }
}

/// The `from` and `to` parameters: days, `from` not after `to`.
pub(super) fn days_param(
    q: &HashMap<String, String>,
) -> Result<(Option<String>, Option<String>), Problem> {
    let day = |name: &str| -> Result<Option<String>, Problem> {
        match q.get(name) {
            None => Ok(None),
            Some(d) if keys::is_day(d) => Ok(Some(d.clone())),
            Some(_) => Err(Problem::bad_request(
                "invalid_date",
                format!("{name} is a day, written YYYY-MM-DD (2025-01-31)"),
            )),
        }
    };
    let (from, to) = (day("from")?, day("to")?);
    if let (Some(f), Some(t)) = (&from, &to)
        && f > t
    {
        return Err(Problem::bad_request(
            "invalid_date",
            format!("from ({f}) is after to ({t})"),
        ));
    }
    Ok((from, to))
}

/// What a listing's query asks for; a problem names the parameter that is wrong.
fn listing_of(q: &HashMap<String, String>) -> Result<listing::Listing, Problem> {
    let status = match q.get("status") {
        None => None,
        Some(s) => Some(Status::parse(&s.to_ascii_uppercase()).ok_or_else(|| {
            Problem::bad_request(
                "invalid_status",
                "status is RECEIVED, PROCESSING, READY, REJECTED or FAILED",
            )
        })?),
    };
    let doc_type = type_param(q)?;
    let (from, to) = days_param(q)?;
    let order = match q.get("sort").map(String::as_str) {
        None | Some("date") => listing::Order::Dated { from, to },
        Some("uploaded") if from.is_none() && to.is_none() => listing::Order::Uploaded,
        Some("uploaded") => {
            return Err(Problem::bad_request(
                "invalid_sort",
                "from and to choose days of the timeline: use them with sort=date",
            ));
        }
        Some(_) => {
            return Err(Problem::bad_request(
                "invalid_sort",
                "sort is date or uploaded",
            ));
        }
    };
    Ok(listing::Listing {
        order,
        status,
        doc_type,
    })
}

#[utoipa::path(get, path = "/v1/documents/{id}", tag = "documents", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = DocumentView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(crate) async fn get_document(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    claims: Verified,
) -> Result<Json<DocumentView>, Problem> {
    let doc = open_document(&app, &headers, &claims, &id, Action::ReadMetadata).await?;
    Ok(Json(DocumentView::from(&doc)))
}

#[utoipa::path(put, path = "/v1/documents/{id}/type", tag = "documents", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = Filing,
    responses((status = 200, description = "Filed: `type.source` is `given`; the type read from the text stays in the record", body = DocumentView),
        (status = 400, description = "Not a type, or not JSON", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "Not READY: a document is filed once it has been read", body = Problem)))]
/// Files a READY document as a type, as clinic staff, a doctor of the patient's care team
/// or the patient may: the type given wins over the type read from its text (which is
/// kept), in the document's view, its filters and the timeline. Audited.
pub(crate) async fn file_document(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    claims: Verified,
    body: axum::body::Body,
) -> Result<Json<DocumentView>, Problem> {
    let mut doc = open_document(&app, &headers, &claims, &id, Action::FileDocument).await?;
    let filing: Filing = super::uploads::json_body(&headers, body, 4096).await?;
    let given = match filing.document_type.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(label) => Some(
            DocumentType::from_label(label)
                .filter(|_| label.chars().count() <= Labels::MAX_TYPE_CHARS)
                .ok_or_else(|| {
                    let codes: Vec<&str> = DocumentType::ALL.iter().map(|t| t.code()).collect();
                    Problem::bad_request(
                        "invalid_type",
                        format!("document_type names one of {}", codes.join(", ")),
                    )
                })?,
        ),
    };
    // A conditional write: a writer in between (another filing) makes this one read again.
    for _ in 0..3 {
        if doc.status != Status::Ready {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "not_ready",
                format!(
                    "the document is {}: a document is filed once it is READY",
                    doc.status.as_str()
                ),
            ));
        }
        doc.document_type = given.map(|t| t.code().to_string());
        doc.version += 1;
        doc.updated_at = medidocs_core::clock::now_rfc3339();
        match app.meta.update_document(&doc).await {
            Ok(()) => return Ok(Json(DocumentView::from(&doc))),
            Err(StoreError::Precondition { .. }) => doc = super::document(&app, &id).await?,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Problem::new(
        StatusCode::CONFLICT,
        "busy",
        "the document changed while it was filed; try again",
    ))
}

#[utoipa::path(post, path = "/v1/documents/{id}/retry", tag = "documents", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 202, description = "The document runs again as its next attempt; follow it at `href`", body = Retrying),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "Not FAILED: READY and REJECTED are final, and a document in flight is on its way", body = Problem)))]
/// Runs a FAILED document again (after an outage, a time-out, or a fixed dependency), as
/// clinic staff, a doctor of the patient's care team or the patient may. The run is the
/// document's next attempt, under an execution name of its own, so it never collides with
/// the failed run and a double click starts it once.
pub(crate) async fn retry_document(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    claims: Verified,
) -> Result<(StatusCode, Json<Retrying>), Problem> {
    let doc = open_document(&app, &headers, &claims, &id, Action::RetryDocument).await?;
    if doc.status != Status::Failed {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "not_failed",
            format!(
                "the document is {}: only a FAILED document is retried",
                doc.status.as_str()
            ),
        ));
    }
    let attempt = doc.attempt + 1;
    let source = medidocs_core::inputs::SourceInput::new(
        doc.source.bucket.clone(),
        doc.source.key.clone(),
        doc.source.version.clone(),
    );
    app.orchestrator
        .start(&source, &keys::retry_execution_name(&doc.id, attempt))
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Retrying {
            href: format!("/v1/documents/{}", doc.id),
            document_id: doc.id,
            attempt,
        }),
    ))
}

#[utoipa::path(get, path = "/v1/documents/{id}/text", tag = "documents", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "Plain text; pages are separated by a form feed (U+000C)", content_type = "text/plain"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "Not READY", body = Problem)))]
pub(crate) async fn get_text(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    claims: Verified,
) -> Result<Response, Problem> {
    let doc = open_document(&app, &headers, &claims, &id, Action::ReadText).await?;
    let key = match (&doc.status, &doc.text_key) {
        (Status::Ready, Some(k)) => k,
        _ => return Err(not_ready(&doc)),
    };
    let bytes = app.artefacts.get(key).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], bytes).into_response())
}

#[utoipa::path(get, path = "/v1/documents/{id}/pdf", tag = "documents", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "The searchable PDF: each page's image under an invisible text layer; its information holds the document's type and date only. `Content-Disposition: attachment; filename=\"{type}-{date}.pdf\"`", content_type = "application/pdf"),
        (status = 302, description = "Redirect to a short-lived presigned URL (AWS)"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "Not READY, or READY before searchable PDFs were made (`no_pdf`)", body = Problem)))]
/// Downloads a READY document's searchable PDF. Audited as a read of its content.
pub(crate) async fn get_pdf(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    claims: Verified,
) -> Result<Response, Problem> {
    let doc = open_document(&app, &headers, &claims, &id, Action::ReadPdf).await?;
    if doc.status != Status::Ready {
        return Err(not_ready(&doc));
    }
    let Some(pdf) = &doc.pdf else {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "no_pdf",
            "the document was processed before searchable PDFs were made; its text and \
             renditions are there, and `medidocs migrate` gives it a PDF",
        ));
    };
    let name = medidocs_core::fhir::pdf_file_name(&doc);
    let disposition = format!("attachment; filename=\"{name}\"");
    if let Some(url) = app
        .delivery
        .download_file_url(&pdf.key, "application/pdf", &name)
        .await?
    {
        let mut resp = StatusCode::FOUND.into_response();
        let loc = HeaderValue::from_str(&url)
            .map_err(|e| Problem::from(StoreError::unavailable("redirect URL", e)))?;
        resp.headers_mut().insert(header::LOCATION, loc);
        return Ok(resp);
    }
    let bytes = app.artefacts.get(&pdf.key).await?;
    let disposition = HeaderValue::from_str(&disposition)
        .map_err(|e| Problem::from(StoreError::unavailable("file name", e)))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/documents/{id}/pages", tag = "documents", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "Per page: lines and words with confidence and boxes", body = PagesView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub(crate) async fn get_pages(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    claims: Verified,
) -> Result<Json<PagesView>, Problem> {
    let doc = open_document(&app, &headers, &claims, &id, Action::ReadText).await?;
    let ocr = ocr_of(&app, &doc).await?;
    Ok(Json(PagesView::new(&doc.id, &ocr)))
}

#[utoipa::path(get, path = "/v1/documents/{id}/pages/{page}/{rendition}", tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path), ("page" = u32, Path, description = "1-based"),
        ("rendition" = String, Path, description = "thumb or preview (the OCR image is an intermediate, not kept: `medidocs renditions` makes it again from the original)"),
        ("as" = Option<String>, Query, description = "`link`: answer with JSON `{href}` (a presigned URL in AWS, null in the embedded runtime) instead of the image or a redirect")),
    responses((status = 200, description = "The image (embedded runtime), or with `as=link` a RenditionLink", body = RenditionLink),
        (status = 302, description = "Redirect to a short-lived presigned URL (AWS)"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub(crate) async fn get_rendition(
    State(app): AppState,
    Path((id, page, name)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    claims: Verified,
) -> Result<Response, Problem> {
    let doc = open_document(&app, &headers, &claims, &id, Action::ReadRendition).await?;
    let page: u32 = page
        .parse()
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| Problem::bad_request("invalid_page", "page is a number from 1"))?;
    if doc.status != Status::Ready {
        return Err(not_ready(&doc));
    }
    let r = doc
        .renditions
        .iter()
        .find(|r| r.page == page && r.name == name)
        .ok_or_else(|| Problem::not_found("no such page or rendition (thumb, preview)"))?;
    let link = match q.get("as").map(String::as_str) {
        None => false,
        Some("link") => true,
        Some(_) => {
            return Err(Problem::bad_request(
                "invalid_request",
                "as is `link` or absent",
            ));
        }
    };
    let url = app.delivery.download_url(&r.key).await?;
    if link {
        return Ok(Json(RenditionLink { href: url }).into_response());
    }
    if let Some(url) = url {
        let mut resp = StatusCode::FOUND.into_response();
        let loc = HeaderValue::from_str(&url)
            .map_err(|e| Problem::from(StoreError::unavailable("redirect URL", e)))?;
        resp.headers_mut().insert(header::LOCATION, loc);
        return Ok(resp);
    }
    let bytes = app.artefacts.get(&r.key).await?;
    Ok(([(header::CONTENT_TYPE, r.mime.clone())], bytes).into_response())
}
