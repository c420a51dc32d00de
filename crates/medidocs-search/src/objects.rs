//! One index per patient, each one object in an object store (`index/{patient}/search-v1`
//! in the artefact bucket): what the AWS runtime searches (docs/deploy.md, "Search: where
//! the index lives").
//!
//! Written by one kind of caller, the indexer (on the table's stream): read the object
//! with its tag, apply the changes, write it back only if its tag is still the one read
//! (S3's `If-Match`); another indexer writing in between (two documents of one patient
//! finishing at once) makes this one read again. A patient without an object, or with
//! one this version cannot read, gets one made from the records, so the first change of
//! a patient also indexes every document from before.
//!
//! Read by the searches: each patient's object is kept in memory while its tag holds (a
//! GET with `If-None-Match` is all a repeated search costs), at most [`CACHE_BYTES`] of
//! them; a patient whose object is not there yet is indexed from the records for that
//! search, as [`crate::RecordsIndex`] does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{self, StreamExt, TryStreamExt};
use medidocs_core::keys;
use medidocs_core::ports::{MetadataStore, ObjectStore, SearchIndex, StoreError, Tagged};
use medidocs_core::search::{Found, IndexEntry, SearchRequest};

use crate::{Change, TextIndex, records_of};

/// How many patients' objects a search reads at once.
const LOAD_AT_ONCE: usize = 8;
/// How many times an update reads and writes again when other writers keep coming
/// between its read and its write.
const ATTEMPTS: u32 = 8;
/// The most a process keeps of the objects it read (their packed size); the least
/// recently searched go first.
pub const CACHE_BYTES: usize = 128 * 1024 * 1024;

struct Cached {
    tag: String,
    index: Arc<TextIndex>,
    size: usize,
    used: u64,
}

#[derive(Default)]
struct Cache {
    patients: HashMap<String, Cached>,
    bytes: usize,
    clock: u64,
}

impl Cache {
    fn get(&mut self, patient: &str) -> Option<(String, Arc<TextIndex>)> {
        self.clock += 1;
        let now = self.clock;
        self.patients.get_mut(patient).map(|c| {
            c.used = now;
            (c.tag.clone(), c.index.clone())
        })
    }

    fn put(&mut self, patient: &str, tag: String, index: Arc<TextIndex>, size: usize, cap: usize) {
        self.forget(patient);
        if size > cap {
            return;
        }
        while self.bytes + size > cap {
            let Some(oldest) = self
                .patients
                .iter()
                .min_by_key(|(_, c)| c.used)
                .map(|(p, _)| p.clone())
            else {
                break;
            };
            self.forget(&oldest);
        }
        self.clock += 1;
        self.bytes += size;
        self.patients.insert(
            patient.to_string(),
            Cached {
                tag,
                index,
                size,
                used: self.clock,
            },
        );
    }

    fn forget(&mut self, patient: &str) {
        if let Some(c) = self.patients.remove(patient) {
            self.bytes -= c.size;
        }
    }
}

/// What an update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated {
    /// Documents in the patient's index after it.
    pub documents: u64,
    /// Whether the index was made from the records (no object, or one not readable).
    pub made_from_records: bool,
    /// How many times another writer came in between.
    pub conflicts: u32,
    /// The object's size.
    pub bytes: usize,
}

/// The patients' indexes in an object store.
pub struct PatientIndexes {
    meta: Arc<dyn MetadataStore>,
    objects: Arc<dyn ObjectStore>,
    cache: Mutex<Cache>,
    cache_bytes: usize,
}

/// Runs index work on a blocking thread (tantivy is synchronous).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::unavailable("the search index", e))?
}

impl PatientIndexes {
    pub fn new(meta: Arc<dyn MetadataStore>, objects: Arc<dyn ObjectStore>) -> Self {
        Self::with_cache(meta, objects, CACHE_BYTES)
    }

