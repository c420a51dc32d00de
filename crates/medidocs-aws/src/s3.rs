//! [`ObjectStore`] on one S3 bucket. Every write is encrypted with the stack's
//! customer-managed KMS key (SSE-KMS) when one is configured; objects above
//! [`MULTIPART_THRESHOLD`] are uploaded in parts; `PutMode::Create` is an S3 conditional
//! write (`If-None-Match: *`), so two racing creators cannot both win. With [`Keeping`],
//! every object of the record (not the intermediates under `work/`) is written under S3
//! Object Lock retention in governance mode and in the storage class given.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::primitives::DateTime;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, ObjectLockMode, ServerSideEncryption, StorageClass,
};
use medidocs_core::keys;
use medidocs_core::ports::{LocalFile, ObjectMeta, ObjectStore, PutMode, StoreError, Tagged};

use crate::error::{Kind, kind, store_error};

/// Objects larger than this are uploaded in parts of this size.
pub const MULTIPART_THRESHOLD: usize = 8 * 1024 * 1024;
/// The longest a presigned URL may live: they carry access to medical documents.
pub const MAX_PRESIGN: Duration = Duration::from_secs(15 * 60);

/// An original as a reconcile sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub key: String,
    pub version: String,
    /// Written here by replication from the other region.
    pub replica: bool,
}

/// How the objects of the record are kept (the deployment's `RETENTION_YEARS` and
/// `STORAGE_CLASS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keeping {
    /// Object Lock retention in governance mode, this many years from the write: S3
    /// refuses to delete or overwrite the version until then, except for a principal
    /// allowed `s3:BypassGovernanceRetention` who asks to (a legal erasure). The bucket
    /// must have Object Lock enabled.
    pub retention_years: Option<u32>,
    /// The storage class of what is kept (`INTELLIGENT_TIERING`: records read in their
    /// first weeks and rarely after move to cheaper tiers with no retrieval fee).
    pub storage_class: Option<StorageClass>,
}

impl Keeping {
    /// From `RETENTION_YEARS` (a whole number of years; 0 or absent: no retention set by
    /// the writer, a bucket default may still apply) and `STORAGE_CLASS` (an S3 storage
    /// class name).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Keeping, String> {
        let retention_years = match lookup("RETENTION_YEARS").filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => match v.parse::<u32>() {
                Ok(0) => None,
                Ok(n) if n <= 100 => Some(n),
                _ => {
                    return Err(format!(
                        "RETENTION_YEARS: {v:?} is not a whole number of years from 0 to 100"
                    ));
                }
            },
        };
        let storage_class = match lookup("STORAGE_CLASS").filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => {
                let known = StorageClass::values().contains(&v.as_str());
                if !known {
                    return Err(format!("STORAGE_CLASS: {v:?} is not an S3 storage class"));
                }
                Some(StorageClass::from(v.as_str()))
            }
        };
        Ok(Keeping {
            retention_years,
            storage_class,
        })
    }

    /// For a tool run beside a deployed stack (`medidocs migrate`): `RETENTION_YEARS` and
    /// `STORAGE_CLASS` from the environment, the stack's `INTELLIGENT_TIERING` when no
    /// class is given (the bucket's default retention applies when no period is).
    pub fn from_env_for_stack() -> Result<Keeping, String> {
        let mut k = Keeping::from_lookup(|name| std::env::var(name).ok())?;
        k.storage_class
            .get_or_insert(StorageClass::IntelligentTiering);
        Ok(k)
    }

    /// The end of the retention of an object written at `now` (seconds since the epoch):
    /// `years` calendar years of 365.25 days, then to the next midnight (UTC); with 0
    /// years, the next midnight at least a day away.
    pub fn retain_until(years: u32, now: i64) -> i64 {
        const DAY: i64 = 86_400;
        let span = ((years as i64 * 36_525 + 99) / 100).max(1) * DAY;
        (now + span).div_euclid(DAY) * DAY + DAY
    }
}

#[derive(Clone)]
pub struct S3ObjectStore {
    client: Client,
    bucket: String,
    kms_key_id: Option<String>,
    keeping: Keeping,
}

