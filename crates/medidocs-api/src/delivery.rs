//! How bytes travel between clients and the stores. In AWS they never pass through the
//! function: uploads go to a presigned S3 PUT and renditions are a redirect to a presigned
//! GET. Locally the router receives uploads (at a URL carrying a signed, expiring upload
//! capability, the local equivalent of a presigned PUT) and streams renditions.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use axum::http::StatusCode;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use medidocs_core::inputs::SourceInput;
use medidocs_core::keys;
use medidocs_core::ports::{ObjectStore, PutMode, StoreError};
use serde::{Deserialize, Serialize};

use crate::problem::Problem;
use crate::views::{Received, UploadTarget};

/// How long an upload URL stays valid.
pub const UPLOAD_TTL: Duration = Duration::from_secs(15 * 60);
/// How long a rendition redirect stays valid.
pub const DOWNLOAD_TTL: Duration = Duration::from_secs(5 * 60);

/// An upload the API has authorised: who it is for, what it will hold.
#[derive(Debug, Clone)]
pub struct UploadGrant {
    pub patient_id: String,
    pub upload_id: String,
    pub content_type: String,
    pub size: u64,
    /// The SHA-256 (lowercase hex) of the only bytes the upload accepts.
    pub sha256: String,
}

#[async_trait]
pub trait Delivery: Send + Sync {
    /// Where the client sends the bytes of an authorised upload.
    async fn upload_target(&self, grant: &UploadGrant) -> Result<UploadTarget, Problem>;
    /// `Some(url)`: the client is redirected there; `None`: the router streams the object.
    async fn download_url(&self, key: &str) -> Result<Option<String>, Problem>;
    /// As [`Delivery::download_url`], for a file the client saves: the URL's response
    /// says `content_type` and `Content-Disposition: attachment; filename="{file_name}"`.
    async fn download_file_url(
        &self,
        key: &str,
        _content_type: &str,
        _file_name: &str,
    ) -> Result<Option<String>, Problem> {
        self.download_url(key).await
    }
    /// What a local upload URL grants, checked before any byte of the body is read.
    /// Deployments whose uploads go elsewhere keep the default, which answers 404.
    async fn upload_capability(&self, _capability: &str) -> Result<UploadCapability, Problem> {
        Err(Problem::not_found(
            "uploads go to the URL returned when the upload was created",
        ))
    }
    /// Stores the bytes of a local upload whose capability, type and size were checked.
    async fn receive(&self, _cap: &UploadCapability, _body: Vec<u8>) -> Result<Received, Problem> {
        Err(Problem::not_found(
            "uploads go to the URL returned when the upload was created",
        ))
    }
}

pub fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// What a valid upload URL grants: one file, of this type, size and SHA-256, for this
/// patient. While it is held, no other request sends bytes to the same URL.
#[derive(Debug, Clone)]
pub struct UploadCapability {
    pub patient_id: String,
    pub upload_id: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    /// Holds the URL for this request (released when the last clone is dropped).
    pub slot: Option<Arc<UploadSlot>>,
}

/// One upload URL's bytes arriving: removed from the set of uploads in progress when
/// dropped.
#[derive(Debug)]
pub struct UploadSlot {
    id: String,
    in_progress: Arc<Mutex<HashSet<String>>>,
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        self.in_progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

/// What a local upload capability grants, as signed.
#[derive(Debug, Serialize, Deserialize)]
struct Capability {
    sub: String, // the patient
    upload_id: String,
    content_type: String,
    size: u64,
    sha256: String,
    aud: String,
    exp: u64,
}

const UPLOAD_AUDIENCE: &str = "medidocs-upload";

/// The embedded deployment: uploads land in the local object store and start the pipeline.
pub struct LocalDelivery {
    encoding: EncodingKey,
    decoding: DecodingKey,
    uploads: Arc<dyn ObjectStore>,
    bucket: String,
    start: Arc<dyn Fn(SourceInput) + Send + Sync>,
    in_progress: Arc<Mutex<HashSet<String>>>,
}

impl LocalDelivery {
    /// `key` signs upload capabilities; `start` runs the pipeline on a received upload
    /// (in the background: it must not block).
    pub fn new(
        key: &[u8],
        uploads: Arc<dyn ObjectStore>,
        bucket: impl Into<String>,
        start: Arc<dyn Fn(SourceInput) + Send + Sync>,
    ) -> Self {
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            uploads,
            bucket: bucket.into(),
            start,
            in_progress: Arc::default(),
        }
    }
}

