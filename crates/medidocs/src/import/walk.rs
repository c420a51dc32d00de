//! The lazy walk of a folder imported for one patient.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use medidocs_core::model::Labels;

use super::Entry;

/// Every regular file under `root`, depth first, each folder's entries in name order;
/// hidden entries skipped, links to folders not followed. Holds one folder's listing at a
/// time per level, not the whole tree.
pub struct Walk {
    stack: Vec<std::vec::IntoIter<PathBuf>>,
    patient: String,
}

impl Walk {
    pub fn new(root: &Path, patient: String) -> Result<Walk> {
        Ok(Walk {
            stack: vec![sorted(root)?.into_iter()],
            patient,
        })
    }
}

fn sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    v.sort();
    Ok(v)
}

impl Iterator for Walk {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        loop {
            let top = self.stack.last_mut()?;
            let Some(p) = top.next() else {
                self.stack.pop();
                continue;
            };
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                match sorted(&p) {
                    Ok(v) => self.stack.push(v.into_iter()),
                    Err(e) => {
                        return Some(Entry::Bad {
                            line: None,
                            path: p.display().to_string(),
                            reason: format!("{e:#}"),
                        });
                    }
                }
            } else if meta.is_file() || (meta.file_type().is_symlink() && p.is_file()) {
                return Some(Entry::File {
                    line: None,
                    path: p,
                    patient: self.patient.clone(),
                    labels: Labels::default(),
                });
            }
        }
    }
}