/// What a write of one key carries for its keeping.
struct KeptAs {
    lock: Option<(ObjectLockMode, DateTime)>,
    class: Option<StorageClass>,
}

/// A presigned request: the client must send `headers` as they are (they are signed).
#[derive(Debug, Clone)]
pub struct Presigned {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
}

impl From<aws_sdk_s3::presigning::PresignedRequest> for Presigned {
    fn from(req: aws_sdk_s3::presigning::PresignedRequest) -> Self {
        Presigned {
            method: req.method().to_string(),
            url: req.uri().to_string(),
            headers: req
                .headers()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

impl S3ObjectStore {
    /// `kms_key_id`: the key (id, ARN or alias) that encrypts every object written.
    pub fn new(client: Client, bucket: impl Into<String>, kms_key_id: Option<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            kms_key_id,
            keeping: Keeping::default(),
        }
    }

    /// Writes the record's objects as `keeping` says.
    pub fn with_keeping(mut self, keeping: Keeping) -> Self {
        self.keeping = keeping;
        self
    }

    /// The retention and storage class of a write of `key` now. The record is retained
    /// for the years configured; an intermediate under `work/`, in a bucket with Object
    /// Lock (whose default retention would otherwise hold it for years), for one day, so
    /// the lifecycle rule can expire it.
    fn kept_as(&self, key: &str) -> KeptAs {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let Some(years) = self.keeping.retention_years else {
            return KeptAs {
                lock: None,
                class: keys::is_kept(key)
                    .then(|| self.keeping.storage_class.clone())
                    .flatten(),
            };
        };
        if !keys::is_kept(key) {
            return KeptAs {
                lock: Some((
                    ObjectLockMode::Governance,
                    DateTime::from_secs(Keeping::retain_until(0, now)),
                )),
                class: None,
            };
        }
        KeptAs {
            lock: Some((
                ObjectLockMode::Governance,
                DateTime::from_secs(Keeping::retain_until(years, now)),
            )),
            class: self.keeping.storage_class.clone(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn sse(&self) -> (Option<ServerSideEncryption>, Option<String>) {
        match &self.kms_key_id {
            Some(k) => (Some(ServerSideEncryption::AwsKms), Some(k.clone())),
            None => (None, None),
        }
    }

    fn presign_config(expires_in: Duration) -> Result<PresigningConfig, StoreError> {
        if expires_in > MAX_PRESIGN || expires_in.is_zero() {
            return Err(StoreError::InvalidInput {
                what: format!(
                    "a presigned URL must expire within {} s",
                    MAX_PRESIGN.as_secs()
                ),
            });
        }
        PresigningConfig::expires_in(expires_in).map_err(|e| StoreError::InvalidInput {
            what: format!("presigning: {e}"),
        })
    }

    /// A URL that downloads `key` until it expires (at most [`MAX_PRESIGN`]).
    pub async fn presign_get(
        &self,
        key: &str,
        expires_in: Duration,
    ) -> Result<Presigned, StoreError> {
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(Self::presign_config(expires_in)?)
            .await
            .map_err(|e| store_error(key, e))?;
        Ok(Presigned::from(req))
    }

    /// As [`S3ObjectStore::presign_get`], with the response's `Content-Type` and
    /// `Content-Disposition` set (a file the client saves under `disposition`'s name).
    pub async fn presign_get_as(
        &self,
        key: &str,
        expires_in: Duration,
        content_type: &str,
        disposition: &str,
    ) -> Result<Presigned, StoreError> {
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type(content_type)
            .response_content_disposition(disposition)
            .presigned(Self::presign_config(expires_in)?)
            .await
            .map_err(|e| store_error(key, e))?;
        Ok(Presigned::from(req))
    }

    /// A URL that uploads exactly `content_length` bytes of `content_type` whose SHA-256
    /// is `sha256` (hex) to `key`, once, with the bucket's encryption, until it expires.
    /// Every condition is a signed header: S3 refuses a body of another length, type or
    /// checksum (`x-amz-checksum-sha256`), and a second PUT (`If-None-Match: *`), so the
    /// upload limits hold and the object is the patient's bytes though they never pass
    /// through us.
    pub async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        content_length: u64,
        sha256: &str,
        expires_in: Duration,
    ) -> Result<Presigned, StoreError> {
        let checksum = sha256_base64(sha256).ok_or_else(|| StoreError::InvalidInput {
            what: "a SHA-256 is 64 hexadecimal characters".into(),
        })?;
        let (sse, kms) = self.sse();
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(content_length as i64)
            .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
            .checksum_sha256(checksum)
            .if_none_match("*")
            .set_server_side_encryption(sse)
            .set_ssekms_key_id(kms)
            .presigned(Self::presign_config(expires_in)?)
            .await
            .map_err(|e| store_error(key, e))?;
        Ok(Presigned::from(req))
    }

    /// A multipart upload of `size` bytes in parts of [`MULTIPART_THRESHOLD`], each made by
    /// `part(offset, length)` when it is sent (so a file is never read whole). With
    /// `PutMode::Create` the completion is conditional (`If-None-Match: *`). An upload
    /// that fails is aborted: its parts are billed until then (the bucket's lifecycle rule
    /// also aborts incomplete uploads after a day). Returns the version id.
    async fn multipart<F, Fut>(
        &self,
        key: &str,
        size: u64,
        mode: PutMode,
        sha256: Option<&str>,
        part: F,
    ) -> Result<Option<String>, StoreError>
    where
        F: Fn(u64, u64) -> Fut,
        Fut: std::future::Future<Output = Result<ByteStream, StoreError>>,
    {
        let (sse, kms) = self.sse();
        let kept = self.kept_as(key);
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .set_metadata(sha256.map(|h| [(SHA256_META.to_string(), h.to_string())].into()))
            .set_server_side_encryption(sse)
            .set_ssekms_key_id(kms)
            .set_object_lock_mode(kept.lock.as_ref().map(|l| l.0.clone()))
            .set_object_lock_retain_until_date(kept.lock.map(|l| l.1))
            .set_storage_class(kept.class)
            .send()
            .await
            .map_err(|e| store_error(key, e))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| StoreError::unavailable(key, "S3 returned no upload id"))?
            .to_string();
        let result = self.parts(key, &upload_id, size, mode, part).await;
        if result.is_err() {
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result
    }

    async fn parts<F, Fut>(
        &self,
        key: &str,
        upload_id: &str,
        size: u64,
        mode: PutMode,
        part: F,
    ) -> Result<Option<String>, StoreError>
    where
        F: Fn(u64, u64) -> Fut,
        Fut: std::future::Future<Output = Result<ByteStream, StoreError>>,
    {
        let chunk = MULTIPART_THRESHOLD as u64;
        let mut parts = Vec::new();
        let mut offset = 0u64;
        while offset < size {
            let n = chunk.min(size - offset);
            let number = (offset / chunk) as i32 + 1;
            let out = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .content_length(n as i64)
                .body(part(offset, n).await?)
                .send()
                .await
                .map_err(|e| store_error(key, e))?;
            parts.push(
                CompletedPart::builder()
                    .set_e_tag(out.e_tag().map(str::to_string))
                    .part_number(number)
                    .build(),
            );
            offset += n;
        }
        let mut complete = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            );
        if mode == PutMode::Create {
            complete = complete.if_none_match("*");
        }
        let done = complete
            .send()
            .await
            .map_err(|e| create_error(key, mode, e))?;
        Ok(done.version_id().map(str::to_string))
    }
}

impl S3ObjectStore {
    /// Whether `key` is a replica written by S3 replication (`ReplicationStatus` REPLICA):
    /// the region it was uploaded to processes it, not this one. An object that is gone
    /// is not a replica (the pipeline reports it missing).
    pub async fn is_replica(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.head_if_any(key).await?.is_some_and(|h| {
            h.replication_status() == Some(&aws_sdk_s3::types::ReplicationStatus::Replica)
        }))
    }

    /// The current version of every original under `prefix` (keys ending `/original`),
    /// and whether S3 says it is a replica from the other region: what a reconcile runs.
    /// Listed with ListObjectVersions (latest versions, delete markers left out), then a
    /// HEAD of each version for its replication status, 16 at a time.
    pub async fn originals(&self, prefix: &str) -> Result<Vec<Original>, StoreError> {
        use futures::StreamExt;
        let mut found = Vec::new();
        let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .map_err(|e| store_error(prefix, e))?;
            for v in page.versions() {
                if v.is_latest() == Some(true)
                    && let (Some(k), Some(id)) = (v.key(), v.version_id())
                    && keys::parse_original(k).is_some()
                {
                    found.push((k.to_string(), id.to_string()));
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_string);
            version_marker = page.next_version_id_marker().map(str::to_string);
        }
        let heads = futures::stream::iter(found)
            .map(|(key, version)| async move {
                let h = self
                    .client
                    .head_object()
                    .bucket(&self.bucket)
                    .key(&key)
                    .version_id(&version)
                    .send()
                    .await
                    .map_err(|e| store_error(key.clone(), e))?;
                let replica =
                    h.replication_status() == Some(&aws_sdk_s3::types::ReplicationStatus::Replica);
                Ok::<_, StoreError>(Original {
                    key,
                    version,
                    replica,
                })
            })
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await;
        let mut out = heads.into_iter().collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// HEAD of `key`, `None` when there is no object.
    async fn head_if_any(
        &self,
        key: &str,
    ) -> Result<Option<aws_sdk_s3::operation::head_object::HeadObjectOutput>, StoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(h) => Ok(Some(h)),
            Err(e) if kind(&e) == Kind::NotFound => Ok(None),
            Err(e) => Err(store_error(key, e)),
        }
    }
}

/// What [`S3ObjectStore::put_file`] found or did, with the object's version id (`null`
/// in a bucket without versioning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placed {
    Uploaded { version: String },
    AlreadyThere { version: String },
}

