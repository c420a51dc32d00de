//! The embedded search index: a tantivy index in the data dir (`index/v{N}/`), brought up
//! to the records from the SQLite outbox before each search, and rebuilt from the records
//! when it is new (a data dir from before the index, a schema change) or asked to
//! (`medidocs reindex`).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use medidocs_core::ports::{ObjectStore, SearchIndex, StoreError};
use medidocs_core::search::{Found, IndexEntry, SearchRequest, entry_for};
use medidocs_search::{Change, SCHEMA_VERSION, SharedIndex, TextIndex};

use crate::SqliteMetadataStore;

/// Changes taken from the outbox, and documents indexed, per commit.
const BATCH: usize = 200;

pub struct LocalSearch {
    index: SharedIndex,
    meta: Arc<SqliteMetadataStore>,
    objects: Arc<dyn ObjectStore>,
    /// The index was made empty here: it is filled from every record first.
    fresh: AtomicBool,
    /// One catch-up at a time in this process.
    catching_up: tokio::sync::Mutex<()>,
}

impl LocalSearch {
    /// Opens the index under `data_dir/index/`; indexes of other schema versions there
    /// are removed (they are made again from the records).
    pub fn open(
        data_dir: &Path,
        meta: Arc<SqliteMetadataStore>,
        objects: Arc<dyn ObjectStore>,
    ) -> Result<Self, StoreError> {
        let root = data_dir.join("index");
        let dir = root.join(format!("v{SCHEMA_VERSION}"));
        let fresh = !dir.join("meta.json").exists();
        if let Ok(entries) = std::fs::read_dir(&root) {
            for e in entries.flatten() {
                if e.path() != dir {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| StoreError::unavailable("the search index's folder", e))?;
        crate::private::tighten_path(&root)?;
        crate::private::tighten_path(&dir)?;
        let index = TextIndex::open(&dir)?;
        Ok(Self {
            index: SharedIndex(Arc::new(index)),
            meta,
            objects,
            fresh: AtomicBool::new(fresh),
            catching_up: tokio::sync::Mutex::new(()),
        })
    }

    /// How many documents the index holds.
    pub async fn documents(&self) -> Result<u64, StoreError> {
        self.index.run(|i| i.refresh().map(|_| i.len())).await
    }

    /// Brings the index up to every record written since it last caught up; returns how
    /// many changes it applied. Another process writing the index at the same time is
    /// not an error: it is catching up too, and the outbox keeps what neither finished.
    pub async fn catch_up(&self) -> Result<usize, StoreError> {
        let _one = self.catching_up.lock().await;
        if self.fresh.load(Ordering::SeqCst) {
            let n = self.rebuild_locked().await?;
            self.fresh.store(false, Ordering::SeqCst);
            return Ok(n);
        }
        let mut applied = 0;
        loop {
            let rows = self.meta.search_outbox(BATCH).await?;
            let Some(last) = rows.last().map(|r| r.0) else {
                break;
            };
            let mut ids: Vec<String> = rows.into_iter().map(|r| r.1).collect();
            ids.sort();
            ids.dedup();
            let mut changes = Vec::with_capacity(ids.len());
            for id in ids {
                changes.push(match self.meta_entry(&id).await? {
                    Some(e) => Change::Put(Box::new(e)),
                    None => Change::Remove(id),
                });
            }
            applied += changes.len();
            self.index.run(move |i| i.apply(changes, false)).await?;
            self.meta.clear_search_outbox(last).await?;
        }
        self.index.run(|i| i.refresh()).await?;
        Ok(applied)
    }

    /// Empties the index and fills it from every record (`medidocs reindex`); returns
    /// how many documents it holds.
    pub async fn rebuild(&self) -> Result<usize, StoreError> {
        let _one = self.catching_up.lock().await;
        let n = self.rebuild_locked().await?;
        self.fresh.store(false, Ordering::SeqCst);
        Ok(n)
    }

    async fn rebuild_locked(&self) -> Result<usize, StoreError> {
        // Changes written from here on are caught up later; those before are read now.
        let upto = self.meta.last_search_change().await?;
        let docs = self.meta.all_documents().await?;
        let mut clear = true;
        let mut count = 0;
        for chunk in docs.chunks(BATCH) {
            let mut changes = Vec::new();
            for doc in chunk {
                if let Some(e) = entry_for(self.objects.as_ref(), doc).await? {
                    changes.push(Change::Put(Box::new(e)));
                }
            }
            count += changes.len();
            self.index.run(move |i| i.apply(changes, clear)).await?;
            clear = false;
        }
        if clear {
            self.index.run(|i| i.apply(Vec::new(), true)).await?;
        }
        self.meta.clear_search_outbox(upto).await?;
        tracing::info!(documents = count, "search index rebuilt from the records");
        Ok(count)
    }

    async fn meta_entry(&self, id: &str) -> Result<Option<IndexEntry>, StoreError> {
        match medidocs_core::ports::MetadataStore::get_document(self.meta.as_ref(), id).await {
            Ok(doc) => entry_for(self.objects.as_ref(), &doc).await,
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl SearchIndex for LocalSearch {
    async fn put(&self, entry: IndexEntry) -> Result<(), StoreError> {
        self.index.put(entry).await
    }

    async fn remove(&self, patient: Option<&str>, document_id: &str) -> Result<(), StoreError> {
        self.index.remove(patient, document_id).await
    }

    /// Searches the index once it holds every record written so far. If another process
    /// is writing the index, what it has committed is searched.
    async fn search(&self, request: &SearchRequest) -> Result<Found, StoreError> {
        match self.catch_up().await {
            Ok(_) => {}
            Err(StoreError::Precondition { what }) => {
                tracing::info!(%what, "search index busy; searching what is committed");
                self.index.run(|i| i.refresh()).await?;
            }
            Err(e) => return Err(e),
        }
        self.index.search(request).await
    }
}
