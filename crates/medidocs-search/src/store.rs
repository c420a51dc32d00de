//! The index behind the core's port: tantivy's work on a blocking thread.

use std::sync::Arc;

use async_trait::async_trait;
use medidocs_core::ports::{MetadataStore, ObjectStore, SearchIndex, StoreError};
use medidocs_core::search::{Found, IndexEntry, SearchRequest, entry_for};

use crate::{Change, TextIndex};

/// A [`TextIndex`] shared by the tasks of a process: each write is its own commit.
#[derive(Clone)]
pub struct SharedIndex(pub Arc<TextIndex>);

impl SharedIndex {
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&TextIndex) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let index = self.0.clone();
        tokio::task::spawn_blocking(move || f(&index))
            .await
            .map_err(|e| StoreError::unavailable("the search index", e))?
    }
}

#[async_trait]
impl SearchIndex for SharedIndex {
    async fn put(&self, entry: IndexEntry) -> Result<(), StoreError> {
        self.run(move |i| i.apply(vec![Change::Put(Box::new(entry))], false))
            .await
    }

    async fn remove(&self, _patient: Option<&str>, document_id: &str) -> Result<(), StoreError> {
        let id = document_id.to_string();
        self.run(move |i| i.apply(vec![Change::Remove(id)], false))
            .await
    }

    async fn search(&self, request: &SearchRequest) -> Result<Found, StoreError> {
        let request = request.clone();
        self.run(move |i| i.search(&request)).await
    }
}

/// How many OCR models [`RecordsIndex`] reads at once.
const READ_AT_ONCE: usize = 16;

/// At most this many documents per patient are read by [`RecordsIndex`].
pub const RECORDS_INDEX_MAX_DOCUMENTS: usize = 2_000;

/// An index made for each search from the records themselves: the patients' READY
/// documents and their OCR models, indexed in memory, then searched. Nothing is kept, so
/// nothing can fall behind; each search pays for reading the models. The same answers
/// as a kept index (the same [`TextIndex`]), for the runtimes that keep none.
pub struct RecordsIndex {
    pub meta: Arc<dyn MetadataStore>,
    pub objects: Arc<dyn ObjectStore>,
}

#[async_trait]
impl SearchIndex for RecordsIndex {
    async fn put(&self, _entry: IndexEntry) -> Result<(), StoreError> {
        Ok(())
    }

    async fn remove(&self, _patient: Option<&str>, _document_id: &str) -> Result<(), StoreError> {
        Ok(())
    }

    async fn search(&self, request: &SearchRequest) -> Result<Found, StoreError> {
        let entries =
            records_of(self.meta.as_ref(), self.objects.as_ref(), &request.patients).await?;
        let request = request.clone();
        tokio::task::spawn_blocking(move || TextIndex::from_entries(entries)?.search(&request))
            .await
            .map_err(|e| StoreError::unavailable("the search index", e))?
    }
}

/// What an index of `patients` holds, read from the records: their READY documents (at
/// most [`RECORDS_INDEX_MAX_DOCUMENTS`] each, newest first) and their OCR models, read a
/// few at a time (each is one GET in S3).
pub async fn records_of(
    meta: &dyn MetadataStore,
    objects: &dyn ObjectStore,
    patients: &[String],
) -> Result<Vec<IndexEntry>, StoreError> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    let mut docs = Vec::new();
    for pid in patients {
        let mut cursor: Option<String> = None;
        let mut read = 0;
        loop {
            let page = meta
                .list_patient_documents(pid, 100, cursor.as_deref())
                .await?;
            read += page.documents.len();
            docs.extend(page.documents);
            cursor = page.next;
            if cursor.is_none() || read >= RECORDS_INDEX_MAX_DOCUMENTS {
                break;
            }
        }
    }
    let entries: Vec<Option<IndexEntry>> = stream::iter(docs)
        .map(|doc| async move {
            match entry_for(objects, &doc).await {
                // A READY document whose OCR model is gone cannot be searched; the others
                // still can.
                Err(StoreError::NotFound { .. }) => {
                    tracing::warn!(document = %doc.id, "an OCR model is missing: not searched");
                    Ok(None)
                }
                other => other,
            }
        })
        .buffered(READ_AT_ONCE)
        .try_collect()
        .await?;
    Ok(entries.into_iter().flatten().collect())
}