/// A hex SHA-256 as S3's checksum headers carry it (base64 of the 32 bytes).
pub fn sha256_base64(hex_digest: &str) -> Option<String> {
    use base64::Engine;
    let bytes = hex::decode(hex_digest).ok().filter(|b| b.len() == 32)?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The user metadata that records an object's SHA-256 (`x-amz-meta-sha256`).
const SHA256_META: &str = "sha256";

impl S3ObjectStore {
    /// Uploads the local file at `path` (`size` bytes, SHA-256 `sha256`) to `key` without
    /// holding it in memory: one PUT up to [`MULTIPART_THRESHOLD`], parts of that size
    /// above, read from the file as they are sent. An object already at `key` with the
    /// same size and recorded hash is left alone, so an interrupted import resumes where
    /// it stopped (an unfinished multipart upload leaves no object, and the bucket's
    /// lifecycle rule aborts it).
    pub async fn put_file_once(
        &self,
        key: &str,
        path: &std::path::Path,
        size: u64,
        sha256: &str,
    ) -> Result<Placed, StoreError> {
        if let Some(h) = self.head_if_any(key).await?
            && h.content_length() == Some(size as i64)
            && h.metadata()
                .and_then(|m| m.get(SHA256_META))
                .map(String::as_str)
                == Some(sha256)
        {
            return Ok(Placed::AlreadyThere {
                version: h.version_id().unwrap_or("null").to_string(),
            });
        }
        let version = self
            .upload_file(key, path, size, PutMode::Overwrite, Some(sha256))
            .await?;
        Ok(Placed::Uploaded {
            version: version.unwrap_or_else(|| "null".into()),
        })
    }

    /// Streams the local file at `path` (`size` bytes) to `key`: one PUT up to
    /// [`MULTIPART_THRESHOLD`] (with its SHA-256 as the checksum S3 verifies, when known),
    /// parts of that size above, read from the file as they are sent. Above the
    /// threshold the SHA-256 is recorded, not checked: a file changed between its hash
    /// and its parts is stored as it was read then. Kept as the key's
    /// part of the record is kept (retention, storage class). Returns the version id.
    async fn upload_file(
        &self,
        key: &str,
        path: &std::path::Path,
        size: u64,
        mode: PutMode,
        sha256: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        if size > MULTIPART_THRESHOLD as u64 {
            return self
                .multipart(key, size, mode, sha256, |off, n| async move {
                    ByteStream::read_from()
                        .path(path)
                        .offset(off)
                        .length(aws_sdk_s3::primitives::Length::Exact(n))
                        .build()
                        .await
                        .map_err(|e| StoreError::unavailable(format!("{key}: reading the file"), e))
                })
                .await;
        }
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| StoreError::unavailable(format!("{key}: reading the file"), e))?;
        let out = self
            .single_put(key, body, mode)
            .content_length(size as i64)
            .set_metadata(sha256.map(|h| [(SHA256_META.to_string(), h.to_string())].into()))
            .set_checksum_sha256(sha256.and_then(sha256_base64))
            .send()
            .await
            .map_err(|e| create_error(key, mode, e))?;
        Ok(out.version_id().map(str::to_string))
    }

    /// One PUT of `body` to `key`, encrypted and kept as the key's part of the record is
    /// kept (retention, storage class), conditional on the key's absence for a create.
    fn single_put(
        &self,
        key: &str,
        body: ByteStream,
        mode: PutMode,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        let (sse, kms) = self.sse();
        let kept = self.kept_as(key);
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body)
            .set_server_side_encryption(sse)
            .set_ssekms_key_id(kms)
            .set_object_lock_mode(kept.lock.as_ref().map(|l| l.0.clone()))
            .set_object_lock_retain_until_date(kept.lock.map(|l| l.1))
            .set_storage_class(kept.class);
        match mode {
            PutMode::Create => put.if_none_match("*"),
            PutMode::Overwrite => put,
        }
    }
}