#[async_trait]
impl Delivery for LocalDelivery {
    async fn upload_target(&self, grant: &UploadGrant) -> Result<UploadTarget, Problem> {
        let expires = SystemTime::now() + UPLOAD_TTL;
        let cap = Capability {
            sub: grant.patient_id.clone(),
            upload_id: grant.upload_id.clone(),
            content_type: grant.content_type.clone(),
            size: grant.size,
            sha256: grant.sha256.clone(),
            aud: UPLOAD_AUDIENCE.into(),
            exp: expires
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &cap, &self.encoding)
            .map_err(|e| Problem::from(StoreError::unavailable("upload capability", e)))?;
        Ok(UploadTarget {
            upload_id: grant.upload_id.clone(),
            method: "PUT".into(),
            url: format!("/v1/uploads/{token}"),
            headers: BTreeMap::from([("content-type".to_string(), grant.content_type.clone())]),
            expires_at: rfc3339(expires),
            max_bytes: grant.size,
        })
    }

    async fn download_url(&self, _key: &str) -> Result<Option<String>, Problem> {
        Ok(None)
    }

    async fn upload_capability(&self, capability: &str) -> Result<UploadCapability, Problem> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_audience(&[UPLOAD_AUDIENCE]);
        v.leeway = 0;
        v.set_required_spec_claims(&["exp", "aud", "sub"]);
        let cap = jsonwebtoken::decode::<Capability>(capability, &self.decoding, &v)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => Problem::new(
                    StatusCode::GONE,
                    "upload_expired",
                    "this upload URL has expired; create a new upload",
                ),
                _ => Problem::forbidden("bad_upload_url", "this upload URL is not valid"),
            })?
            .claims;
        let already = || {
            Problem::new(
                StatusCode::CONFLICT,
                "already_uploaded",
                "this upload has already been received",
            )
        };
        // Spent, or being sent on another connection: refused before the body is read.
        let key = keys::upload_key(&cap.sub, &cap.upload_id);
        match self.uploads.head(&key).await {
            Ok(_) => return Err(already()),
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        if !self
            .in_progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(cap.upload_id.clone())
        {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "upload_in_progress",
                "this upload's bytes are already arriving on another connection",
            ));
        }
        let slot = Arc::new(UploadSlot {
            id: cap.upload_id.clone(),
            in_progress: self.in_progress.clone(),
        });
        Ok(UploadCapability {
            patient_id: cap.sub,
            upload_id: cap.upload_id,
            content_type: cap.content_type,
            size: cap.size,
            sha256: cap.sha256,
            slot: Some(slot),
        })
    }

    async fn receive(&self, cap: &UploadCapability, body: Vec<u8>) -> Result<Received, Problem> {
        if body.len() as u64 != cap.size {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "size_mismatch",
                format!(
                    "this upload was created for {} bytes and {} arrived",
                    cap.size,
                    body.len()
                ),
            ));
        }
        let key = keys::upload_key(&cap.patient_id, &cap.upload_id);
        let version = keys::sha256_hex(&body);
        if version != cap.sha256 {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "checksum_mismatch",
                "these bytes do not have the SHA-256 this upload was created for; nothing was stored",
            ));
        }
        match self.uploads.put(&key, body, PutMode::Create).await {
            Ok(_) => {}
            Err(StoreError::AlreadyExists { .. }) => {
                return Err(Problem::new(
                    StatusCode::CONFLICT,
                    "already_uploaded",
                    "this upload has already been received",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let source = SourceInput {
            bucket: self.bucket.clone(),
            key,
            version,
            execution: None,
        };
        let document_id = keys::document_id(&source.bucket, &source.key, &source.version);
        (self.start)(source);
        Ok(Received {
            upload_id: cap.upload_id.clone(),
            href: format!("/v1/documents/{document_id}"),
            document_id,
            status: "RECEIVED".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn formats_utc_times() {
        let at = |s| super::rfc3339(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
    }
}
