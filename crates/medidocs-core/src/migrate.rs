//! `medidocs migrate`: brings records written by earlier versions to today's rules. Every
//! step is idempotent (a second run finds nothing to do) and safe to interrupt.
//!
//! Today: duplicates are found within one patient only. Earlier versions linked a document
//! to another patient's document with the same bytes (`duplicate_of`, its renditions and
//! text read from the other patient's artefacts) and kept one content claim per SHA-256
//! for everyone. The migration gives each such document its own copies of the artefacts
//! under its own id, drops the link, and turns every old claim into a claim of the patient
//! whose document made it.
//!
//! Documents READY before documents were understood are read again from their text (what
//! they are and when, [`crate::understand`]), so they take their place in the patient's
//! timeline; a store whose records predate the timeline index gets them written again.

use async_trait::async_trait;

use crate::keys;
use crate::model::DocumentRecord;
use crate::ports::{MetadataStore, ObjectStore, StoreError};
use crate::understand::Region;

/// What a store holds from before claims were per patient. Reads everything once: for
/// one-off migrations, never for the pipeline's own work.
#[async_trait]
pub trait LegacyRecords: Send + Sync {
    /// Ids of every document that names another as the first with its content.
    async fn linked_documents(&self) -> Result<Vec<String>, StoreError>;
    /// Every content claim without a patient: `(sha256, first document id)`.
    async fn legacy_content_claims(&self) -> Result<Vec<(String, String)>, StoreError>;
    /// Removes the claim without a patient on `sha256`.
    async fn delete_legacy_content_claim(&self, sha256: &str) -> Result<(), StoreError>;
    /// Documents to bring into the timeline: `(id, indexed)` of every READY document with
    /// no understanding, and of every document not in the timeline index (`indexed`
    /// false).
    async fn undated_documents(&self) -> Result<Vec<(String, bool)>, StoreError>;
    /// Ids of every READY document with no searchable PDF (made before there were any).
    async fn documents_without_pdf(&self) -> Result<Vec<String>, StoreError>;
}

/// What one run of the migration did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationReport {
    /// Documents that read another patient's artefacts and now have their own.
    pub split: Vec<String>,
    /// Links within one patient, kept.
    pub kept: usize,
    /// Objects copied for the documents split.
    pub objects_copied: usize,
    /// Claims without a patient turned into their patient's claim.
    pub claims_moved: usize,
    /// READY documents read again: what they are and when.
    pub dated: usize,
    /// Documents written again only to enter the timeline index.
    pub indexed: usize,
    /// Documents or claims this run could not migrate, with why (the rest went on; a
    /// second run tries them again).
    pub errors: Vec<(String, String)>,
}

