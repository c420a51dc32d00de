//! Request handlers. Each one: authenticate, validate what the client sent, fetch what it
//! names, authorise against the patient it belongs to (auditing), then answer.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use medidocs_core::access::{self, Action, AuditRecord, Outcome, Principal, Role};
use medidocs_core::clock::now_rfc3339;
use medidocs_core::model::{DocumentRecord, Status};
use medidocs_core::ocr::OcrDocument;
use medidocs_core::ports::StoreError;
use medidocs_core::{keys, listing, search};

use crate::auth::Claims;
use crate::delivery::UploadGrant;
use crate::problem::Problem;
use crate::views::*;
use crate::{App, UPLOAD_TYPES};

type AppState = State<Arc<App>>;
type Verified = Option<Extension<Claims>>;

// ---------------------------------------------------------------- identity, access, audit

/// Writes one audit record. A failure to write it fails the request: no read goes
/// unrecorded.
async fn audit(
    app: &App,
    who: Option<&Principal>,
    action: &str,
    patient_id: Option<&str>,
    document_id: Option<&str>,
    outcome: Outcome,
    reason: Option<&str>,
) -> Result<(), Problem> {
    let at = now_rfc3339();
    let record = AuditRecord {
        id: format!("{at}#{}", uuid::Uuid::new_v4().simple()),
        at,
        actor: who.map(|p| p.sub.clone()),
        role: who.map(|p| p.role),
        action: action.into(),
        // Only well-formed ids reach the trail: what a client typed may be anything.
        patient_id: patient_id
            .filter(|p| keys::validate_patient_id(p).is_ok())
            .map(str::to_string),
        document_id: document_id
            .filter(|d| keys::is_system_id(d))
            .map(str::to_string),
        outcome,
        reason: reason.map(str::to_string),
    };
    app.access.append_audit(&record).await.map_err(|e| {
        tracing::error!(error = %e, "audit record not written");
        Problem {
            retry_after: Some(5),
            ..Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                "the audit trail cannot be written, so the request is refused; retry shortly",
            )
        }
    })
}

/// The caller, or the refusal (audited) of a request without a valid token.
async fn caller(
    app: &App,
    headers: &HeaderMap,
    claims: &Verified,
    action: Action,
    patient_id: Option<&str>,
    document_id: Option<&str>,
) -> Result<Principal, Problem> {
    match app
        .auth
        .authenticate(headers, claims.as_ref().map(|Extension(c)| c))
    {
        Ok(p) => Ok(p),
        Err(problem) => {
            audit(
                app,
                None,
                action.as_str(),
                patient_id,
                document_id,
                Outcome::Denied,
                Some(&problem.code),
            )
            .await?;
            Err(problem)
        }
    }
}

/// Applies the rule of [`decide`]; audits refusals, content reads and uploads.
async fn authorize(
    app: &App,
    who: &Principal,
    action: Action,
    patient_id: &str,
    document_id: Option<&str>,
) -> Result<(), Problem> {
    match access::authorize(app.access.as_ref(), who, action, patient_id).await? {
        Ok(()) => {
            // (An upload's creation is audited by its handler, with how it ended.)
            if action.reads_content() || action == Action::RetryDocument {
                audit(
                    app,
                    Some(who),
                    action.as_str(),
                    Some(patient_id),
                    document_id,
                    Outcome::Allowed,
                    None,
                )
                .await?;
            }
            Ok(())
        }
        Err(denial) => {
            audit(
                app,
                Some(who),
                action.as_str(),
                Some(patient_id),
                document_id,
                Outcome::Denied,
                Some(denial.as_str()),
            )
            .await?;
            Err(Problem::forbidden(
                denial.as_str(),
                match denial {
                    medidocs_core::access::Denial::NotOwnRecords => {
                        "patients can open only their own records"
                    }
                    medidocs_core::access::Denial::NotOnCareTeam => {
                        "only the patient's care team can open this"
                    }
                },
            ))
        }
    }
}

fn patient_id(p: &str) -> Result<(), Problem> {
    keys::validate_patient_id(p).map_err(|e| Problem::bad_request("invalid_patient_id", e))
}

async fn document(app: &App, id: &str) -> Result<DocumentRecord, Problem> {
    if !keys::is_system_id(id) {
        return Err(Problem::bad_request(
            "invalid_id",
            "a document id is 1 to 64 lowercase hexadecimal characters",
        ));
    }
    app.meta.get_document(id).await.map_err(|e| match e {
        StoreError::NotFound { .. } => no_such_document(),
        e => e.into(),
    })
}

