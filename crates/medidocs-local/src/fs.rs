//! Objects as files under one root, with S3-style keys. Writes are atomic (temporary file,
//! fsync, rename), files are private to the owner (0600, folders 0700), and a key can never
//! name a path outside the root: keys are checked segment by segment and anything that is
//! not a plain name is refused.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use medidocs_core::ports::{ObjectMeta, ObjectStore, PutMode, StoreError};

const TMP_PREFIX: &str = ".tmp-";

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

fn write_atomic(path: &Path, bytes: &[u8], mode: PutMode, key: &str) -> Result<(), StoreError> {
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
        f.write_all(bytes)?;
        f.sync_all()?;
        match mode {
            PutMode::Overwrite => std::fs::rename(&tmp, path),
            // link() refuses an existing target: an atomic create-if-absent.
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
        Err(e) => Err(io_err(key, e)),
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
            write_atomic(&path, &bytes, mode, &key)?;
            Ok(ObjectMeta {
                key,
                size: bytes.len() as u64,
            })
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
        let bytes = self.get(from).await?;
        self.put(to, bytes, PutMode::Overwrite).await.map(|_| ())
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
