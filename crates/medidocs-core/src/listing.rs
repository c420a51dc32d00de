//! A patient's documents, newest first, a page at a time, optionally of one status. The
//! store lists pages of the patient's index; a status filter may skip many documents, so
//! this reads on, a bounded number of store pages, until the page is full.

use crate::keys;
use crate::model::{DocumentPage, DocumentRecord, Status};
use crate::ports::{MetadataStore, StoreError};

/// Store pages read at most for one page of results.
pub const MAX_STORE_PAGES: usize = 50;

/// Whether a cursor is one a page of this listing gave (`next`), as far as its shape
/// tells: a listing key, of a sane length.
pub fn is_cursor(cursor: &str) -> bool {
    cursor.len() <= 200 && keys::is_listing_key(cursor)
}

/// Up to `limit` of the patient's documents below `cursor`, of `status` if given, and the
/// cursor of the next page (none after the last document).
pub async fn patient_documents(
    meta: &dyn MetadataStore,
    patient_id: &str,
    status: Option<Status>,
    limit: usize,
    cursor: Option<String>,
) -> Result<DocumentPage, StoreError> {
    let mut cursor = cursor;
    let mut documents: Vec<DocumentRecord> = Vec::new();
    for _ in 0..MAX_STORE_PAGES {
        let page = meta
            .list_patient_documents(patient_id, limit, cursor.as_deref())
            .await?;
        let last_of_page = page.documents.last().map(|d| d.id.clone());
        for d in page.documents {
            if status.is_some_and(|s| d.status != s) {
                continue;
            }
            let is_last_of_all = page.next.is_none() && last_of_page.as_deref() == Some(&*d.id);
            let last = keys::listing_key(&d.created_at, &d.id);
            documents.push(d);
            if documents.len() == limit {
                return Ok(DocumentPage {
                    documents,
                    next: (!is_last_of_all).then_some(last),
                });
            }
        }
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    Ok(DocumentPage {
        documents,
        next: cursor,
    })
}
