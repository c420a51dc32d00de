//! Objects as files under one root, with S3-style keys. Writes are atomic (temporary file,
//! fsync, rename), files are private to the owner (0600, folders 0700), and a key can never
//! name a path outside the root: keys are checked segment by segment and anything that is
//! not a plain name is refused.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use medidocs_core::ports::{LocalFile, ObjectMeta, ObjectStore, PutMode, StoreError};
use sha2::{Digest, Sha256};

const TMP_PREFIX: &str = ".tmp-";

#[derive(Clone)]
pub struct FsObjectStore {
    root: PathBuf,
}

impl FsObjectStore {
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&root)
            .map_err(|e| StoreError::unavailable(format!("cannot create {}", root.display()), e))?;
        crate::private::tighten_path(&root)?;
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Maps a key to a path under the root, refusing anything that could escape it.
    pub fn path_of(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }
}

/// A key is 1 to 1024 bytes of `/`-separated segments; each segment is 1 to 255 bytes of
/// `A-Z a-z 0-9 . _ - = +`, not `.` or `..`, not starting with the temporary-file prefix.
pub fn check_key(key: &str) -> Result<(), StoreError> {
    let bad = |why: &str| StoreError::InvalidInput {
        what: format!("object key refused: {why}"),
    };
    if key.is_empty() || key.len() > 1024 {
        return Err(bad("empty or longer than 1024 bytes"));
    }
    for seg in key.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." || seg.len() > 255 {
            return Err(bad("empty, '.', '..' or over-long segment"));
        }
        if seg.starts_with(TMP_PREFIX) {
            return Err(bad("reserved segment name"));
        }
        if !seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-=+".contains(&b))
        {
            return Err(bad("characters outside A-Z a-z 0-9 . _ - = +"));
        }
    }
    Ok(())
}

fn io_err(key: &str, e: std::io::Error) -> StoreError {
    if e.kind() == std::io::ErrorKind::NotFound {
        StoreError::not_found(key.to_string())
    } else {
        StoreError::unavailable(format!("object {key}"), e)
    }
}

/// The one atomic write: `fill` writes the object into a new temporary file next to
/// `path` (0600), which is synced, then renamed over `path` (or, for a create, linked:
/// `link()` refuses an existing target). Anything that fails leaves no trace.
fn write_atomic(
    path: &Path,
    mode: PutMode,
    key: &str,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .ok_or_else(|| StoreError::InvalidInput { what: key.into() })?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_err(key, e))?;
    let tmp = dir.join(format!("{TMP_PREFIX}{}", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        fill(&mut f)?;
        f.sync_all()?;
        match mode {
            PutMode::Overwrite => std::fs::rename(&tmp, path),
            PutMode::Create => {
                std::fs::hard_link(&tmp, path).and_then(|_| std::fs::remove_file(&tmp))
            }
        }
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(StoreError::AlreadyExists { what: key.into() })
        }
        Err(e) if e.get_ref().is_some_and(|r| r.is::<Changed>()) => {
            Err(StoreError::ChecksumMismatch {
                what: format!("{key}: the file's bytes changed since they were read"),
            })
        }
        Err(e) if e.get_ref().is_some_and(|r| r.is::<SourceRead>()) => Err(
            StoreError::unavailable(format!("reading the local file for {key}"), e),
        ),
        Err(e) => Err(io_err(key, e)),
    }
}

/// The local file being stored is not the one its hash was taken of.
#[derive(Debug, thiserror::Error)]
#[error("the file's bytes changed since they were read")]
struct Changed;

/// Reading the local file being stored failed (not writing the object).
#[derive(Debug, thiserror::Error)]
#[error("reading the local file: {0}")]
struct SourceRead(std::io::Error);

/// A reader whose errors say they are the source's.
struct Source(std::fs::File);