/// A 404 for the object, not for the bucket (a missing bucket is an outage, not an
/// absent object).
fn no_such_key<E: aws_sdk_s3::error::ProvideErrorMetadata>(
    e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> bool {
    let code = match e {
        aws_sdk_s3::error::SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    };
    match code {
        Some(c) => c == "NoSuchKey",
        None => e.raw_response().is_some_and(|r| r.status().as_u16() == 404),
    }
}

/// The `Content-MD5` of a single-part write.
fn content_md5(bytes: &[u8]) -> String {
    use base64::Engine;
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(bytes))
}

/// A refused conditional create means the key is taken.
fn create_error<E>(
    key: &str,
    mode: PutMode,
    e: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> StoreError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if mode == PutMode::Create && kind(&e) == Kind::Condition {
        return StoreError::AlreadyExists {
            what: key.to_string(),
        };
    }
    store_error(key, e)
}

/// `CopySource` is `bucket/key`, URL-encoded.
fn copy_source(bucket: &str, key: &str) -> String {
    let mut out = format!("{bucket}/");
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        mode: PutMode,
    ) -> Result<ObjectMeta, StoreError> {
        let size = bytes.len() as u64;
        if bytes.len() > MULTIPART_THRESHOLD {
            let bytes = &bytes;
            self.multipart(key, size, mode, None, |off, n| async move {
                Ok(ByteStream::from(
                    bytes[off as usize..(off + n) as usize].to_vec(),
                ))
            })
            .await?;
        } else {
            // Content-MD5 on every single-part write: a bucket with Object Lock (a default
            // retention, or the retention set here) refuses a write with no integrity
            // check. S3 also takes the SDK's own CRC32 header, but that one can be turned
            // off (AWS_REQUEST_CHECKSUM_CALCULATION=when_required), and some
            // S3-compatible servers accept only Content-MD5.
            let md5 = content_md5(&bytes);
            self.single_put(key, ByteStream::from(bytes), mode)
                .content_md5(md5)
                .send()
                .await
                .map_err(|e| create_error(key, mode, e))?;
        }
        Ok(ObjectMeta {
            key: key.to_string(),
            size,
        })
    }

    async fn put_file(
        &self,
        key: &str,
        file: LocalFile<'_>,
        mode: PutMode,
    ) -> Result<ObjectMeta, StoreError> {
        // The file is hashed before it is sent, so one that changed since it was read is
        // refused before anything is uploaded; S3 then checks the bytes it receives
        // against the same hash (x-amz-checksum-sha256) on a single PUT.
        let path = file.path.to_path_buf();
        let reading = |e| StoreError::unavailable(format!("{key}: reading the file"), e);
        let (found, size) = tokio::task::spawn_blocking(move || {
            std::fs::File::open(&path).and_then(keys::sha256_reader)
        })
        .await
        .map_err(|e| StoreError::unavailable(format!("{key}: reading the file"), e))?
        .map_err(reading)?;
        if file.sha256.is_some_and(|expected| expected != found) {
            return Err(StoreError::ChecksumMismatch {
                what: format!("{key}: the file's bytes changed since they were read"),
            });
        }
        self.upload_file(key, file.path, size, mode, Some(&found))
            .await?;
        Ok(ObjectMeta {
            key: key.to_string(),
            size,
        })
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.get_version(key, "").await
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        self.head_version(key, "").await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| store_error(prefix, e))?;
            for o in page.contents() {
                if let Some(k) = o.key() {
                    out.push(ObjectMeta {
                        key: k.to_string(),
                        size: o.size().unwrap_or(0).max(0) as u64,
                    });
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.copy_from(&self.bucket, from, to).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error(key, e))
    }

    async fn get_version(&self, key: &str, version: &str) -> Result<Vec<u8>, StoreError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version_id(version))
            .send()
            .await
            .map_err(|e| store_error(key, e))?;
        let body = out.body.collect().await.map_err(|e| body_error(key, e))?;
        Ok(body.into_bytes().to_vec())
    }

    /// One GET: `If-None-Match` with the known ETag, so an unchanged object is a 304
    /// and no bytes.
    async fn get_tagged(&self, key: &str, known: Option<&str>) -> Result<Tagged, StoreError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_if_none_match(known.map(str::to_string))
            .send()
            .await;
        let out = match out {
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 304) => {
                return Ok(Tagged::Unchanged);
            }
            Err(e) if no_such_key(&e) => return Ok(Tagged::Absent),
            other => other.map_err(|e| store_error(key, e))?,
        };
        let tag = out.e_tag().unwrap_or_default().to_string();
        let body = out.body.collect().await.map_err(|e| body_error(key, e))?;
        Ok(Tagged::Found {
            bytes: body.into_bytes().to_vec(),
            tag,
        })
    }

    /// One conditional PUT (S3 conditional writes): `If-Match: {etag}`, or
    /// `If-None-Match: *` for a first write. A 412 (another writer's object), a 409
    /// (`ConditionalRequestConflict`: a write racing this one) and a 404 (the object
    /// went) all mean read again.
    async fn put_tagged(
        &self,
        key: &str,
        bytes: Vec<u8>,
        expected: Option<&str>,
    ) -> Result<String, StoreError> {
        let md5 = content_md5(&bytes);
        let put = self
            .single_put(key, ByteStream::from(bytes), PutMode::Overwrite)
            .content_md5(md5);
        let put = match expected {
            Some(tag) => put.if_match(tag),
            None => put.if_none_match("*"),
        };
        match put.send().await {
            Ok(out) => Ok(out.e_tag().unwrap_or_default().to_string()),
            Err(e)
                if kind(&e) == Kind::Condition
                    || no_such_key(&e)
                    || e.raw_response().is_some_and(|r| r.status().as_u16() == 409) =>
            {
                Err(StoreError::Precondition {
                    what: format!("{key} changed since it was read"),
                })
            }
            Err(e) => Err(store_error(key, e)),
        }
    }

    async fn get_range(
        &self,
        key: &str,
        version: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Vec<u8>, StoreError> {
        if range.end <= range.start {
            return Ok(Vec::new());
        }
        // A Range past the object's end is cut short by S3; one starting past it is 416.
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version_id(version))
            .range(format!("bytes={}-{}", range.start, range.end - 1))
            .send()
            .await;
        let out = match out {
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 416) => {
                return Ok(Vec::new());
            }
            other => other.map_err(|e| store_error(key, e))?,
        };
        let body = out.body.collect().await.map_err(|e| body_error(key, e))?;
        Ok(body.into_bytes().to_vec())
    }

    async fn head_version(&self, key: &str, version: &str) -> Result<ObjectMeta, StoreError> {
        let out = self.head_object(key, version, None).await?;
        Ok(ObjectMeta {
            key: key.to_string(),
            size: out.content_length().unwrap_or(0).max(0) as u64,
        })
    }

    async fn copy_version(&self, from: &str, version: &str, to: &str) -> Result<(), StoreError> {
        self.copy_version_from(&self.bucket, from, version, to)
            .await
    }

    async fn recorded_sha256(
        &self,
        key: &str,
        version: &str,
    ) -> Result<Option<String>, StoreError> {
        let out = self
            .head_object(key, version, Some(aws_sdk_s3::types::ChecksumMode::Enabled))
            .await?;
        // Only a checksum of the whole object (a multipart upload's is of its parts).
        let whole = !matches!(
            out.checksum_type(),
            Some(aws_sdk_s3::types::ChecksumType::Composite)
        );
        Ok(out
            .checksum_sha256()
            .filter(|c| whole && !c.contains('-'))
            .and_then(sha256_hex_of_base64))
    }
}

