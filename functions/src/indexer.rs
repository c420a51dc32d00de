//! The search indexer: the table's DynamoDB stream, read by Lambda's event source mapping,
//! into each patient's index object (`medidocs_search::PatientIndexes`).
//!
//! A batch's records are only a list of what changed: each document named is read again
//! from the table (its current record, whatever order the records came in), and each
//! patient it was or is filed under gets one read-change-write of their index for the
//! whole batch. A patient whose index cannot be written is reported as a batch item
//! failure (its earliest record): Lambda retries from there, and what succeeded is not
//! undone by the retry (putting a document's current state again changes nothing).
//!
//! `{"reindex": {"patients": ["p-1", …]}}` invoked by hand makes those patients' indexes
//! again from the records (docs/deploy.md, "Search: where the index lives").

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use medidocs_core::keys;
use medidocs_core::ports::{MetadataStore, ObjectStore, StoreError};
use medidocs_core::search::entry_for;
use medidocs_search::{Change, PatientIndexes};
use serde_json::{Value, json};

/// What the indexer works with.
pub struct Indexer {
    pub meta: Arc<dyn MetadataStore>,
    pub objects: Arc<dyn ObjectStore>,
    pub indexes: PatientIndexes,
}

/// What one stream record says: a document changed, under these patients.
struct Touched {
    sequence: String,
    document: String,
    patients: Vec<String>,
}

/// A stream record of a document item, or `None` (another item: care teams, audit, the
/// pacer, claims; or a record without what is needed).
fn touched(record: &Value) -> Option<Touched> {
    let d = &record["dynamodb"];
    let pk = d["Keys"]["pk"]["S"].as_str()?;
    if d["Keys"]["sk"]["S"].as_str()? != keys::DOCUMENT_SORT {
        return None;
    }
    let document = pk.strip_prefix(keys::DOCUMENT_PREFIX)?;
    if !keys::is_system_id(document) {
        return None;
    }
    let mut patients: Vec<String> = ["NewImage", "OldImage"]
        .iter()
        .filter_map(|image| d[image]["patient_id"]["S"].as_str())
        .filter(|p| keys::validate_patient_id(p).is_ok())
        .map(str::to_string)
        .collect();
    patients.dedup();
    Some(Touched {
        sequence: d["SequenceNumber"].as_str().unwrap_or_default().to_string(),
        document: document.to_string(),
        patients,
    })
}

/// How long after a record's last write a missing OCR model is waited for: S3
/// Replication Time Control replicates 99.99 % of objects within 15 minutes.
const REPLICATION_WAIT: time::Duration = time::Duration::minutes(30);

/// Whether a record written at `updated_at` (RFC 3339) was written within
/// [`REPLICATION_WAIT`] of `now`.
fn recent(updated_at: &str, now: time::OffsetDateTime) -> bool {
    time::OffsetDateTime::parse(updated_at, &time::format_description::well_known::Rfc3339)
        .is_ok_and(|t| now - t < REPLICATION_WAIT)
}

/// Stream sequence numbers are decimal strings of up to 40 digits: compared by length,
/// then as text.
fn earlier(a: &str, b: &str) -> bool {
    (a.len(), a) < (b.len(), b)
}

impl Indexer {
    /// One batch of stream records; the answer is Lambda's partial batch response.
    pub async fn index_batch(&self, batch: &Value) -> Value {
        // patient → (earliest sequence number, documents)
        let mut work: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
        let mut skipped = 0;
        for record in batch["Records"].as_array().into_iter().flatten() {
            let Some(t) = touched(record) else {
                skipped += 1;
                continue;
            };
            for p in t.patients {
                let entry = work
                    .entry(p)
                    .or_insert_with(|| (t.sequence.clone(), BTreeSet::new()));
                if earlier(&t.sequence, &entry.0) {
                    entry.0 = t.sequence.clone();
                }
                entry.1.insert(t.document.clone());
            }
        }
        let mut failures: Vec<String> = Vec::new();
        let (mut patients, mut documents, mut conflicts, mut rebuilt) = (0, 0, 0, 0);
        for (patient, (first, docs)) in work {
            match self.changes(&patient, &docs).await {
                Ok(changes) => match self.indexes.update(&patient, changes, false).await {
                    Ok(u) => {
                        patients += 1;
                        documents += docs.len();
                        conflicts += u.conflicts;
                        rebuilt += u.made_from_records as u32;
                    }
                    Err(e) => {
                        tracing::warn!(
                            error = e.code(),
                            "a patient's search index could not be written"
                        );
                        failures.push(first);
                    }
                },
                Err(e) => {
                    tracing::warn!(
                        error = e.code(),
                        "documents could not be read for the search index"
                    );
                    failures.push(first);
                }
            }
        }
        tracing::info!(
            patients,
            documents,
            conflicts,
            rebuilt,
            skipped,
            failed = failures.len(),
            "indexed"
        );
        json!({
            "batchItemFailures": failures
                .into_iter()
                .map(|s| json!({ "itemIdentifier": s }))
                .collect::<Vec<_>>(),
        })
    }

