//! Ports: one async trait per concern. Adapters (filesystem, SQLite, Tesseract; S3,
//! DynamoDB, Textract) implement them and convert their own errors into these types,
//! keeping the original as `source`.

use std::collections::BTreeMap;
use std::error::Error as StdError;

use async_trait::async_trait;

use crate::access::{AuditPage, AuditRecord};
use crate::model::{DocumentPage, DocumentRecord, PatientSettings};
use crate::ocr::OcrPage;
use crate::understand::Region;

type Source = Box<dyn StdError + Send + Sync + 'static>;

/// Errors of the object and metadata stores.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("not found: {what}")]
    NotFound { what: String },
    #[error("already exists: {what}")]
    AlreadyExists { what: String },
    #[error("precondition failed: {what}")]
    Precondition { what: String },
    #[error("throttled by the store")]
    Throttled {
        #[source]
        source: Source,
    },
    #[error("invalid input: {what}")]
    InvalidInput { what: String },
    /// The bytes read are not those the store recorded a checksum for when they were
    /// written (an upload bound to its SHA-256 that holds other bytes).
    #[error("checksum mismatch: {what}")]
    ChecksumMismatch { what: String },
    #[error("store unavailable: {what}")]
    Unavailable {
        what: String,
        #[source]
        source: Source,
    },
}

impl StoreError {
    pub fn unavailable(what: impl Into<String>, source: impl Into<Source>) -> Self {
        StoreError::Unavailable {
            what: what.into(),
            source: source.into(),
        }
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        StoreError::NotFound { what: what.into() }
    }
    /// What kind of error, for a log line where the message may not go (it can name a
    /// key, and some keys hold a patient's id).
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound { .. } => "not_found",
            StoreError::AlreadyExists { .. } => "already_exists",
            StoreError::Precondition { .. } => "precondition",
            StoreError::Throttled { .. } => "throttled",
            StoreError::InvalidInput { .. } => "invalid_input",
            StoreError::ChecksumMismatch { .. } => "checksum_mismatch",
            StoreError::Unavailable { .. } => "unavailable",
        }
    }
}

/// What an object store says about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
}

/// Whether a put may replace an existing object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PutMode {
    #[default]
    Overwrite,
    /// Fails with [`StoreError::AlreadyExists`] if the key holds an object.
    Create,
}

/// An object read with the tag a conditional write names it by ([`ObjectStore::get_tagged`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tagged {
    /// No object under the key.
    Absent,
    /// The object still has the tag the reader knew: its bytes were not read again.
    Unchanged,
    Found {
        bytes: Vec<u8>,
        tag: String,
    },
}

/// A file on this machine to store, streamed from disk (never whole in memory): an
/// original an import or a local upload brings, a bulk manifest.
#[derive(Debug, Clone, Copy)]
pub struct LocalFile<'a> {
    pub path: &'a std::path::Path,
    /// Its SHA-256 (hex), as whoever read it found it: the store checks the bytes it
    /// stores against it and stores nothing if they differ
    /// ([`StoreError::ChecksumMismatch`]: the file changed in between).
    pub sha256: Option<&'a str>,
}

