//! Reading documents again for what they are and when ([`crate::understand`]): a
//! patient's READY documents whose numeric dates their region decided, when that region
//! changes; and, in `medidocs migrate`, documents READY before documents were understood.
//! From the stored text, which holds the OCR model's lines in reading order: the lines the
//! pipeline reads.

use crate::model::{DocumentRecord, MAX_RECORD_DATES, Status};
use crate::ports::{MetadataStore, ObjectStore, StoreError};
use crate::understand::{self, Region};

/// A document's lines from its stored text (pages separated by
/// [`crate::ocr::PAGE_SEPARATOR`], a line per line).
pub fn lines_of_text(text: &str) -> Vec<String> {
    text.split(crate::ocr::PAGE_SEPARATOR)
        .flat_map(str::lines)
        .map(str::to_string)
        .collect()
}

/// Reads `doc` again from its text in `region`'s convention, into `doc.understanding`.
/// False, and `doc` unchanged, when it has no text (not READY, or its text is gone).
pub async fn read_again(
    objects: &dyn ObjectStore,
    doc: &mut DocumentRecord,
    region: Region,
) -> Result<bool, StoreError> {
    let Some(key) = doc
        .text_key
        .as_deref()
        .filter(|_| doc.status == Status::Ready)
    else {
        return Ok(false);
    };
    let bytes = match objects.get(key).await {
        Ok(b) => b,
        Err(StoreError::NotFound { .. }) => return Ok(false),
        Err(e) => return Err(e),
    };
    let lines = lines_of_text(&String::from_utf8_lossy(&bytes));
    doc.understanding = Some(understand::capped(
        understand::understand(&lines, region),
        MAX_RECORD_DATES,
    ));
    Ok(true)
}

/// Whether a document may read otherwise in another region's convention: READY, and
/// never read, or with a numeric date its region decided (or nothing decided).
pub fn depends_on_region(doc: &DocumentRecord) -> bool {
    doc.status == Status::Ready
        && doc
            .understanding
            .as_ref()
            .is_none_or(|u| u.dates.iter().any(|d| d.by_region || d.ambiguous))
}

/// What reading a patient's documents again did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Reread {
    /// Documents read again (those whose dates their region decided).
    pub read: usize,
    /// Of those, documents whose type or dates now read otherwise (written).
    pub changed: usize,
    /// Documents that could not be read again, with why (the rest were).
    pub errors: Vec<(String, String)>,
}

/// Reads again every READY document of the patient whose dates depend on their region,
/// in `region`'s convention; writes those that now read otherwise.
pub async fn reread_patient(
    objects: &dyn ObjectStore,
    meta: &dyn MetadataStore,
    patient_id: &str,
    region: Region,
    now: &str,
) -> Result<Reread, StoreError> {
    let mut out = Reread::default();
    let mut cursor: Option<String> = None;
    loop {
        let page = meta
            .list_patient_documents(patient_id, 100, cursor.as_deref())
            .await?;
        for doc in page.documents.into_iter().filter(depends_on_region) {
            let id = doc.id.clone();
            match reread_one(objects, meta, doc, region, now).await {
                Ok(Some(changed)) => {
                    out.read += 1;
                    out.changed += usize::from(changed);
                }
                Ok(None) => {}
                Err(e) => out.errors.push((id, e.to_string())),
            }
        }
        match page.next {
            Some(n) => cursor = Some(n),
            None => return Ok(out),
        }
    }
}

/// One document read again and, if it reads otherwise, written (conditionally: a writer in
/// between makes it read the record again, once). `Some(changed)`, or `None` if it has no
/// text to read.
async fn reread_one(
    objects: &dyn ObjectStore,
    meta: &dyn MetadataStore,
    mut doc: DocumentRecord,
    region: Region,
    now: &str,
) -> Result<Option<bool>, StoreError> {
    for attempt in 0..2 {
        let before = doc.understanding.clone();
        if !read_again(objects, &mut doc, region).await? {
            return Ok(None);
        }
        // As stored: what is not kept (how a service date ranks) does not count.
        let stored = |u: &Option<understand::Understanding>| serde_json::to_value(u).ok();
        if stored(&doc.understanding) == stored(&before) {
            return Ok(Some(false));
        }
        doc.version += 1;
        doc.updated_at = now.to_string();
        match meta.update_document(&doc).await {
            Ok(()) => return Ok(Some(true)),
            Err(StoreError::Precondition { .. }) if attempt == 0 => {
                doc = meta.get_document(&doc.id).await?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Some(false))
}

/// Sets (or, with `None`, clears) a patient's date convention, then reads again their
/// documents whose dates depend on it, in the convention now theirs (`default` when
/// cleared). The setting is saved first: documents that could not be read again are
/// named in the answer, and setting it again reads them again.
pub async fn set_date_region(
    objects: &dyn ObjectStore,
    meta: &dyn MetadataStore,
    patient_id: &str,
    region: Option<Region>,
    default: Region,
    now: &str,
) -> Result<Reread, StoreError> {
    meta.put_patient_settings(
        patient_id,
        &crate::model::PatientSettings {
            date_region: region,
            updated_at: now.to_string(),
        },
    )
    .await?;
    reread_patient(objects, meta, patient_id, region.unwrap_or(default), now).await
}
