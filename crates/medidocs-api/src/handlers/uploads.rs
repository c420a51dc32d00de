//! Uploads: an upload URL for one declared file, and (embedded runtime) the bytes sent
//! to it.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use medidocs_core::access::{Action, Outcome};
use medidocs_core::keys;

use super::{AppState, Verified, audit, open_patient};
use crate::delivery::UploadGrant;
use crate::problem::Problem;
use crate::views::*;
use crate::{App, UPLOAD_TYPES};

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
pub(super) async fn json_body<T: serde::de::DeserializeOwned>(
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
