//! A CSV manifest (`path`, `patient_id`, and optionally `document_type` and `note`), read
//! lazily, one row at a time.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use medidocs_core::keys;
use medidocs_core::model::Labels;

use super::Entry;

const COLUMNS: [&str; 4] = ["path", "patient_id", "document_type", "note"];

/// Reads a manifest lazily. Problems of the header are reported as line 1 (an unknown
/// column is ignored); problems of a row are reported with its line and the row skipped.
pub struct Manifest {
    rows: csv::StringRecordsIntoIter<File>,
    base: PathBuf,
    default_patient: Option<String>,
    path_col: usize,
    patient_col: Option<usize>,
    type_col: Option<usize>,
    note_col: Option<usize>,
    pending: Vec<Entry>,
    line: u64,
}

impl Manifest {
    pub fn open(file: &Path, default_patient: Option<String>) -> Result<Manifest> {
        let f = File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(f);
        let headers = reader
            .headers()
            .with_context(|| format!("{}: no header line", file.display()))?
            .clone();
        let names: Vec<String> = headers
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        let mut pending = Vec::new();
        for (i, n) in names.iter().enumerate() {
            if !COLUMNS.contains(&n.as_str()) {
                pending.push(Entry::Bad {
                    line: Some(1),
                    path: String::new(),
                    reason: format!(
                        "unknown column {:?} (column {}), ignored; the columns are {}",
                        headers.get(i).unwrap_or_default(),
                        i + 1,
                        COLUMNS.join(", ")
                    ),
                });
            }
        }
        let path_col = names
            .iter()
            .position(|n| n == "path")
            .with_context(|| format!("{}: line 1 has no `path` column", file.display()))?;
        let patient_col = names.iter().position(|n| n == "patient_id");
        let type_col = names.iter().position(|n| n == "document_type");
        let note_col = names.iter().position(|n| n == "note");
        if patient_col.is_none() && default_patient.is_none() {
            bail!(
                "{}: line 1 has no `patient_id` column, and no --patient was given",
                file.display()
            );
        }
        Ok(Manifest {
            rows: reader.into_records(),
            base: file.parent().map(Path::to_path_buf).unwrap_or_default(),
            default_patient,
            path_col,
            patient_col,
            type_col,
            note_col,
            pending,
            line: 1,
        })
    }
}

impl Iterator for Manifest {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        if let Some(e) = self.pending.pop() {
            return Some(e);
        }
        let row = self.rows.next()?;
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                self.line += 1;
                return Some(Entry::Bad {
                    line: e.position().map(|p| p.line()).or(Some(self.line)),
                    path: String::new(),
                    reason: format!("not CSV: {e}"),
                });
            }
        };
        // Quoted fields may span lines: the line a row starts on, as the reader counts.
        self.line = row.position().map(|p| p.line()).unwrap_or(self.line + 1);
        let line = Some(self.line);
        let path = row
            .get(self.path_col)
            .unwrap_or_default()
            .trim()
            .to_string();
        if path.is_empty() {
            return Some(Entry::Bad {
                line,
                path,
                reason: "no path".into(),
            });
        }
        let patient = self
            .patient_col
            .and_then(|c| row.get(c))
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .or_else(|| self.default_patient.clone());
        let Some(patient) = patient else {
            return Some(Entry::Bad {
                line,
                path,
                reason: "no patient_id (and no --patient)".into(),
            });
        };
        if let Err(e) = keys::validate_patient_id(&patient) {
            return Some(Entry::Bad {
                line,
                path,
                reason: format!("patient_id {patient:?}: {e}"),
            });
        }
        let cell = |c: Option<usize>| c.and_then(|c| row.get(c)).unwrap_or_default();
        let labels = match Labels::new(cell(self.type_col), cell(self.note_col)) {
            Ok(l) => l,
            Err(reason) => return Some(Entry::Bad { line, path, reason }),
        };
        let full = self.base.join(&path);
        if !full.is_file() {
            return Some(Entry::Bad {
                line,
                path,
                reason: "no such file".into(),
            });
        }
        Some(Entry::File {
            line,
            path: full,
            patient,
            labels,
        })
    }
}
