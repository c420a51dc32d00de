//! The embedded runtime under one data dir:
//!
//! ```text
//! DATA_DIR/objects/…            the object store (uploads/, artefacts/, quarantine/)
//! DATA_DIR/metadata.sqlite3     the metadata store
//! DATA_DIR/secret.key           random key: file paths → upload ids (never stored in clear)
//! DATA_DIR/token.key            random key: signs development tokens and upload URLs
//! ```

use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hmac::{Hmac, Mac};
use medidocs_core::keys;
use medidocs_core::media::Limits;
use medidocs_core::ports::StoreError;
use medidocs_core::runner::Runner;
use medidocs_core::steps::{SourceInput, Steps};
use sha2::{Digest, Sha256};

use crate::{FsObjectStore, SqliteMetadataStore, TesseractOcr};

/// The logical bucket of uploads in the embedded store.
pub const UPLOAD_BUCKET: &str = "local-uploads";

#[derive(Debug, Clone)]
pub struct LocalConfig {
    pub data_dir: PathBuf,
    pub limits: Limits,
    pub tesseract: PathBuf,
    pub lang: String,
    /// Parallel work (decoding, OCR): defaults to the number of cores.
    pub workers: usize,
}

impl LocalConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            limits: Limits::default(),
            tesseract: PathBuf::from("tesseract"),
            lang: "eng".into(),
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        }
    }
}

pub struct LocalRuntime {
    pub config: LocalConfig,
    pub objects: Arc<FsObjectStore>,
    pub meta: Arc<SqliteMetadataStore>,
    pub ocr: Arc<TesseractOcr>,
    secret: Vec<u8>,
}

impl LocalRuntime {
    /// Opens (and on first use creates) the data dir.
    pub fn open(config: LocalConfig) -> Result<Self, StoreError> {
        let dir = &config.data_dir;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                StoreError::unavailable(format!("cannot create the data dir {}", dir.display()), e)
            })?;
        let objects = Arc::new(FsObjectStore::open(dir.join("objects"))?);
        let meta = Arc::new(SqliteMetadataStore::open(&dir.join("metadata.sqlite3"))?);
        let ocr = Arc::new(TesseractOcr::new(
            &config.tesseract,
            &config.lang,
            config.workers,
        ));
        let secret = load_or_create_secret(&dir.join("secret.key"))?;
        Ok(Self {
            config,
            objects,
            meta,
            ocr,
            secret,
        })
    }

    pub fn steps(&self) -> Steps {
        Steps::new(
            self.objects.clone(),
            self.meta.clone(),
            self.ocr.clone(),
            self.config.limits,
            self.config.workers,
        )
    }

    /// The key that signs development tokens (`medidocs token`) and local upload URLs;
    /// created on first use, readable by the data dir's owner only.
    pub fn token_key(&self) -> Result<Vec<u8>, StoreError> {
        load_or_create_secret(&self.config.data_dir.join("token.key"))
    }

    /// Runs documents through the pipeline's state machine, on the wall clock.
    pub fn runner(&self) -> Runner {
        Runner::new(self.steps(), Arc::new(medidocs_core::states::SystemClock))
    }

    /// Copies a local file into the upload area, as a patient's upload would arrive, and
    /// returns the source to run. The upload id is a keyed hash of the file's path and
    /// content: the same file gives the same id (so a second run finds its document), and
    /// the path, which may itself be medical data, never appears in a key.
    pub fn ingest(&self, file: &Path, patient_id: &str) -> Result<SourceInput, IngestError> {
        keys::validate_patient_id(patient_id).map_err(IngestError::Patient)?;
        let canonical =
            std::fs::canonicalize(file).map_err(|e| IngestError::Read(file.to_path_buf(), e))?;
        let sha = sha256_file(&canonical).map_err(|e| IngestError::Read(file.to_path_buf(), e))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret)
            .map_err(|e| IngestError::Store(StoreError::unavailable("key", e.to_string())))?;
        mac.update(canonical.as_os_str().as_encoded_bytes());
        mac.update(b"\0");
        mac.update(sha.as_bytes());
        let upload_id = hex::encode(&mac.finalize().into_bytes()[..16]);
        let key = keys::upload_key(patient_id, &upload_id);
        let dest = self.objects.path_of(&key).map_err(IngestError::Store)?;
        if !dest.exists() {
            copy_atomic(&canonical, &dest).map_err(|e| IngestError::Read(file.to_path_buf(), e))?;
        }
        Ok(SourceInput {
            bucket: UPLOAD_BUCKET.into(),
            key,
            version: sha,
        })
    }
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

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Streams a file into place (temporary file, fsync, rename): files of any size, never
/// held in memory whole.
fn copy_atomic(from: &Path, to: &Path) -> std::io::Result<()> {
    let dir = to
        .parent()
        .ok_or_else(|| std::io::Error::other("no parent folder"))?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut src = std::fs::File::open(from)?;
        let mut dst = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        std::io::copy(&mut src, &mut dst)?;
        dst.sync_all()?;
        std::fs::rename(&tmp, to)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn load_or_create_secret(path: &Path) -> Result<Vec<u8>, StoreError> {
    match std::fs::read(path) {
        Ok(k) if k.len() >= 32 => return Ok(k),
        Ok(_) => {
            return Err(StoreError::unavailable(
                format!("{} is damaged", path.display()),
                "secret too short",
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(StoreError::unavailable(
                format!("cannot read {}", path.display()),
                e,
            ));
        }
    }
    let key: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
        .iter()
        .flat_map(|u| u.into_bytes())
        .collect();
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(&key)?;
        f.sync_all()
    };
    match write() {
        Ok(()) => Ok(key),
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(path)
            .map_err(|e| StoreError::unavailable(format!("cannot read {}", path.display()), e)),
        Err(e) => Err(StoreError::unavailable(
            format!("cannot write {}", path.display()),
            e,
        )),
    }
}
