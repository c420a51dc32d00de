//! Conformance suites: public async functions that take a port as `&dyn Trait` and check
//! the behaviour every adapter must share. Each adapter has one test that runs the whole
//! suite; backend differences are flags, not separate suites.
//!
//! Also: the character error rate used to grade OCR.

mod access;
mod metadata;
mod migration;
pub mod moto;
mod objects;
mod ocr;
pub mod pdf;
pub mod textract_endpoint;

pub use access::access_store_suite;
pub use metadata::{MetadataFlags, metadata_store_suite};
pub use migration::{LegacyClaimWriter, migration_suite};
pub use objects::{ObjectFlags, object_store_suite};
pub use ocr::{OcrPageCase, ocr_engine_suite};

/// Runs named cases, collecting every failure instead of stopping at the first, so one run
/// of a suite reports all that an adapter gets wrong.
pub(crate) struct Cases {
    failures: Vec<String>,
    ran: usize,
}

impl Cases {
    pub(crate) fn new() -> Self {
        Self {
            failures: Vec::new(),
            ran: 0,
        }
    }

    pub(crate) fn check(&mut self, name: &str, result: anyhow::Result<()>) {
        self.ran += 1;
        if let Err(e) = result {
            self.failures.push(format!("{name}: {e:#}"));
        }
    }

    pub(crate) fn finish(self, suite: &str) -> anyhow::Result<usize> {
        if self.failures.is_empty() {
            Ok(self.ran)
        } else {
            anyhow::bail!(
                "{suite}: {} of {} cases failed:\n  {}",
                self.failures.len(),
                self.ran,
                self.failures.join("\n  ")
            )
        }
    }
}

/// Character error rate: edit distance between `recognised` and `truth`, both with runs of
/// white space folded to one space (and trimmed), divided by the truth's length.
pub fn cer(recognised: &str, truth: &str) -> f64 {
    let fold = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .collect::<Vec<char>>()
    };
    let (a, b) = (fold(recognised), fold(truth));
    if b.is_empty() {
        return if a.is_empty() { 0.0 } else { 1.0 };
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()] as f64 / b.len() as f64
}

/// Every file under `dir`, recursively (tests that look through a data dir).
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::cer;

    #[test]
    fn cer_folds_white_space_and_counts_edits() {
        assert_eq!(cer("Aspirin  75\nmg", "Aspirin 75 mg"), 0.0);
        assert_eq!(cer("Aspirin 75 mq", "Aspirin 75 mg"), 1.0 / 13.0);
        assert_eq!(cer("", "abcd"), 1.0);
        assert_eq!(cer("abXcd", "abcd"), 0.25);
    }
}