/// Objects under S3-style keys (`a/b/c`). Keys are produced by [`crate::keys`] and never
/// contain anything a user typed.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    async fn put(&self, key: &str, bytes: Vec<u8>, mode: PutMode)
    -> Result<ObjectMeta, StoreError>;
    /// Stores a local file, streamed, as [`ObjectStore::put`] stores bytes.
    async fn put_file(
        &self,
        key: &str,
        file: LocalFile<'_>,
        mode: PutMode,
    ) -> Result<ObjectMeta, StoreError>;
    /// The bytes `range` of `key` at `version`, cut short at the object's end. Stores that
    /// can read a part read only that part; a store without versions does not check a
    /// SHA-256 version on a part (it cannot without reading the whole object), so a
    /// caller that needs the check reads the whole once ([`ObjectStore::get_version`]).
    async fn get_range(
        &self,
        key: &str,
        version: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Vec<u8>, StoreError> {
        let bytes = self.get_version(key, version).await?;
        let end = (range.end.min(bytes.len() as u64)) as usize;
        let start = (range.start as usize).min(end);
        Ok(bytes[start..end].to_vec())
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError>;
    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError>;
    /// Every object whose key starts with `prefix`, in key order.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError>;
    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError>;
    /// Deleting a missing object succeeds (S3 semantics).
    async fn delete(&self, key: &str) -> Result<(), StoreError>;

    // An original is read as its upload event named it: `version` is what the event
    // carried (an S3 version id; in a store without versions, the content's SHA-256). A
    // store with versions reads exactly that version, even after the key got a newer
    // one. The defaults are for stores without versions: where `version` is a SHA-256,
    // the current bytes must have it, or the version is NotFound (gone). An empty version
    // (a run started before reads were pinned) reads the current object.

    /// The bytes of `key` at `version`.
    async fn get_version(&self, key: &str, version: &str) -> Result<Vec<u8>, StoreError> {
        let bytes = self.get(key).await?;
        if crate::keys::is_sha256_hex(version) && crate::keys::sha256_hex(&bytes) != version {
            return Err(StoreError::ChecksumMismatch {
                what: format!("{key}: not the bytes of the version its upload named"),
            });
        }
        Ok(bytes)
    }
    /// What the store says about `key` at `version`.
    async fn head_version(&self, key: &str, _version: &str) -> Result<ObjectMeta, StoreError> {
        self.head(key).await
    }
    /// Copies `key` at `version` to `to`.
    async fn copy_version(&self, from: &str, version: &str, to: &str) -> Result<(), StoreError> {
        let bytes = self.get_version(from, version).await?;
        self.put(to, bytes, PutMode::Overwrite).await.map(|_| ())
    }
    /// The SHA-256 (hex) the store checked the bytes of `key` at `version` against when
    /// they were written (S3's `x-amz-checksum-sha256` of the whole object), if it keeps
    /// one.
    async fn recorded_sha256(
        &self,
        _key: &str,
        _version: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    // Objects rewritten in place by several writers (a patient's search index): read with
    // a tag, written back only if nobody wrote in between. S3 does both in one request
    // each (ETag, `If-None-Match` on GET, `If-Match` / `If-None-Match: *` on PUT). The
    // defaults tag an object by its SHA-256 and compare, then write: right for a store
    // with one writer, and what a test double needs.

    /// `key`'s bytes and tag; [`Tagged::Unchanged`] without its bytes when its tag is
    /// still `known`.
    async fn get_tagged(&self, key: &str, known: Option<&str>) -> Result<Tagged, StoreError> {
        let bytes = match self.get(key).await {
            Ok(b) => b,
            Err(StoreError::NotFound { .. }) => return Ok(Tagged::Absent),
            Err(e) => return Err(e),
        };
        let tag = crate::keys::sha256_hex(&bytes);
        if known == Some(tag.as_str()) {
            return Ok(Tagged::Unchanged);
        }
        Ok(Tagged::Found { bytes, tag })
    }
    /// Writes `key` if it still has the tag `expected` (`None`: if there is no object),
    /// and returns its new tag; otherwise [`StoreError::Precondition`]: someone wrote in
    /// between, read it again.
    async fn put_tagged(
        &self,
        key: &str,
        bytes: Vec<u8>,
        expected: Option<&str>,
    ) -> Result<String, StoreError> {
        let now = match self.get_tagged(key, None).await? {
            Tagged::Found { tag, .. } => Some(tag),
            _ => None,
        };
        if now.as_deref() != expected {
            return Err(StoreError::Precondition {
                what: format!("{key} changed since it was read"),
            });
        }
        let tag = crate::keys::sha256_hex(&bytes);
        self.put(key, bytes, PutMode::Overwrite).await?;
        Ok(tag)
    }
}

/// Document metadata: the item model of DESIGN.md.
#[async_trait]
pub trait MetadataStore: Send + Sync {
    /// Registers a new document; [`StoreError::AlreadyExists`] if the id is taken.
    async fn create_document(&self, doc: &DocumentRecord) -> Result<(), StoreError>;
    async fn get_document(&self, id: &str) -> Result<DocumentRecord, StoreError>;
    /// Replaces the document if the stored `version` is `doc.version - 1`; otherwise
    /// [`StoreError::Precondition`] (someone else wrote in between) or `NotFound`.
    async fn update_document(&self, doc: &DocumentRecord) -> Result<(), StoreError>;
    /// A patient's documents, newest first, `limit` at a time.
    async fn list_patient_documents(
        &self,
        patient_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<DocumentPage, StoreError>;
    /// A patient's timeline: their documents by the day each is about, newest first
    /// (the index [`crate::keys::dated_index`]), only the days `from..=to` of `days`
    /// (`YYYY-MM-DD`, either open), `limit` at a time; the cursor is the last key given.
    async fn list_patient_documents_by_date(
        &self,
        patient_id: &str,
        days: (Option<&str>, Option<&str>),
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<DocumentPage, StoreError>;
    /// What is set for a patient ([`crate::keys::patient_settings`]); the default when
    /// nothing is.
    async fn patient_settings(&self, patient_id: &str) -> Result<PatientSettings, StoreError>;
    /// Replaces what is set for a patient.
    async fn put_patient_settings(
        &self,
        patient_id: &str,
        settings: &PatientSettings,
    ) -> Result<(), StoreError>;
    /// Records `id` as the first of `patient_id`'s documents with this content (the item
    /// [`crate::keys::content_claim`]). Returns `None` if it now is, or `Some(first_id)` if
    /// another of this patient's documents claimed the content before. Another patient's
    /// claim on the same content is never seen.
    async fn claim_content(
        &self,
        patient_id: &str,
        sha256: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError>;
    /// Number of documents in each status.
    async fn count_by_status(&self) -> Result<BTreeMap<String, u64>, StoreError>;
    /// Up to `limit` documents of `region` still in flight (RECEIVED, PROCESSING) whose
    /// deadline is before `now` (RFC 3339), earliest deadline first: what the watchdog
    /// looks for. Read from the sparse in-flight index ([`crate::keys::inflight_index`]),
    /// never a scan.
    async fn overdue_documents(
        &self,
        region: &str,
        now: &str,
        limit: usize,
    ) -> Result<Vec<DocumentRecord>, StoreError>;
}

/// Care teams and the audit trail, in the same table as the documents:
/// `PATIENT#{pid}`/`MEMBER#{sub}` items (indexed by member as `MEMBER#{sub}`/`PATIENT#{pid}`)
/// and `AUDIT#{pid}`/`{id}` items (indexed by month as `AUDIT#{yyyy-mm}`/`{id}`; `-` stands
/// for requests that named no patient).
#[async_trait]
pub trait AccessStore: Send + Sync {
    /// Adding a member twice is not an error.
    async fn add_care_team_member(&self, patient_id: &str, member: &str) -> Result<(), StoreError>;
    /// [`StoreError::NotFound`] if `member` was not on the team.
    async fn remove_care_team_member(
        &self,
        patient_id: &str,
        member: &str,
    ) -> Result<(), StoreError>;
    async fn is_care_team_member(&self, patient_id: &str, member: &str)
    -> Result<bool, StoreError>;
    /// The members of a patient's care team, in order.
    async fn care_team(&self, patient_id: &str) -> Result<Vec<String>, StoreError>;
    /// The patients whose care team `member` is on, in order.
    async fn member_patients(&self, member: &str) -> Result<Vec<String>, StoreError>;
    /// Appends a record; records are never updated or deleted through this port.
    async fn append_audit(&self, record: &AuditRecord) -> Result<(), StoreError>;
    /// Newest first: one patient's records, or everyone's.
    async fn list_audit(
        &self,
        patient_id: Option<&str>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<AuditPage, StoreError>;
}

/// Starts runs of the pipeline: Step Functions in AWS, the in-process engine on one
/// machine.
#[async_trait]
pub trait Orchestrator: Send + Sync {
    /// Starts the pipeline's execution `name` on `source`. A name that is taken (the run
    /// is on its way, or was made) is not an error: names are how runs stay unique.
    async fn start(
        &self,
        source: &crate::inputs::SourceInput,
        name: &str,
    ) -> Result<(), StoreError>;
}

/// The search index: derived from the records (what [`crate::search::follow`] puts and
/// removes), so it can always be rebuilt from them and is never the only copy of
/// anything.
#[async_trait]
pub trait SearchIndex: Send + Sync {
    /// Adds a document, or replaces what the index held of it.
    async fn put(&self, entry: crate::search::IndexEntry) -> Result<(), StoreError>;
    /// Removes a document (nothing if it is not there). The patient, when known, tells an
    /// index kept per patient where to look.
    async fn remove(&self, patient_id: Option<&str>, document_id: &str) -> Result<(), StoreError>;
    /// The best documents of the request's patients for its query and filter.
    async fn search(
        &self,
        request: &crate::search::SearchRequest,
    ) -> Result<crate::search::Found, StoreError>;
}

/// Errors of an OCR engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OcrError {
    #[error("the OCR engine is throttling requests")]
    Throttled {
        #[source]
        source: Source,
    },
    #[error("the OCR engine cannot read this image: {what}")]
    InvalidInput { what: String },
    /// No slot for the call soon enough (a bulk page waiting behind patients' pages): the
    /// page goes back to its queue for later, without counting as a failure.
    #[error("deferred: no OCR slot within {seconds} s")]
    Deferred { seconds: u64 },
    #[error("the OCR engine is unavailable: {what}")]
    Unavailable {
        what: String,
        #[source]
        source: Option<Source>,
    },
}

/// Recognises the text of one page image (an 8-bit grey PNG, the page's OCR image).
#[async_trait]
pub trait OcrEngine: Send + Sync {
    fn name(&self) -> &str;
    async fn recognize(&self, png: &[u8], page: u32) -> Result<OcrPage, OcrError>;
    /// Reads a page of a patient of `region`, the prior of the page's language
    /// (`core::language::prior`). An engine that reads every language alike answers as
    /// [`OcrEngine::recognize`].
    async fn recognize_for(
        &self,
        png: &[u8],
        page: u32,
        region: Region,
    ) -> Result<OcrPage, OcrError> {
        let _ = region;
        self.recognize(png, page).await
    }
    /// The largest page image the engine takes, in bytes; larger OCR images are reduced
    /// to fit before they are sent. `None`: no limit.
    fn max_image_bytes(&self) -> Option<usize> {
        None
    }
    /// The longest side, in pixels, of a page image the engine takes; larger OCR images
    /// are reduced to fit before they are sent. `None`: no limit.
    fn max_image_side(&self) -> Option<u32> {
        None
    }
}
