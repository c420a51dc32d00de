//! A patient's documents a page at a time: newest upload first, or as a timeline (by the
//! day each is about, newest first, within a range of days if asked), optionally of one
//! status and of one type. The store lists pages of one of the patient's indexes; a filter
//! may skip many documents, so this reads on, a bounded number of store pages, until the
//! page is full.

use crate::keys;
use crate::model::{DocumentPage, DocumentRecord, Status};
use crate::ports::{MetadataStore, StoreError};
use crate::understand::DocumentType;

/// Store pages read at most for one page of results. A page that reaches it comes back
/// short, with the cursor to read on from.
pub const MAX_STORE_PAGES: usize = 50;

/// The order of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Order {
    /// Newest upload first.
    #[default]
    Uploaded,
    /// By the day each document is about ([`DocumentRecord::sort_date`]), newest first;
    /// only the days `from..=to` (`YYYY-MM-DD`, either open).
    Dated {
        from: Option<String>,
        to: Option<String>,
    },
}

/// What a listing holds and in which order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub order: Order,
    pub status: Option<Status>,
    /// Only documents of this type ([`DocumentRecord::type_of`]: given, else read).
    pub doc_type: Option<DocumentType>,
}

impl Listing {
    fn keeps(&self, d: &DocumentRecord) -> bool {
        self.status.is_none_or(|s| d.status == s)
            && self
                .doc_type
                .is_none_or(|t| d.type_of().is_some_and(|(dt, _)| dt == t))
    }

    /// A document's key in the index this listing reads (its cursor when last of a page).
    fn key(&self, d: &DocumentRecord) -> String {
        match self.order {
            Order::Uploaded => keys::listing_key(&d.created_at, &d.id),
            Order::Dated { .. } => keys::dated_index(d).1,
        }
    }

    /// Whether a cursor is one a page of this listing gave (`next`), as far as its shape
    /// tells: a key of the index it reads, of a sane length.
    pub fn is_cursor(&self, cursor: &str) -> bool {
        cursor.len() <= 200
            && match self.order {
                Order::Uploaded => keys::is_listing_key(cursor),
                Order::Dated { .. } => keys::is_dated_key(cursor),
            }
    }
}

/// Up to `limit` of the patient's documents below `cursor` that `listing` keeps, and the
/// cursor of the next page (none after the last document).
pub async fn patient_documents(
    meta: &dyn MetadataStore,
    patient_id: &str,
    listing: &Listing,
    limit: usize,
    cursor: Option<String>,
) -> Result<DocumentPage, StoreError> {
    let mut cursor = cursor;
    let mut documents: Vec<DocumentRecord> = Vec::new();
    for _ in 0..MAX_STORE_PAGES {
        let page = match &listing.order {
            Order::Uploaded => {
                meta.list_patient_documents(patient_id, limit, cursor.as_deref())
                    .await?
            }
            Order::Dated { from, to } => {
                meta.list_patient_documents_by_date(
                    patient_id,
                    (from.as_deref(), to.as_deref()),
                    limit,
                    cursor.as_deref(),
                )
                .await?
            }
        };
        let last_of_page = page.documents.last().map(|d| d.id.clone());
        for d in page.documents {
            if !listing.keeps(&d) {
                continue;
            }
            let is_last_of_all = page.next.is_none() && last_of_page.as_deref() == Some(&*d.id);
            let last = listing.key(&d);
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