impl S3ObjectStore {
    /// HeadObject of `key` at `version` (the current one if empty), with its checksums
    /// when `checksums` enables them.
    async fn head_object(
        &self,
        key: &str,
        version: &str,
        checksums: Option<aws_sdk_s3::types::ChecksumMode>,
    ) -> Result<aws_sdk_s3::operation::head_object::HeadObjectOutput, StoreError> {
        self.client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version_id(version))
            .set_checksum_mode(checksums)
            .send()
            .await
            .map_err(|e| store_error(key, e))
    }
}

/// A body that could not be read whole; bytes that fail the checksum S3 recorded when
/// they were written (the SDK validates it as they arrive) are not the bytes uploaded.
fn body_error(key: &str, e: aws_sdk_s3::primitives::ByteStreamError) -> StoreError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(c) = cause {
        if c.to_string()
            .to_ascii_lowercase()
            .contains("checksum mismatch")
        {
            return StoreError::ChecksumMismatch {
                what: key.to_string(),
            };
        }
        cause = c.source();
    }
    StoreError::unavailable(format!("{key}: reading the body"), e)
}

/// The version id to send: none for a record from before versions were pinned, nor for
/// an object of a bucket without versioning (its events say `null`; the template's
/// buckets are all versioned).
fn version_id(version: &str) -> Option<String> {
    (!version.is_empty() && version != "null").then(|| version.to_string())
}

