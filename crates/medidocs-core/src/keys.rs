//! Identities and object keys. Keys never contain what a patient typed (a file name can
//! itself be medical data); they are built only from ids this module validates or derives.

use sha2::{Digest, Sha256};

/// The document id for a source object: derived from (bucket, key, version), so a repeated
/// event for the same object maps to the same document.
pub fn document_id(bucket: &str, key: &str, version: &str) -> String {
    let mut h = Sha256::new();
    for part in [bucket, key, version] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(&h.finalize()[..12])
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Patient ids come from the caller; they may appear in keys only if they are plain
/// identifiers: 1 to 64 of `A-Z a-z 0-9 _ -`.
pub fn validate_patient_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err("a patient id is 1 to 64 characters of letters, digits, '_' and '-'".into())
    }
}

/// Ids made by this system (document ids, upload ids): lowercase hex.
pub fn is_system_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A document's place in its patient's listing (the index sort key, newest last). Listing
/// cursors are these keys: a page continues below the last key it returned.
pub fn listing_key(created_at: &str, id: &str) -> String {
    format!("CREATED#{created_at}#{id}")
}

pub fn upload_key(patient_id: &str, upload_id: &str) -> String {
    format!("uploads/{patient_id}/{upload_id}/original")
}
/// A bulk import's original. Same layout under `bulk/`, which the per-upload starter does
/// not watch: bulk imports are paced by `statemachines/bulk-import.asl.json` instead.
pub fn bulk_key(patient_id: &str, upload_id: &str) -> String {
    format!("bulk/{patient_id}/{upload_id}/original")
}
/// What staff said about a bulk original ([`crate::model::Labels`]), next to it:
/// `bulk/{patient}/{upload}/labels.json`. Only bulk originals have labels.
pub fn labels_key(source_key: &str) -> Option<String> {
    let dir = source_key.strip_suffix("/original")?;
    dir.starts_with("bulk/")
        .then(|| format!("{dir}/labels.json"))
}
pub fn quarantine_original(doc: &str) -> String {
    format!("quarantine/{doc}/original")
}
pub fn quarantine_reason(doc: &str) -> String {
    format!("quarantine/{doc}/reason.json")
}
pub fn pages_list(doc: &str) -> String {
    format!("artefacts/{doc}/pages.json")
}
pub fn rendition(doc: &str, page: u32, name: &str, ext: &str) -> String {
    format!("artefacts/{doc}/pages/{page}/{name}.{ext}")
}
pub fn page_renditions(doc: &str, page: u32) -> String {
    format!("artefacts/{doc}/pages/{page}/renditions.json")
}
pub fn page_ocr(doc: &str, page: u32) -> String {
    format!("artefacts/{doc}/pages/{page}/ocr.json")
}
pub fn text(doc: &str) -> String {
    format!("artefacts/{doc}/text.txt")
}
pub fn ocr(doc: &str) -> String {
    format!("artefacts/{doc}/ocr.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bulk_originals_have_labels() {
        assert_eq!(
            labels_key(&bulk_key("p-1", "ab12")).as_deref(),
            Some("bulk/p-1/ab12/labels.json")
        );
        assert_eq!(labels_key(&upload_key("p-1", "ab12")), None);
        assert_eq!(labels_key("bulk/p-1/ab12/labels.json"), None);
    }

    #[test]
    fn document_id_depends_on_every_part_and_not_on_concatenation() {
        let a = document_id("b", "k", "v1");
        assert_eq!(a.len(), 24);
        assert_eq!(a, document_id("b", "k", "v1"));
        assert_ne!(a, document_id("b", "k", "v2"));
        assert_ne!(document_id("ab", "c", "v"), document_id("a", "bc", "v"));
    }

    #[test]
    fn patient_ids_are_plain_identifiers() {
        for good in ["p-123", "PAT_9", "a"] {
            assert!(validate_patient_id(good).is_ok(), "{good}");
        }
        let long = "x".repeat(65);
        for bad in ["", "../etc", "a/b", "jane doe", "é", "a\0b", long.as_str()] {
            assert!(validate_patient_id(bad).is_err(), "{bad:?}");
        }
    }
}