/// The answer for an id nobody holds, and for an id the caller may not open: the two are
/// the same, so an answer never tells that someone else holds a document.
fn no_such_document() -> Problem {
    Problem::not_found("no document with this id")
}

/// Authenticates, fetches the document and authorises `action` on it. A document the
/// caller may not open answers as an unknown id does (the refusal is in the audit trail
/// with its reason).
async fn open_document(
    app: &App,
    headers: &HeaderMap,
    claims: &Verified,
    id: &str,
    action: Action,
) -> Result<DocumentRecord, Problem> {
    let who = caller(app, headers, claims, action, None, Some(id)).await?;
    let doc = match document(app, id).await {
        Ok(doc) => doc,
        // A probe: an id nobody holds (or no id at all) is on record as such. A refused
        // id and an unknown one are both audited, so they fail alike when the trail
        // cannot be written.
        Err(p) if p.status == 404 || p.code == "invalid_id" => {
            let reason = if p.status == 404 {
                "unknown_document"
            } else {
                "invalid_id"
            };
            audit(
                app,
                Some(&who),
                action.as_str(),
                None,
                Some(id),
                Outcome::Denied,
                Some(reason),
            )
            .await?;
            return Err(p);
        }
        Err(p) => return Err(p),
    };
    match authorize(app, &who, action, &doc.patient_id, Some(&doc.id)).await {
        Ok(()) => Ok(doc),
        Err(p) if p.status == StatusCode::FORBIDDEN.as_u16() => Err(no_such_document()),
        Err(p) => Err(p),
    }
}

/// Authenticates, validates the patient id and authorises `action` on that patient.
async fn open_patient(
    app: &App,
    headers: &HeaderMap,
    claims: &Verified,
    pid: &str,
    action: Action,
) -> Result<Principal, Problem> {
    let who = caller(app, headers, claims, action, Some(pid), None).await?;
    patient_id(pid)?;
    authorize(app, &who, action, pid, None).await?;
    Ok(who)
}

fn not_ready(doc: &DocumentRecord) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "not_ready",
        format!(
            "the document is {}; text and renditions exist once it is READY",
            doc.status.as_str()
        ),
    )
}

// ---------------------------------------------------------------- service

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

/// The doctors' page: static, no build step; it talks to this API with the user's token.
pub(crate) async fn web_page() -> Response {
    let mut resp = Html(include_str!("web/index.html")).into_response();
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
        include_str!("web/app.js"),
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

// ---------------------------------------------------------------- uploads

#[utoipa::path(post, path = "/v1/patients/{patient_id}/uploads", tag = "uploads",
    security(("bearer" = [])),
    params(("patient_id" = String, Path, description = "The patient the document is for")),
    request_body = UploadRequest,
    responses(
        (status = 201, description = "Send the file to `url` with `method` and `headers`", body = UploadTarget),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, description = "Over the size limit", body = Problem),
        (status = 415, description = "Not a type the pipeline reads", body = Problem),
        (status = 422, description = "Empty file", body = Problem)))]
/// Creates an upload for exactly one file: its type, size and SHA-256. The URL accepts
/// those bytes once (a second PUT, or other bytes, is refused).
pub(crate) async fn create_upload(
    State(app): AppState,
    Path(pid): Path<String>,
    headers: HeaderMap,
    claims: Verified,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<UploadTarget>), Problem> {
    // Who asks, and for whom, before a byte of the body is read.
    let who = open_patient(&app, &headers, &claims, &pid, Action::CreateUpload).await?;
    // The trail says how it ended: the upload URL made, or why not.
    let made = upload_target(&app, &headers, body, &pid).await;
    audit(
        &app,
        Some(&who),
        Action::CreateUpload.as_str(),
        Some(&pid),
        None,
        if made.is_ok() {
            Outcome::Allowed
        } else {
            Outcome::Denied
        },
        made.as_ref().err().map(|p| p.code.as_str()),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(made?)))
}

