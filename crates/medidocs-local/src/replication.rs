//! Two data dirs as two regions, replicated asynchronously both ways, as S3 cross-region
//! replication and a DynamoDB global table replicate the AWS deployment.
//!
//! A replicated region journals every object and item it writes ([`JournaledObjects`], the
//! SQLite store's triggers). A [`Replicator`] follows one region's journal into the other:
//! objects are copied as files, items applied under the conflict rule
//! ([`medidocs_core::replication`]) with the cursor moved in the same transaction, so
//! each change applies once. A document's objects are copied before its record, so a
//! region never holds a record that points at an object it lacks. Replicated writes are
//! not journaled in the receiving region, so nothing travels back. The lag of every
//! change (written at the source → applied here) is recorded.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use medidocs_core::keys;
use medidocs_core::model::DocumentRecord;
use medidocs_core::ports::{LocalFile, ObjectMeta, ObjectStore, PutMode, StoreError};

use crate::sqlite::{Change, ItemRow};
use crate::{FsObjectStore, SqliteMetadataStore};

/// The object store of a replicated region: every write of the record is journaled after
/// it lands (intermediates under `work/` are not replicated).
pub struct JournaledObjects {
    pub inner: Arc<FsObjectStore>,
    pub meta: Arc<SqliteMetadataStore>,
}

#[async_trait]
impl ObjectStore for JournaledObjects {
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        mode: PutMode,
    ) -> Result<ObjectMeta, StoreError> {
        let out = self.inner.put(key, bytes, mode).await?;
        if keys::is_kept(key) {
            self.meta.journal_object(key).await?;
        }
        Ok(out)
    }
    async fn put_file(
        &self,
        key: &str,
        file: LocalFile<'_>,
        mode: PutMode,
    ) -> Result<ObjectMeta, StoreError> {
        let out = self.inner.put_file(key, file, mode).await?;
        if keys::is_kept(key) {
            self.meta.journal_object(key).await?;
        }
        Ok(out)
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.inner.get(key).await
    }
    async fn get_range(
        &self,
        key: &str,
        version: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Vec<u8>, StoreError> {
        self.inner.get_range(key, version, range).await
    }
    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        self.inner.head(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.inner.list(prefix).await
    }
    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.inner.copy(from, to).await?;
        if keys::is_kept(to) {
            self.meta.journal_object(to).await?;
        }
        Ok(())
    }
    /// Deletes are not replicated (as S3 replication is set up: no delete markers), and
    /// only intermediates under `work/` are ever deleted.
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
}

/// One region as replication sees it.
#[derive(Clone)]
pub struct Region {
    pub name: String,
    pub objects: Arc<FsObjectStore>,
    pub meta: Arc<SqliteMetadataStore>,
}

/// What one pass applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    pub changes: usize,
    pub objects_copied: usize,
    /// Documents whose incoming copy lost to this region's by the conflict rule.
    pub kept: usize,
}

