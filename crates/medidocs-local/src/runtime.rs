//! The embedded runtime under one data dir:
//!
//! ```text
//! DATA_DIR/objects/…            the object store (uploads/, bulk/, artefacts/, quarantine/)
//! DATA_DIR/metadata.sqlite3     the metadata store
//! DATA_DIR/secret.key           random key: file paths → upload ids (never stored in clear)
//! DATA_DIR/token.key            random key: signs development tokens and upload URLs
//! ```

use medidocs_core::understand::Region;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hmac::{Hmac, Mac};
use medidocs_core::inputs::SourceInput;
use medidocs_core::keys;
use medidocs_core::model::Labels;
use medidocs_core::ports::{LocalFile, ObjectStore, PutMode, StoreError};
use medidocs_media::Limits;
use medidocs_pipeline::runner::Runner;
use medidocs_pipeline::steps::Steps;
use sha2::Sha256;

use crate::{FsObjectStore, SqliteMetadataStore, TesseractOcr, WorkerCommand};

/// The logical bucket of uploads in the embedded store.
pub const UPLOAD_BUCKET: &str = "local-uploads";

#[derive(Debug, Clone)]
pub struct LocalConfig {
    pub data_dir: PathBuf,
    pub limits: Limits,
    /// How to start an OCR worker (Tesseract in-process, one worker per page read at
    /// once): [`WorkerCommand::locate`] unless set.
    pub ocr_worker: WorkerCommand,
    /// Parallel work (decoding, OCR): defaults to the number of cores.
    pub workers: usize,
    /// Journal every write for replication to another region ([`crate::replication`]).
    pub journal: bool,
    /// The region name written on the documents this runtime runs (the drill's two
    /// regions have one each; a single install is `local`).
    pub region: String,
    /// How numeric dates are read for patients with no setting of their own
    /// (`MEDIDOCS_DATE_REGION`; Ireland's, day first, unless set).
    pub date_region: Region,
}

impl LocalConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            limits: Limits::default(),
            ocr_worker: WorkerCommand::locate(),
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            journal: false,
            region: medidocs_core::model::LOCAL_REGION.into(),
            date_region: Region::Ie,
        }
    }
}

pub struct LocalRuntime {
    pub config: LocalConfig,
    pub objects: Arc<FsObjectStore>,
    /// The object store the pipeline writes through (journaled when replicated).
    pub store: Arc<dyn ObjectStore>,
    pub meta: Arc<SqliteMetadataStore>,
    pub ocr: Arc<TesseractOcr>,
    secret: Vec<u8>,
}

impl LocalRuntime {
    /// Opens (and on first use creates) the data dir.
    pub fn open(config: LocalConfig) -> Result<Self, StoreError> {
        let dir = &config.data_dir;
        let secret = import_secret(dir)?;
        let objects = Arc::new(FsObjectStore::open(dir.join("objects"))?);
        let meta = Arc::new(SqliteMetadataStore::open(&dir.join("metadata.sqlite3"))?);
        let store: Arc<dyn ObjectStore> = if config.journal {
            meta.enable_journal()?;
            Arc::new(crate::replication::JournaledObjects {
                inner: objects.clone(),
                meta: meta.clone(),
            })
        } else {
            objects.clone()
        };
        let ocr = Arc::new(
            TesseractOcr::new(config.ocr_worker.clone(), config.workers)
                .with_region(config.date_region),
        );
        Ok(Self {
            config,
            objects,
            store,
            meta,
            ocr,
            secret,
        })
    }

    pub fn steps(&self) -> Steps {
        Steps::new(
            self.store.clone(),
            self.meta.clone(),
            self.ocr.clone(),
            self.config.limits,
            self.config.workers,
        )
        .with_region(self.config.region.clone())
        .with_date_region(self.config.date_region)
    }

    /// The search index of this data dir (`index/`), following its records.
    pub fn search(&self) -> Result<crate::search::LocalSearch, StoreError> {
        crate::search::LocalSearch::open(
            &self.config.data_dir,
            self.meta.clone(),
            self.objects.clone(),
        )
    }

    /// The key that signs development tokens (`medidocs token`) and local upload URLs;
    /// created on first use, readable by the data dir's owner only.
    pub fn token_key(&self) -> Result<Vec<u8>, StoreError> {
        load_or_create_secret(&self.config.data_dir.join("token.key"))
    }

    /// Runs documents through the pipeline's state machine, on the wall clock.
    pub fn runner(&self) -> Runner {
        Runner::new(self.steps(), Arc::new(medidocs_states::SystemClock))
    }

    /// Copies a local file into the upload area, as a patient's upload would arrive, and
    /// returns the source to run. The upload id is a keyed hash of the file's path and
    /// content: the same file gives the same id (so a second run finds its document), and
    /// the path, which may itself be medical data, never appears in a key.
    pub async fn ingest(&self, file: &Path, patient_id: &str) -> Result<SourceInput, IngestError> {
        keys::validate_patient_id(patient_id).map_err(IngestError::Patient)?;
        let id = self.identify(file).await?;
        self.place(&id, keys::upload_key(patient_id, &id.upload_id))
            .await
    }

    /// [`identify`], off the async threads.
    async fn identify(&self, file: &Path) -> Result<FileIdentity, IngestError> {
        let (secret, file) = (self.secret.clone(), file.to_path_buf());
        tokio::task::spawn_blocking(move || identify(&secret, &file))
            .await
            .map_err(|e| IngestError::Store(StoreError::unavailable("reading a file", e)))?
    }