/// The upload URL for a request already authorised.
async fn upload_target(
    app: &App,
    headers: &HeaderMap,
    body: axum::body::Body,
    pid: &str,
) -> Result<UploadTarget, Problem> {
    let req: UploadRequest = json_body(headers, body, UPLOAD_REQUEST_LIMIT).await?;
    let content_type = req
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !UPLOAD_TYPES.contains(&content_type.as_str()) {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_type",
            format!(
                "{} is not accepted; send one of: {}",
                if content_type.is_empty() {
                    "an empty type"
                } else {
                    "this type"
                },
                UPLOAD_TYPES.join(", ")
            ),
        ));
    }
    if req.size == 0 {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty",
            "the file is empty",
        ));
    }
    if req.size > app.max_upload_bytes {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "{} bytes is over the limit of {} bytes",
                req.size, app.max_upload_bytes
            ),
        ));
    }
    let sha256 = req.sha256.trim().to_ascii_lowercase();
    if !keys::is_sha256_hex(&sha256) {
        return Err(Problem::bad_request(
            "invalid_sha256",
            "sha256 must be the file's SHA-256 as 64 hexadecimal characters: the upload \
             accepts exactly these bytes, once",
        ));
    }
    let grant = UploadGrant {
        patient_id: pid.to_string(),
        upload_id: uuid::Uuid::new_v4().simple().to_string(),
        content_type,
        size: req.size,
        sha256,
    };
    app.delivery.upload_target(&grant).await
}

#[utoipa::path(put, path = "/v1/uploads/{capability}", tag = "uploads",
    params(("capability" = String, Path, description = "From the `url` of a created upload (embedded runtime only)")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Received), (status = 403, body = Problem),
        (status = 409, description = "Already received: an upload URL takes one file, once", body = Problem),
        (status = 410, body = Problem), (status = 413, body = Problem),
        (status = 415, description = "Not the type the upload was created for", body = Problem),
        (status = 422, description = "Not the size or SHA-256 the upload was created for; nothing stored", body = Problem)))]
pub(crate) async fn receive_upload(
    State(app): AppState,
    Path(capability): Path<String>,
    headers: HeaderMap,
    idle: Option<Extension<crate::server::BodyIdleTimeout>>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<Received>), Problem> {
    // The URL is the authority: checked before a byte of the body is read.
    let cap = match app.delivery.upload_capability(&capability).await {
        Ok(cap) => cap,
        Err(p) => {
            audit_upload(&app, None, None, &p).await?;
            return Err(p);
        }
    };
    let refused = |p: Problem| {
        let app = app.clone();
        let patient = cap.patient_id.clone();
        async move {
            audit_upload(&app, Some(&patient), None, &p).await?;
            Err::<(StatusCode, Json<Received>), Problem>(p)
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    if !content_type.eq_ignore_ascii_case(&cap.content_type) {
        return refused(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type_mismatch",
            format!("this upload was created for {}", cap.content_type),
        ))
        .await;
    }
    // A declared length other than the upload's: refused before the body is read.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n != cap.size) {
        return refused(size_problem(cap.size, n)).await;
    }
    // The bytes of uploads in memory at once are bounded: over the budget, come back.
    let kib = u32::try_from(cap.size.div_ceil(1024)).unwrap_or(u32::MAX);
    let Ok(_budget) = UPLOAD_BUDGET.try_acquire_many(kib.min(UPLOAD_BUDGET_KIB)) else {
        return refused(Problem {
            retry_after: Some(5),
            ..Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many uploads are arriving; retry shortly",
            )
        })
        .await;
    };
    // At most the upload's size, each pause at most `idle`, the whole body within a
    // time that allows 8 KiB/s (a client that trickles does not hold the connection).
    let idle = idle.map_or(
        crate::server::ServerLimits::default().body_idle_timeout,
        |e| e.0.0,
    );
    let deadline =
        tokio::time::Instant::now() + std::time::Duration::from_secs(60 + cap.size / (8 * 1024));
    let mut body = body;
    let mut bytes: Vec<u8> = Vec::with_capacity(cap.size.min(1 << 20) as usize);
    loop {
        use http_body_util::BodyExt;
        let wait = idle.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        match tokio::time::timeout(wait, body.frame()).await {
            Err(_) => {
                return refused(Problem::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "body_timeout",
                    format!("the body paused for over {} s", idle.as_secs()),
                ))
                .await;
            }
            Ok(None) => break,
            Ok(Some(Err(_))) => {
                return refused(Problem::bad_request(
                    "invalid_request",
                    "the body could not be read",
                ))
                .await;
            }
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    if bytes.len() as u64 + data.len() as u64 > cap.size {
                        return refused(Problem::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "too_large",
                            "the body is larger than this upload allows",
                        ))
                        .await;
                    }
                    bytes.extend_from_slice(&data);
                }
            }
        }
    }
    if bytes.len() as u64 != cap.size {
        return refused(size_problem(cap.size, bytes.len() as u64)).await;
    }
    match app.delivery.receive(&cap, bytes).await {
        Ok(received) => {
            audit(
                &app,
                None,
                Action::ReceiveUpload.as_str(),
                Some(&cap.patient_id),
                Some(&received.document_id),
                Outcome::Allowed,
                None,
            )
            .await?;
            Ok((StatusCode::CREATED, Json(received)))
        }
        Err(p) => refused(p).await,
    }
}