/// Runs the migration over every record `legacy` finds. Objects are copied before the
/// record changes, so an interrupted run leaves a record that still reads the other
/// patient's copies (as before) and a second run finishes it.
pub async fn migrate(
    objects: &dyn ObjectStore,
    meta: &dyn MetadataStore,
    legacy: &dyn LegacyRecords,
    region: Region,
    now: &str,
) -> Result<MigrationReport, StoreError> {
    let mut report = MigrationReport::default();
    for id in legacy.linked_documents().await? {
        let split = match meta.get_document(&id).await {
            Ok(doc) => split_foreign_link(objects, meta, doc, now).await,
            // Gone since the scan: nothing to split.
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        };
        match split {
            Ok(Some(copied)) => {
                report.split.push(id);
                report.objects_copied += copied;
            }
            Ok(None) => report.kept += 1,
            Err(StoreError::NotFound { .. }) => report.errors.push((
                id,
                "the artefacts it was linked to are gone: it needs processing again from its original"
                    .into(),
            )),
            Err(e) => report.errors.push((id, e.to_string())),
        }
    }
    for (sha, first) in legacy.legacy_content_claims().await? {
        let moved = async {
            match meta.get_document(&first).await {
                Ok(doc) if !doc.sha256.is_empty() => {
                    meta.claim_content(&doc.patient_id, &sha, &doc.id).await?;
                }
                // A claim whose document is gone (or never registered its content)
                // claims nothing for anyone.
                Ok(_) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
            legacy.delete_legacy_content_claim(&sha).await
        };
        match moved.await {
            Ok(()) => report.claims_moved += 1,
            Err(e) => report
                .errors
                .push((format!("content claim {sha}"), e.to_string())),
        }
    }
    for (id, indexed) in legacy.undated_documents().await? {
        // Conditional writes: a document the pipeline or a filing wrote meanwhile is
        // read again, once.
        let mut outcome = Ok(None);
        for _ in 0..2 {
            outcome = match meta.get_document(&id).await {
                Ok(doc) => date_document(objects, meta, doc, indexed, region, now).await,
                Err(StoreError::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            };
            if !matches!(outcome, Err(StoreError::Precondition { .. })) {
                break;
            }
        }
        match outcome {
            Ok(Some(true)) => report.dated += 1,
            Ok(Some(false)) => report.indexed += 1,
            Ok(None) => {}
            Err(e) => report.errors.push((id, e.to_string())),
        }
    }
    Ok(report)
}

/// Reads a READY document without an understanding again from its text, and writes it
/// (into the timeline index too). `Some(true)` if it was read, `Some(false)` if only
/// written for the index, `None` if nothing was to do (its text is gone and it is
/// indexed: a second run finds it again and does nothing again).
pub async fn date_document(
    objects: &dyn ObjectStore,
    meta: &dyn MetadataStore,
    mut doc: DocumentRecord,
    indexed: bool,
    region: Region,
    now: &str,
) -> Result<Option<bool>, StoreError> {
    let read =
        doc.understanding.is_none() && crate::reread::read_again(objects, &mut doc, region).await?;
    if !read && indexed {
        return Ok(None);
    }
    doc.version += 1;
    doc.updated_at = now.to_string();
    meta.update_document(&doc).await?;
    Ok(Some(read))
}

/// Gives `doc` its own artefacts if it is linked to another patient's document; returns
/// the objects copied, or `None` if the link is within the patient (kept) or gone.
pub async fn split_foreign_link(
    objects: &dyn ObjectStore,
    meta: &dyn MetadataStore,
    mut doc: DocumentRecord,
    now: &str,
) -> Result<Option<usize>, StoreError> {
    let Some(first_id) = doc.duplicate_of.clone() else {
        return Ok(None);
    };
    let first = match meta.get_document(&first_id).await {
        Ok(f) => Some(f),
        Err(StoreError::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    if first
        .as_ref()
        .is_some_and(|f| f.patient_id == doc.patient_id)
    {
        return Ok(None);
    }
    // Every artefact key the record holds that is not under its own id is copied there.
    let own = |key: &str| -> Option<String> {
        let rest = key.strip_prefix(&keys::artefacts_prefix(&first_id))?;
        Some(format!("{}{rest}", keys::artefacts_prefix(&doc.id)))
    };
    let mut copied = 0;
    for r in &mut doc.renditions {
        if let Some(to) = own(&r.key) {
            objects.copy(&r.key, &to).await?;
            r.key = to;
            copied += 1;
        }
    }
    for key in [&mut doc.text_key, &mut doc.ocr_key].into_iter().flatten() {
        if let Some(to) = own(key) {
            objects.copy(key, &to).await?;
            *key = to;
            copied += 1;
        }
    }
    // The claim first (it is idempotent): a run interrupted after it finds the link
    // again and finishes; the other way round, the claim would be lost for good.
    if !doc.sha256.is_empty() {
        meta.claim_content(&doc.patient_id, &doc.sha256, &doc.id)
            .await?;
    }
    doc.duplicate_of = None;
    doc.version += 1;
    doc.updated_at = now.to_string();
    meta.update_document(&doc).await?;
    tracing::info!(document = %doc.id, copied, "own artefacts instead of another patient's");
    Ok(Some(copied))
}

/// Whether a record names anything of a document other than itself.
pub fn names_another_document(doc: &DocumentRecord) -> bool {
    let own = keys::artefacts_prefix(&doc.id);
    doc.duplicate_of.is_some()
        || doc
            .renditions
            .iter()
            .map(|r| r.key.as_str())
            .chain(doc.text_key.as_deref())
            .chain(doc.ocr_key.as_deref())
            .any(|k| !k.starts_with(&own))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys;
    use crate::model::RenditionRef;

    #[test]
    fn a_record_of_its_own_names_nothing_else() {
        let mut d = DocumentRecord::new(
            "aa".into(),
            "p-1".into(),
            crate::model::SourceRef {
                bucket: "b".into(),
                key: "uploads/p-1/u/original".into(),
                version: "v".into(),
            },
            "00".repeat(32),
            1,
            "2026-01-01T00:00:00Z".into(),
        );
        d.text_key = Some(keys::text("aa"));
        d.renditions.push(RenditionRef {
            name: "thumb".into(),
            page: 1,
            mime: "image/webp".into(),
            width: 1,
            height: 1,
            bytes: 1,
            key: keys::rendition("aa", 1, "thumb", "webp"),
        });
        assert!(!names_another_document(&d));
        d.renditions[0].key = keys::rendition("bb", 1, "thumb", "webp");
        assert!(names_another_document(&d));
    }
}