impl std::io::Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0
            .read(buf)
            .map_err(|e| std::io::Error::other(SourceRead(e)))
    }
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn list_under(root: &Path, prefix: &str) -> Result<Vec<ObjectMeta>, std::io::Error> {
    // Start at the deepest folder the prefix names, then filter.
    let start_rel = match prefix.rfind('/') {
        Some(i) => &prefix[..i],
        None => "",
    };
    let start = if start_rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(start_rel)
    };
    let mut out = Vec::new();
    let mut stack = vec![start];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with(TMP_PREFIX) {
                continue;
            }
            let ft = entry.file_type()?;
            if ft.is_dir() {
                stack.push(entry.path());
            } else if ft.is_file() {
                let rel = entry.path();
                let Ok(rel) = rel.strip_prefix(root) else {
                    continue;
                };
                let Some(key) = rel.to_str() else { continue };
                if key.starts_with(prefix) {
                    out.push(ObjectMeta {
                        key: key.to_string(),
                        size: entry.metadata()?.len(),
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::unavailable("filesystem worker", e))?
}

impl FsObjectStore {
    /// Stores a local file, streamed (the work of [`ObjectStore::put_file`], for callers
    /// already off the async threads).
    pub fn put_file_now(
        &self,
        key: &str,
        file: LocalFile<'_>,
        mode: PutMode,
    ) -> Result<ObjectMeta, StoreError> {
        let path = self.path_of(key)?;
        let mut src = std::fs::File::open(file.path)
            .map(Source)
            .map_err(|e| StoreError::unavailable(format!("reading the local file for {key}"), e))?;
        let mut size = 0;
        write_atomic(&path, mode, key, |out| {
            let mut out = Hashing {
                inner: out,
                hash: Sha256::new(),
            };
            size = std::io::copy(&mut src, &mut out)?;
            let found = hex::encode(out.hash.finalize());
            match file.sha256 {
                Some(expected) if expected != found => Err(std::io::Error::other(Changed)),
                _ => Ok(()),
            }
        })?;
        Ok(ObjectMeta {
            key: key.to_string(),
            size,
        })
    }
}

#[async_trait]
impl ObjectStore for FsObjectStore {
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        mode: PutMode,
    ) -> Result<ObjectMeta, StoreError> {
        let path = self.path_of(key)?;
        let key = key.to_string();
        blocking(move || {
            write_atomic(&path, mode, &key, |f| f.write_all(&bytes))?;
            Ok(ObjectMeta {
                key,
                size: bytes.len() as u64,
            })
        })
        .await
    }

    async fn put_file(
        &self,
        key: &str,
        file: LocalFile<'_>,
        mode: PutMode,
    ) -> Result<ObjectMeta, StoreError> {
        let store = self.clone();
        let (key, path, sha) = (
            key.to_string(),
            file.path.to_path_buf(),
            file.sha256.map(str::to_string),
        );
        blocking(move || {
            let file = LocalFile {
                path: &path,
                sha256: sha.as_deref(),
            };
            store.put_file_now(&key, file, mode)
        })
        .await
    }

    async fn get_range(
        &self,
        key: &str,
        _version: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Vec<u8>, StoreError> {
        // A part is read as it is: the whole object's version is checked where it is read
        // whole (the inspect step), and a file here is only ever replaced whole.
        let path = self.path_of(key)?;
        let k = key.to_string();
        blocking(move || {
            use std::io::{Read, Seek};
            let mut f = std::fs::File::open(&path).map_err(|e| io_err(&k, e))?;
            f.seek(std::io::SeekFrom::Start(range.start))
                .map_err(|e| io_err(&k, e))?;
            let mut out = Vec::new();
            f.take(range.end.saturating_sub(range.start))
                .read_to_end(&mut out)
                .map_err(|e| io_err(&k, e))?;
            Ok(out)
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path_of(key)?;
        tokio::fs::read(&path).await.map_err(|e| io_err(key, e))
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        let path = self.path_of(key)?;
        let m = tokio::fs::metadata(&path)
            .await
            .map_err(|e| io_err(key, e))?;
        if !m.is_file() {
            return Err(StoreError::not_found(key.to_string()));
        }
        Ok(ObjectMeta {
            key: key.to_string(),
            size: m.len(),
        })
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        if prefix.contains("..") || prefix.starts_with('/') || prefix.contains('\0') {
            return Err(StoreError::InvalidInput {
                what: "list prefix refused".into(),
            });
        }
        let root = self.root.clone();
        let prefix = prefix.to_string();
        blocking(move || list_under(&root, &prefix).map_err(|e| StoreError::unavailable("list", e)))
            .await
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        let path = self.path_of(from)?;
        if !path.is_file() {
            return Err(StoreError::not_found(from.to_string()));
        }
        let file = LocalFile {
            path: &path,
            sha256: None,
        };
        self.put_file(to, file, PutMode::Overwrite)
            .await
            .map(|_| ())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(key, e)),
        }
    }
}