/// Follows `from`'s journal into `to`.
pub struct Replicator {
    pub from: Region,
    pub to: Region,
    lag_ms: Mutex<Vec<u64>>,
    kept: std::sync::atomic::AtomicUsize,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The objects a document record points at.
fn referenced(doc: &DocumentRecord) -> Vec<String> {
    let mut keys = vec![doc.source.key.clone()];
    keys.extend(doc.renditions.iter().map(|r| r.key.clone()));
    keys.extend(doc.text_key.iter().cloned());
    keys.extend(doc.ocr_key.iter().cloned());
    keys
}

impl Replicator {
    pub fn new(from: Region, to: Region) -> Self {
        Self {
            from,
            to,
            lag_ms: Mutex::new(Vec::new()),
            kept: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Copies `key` as it is in `from` now (absent there: removed here). Whether it copied.
    fn copy_object(&self, key: &str, only_if_missing: bool) -> Result<bool, StoreError> {
        let src = self.from.objects.path_of(key)?;
        let dst = self.to.objects.path_of(key)?;
        if !src.exists() {
            if !only_if_missing && dst.exists() {
                std::fs::remove_file(&dst)
                    .map_err(|e| StoreError::unavailable("replication: removing an object", e))?;
            }
            return Ok(false);
        }
        if only_if_missing && dst.exists() {
            return Ok(false);
        }
        let file = LocalFile {
            path: &src,
            sha256: None,
        };
        self.to
            .objects
            .put_file_now(key, file, PutMode::Overwrite)?;
        Ok(true)
    }

    /// Applies up to `batch` changes; how many there were.
    pub async fn pass(&self, batch: usize) -> Result<Pass, StoreError> {
        let cursor = self.to.meta.cursor(&self.from.name).await?;
        let changes = self.from.meta.changes_after(cursor, batch).await?;
        let mut pass = Pass::default();
        for change in &changes {
            match change {
                Change::Object { seq, key, .. } => {
                    if self.copy_object(key, false)? {
                        pass.objects_copied += 1;
                    }
                    self.to.meta.set_cursor(&self.from.name, *seq).await?;
                }
                Change::Item { seq, pk, sk, .. } => {
                    let row: Option<ItemRow> = self.from.meta.read_item(pk, sk).await?;
                    if let Some(r) = row.as_ref().filter(|r| r.sk == keys::DOCUMENT_SORT)
                        && let Ok(doc) = serde_json::from_str::<DocumentRecord>(&r.data)
                    {
                        for key in referenced(&doc) {
                            if self.copy_object(&key, true)? {
                                pass.objects_copied += 1;
                            }
                        }
                    }
                    let applied = self
                        .to
                        .meta
                        .apply_replicated(&self.from.name, *seq, pk, sk, row)
                        .await?;
                    if applied == crate::sqlite::Applied::Kept && sk == keys::DOCUMENT_SORT {
                        pass.kept += 1;
                        self.kept.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
            let lag = (now_ms() - change.at_ms()).max(0) as u64;
            if let Ok(mut l) = self.lag_ms.lock() {
                l.push(lag);
            }
            pass.changes += 1;
        }
        Ok(pass)
    }

    /// Replicates until `from`'s journal is applied up to what it was when called.
    pub async fn catch_up(&self) -> Result<(), StoreError> {
        let target = self.from.meta.last_change().await?;
        while self.to.meta.cursor(&self.from.name).await? < target {
            if self.pass(500).await?.changes == 0 {
                break;
            }
        }
        Ok(())
    }

    /// Runs passes every `interval` until the task is dropped or aborted.
    pub async fn run(self: Arc<Self>, interval: Duration) {
        loop {
            match self.pass(500).await {
                Ok(p) if p.changes > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "replication pass failed; retrying"),
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// Documents whose incoming copy lost to this region's, so far.
    pub fn kept(&self) -> usize {
        self.kept.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every change's lag so far, in milliseconds.
    pub fn lags_ms(&self) -> Vec<u64> {
        self.lag_ms.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// What [`reconcile`] did.
#[derive(Debug, Clone, Default)]
pub struct Reconciled {
    /// Originals looked at.
    pub checked: usize,
    /// Documents run to their final status here, with whether the run did the work.
    pub runs: Vec<(String, bool, medidocs_core::model::Status)>,
}

/// Brings every original a region holds to a final status: run in the region that took
/// over after a failure (and again in the failed region once it is back and replication
/// has caught up). Documents without a final record, whether the failure interrupted
/// them (RECEIVED, PROCESSING, in either region) or they arrived by replication with no
/// record at all, run again here as a new attempt owned by this region
/// ([`medidocs_core::watchdog::reconcile_row`]): a run the failed region still holds is
/// superseded, and changes nothing if that region comes back. Final documents are left
/// alone.
pub async fn reconcile(
    rt: &crate::LocalRuntime,
    runner: &medidocs_pipeline::runner::Runner,
) -> Result<Reconciled, StoreError> {
    let mut out = Reconciled::default();
    for prefix in medidocs_core::keys::ORIGINAL_PREFIXES {
        for object in rt.objects.list(prefix).await? {
            if medidocs_core::keys::parse_original(&object.key).is_none() {
                continue;
            }
            out.checked += 1;
            let path = rt.objects.path_of(&object.key)?;
            let (sha, _) = crate::runtime::sha256_file(&path)
                .map_err(|e| StoreError::unavailable("reconcile: reading an original", e))?;
            let source = medidocs_core::inputs::SourceInput {
                bucket: crate::UPLOAD_BUCKET.into(),
                key: object.key.clone(),
                version: sha,
                execution: None,
            };
            let row = medidocs_core::watchdog::reconcile_row(
                rt.meta.as_ref(),
                &source,
                &rt.config.region,
                time::OffsetDateTime::now_utc(),
            )
            .await?;
            let Some(row) = row else { continue };
            let o = runner
                .run_named(&source, &row[4])
                .await
                .map_err(|e| StoreError::unavailable("reconcile: a pipeline run", e.to_string()))?;
            out.runs.push((o.record.id, o.processed, o.record.status));
        }
    }
    Ok(out)
}
