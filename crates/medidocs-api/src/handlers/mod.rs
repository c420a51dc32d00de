//! Request handlers. Each one: authenticate, validate what the client sent, fetch what it
//! names, authorise against the patient it belongs to (auditing), then answer.
//!
//! One module per route group: `service.rs` (health, the OpenAPI document, the caller's
//! identity, unknown routes), `pages.rs` (the doctors' web page), `uploads.rs`,
//! `documents.rs` (listing, metadata, retry, text, pages, renditions, PDF), `fhir.rs`
//! (FHIR R4 DocumentReference and its search) and `search.rs`;
//! the authentication, authorisation and audit every group goes through are here.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use medidocs_core::access::{self, Action, AuditRecord, Outcome, Principal};
use medidocs_core::clock::now_rfc3339;
use medidocs_core::keys;
use medidocs_core::model::{DocumentRecord, Status};
use medidocs_core::ocr::OcrDocument;
use medidocs_core::ports::StoreError;

use crate::App;
use crate::auth::Claims;
use crate::problem::Problem;

pub(crate) mod documents;
pub(crate) mod fhir;
pub(crate) mod pages;
pub(crate) mod search;
pub(crate) mod service;
pub(crate) mod uploads;

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

/// Applies the rule of [`access::decide`]; audits refusals, content reads and uploads.
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
            if action.reads_content()
                || matches!(action, Action::RetryDocument | Action::FileDocument)
            {
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

async fn ocr_of(app: &App, doc: &DocumentRecord) -> Result<OcrDocument, Problem> {
    let key = match (&doc.status, &doc.ocr_key) {
        (Status::Ready, Some(k)) => k,
        _ => return Err(not_ready(doc)),
    };
    let bytes = app.artefacts.get(key).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| StoreError::unavailable("an unreadable OCR model", e).into())
}