/// S3's base64 SHA-256 as hex.
fn sha256_hex_of_base64(b64: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    (bytes.len() == 32).then(|| hex::encode(bytes))
}

impl S3ObjectStore {
    /// Copies `from` in `source_bucket` to `to` in this bucket (server-side, encrypted
    /// with this bucket's key).
    pub async fn copy_from(
        &self,
        source_bucket: &str,
        from: &str,
        to: &str,
    ) -> Result<(), StoreError> {
        self.copy_version_from(source_bucket, from, "", to).await
    }

    /// Copies `from` at `version` (the current one if empty) in `source_bucket` to `to`
    /// in this bucket (server-side, encrypted with this bucket's key).
    pub async fn copy_version_from(
        &self,
        source_bucket: &str,
        from: &str,
        version: &str,
        to: &str,
    ) -> Result<(), StoreError> {
        let (sse, kms) = self.sse();
        let mut source = copy_source(source_bucket, from);
        if let Some(v) = version_id(version) {
            source.push_str("?versionId=");
            for b in v.bytes() {
                match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        source.push(b as char)
                    }
                    _ => source.push_str(&format!("%{b:02X}")),
                }
            }
        }
        let kept = self.kept_as(to);
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .key(to)
            .copy_source(source)
            .set_server_side_encryption(sse)
            .set_ssekms_key_id(kms)
            .set_object_lock_mode(kept.lock.as_ref().map(|l| l.0.clone()))
            .set_object_lock_retain_until_date(kept.lock.map(|l| l.1))
            .set_storage_class(kept.class)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error(from, e))
    }
}