    /// What `patient`'s index must do about `docs`: hold each as it is now if it is this
    /// patient's and searchable, else not hold it.
    async fn changes(
        &self,
        patient: &str,
        docs: &BTreeSet<String>,
    ) -> Result<Vec<Change>, StoreError> {
        let mut changes = Vec::with_capacity(docs.len());
        let now = time::OffsetDateTime::now_utc();
        for id in docs {
            let record = match self.meta.get_document(id).await {
                Ok(r) => Some(r),
                Err(StoreError::NotFound { .. }) => None,
                Err(e) => return Err(e),
            };
            let entry = match record.filter(|r| r.patient_id == patient) {
                Some(r) => match entry_for(self.objects.as_ref(), &r).await {
                    Ok(e) => e,
                    // Its OCR model not there yet: in the recovery region the record comes
                    // by the global table within seconds, the model by S3 replication
                    // within 15 minutes. The patient is retried rather than the document
                    // left out.
                    Err(StoreError::NotFound { .. }) if recent(&r.updated_at, now) => {
                        return Err(StoreError::not_found(format!(
                            "the OCR model of {id} (not replicated yet?)"
                        )));
                    }
                    // Gone for good: nothing of it can be searched, however often the batch
                    // is retried.
                    Err(StoreError::NotFound { .. }) => {
                        tracing::warn!(document = %id, "an OCR model is missing: not indexed");
                        None
                    }
                    Err(e) => return Err(e),
                },
                None => None,
            };
            changes.push(match entry {
                Some(e) => Change::Put(Box::new(e)),
                None => Change::Remove(id.clone()),
            });
        }
        Ok(changes)
    }

    /// `{"reindex": {"patients": [...]}}`: those patients' indexes made from the records.
    pub async fn reindex(&self, patients: &[String]) -> Result<Value, StoreError> {
        let mut done = Vec::new();
        for p in patients {
            let u = self.indexes.update(p, Vec::new(), true).await?;
            done.push(json!({ "documents": u.documents, "bytes": u.bytes }));
        }
        Ok(json!({ "reindexed": done }))
    }

    /// One invocation: a stream batch, or a reindex asked for by hand.
    pub async fn handle(&self, event: &Value) -> Result<Value, StoreError> {
        if let Some(r) = event.get("reindex") {
            let patients: Vec<String> = r["patients"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect();
            if patients.is_empty() {
                return Err(StoreError::InvalidInput {
                    what: "reindex names no patients: {\"reindex\": {\"patients\": [\"…\"]}}"
                        .into(),
                });
            }
            return self.reindex(&patients).await;
        }
        Ok(self.index_batch(event).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_record_names_its_document_and_both_patients() {
        let r = json!({
            "eventName": "MODIFY",
            "dynamodb": {
                "Keys": { "pk": { "S": "DOC#0a1b" }, "sk": { "S": "META" } },
                "NewImage": { "patient_id": { "S": "p-2" } },
                "OldImage": { "patient_id": { "S": "p-1" } },
                "SequenceNumber": "1200"
            }
        });
        let t = touched(&r).unwrap();
        assert_eq!(t.document, "0a1b");
        assert_eq!(t.patients, ["p-2", "p-1"]);
        assert_eq!(t.sequence, "1200");
        // Other items, and keys that are not ids, are not documents.
        for keys in [
            json!({ "pk": { "S": "PATIENT#p-1" }, "sk": { "S": "MEMBER#d-1" } }),
            json!({ "pk": { "S": "DOC#0a1b" }, "sk": { "S": "DOC" } }),
            json!({ "pk": { "S": "DOC#../x" }, "sk": { "S": "META" } }),
            json!({ "pk": { "N": "1" } }),
        ] {
            assert!(touched(&json!({ "dynamodb": { "Keys": keys } })).is_none());
        }
        let now = time::OffsetDateTime::now_utc();
        let at = |ago: time::Duration| {
            (now - ago)
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        assert!(recent(&at(time::Duration::minutes(5)), now));
        assert!(!recent(&at(time::Duration::hours(2)), now));
        assert!(!recent("not a time", now));
        assert!(earlier("999", "1000"));
        assert!(earlier("1000", "1001"));
        assert!(!earlier("1001", "1001"));
    }
}
