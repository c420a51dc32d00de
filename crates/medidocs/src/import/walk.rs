//! The CLI's one walk of a folder: `medidocs import` reads a folder through it, lazily, and
//! `medidocs run`, `bench` and `storage` collect their files with it
//! ([`crate::collect_files`]).

use std::fs::FileType;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Every regular file under `root`, depth first, each folder's entries in name order (so
/// the files come in the order of their paths); hidden entries (a name starting with `.`)
/// skipped, links to folders not followed (no loops), links to files taken. Holds one
/// folder's listing at a time per level, not the whole tree.
///
/// A folder under `root` that cannot be listed, or an entry whose type cannot be read, is
/// an error item and the walk goes on: the caller says whether that ends it.
pub struct Walk {
    stack: Vec<std::vec::IntoIter<Listed>>,
}

/// A part of the tree the walk could not read.
#[derive(Debug)]
pub struct WalkError {
    /// The folder that cannot be listed, or the entry that cannot be read.
    pub path: PathBuf,
    pub error: anyhow::Error,
}

/// One entry of a folder's listing, with its type as the listing says (a link is a link).
type Listed = Result<(PathBuf, FileType), WalkError>;

impl Walk {
    /// Lists `root` (an error if it cannot be); its entries are walked as the walk goes.
    pub fn new(root: &Path) -> Result<Walk> {
        Ok(Walk {
            stack: vec![listing(root)?.into_iter()],
        })
    }
}

/// A folder's entries but the hidden ones, in name order.
fn listing(dir: &Path) -> Result<Vec<Listed>> {
    let mut v = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                v.push(Err(WalkError {
                    path: dir.to_path_buf(),
                    error: anyhow::Error::new(e)
                        .context(format!("cannot read an entry of {}", dir.display())),
                }));
                continue;
            }
        };
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        v.push(match entry.file_type() {
            Ok(t) => Ok((path, t)),
            Err(e) => Err(WalkError {
                error: anyhow::Error::new(e).context(format!("cannot read {}", path.display())),
                path,
            }),
        });
    }
    v.sort_by(|a, b| path_of(a).cmp(path_of(b)));
    Ok(v)
}

fn path_of(l: &Listed) -> &Path {
    match l {
        Ok((p, _)) => p,
        Err(e) => &e.path,
    }
}

impl Iterator for Walk {
    type Item = Result<PathBuf, WalkError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let top = self.stack.last_mut()?;
            let Some(listed) = top.next() else {
                self.stack.pop();
                continue;
            };
            let (path, t) = match listed {
                Ok(l) => l,
                Err(e) => return Some(Err(e)),
            };
            if t.is_dir() {
                match listing(&path) {
                    Ok(v) => self.stack.push(v.into_iter()),
                    Err(error) => return Some(Err(WalkError { path, error })),
                }
            } else if t.is_file() || (t.is_symlink() && path.is_file()) {
                return Some(Ok(path));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(root: &Path) -> Vec<String> {
        Walk::new(root)
            .unwrap()
            .map(|f| {
                f.unwrap()
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    #[test]
    fn files_in_path_order_without_hidden_ones_or_links_to_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["a", "a/b", "a b", "a.b", "c", ".hidden", "c/.git"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in [
            "a/b/1",
            "a/2",
            "a b/3",
            "a.b/4",
            "a-5",
            "c/6",
            "c/.7",
            ".hidden/8",
            "c/.git/9",
            "z",
        ] {
            std::fs::write(root.join(f), f).unwrap();
        }
        std::os::unix::fs::symlink(root.join("a"), root.join("c/to-folder")).unwrap();
        std::os::unix::fs::symlink(root.join("z"), root.join("c/to-file")).unwrap();
        std::os::unix::fs::symlink(root.join("gone"), root.join("c/broken")).unwrap();
        // A loop: never followed.
        std::os::unix::fs::symlink(root, root.join("a/b/up")).unwrap();

        let got = files(root);
        assert_eq!(
            got,
            [
                "a/2",
                "a/b/1",
                "a b/3",
                "a-5",
                "a.b/4",
                "c/6",
                "c/to-file",
                "z"
            ],
        );
        // Depth first by name is the order of the whole paths.
        let mut sorted: Vec<PathBuf> = got.iter().map(PathBuf::from).collect();
        sorted.sort();
        assert_eq!(sorted, got.iter().map(PathBuf::from).collect::<Vec<_>>());
    }

    #[test]
    fn a_root_that_cannot_be_listed_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = Walk::new(&dir.path().join("none")).err().unwrap();
        assert!(format!("{e:#}").starts_with("cannot list "), "{e:#}");
    }

    #[test]
    fn a_folder_that_cannot_be_listed_is_an_error_item_and_the_walk_goes_on() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let locked = root.join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::write(locked.join("x"), "x").unwrap();
        std::fs::write(root.join("m"), "m").unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        // Root lists any folder: then the locked one is walked like the others.
        let lockable = std::fs::read_dir(&locked).is_err();
        let items: Vec<_> = Walk::new(root).unwrap().collect();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
        if !lockable {
            let files: Vec<_> = items.into_iter().map(|i| i.unwrap()).collect();
            assert_eq!(files, [locked.join("x"), root.join("m")]);
            return;
        }
        assert_eq!(items.len(), 2, "{items:?}");
        let e = items[0].as_ref().unwrap_err();
        assert_eq!(e.path, locked);
        assert!(format!("{:#}", e.error).starts_with("cannot list "));
        assert_eq!(items[1].as_ref().unwrap(), &root.join("m"));
    }
}