/// The pipeline's two buckets as one [`ObjectStore`]: keys under `uploads/` and the bulk
/// import's `bulk/`, `bulk-manifests/` and `bulk-results/` live in the upload bucket,
/// everything else (`artefacts/`, `quarantine/`) in the artefact bucket.
/// Copies between them are server-side.
#[derive(Clone)]
pub struct PipelineBuckets {
    pub uploads: S3ObjectStore,
    pub artefacts: S3ObjectStore,
}

impl PipelineBuckets {
    fn route(&self, key: &str) -> &S3ObjectStore {
        if keys::in_upload_bucket(key) {
            &self.uploads
        } else {
            &self.artefacts
        }
    }
}

#[async_trait]
impl ObjectStore for PipelineBuckets {
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        mode: PutMode,
    ) -> Result<ObjectMeta, StoreError> {
        self.route(key).put(key, bytes, mode).await
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.route(key).get(key).await
    }
    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        self.route(key).head(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.route(prefix).list(prefix).await
    }
    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.route(to)
            .copy_from(self.route(from).bucket(), from, to)
            .await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.route(key).delete(key).await
    }
    async fn get_version(&self, key: &str, version: &str) -> Result<Vec<u8>, StoreError> {
        self.route(key).get_version(key, version).await
    }
    async fn get_range(
        &self,
        key: &str,
        version: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Vec<u8>, StoreError> {
        self.route(key).get_range(key, version, range).await
    }
    async fn put_file(
        &self,
        key: &str,
        file: LocalFile<'_>,
        mode: PutMode,
    ) -> Result<ObjectMeta, StoreError> {
        self.route(key).put_file(key, file, mode).await
    }
    async fn head_version(&self, key: &str, version: &str) -> Result<ObjectMeta, StoreError> {
        self.route(key).head_version(key, version).await
    }
    async fn copy_version(&self, from: &str, version: &str, to: &str) -> Result<(), StoreError> {
        self.route(to)
            .copy_version_from(self.route(from).bucket(), from, version, to)
            .await
    }
    async fn recorded_sha256(
        &self,
        key: &str,
        version: &str,
    ) -> Result<Option<String>, StoreError> {
        self.route(key).recorded_sha256(key, version).await
    }
    async fn get_tagged(&self, key: &str, known: Option<&str>) -> Result<Tagged, StoreError> {
        self.route(key).get_tagged(key, known).await
    }
    async fn put_tagged(
        &self,
        key: &str,
        bytes: Vec<u8>,
        expected: Option<&str>,
    ) -> Result<String, StoreError> {
        self.route(key).put_tagged(key, bytes, expected).await
    }
}