    /// With a cache of at most `cache_bytes`.
    pub fn with_cache(
        meta: Arc<dyn MetadataStore>,
        objects: Arc<dyn ObjectStore>,
        cache_bytes: usize,
    ) -> Self {
        Self {
            meta,
            objects,
            cache: Mutex::new(Cache::default()),
            cache_bytes,
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An index of `patient` made from the records.
    async fn index_from_records(&self, patient: &str) -> Result<TextIndex, StoreError> {
        let entries = records_of(
            self.meta.as_ref(),
            self.objects.as_ref(),
            &[patient.to_string()],
        )
        .await?;
        blocking(move || TextIndex::from_entries(entries)).await
    }

    /// Applies `changes` to `patient`'s index object (all of one patient), writing it
    /// back only over the object it read; `rebuild` makes it from the records whatever
    /// the object holds.
    pub async fn update(
        &self,
        patient: &str,
        changes: Vec<Change>,
        rebuild: bool,
    ) -> Result<Updated, StoreError> {
        self.write(patient, changes, rebuild).await.map_err(hide)
    }

    async fn write(
        &self,
        patient: &str,
        changes: Vec<Change>,
        rebuild: bool,
    ) -> Result<Updated, StoreError> {
        keys::validate_patient_id(patient).map_err(|what| StoreError::InvalidInput { what })?;
        if let Some(c) = changes.iter().find_map(|c| match c {
            Change::Put(e) if e.patient_id != patient => Some(e.document_id.clone()),
            _ => None,
        }) {
            return Err(StoreError::InvalidInput {
                what: format!("document {c} is not of patient {patient}"),
            });
        }
        let key = keys::patient_index(patient, crate::SCHEMA_VERSION);
        let mut conflicts = 0;
        loop {
            let (bytes, tag) = match self.objects.get_tagged(&key, None).await? {
                Tagged::Found { bytes, tag } => (Some(bytes), Some(tag)),
                Tagged::Absent | Tagged::Unchanged => (None, None),
            };
            let opened = match bytes.filter(|_| !rebuild) {
                Some(b) => match blocking(move || TextIndex::from_bytes(&b)).await {
                    Ok(index) => Some(index),
                    Err(e) => {
                        tracing::warn!(
                            error = e.code(),
                            "a patient's search index cannot be read: made again from the records"
                        );
                        None
                    }
                },
                None => None,
            };
            let made_from_records = opened.is_none();
            let index = match opened {
                Some(i) => i,
                None => self.index_from_records(patient).await?,
            };
            let batch = changes.clone();
            let (index, packed) = blocking(move || {
                index.apply(batch, false)?;
                // What was removed or replaced must leave the object, not only be marked.
                index.compact()?;
                let packed = index.to_bytes()?;
                Ok((index, packed))
            })
            .await?;
            let size = packed.len();
            match self.objects.put_tagged(&key, packed, tag.as_deref()).await {
                Ok(new_tag) => {
                    let documents = index.len();
                    self.cache()
                        .put(patient, new_tag, Arc::new(index), size, self.cache_bytes);
                    return Ok(Updated {
                        documents,
                        made_from_records,
                        conflicts,
                        bytes: size,
                    });
                }
                Err(StoreError::Precondition { .. }) if conflicts + 1 < ATTEMPTS => {
                    conflicts += 1;
                    tokio::time::sleep(backoff(conflicts)).await;
                }
                Err(StoreError::Precondition { .. }) => {
                    return Err(StoreError::Precondition {
                        what: format!("{ATTEMPTS} writers came in between"),
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `patient`'s index for a search: the cached one while its tag holds, the object
    /// otherwise, or (no readable object yet) one made from the records for this search.
    async fn for_search(&self, patient: &str) -> Result<Arc<TextIndex>, StoreError> {
        let key = keys::patient_index(patient, crate::SCHEMA_VERSION);
        let cached = self.cache().get(patient);
        let known = cached.as_ref().map(|(t, _)| t.as_str());
        match self.objects.get_tagged(&key, known).await? {
            Tagged::Unchanged => {
                if let Some((_, index)) = cached {
                    return Ok(index);
                }
            }
            Tagged::Found { bytes, tag } => {
                let size = bytes.len();
                match blocking(move || TextIndex::from_bytes(&bytes)).await {
                    Ok(index) => {
                        let index = Arc::new(index);
                        self.cache()
                            .put(patient, tag, index.clone(), size, self.cache_bytes);
                        return Ok(index);
                    }
                    Err(e) => {
                        tracing::warn!(
                            error = e.code(),
                            "a patient's search index cannot be read: searching the records"
                        );
                    }
                }
            }
            Tagged::Absent => {}
        }
        self.cache().forget(patient);
        Ok(Arc::new(self.index_from_records(patient).await?))
    }
}

/// The same error without what it names (a key with the patient's id in it, a
/// patient's partition): an index's errors reach logs and API problems.
fn hide(e: StoreError) -> StoreError {
    let what = "a patient's search index".to_string();
    match e {
        StoreError::NotFound { .. } => StoreError::NotFound { what },
        StoreError::AlreadyExists { .. } => StoreError::AlreadyExists { what },
        StoreError::Precondition { .. } => StoreError::Precondition { what },
        StoreError::InvalidInput { .. } => StoreError::InvalidInput { what },
        StoreError::ChecksumMismatch { .. } => StoreError::ChecksumMismatch { what },
        StoreError::Unavailable { source, .. } => StoreError::Unavailable { what, source },
        other => other,
    }
}

/// A short wait that grows, with jitter so two writers part.
fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    let base = 20u64 << attempt.min(6);
    Duration::from_millis(base + h.finish() % base)
}

#[async_trait]
impl SearchIndex for PatientIndexes {
    async fn put(&self, entry: IndexEntry) -> Result<(), StoreError> {
        let patient = entry.patient_id.clone();
        self.update(&patient, vec![Change::Put(Box::new(entry))], false)
            .await
            .map(|_| ())
    }

    async fn remove(&self, patient: Option<&str>, document_id: &str) -> Result<(), StoreError> {
        let Some(patient) = patient else {
            return Err(StoreError::InvalidInput {
                what: format!("removing {document_id} from a patient's index needs its patient"),
            });
        };
        self.update(
            patient,
            vec![Change::Remove(document_id.to_string())],
            false,
        )
        .await
        .map(|_| ())
    }

    /// Each patient's index searched, the best documents of all of them kept. (Scores
    /// are each index's BM25: a word rare in one patient's documents counts more there.)
    async fn search(&self, request: &SearchRequest) -> Result<Found, StoreError> {
        let indexes: Vec<Arc<TextIndex>> = stream::iter(request.patients.clone())
            .map(|p| async move { self.for_search(&p).await.map_err(hide) })
            .buffered(LOAD_AT_ONCE)
            .try_collect()
            .await?;
        let request = request.clone();
        blocking(move || {
            let mut all = Found::default();
            for index in indexes {
                let found = index.search(&request)?;
                all.total += found.total;
                all.matches.extend(found.matches);
            }
            all.matches.sort_by(|a, b| {
                b.score
                    .total_cmp(&a.score)
                    .then_with(|| a.document_id.cmp(&b.document_id))
            });
            all.matches
                .truncate(request.limit.clamp(1, medidocs_core::search::MAX_RESULTS));
            Ok(all)
        })
        .await
    }
}