    /// As [`Self::ingest`], for a bulk import: the original goes under `bulk/`, with the
    /// staff's labels (if any) next to it, where the inspect step reads them.
    pub async fn ingest_bulk(
        &self,
        file: &Path,
        patient_id: &str,
        labels: &Labels,
    ) -> Result<SourceInput, IngestError> {
        keys::validate_patient_id(patient_id).map_err(IngestError::Patient)?;
        let id = self.identify(file).await?;
        let source = self
            .place(&id, keys::bulk_key(patient_id, &id.upload_id))
            .await?;
        if let (false, Some(key)) = (labels.is_empty(), keys::labels_key(&source.key)) {
            let json = serde_json::to_vec(labels)
                .map_err(|e| IngestError::Store(StoreError::unavailable("labels", e)))?;
            match self.store.put(&key, json, PutMode::Create).await {
                Ok(_) | Err(StoreError::AlreadyExists { .. }) => {}
                Err(e) => return Err(IngestError::Store(e)),
            }
        }
        Ok(source)
    }

    /// Stores the original once, through the pipeline's store (journaled when
    /// replicated), checked against the hash it was identified by.
    async fn place(&self, id: &FileIdentity, key: String) -> Result<SourceInput, IngestError> {
        let file = LocalFile {
            path: &id.canonical,
            sha256: Some(&id.sha256),
        };
        // Already there (the same file, run again): not copied again.
        let there = match self.store.head(&key).await {
            Ok(_) => true,
            Err(StoreError::NotFound { .. }) => false,
            Err(e) => return Err(IngestError::Store(e)),
        };
        if !there {
            match self.store.put_file(&key, file, PutMode::Create).await {
                Ok(_) | Err(StoreError::AlreadyExists { .. }) => {}
                Err(e) => return Err(IngestError::Store(e)),
            }
        }
        Ok(SourceInput {
            bucket: UPLOAD_BUCKET.into(),
            key,
            version: id.sha256.clone(),
            execution: None,
        })
    }
}

/// A local file as an import sees it.
#[derive(Debug, Clone)]
pub struct FileIdentity {
    pub canonical: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    /// A keyed hash of the canonical path and the content (32 hex characters).
    pub upload_id: String,
}

/// Reads `file` once (streamed) for its content hash and upload id, keyed with `secret`
/// ([`import_secret`]).
pub fn identify(secret: &[u8], file: &Path) -> Result<FileIdentity, IngestError> {
    let canonical =
        std::fs::canonicalize(file).map_err(|e| IngestError::Read(file.to_path_buf(), e))?;
    let (sha256, bytes) =
        sha256_file(&canonical).map_err(|e| IngestError::Read(file.to_path_buf(), e))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .map_err(|e| IngestError::Store(StoreError::unavailable("key", e.to_string())))?;
    mac.update(canonical.as_os_str().as_encoded_bytes());
    mac.update(b"\0");
    mac.update(sha256.as_bytes());
    let upload_id = hex::encode(&mac.finalize().into_bytes()[..16]);
    Ok(FileIdentity {
        canonical,
        sha256,
        bytes,
        upload_id,
    })
}

/// The key of upload ids (`DATA_DIR/secret.key`), creating the data dir and the key on
/// first use. An import rerun with the same data dir finds the same ids, so nothing is
/// uploaded twice.
pub fn import_secret(data_dir: &Path) -> Result<Vec<u8>, StoreError> {
    crate::private::secure_data_dir(data_dir)?;
    load_or_create_secret(&data_dir.join("secret.key"))
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("invalid patient id: {0}")]
    Patient(String),
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error(transparent)]
    Store(StoreError),
}

pub(crate) fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    keys::sha256_reader(std::fs::File::open(path)?)
}

/// The key is published whole or not at all: written and synced under a name of its own,
/// then hard-linked to its name (`secret.key`, `token.key`), which fails if another process published one first.
/// A process that reads the key never sees it half written, and two processes starting on
/// a new data dir at once (an import and a `status` beside it) end up with the same key.
fn load_or_create_secret(path: &Path) -> Result<Vec<u8>, StoreError> {
    let read = || match std::fs::read(path) {
        Ok(k) if k.len() >= 32 => Ok(Some(k)),
        Ok(_) => Err(StoreError::unavailable(
            format!("{} is damaged", path.display()),
            "secret too short",
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::unavailable(
            format!("cannot read {}", path.display()),
            e,
        )),
    };
    if let Some(k) = read()? {
        return Ok(k);
    }
    let key: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
        .iter()
        .flat_map(|u| u.into_bytes())
        .collect();
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let staged = path.with_file_name(format!(".{name}.{}", uuid::Uuid::new_v4().simple()));
    let publish = || -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&staged)?;
        f.write_all(&key)?;
        f.sync_all()?;
        std::fs::hard_link(&staged, path)
    };
    let published = publish();
    let _ = std::fs::remove_file(&staged);
    match published {
        Ok(()) => {
            if let Some(dir) = path.parent() {
                let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
            }
            Ok(key)
        }
        // Another process published its key first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read()?.ok_or_else(|| {
            StoreError::unavailable(
                format!("cannot read {}", path.display()),
                "it vanished after it was created",
            )
        }),
        Err(e) => Err(StoreError::unavailable(
            format!("cannot write {}", path.display()),
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_starting_on_a_new_data_dir_at_once_share_one_whole_key() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("secret.key");
            let keys: Vec<Vec<u8>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|_| s.spawn(|| load_or_create_secret(&path)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap().unwrap())
                    .collect()
            });
            assert!(keys.iter().all(|k| k.len() == 32 && *k == keys[0]));
            assert_eq!(std::fs::read(&path).unwrap(), keys[0]);
            // No staged copy is left beside it.
            let names: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, ["secret.key"]);
        }
    }

    #[test]
    fn a_damaged_key_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        std::fs::write(&path, b"short").unwrap();
        let e = load_or_create_secret(&path).unwrap_err().to_string();
        assert!(e.contains("damaged"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), b"short");
    }
}