fn size_problem(expected: u64, got: u64) -> Problem {
    if got > expected {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("this upload was created for {expected} bytes and {got} were sent"),
        )
    } else {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "size_mismatch",
            format!("this upload was created for {expected} bytes and {got} arrived"),
        )
    }
}

/// An upload's bytes refused, on record with the reason (the patient when the URL named
/// one; no actor: the URL, not a token, is the authority).
async fn audit_upload(
    app: &App,
    patient: Option<&str>,
    document: Option<&str>,
    p: &Problem,
) -> Result<(), Problem> {
    audit(
        app,
        None,
        Action::ReceiveUpload.as_str(),
        patient,
        document,
        Outcome::Denied,
        Some(&p.code),
    )
    .await
}

/// Bytes of uploads (in KiB) the embedded server holds in memory at once: 512 MiB, ten
/// uploads at the default 50 MB limit.
const UPLOAD_BUDGET_KIB: u32 = 512 * 1024;
static UPLOAD_BUDGET: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(UPLOAD_BUDGET_KIB as usize);

/// The largest upload request body: a type, a size and a SHA-256.
const UPLOAD_REQUEST_LIMIT: usize = 16 * 1024;

/// A JSON body read after the request was authorised: declared as JSON (415), at most
/// `limit` bytes (413, refused from its `Content-Length` before it is read), the shape
/// expected (400).
async fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: axum::body::Body,
    limit: usize,
) -> Result<T, Problem> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            let t = t.trim().to_ascii_lowercase();
            t == "application/json" || (t.starts_with("application/") && t.ends_with("+json"))
        });
    if !json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_content_type",
            "send the body as application/json",
        ));
    }
    let too_large = || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is over {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Problem::bad_request("invalid_request", format!("the JSON body: {e}")))
}

// ---------------------------------------------------------------- documents

fn query_limit(q: &HashMap<String, String>, default: usize, max: usize) -> Result<usize, Problem> {
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
        ("status" = Option<String>, Query, description = "RECEIVED, PROCESSING, READY, REJECTED or FAILED"),
        ("limit" = Option<usize>, Query, description = "1 to 100; default 20"),
        ("cursor" = Option<String>, Query, description = "`next` of the previous page")),
    responses((status = 200, description = "Newest first", body = DocumentList),
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
    let status = match q.get("status") {
        None => None,
        Some(s) => Some(Status::parse(&s.to_ascii_uppercase()).ok_or_else(|| {
            Problem::bad_request(
                "invalid_status",
                "status is RECEIVED, PROCESSING, READY, REJECTED or FAILED",
            )
        })?),
    };
    let cursor = q.get("cursor").cloned();
    if cursor.as_deref().is_some_and(|c| !listing::is_cursor(c)) {
        return Err(Problem::bad_request(
            "invalid_cursor",
            "cursor is the `next` of a previous page",
        ));
    }
    let page = listing::patient_documents(app.meta.as_ref(), &pid, status, limit, cursor).await?;
    Ok(Json(DocumentList {
        documents: page.documents.iter().map(DocumentView::from).collect(),
        next: page.next,
    }))
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

async fn ocr_of(app: &App, doc: &DocumentRecord) -> Result<OcrDocument, Problem> {
    let key = match (&doc.status, &doc.ocr_key) {
        (Status::Ready, Some(k)) => k,
        _ => return Err(not_ready(doc)),
    };
    let bytes = app.artefacts.get(key).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| StoreError::unavailable("an unreadable OCR model", e).into())
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

// ---------------------------------------------------------------- search

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
    let Ok(parsed) = search::Query::parse(&query) else {
        return Err(Problem::bad_request(
            "invalid_query",
            "q is 1 to 10 words, at most 200 characters",
        ));
    };
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