#[cfg(test)]
mod tests {
    use super::copy_source;

    #[test]
    fn keeping_reads_its_settings_and_counts_whole_days() {
        use super::Keeping;
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let k = Keeping::from_lookup(env(&[
            ("RETENTION_YEARS", "8"),
            ("STORAGE_CLASS", "INTELLIGENT_TIERING"),
        ]))
        .unwrap();
        assert_eq!(k.retention_years, Some(8));
        assert_eq!(
            k.storage_class,
            Some(aws_sdk_s3::types::StorageClass::IntelligentTiering)
        );
        assert_eq!(
            Keeping::from_lookup(env(&[("RETENTION_YEARS", "0")])).unwrap(),
            Keeping::default()
        );
        for bad in ["-1", "eight", "101"] {
            let pairs: &'static [(&str, &str)] =
                Box::leak(vec![("RETENTION_YEARS", bad)].into_boxed_slice());
            assert!(Keeping::from_lookup(env(pairs)).is_err(), "{bad}");
        }
        assert!(Keeping::from_lookup(env(&[("STORAGE_CLASS", "CHEAP")])).is_err());
        // 2026-12-02T10:00:00Z plus 8 years: past 2034-12-02 10:00, at a midnight.
        let now = 1_796_205_600;
        let until = Keeping::retain_until(8, now);
        assert_eq!(until % 86_400, 0);
        assert!(until >= now + 8 * 365 * 86_400 + 2 * 86_400, "{until}");
        assert!(until <= now + 8 * 366 * 86_400, "{until}");
        let day = Keeping::retain_until(0, now);
        assert!(day > now + 86_400 && day <= now + 2 * 86_400, "{day}");
    }

    #[test]
    fn copy_sources_are_url_encoded() {
        assert_eq!(copy_source("b", "a/b c+d.pdf"), "b/a/b%20c%2Bd.pdf");
        assert_eq!(copy_source("b", "ü"), "b/%C3%BC");
    }
}
