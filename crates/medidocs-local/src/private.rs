//! The data dir is private to the user who runs the pipeline: folders 0700, files 0600,
//! checked and tightened every time it is opened (a folder someone made with 0755, a
//! database file an older version left 0644). A data dir that belongs to another user is
//! refused: its owner could read every record.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::Path;

use medidocs_core::ports::StoreError;

/// Permission bits of group and others.
const SHARED: u32 = 0o077;

/// What medidocs keeps in a data dir: only these are tightened (a data dir pointed at a
/// folder that holds other things never changes their permissions).
const OWN_ENTRIES: [&str; 7] = [
    "objects",
    "metadata.sqlite3",
    "metadata.sqlite3-wal",
    "metadata.sqlite3-shm",
    "metadata.sqlite3-journal",
    "secret.key",
    "token.key",
];

/// Creates `dir` (0700) if it is missing, refuses it if another user owns it (root may
/// open any), and tightens it and what medidocs keeps in it: the folder and its own
/// entries always, the whole object tree when the folder itself was open to others (what
/// it held was reachable then).
pub fn secure_data_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            StoreError::unavailable(format!("cannot create the data dir {}", dir.display()), e)
        })?;
    let meta = std::fs::metadata(dir).map_err(|e| {
        StoreError::unavailable(format!("cannot read the data dir {}", dir.display()), e)
    })?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me && me != 0 {
        return Err(StoreError::unavailable(
            format!(
                "the data dir {} belongs to another user (uid {}), who could read every \
                 record in it; run medidocs as that user or choose a data dir of your own \
                 (--data-dir)",
                dir.display(),
                meta.uid()
            ),
            "data dir owned by another user",
        ));
    }
    let was_open = meta.mode() & SHARED != 0;
    tighten(dir, &meta)?;
    for name in OWN_ENTRIES {
        let path = dir.join(name);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(StoreError::unavailable(
                    format!("cannot read {}", path.display()),
                    e,
                ));
            }
        };
        tighten(&path, &meta)?;
        if was_open && meta.is_dir() {
            tighten_entries(&path)?;
        }
    }
    Ok(())
}

/// Takes every permission of group and others from `path` (a file 0644 becomes 0600, a
/// folder 0755 becomes 0700).
pub fn tighten_path(path: &Path) -> Result<(), StoreError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => tighten(path, &meta),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::unavailable(
            format!("cannot read {}", path.display()),
            e,
        )),
    }
}

fn tighten(path: &Path, meta: &std::fs::Metadata) -> Result<(), StoreError> {
    let mode = meta.mode() & 0o7777;
    if meta.file_type().is_symlink() || mode & SHARED == 0 {
        return Ok(());
    }
    // The owner keeps what it had; group and others lose everything.
    let private = mode & 0o700;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(private)).map_err(|e| {
        StoreError::unavailable(
            format!(
                "{} is readable by other users and cannot be made private",
                path.display()
            ),
            e,
        )
    })?;
    tracing::warn!(path = %path.display(), from = format!("{mode:o}"), to = format!("{private:o}"), "made private to its owner");
    Ok(())
}

/// Tightens everything under `dir`, folders before what they hold.
fn tighten_entries(dir: &Path) -> Result<(), StoreError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| StoreError::unavailable(format!("cannot read {}", dir.display()), e))?;
    for entry in entries {
        let entry = entry
            .map_err(|e| StoreError::unavailable(format!("cannot read {}", dir.display()), e))?;
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| StoreError::unavailable(format!("cannot read {}", path.display()), e))?;
        tighten(&path, &meta)?;
        if meta.is_dir() {
            tighten_entries(&path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().mode() & 0o777
    }

    #[test]
    fn tightens_an_open_data_dir_and_everything_in_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        std::fs::create_dir_all(dir.join("objects/a/b")).unwrap();
        std::fs::write(dir.join("metadata.sqlite3"), b"x").unwrap();
        std::fs::write(dir.join("objects/a/b/original"), b"y").unwrap();
        // Not medidocs': left as it is.
        std::fs::write(dir.join("notes.txt"), b"z").unwrap();
        for (p, m) in [
            (dir.clone(), 0o755),
            (dir.join("objects"), 0o755),
            (dir.join("objects/a"), 0o775),
            (dir.join("objects/a/b"), 0o711),
            (dir.join("metadata.sqlite3"), 0o644),
            (dir.join("objects/a/b/original"), 0o664),
            (dir.join("notes.txt"), 0o644),
        ] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m)).unwrap();
        }
        secure_data_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("objects/a/b")), 0o700);
        assert_eq!(mode(&dir.join("metadata.sqlite3")), 0o600);
        assert_eq!(mode(&dir.join("objects/a/b/original")), 0o600);
        assert_eq!(mode(&dir.join("notes.txt")), 0o644);
    }

    #[test]
    fn keeps_an_owner_only_file_as_it_is() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("ro");
        std::fs::write(&f, b"x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o400)).unwrap();
        tighten_path(&f).unwrap();
        assert_eq!(mode(&f), 0o400);
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o444)).unwrap();
        tighten_path(&f).unwrap();
        assert_eq!(mode(&f), 0o400);
    }
}
