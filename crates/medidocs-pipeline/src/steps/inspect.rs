//! `inspect`: registers the document, checks its real type and limits, finds an earlier
//! document of the same patient with the same content, and decides what happens next.

use std::time::Instant;

use super::{InspectOutput, Next, Priority, Steps, run_of};
use crate::error::StepError;
use medidocs_core::clock::rfc3339;
use medidocs_core::inputs::SourceInput;
use medidocs_core::keys;
use medidocs_core::model::{DocumentRecord, Labels, Status};
use medidocs_core::ports::StoreError;
use medidocs_media as media;

impl Steps {
    /// A new record for a source, owned by this region and `attempt`.
    fn new_record(
        &self,
        input: &SourceInput,
        patient_id: String,
        sha256: String,
        bytes: u64,
        attempt: u32,
    ) -> DocumentRecord {
        let now = self.clock.now();
        let mut doc = DocumentRecord::new(
            input.document_id(),
            patient_id,
            medidocs_core::model::SourceRef {
                bucket: input.bucket.clone(),
                key: input.key.clone(),
                version: input.version.clone(),
            },
            sha256,
            bytes,
            rfc3339(now),
        );
        doc.attempt = attempt;
        doc.region = self.region.clone();
        doc.deadline = Some(rfc3339(now + self.deadline));
        doc
    }

    /// Registers the document (RECEIVED, conditional write), checks its real type and limits
    /// and moves it to PROCESSING. A repeated event for a finished document is a no-op.
    pub async fn inspect(&self, input: &SourceInput) -> Result<InspectOutput, StepError> {
        let started = Instant::now();
        let id = input.document_id();
        let patient_id = patient_from_key(&input.key)?;
        let run = run_of(input.execution.as_deref(), &id);
        let attempt = run.map(|r| r.attempt);

        // The original, once read here: the checks below use the same bytes.
        let mut read: Option<Vec<u8>> = None;
        let mut doc = match self.meta.get_document(&id).await {
            Ok(doc) => doc,
            Err(StoreError::NotFound { .. }) => {
                let head = self
                    .objects
                    .head_version(&input.key, &input.version)
                    .await?;
                // Registers the document without its content, so the rejection that
                // follows has a record to mark and the original is kept.
                let register_unread = |why: StepError| async {
                    let doc = self
                        .new_record(
                            input,
                            patient_id.clone(),
                            String::new(),
                            head.size,
                            attempt.unwrap_or(1),
                        )
                        .with_labels(self.labels(&input.key).await?);
                    match self.meta.create_document(&doc).await {
                        Ok(()) | Err(StoreError::AlreadyExists { .. }) => Err(why),
                        Err(e) => Err(e.into()),
                    }
                };
                if head.size > self.limits.max_bytes {
                    // Not read whole: it is rejected as too large.
                    return register_unread(
                        media::MediaError::TooLarge {
                            bytes: head.size,
                            limit: self.limits.max_bytes,
                        }
                        .into(),
                    )
                    .await;
                }
                let bytes = match self.read_original(&input.key, &input.version).await {
                    Ok(b) => b,
                    Err(e @ StepError::InvalidDocument { .. }) => {
                        return register_unread(e).await;
                    }
                    Err(e) => return Err(e),
                };
                let doc = self
                    .new_record(
                        input,
                        patient_id,
                        keys::sha256_hex(&bytes),
                        bytes.len() as u64,
                        attempt.unwrap_or(1),
                    )
                    .with_labels(self.labels(&input.key).await?);
                read = Some(bytes);
                match self.meta.create_document(&doc).await {
                    Ok(()) => doc,
                    // A concurrent delivery of the same event registered it first.
                    Err(StoreError::AlreadyExists { .. }) => self.meta.get_document(&id).await?,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let out = |doc: &DocumentRecord, next| InspectOutput {
            document_id: doc.id.clone(),
            next,
            status: doc.status,
            source_key: doc.source.key.clone(),
            source_version: doc.source.version.clone(),
            mime: doc.mime.clone(),
            pages: doc.pages,
            duplicate_of: doc.duplicate_of.clone(),
            priority: Priority::of_key(&doc.source.key),
        };
        // A retry (a run named as one, newer than the record's) starts a FAILED document
        // again; any other run of a final document does nothing.
        let mut take_over = false;
        if doc.status.is_terminal() {
            let retry = run.is_some_and(|r| r.retry && r.attempt > doc.attempt);
            if !(retry && doc.status == Status::Failed) {
                return Ok(out(&doc, Next::Done));
            }
            doc.reset_for_retry();
            tracing::info!(document = %doc.id, attempt = ?attempt, "retry of a FAILED document");
        } else if run.is_some_and(|r| r.retry && r.attempt != doc.attempt) {
            // Only a FAILED document is retried; this one is on its way already (unless
            // this is the retry's own run, inspecting again after an error).
            return Ok(out(&doc, Next::Done));
        }
        // A run superseded by a newer attempt, or by another region's run of this one, does
        // nothing; a newer attempt than the record's takes the document over.
        if let Some(a) = attempt {
            let other_region = !doc.region.is_empty() && doc.region != self.region;
            if doc.attempt > a || (doc.attempt == a && other_region) {
                tracing::info!(document = %doc.id, attempt = a, owner = doc.attempt, "superseded run: nothing to do");
                return Ok(out(&doc, Next::Done));
            }
            if doc.attempt < a {
                doc.attempt = a;
                doc.region = self.region.clone();
                take_over = true;
            }
        }
        // A reconcile took over an original nobody had registered (a record without its
        // content yet): this run, its owner, registers the content now.
        if doc.is_placeholder() {
            let head = self
                .objects
                .head_version(&input.key, &input.version)
                .await?;
            doc.bytes = head.size;
            doc = doc.with_labels(self.labels(&input.key).await?);
            if head.size > self.limits.max_bytes {
                doc.version += 1;
                self.meta.update_document(&doc).await?;
                return Err(media::MediaError::TooLarge {
                    bytes: head.size,
                    limit: self.limits.max_bytes,
                }
                .into());
            }
            let bytes = self.read_original(&input.key, &input.version).await?;
            doc.sha256 = keys::sha256_hex(&bytes);
            read = Some(bytes);
            take_over = true;
        }

        if doc.bytes > self.limits.max_bytes {
            return Err(media::MediaError::TooLarge {
                bytes: doc.bytes,
                limit: self.limits.max_bytes,
            }
            .into());
        }
        let bytes = match read.take() {
            Some(b) => b,
            None => self.read_original(&input.key, &input.version).await?,
        };
        // The upload was bound to its SHA-256 (a presigned PUT signs it, and S3 checks
        // it); a store that kept a checksum other than the bytes' own has bytes nobody
        // vouched for.
        if !doc.sha256.is_empty()
            && let Some(declared) = self
                .objects
                .recorded_sha256(&input.key, &input.version)
                .await?
            && declared != doc.sha256
        {
            return Err(crate::error::checksum_mismatch());
        }
        let limits = self.limits;
        let inspection = self.cpu(move || media::inspect(&bytes, &limits)).await?;

        let first = self
            .meta
            .claim_content(&doc.patient_id, &doc.sha256, &doc.id)
            .await?;
        doc.mime = Some(inspection.mime.as_str().to_string());
        doc.pages = inspection.pages;
        doc.duplicate_of = first.filter(|f| *f != doc.id);
        doc.timings
            .insert("inspect".into(), started.elapsed().as_millis() as u64);
        // A document a reconcile took over waits for its run with a long deadline (it may
        // queue in the bulk import for long): its run gives it the usual one.
        let usual = rfc3339(self.clock.now() + self.deadline);
        let far = doc.deadline.as_deref().is_none_or(|d| d > usual.as_str());
        if doc.status != Status::Processing || take_over || far {
            self.save(&mut doc, Status::Processing).await?;
        }
        tracing::info!(document = %doc.id, mime = inspection.mime.short(), pages = doc.pages, "inspected");
        let next = if doc.duplicate_of.is_some() {
            Next::Duplicate
        } else {
            Next::Process
        };
        if next == Next::Process && inspection.pages > 1 && !inspection.directories.is_empty() {
            self.put_json(&keys::page_directories(&doc.id), &inspection.directories)
                .await?;
        }
        Ok(out(&doc, next))
    }

    /// The original at the version its event named. Bytes that fail the checksum the
    /// store recorded when they were written, twice in a row (once may be a fault on the
    /// way), are not the bytes uploaded: `checksum_mismatch`, REJECTED.
    async fn read_original(&self, key: &str, version: &str) -> Result<Vec<u8>, StepError> {
        match self.objects.get_version(key, version).await {
            Ok(b) => Ok(b),
            Err(StoreError::ChecksumMismatch { .. }) => {
                match self.objects.get_version(key, version).await {
                    Ok(b) => Ok(b),
                    Err(StoreError::ChecksumMismatch { .. }) => {
                        Err(crate::error::checksum_mismatch())
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The labels staff gave a bulk original (`labels.json` next to it), if any. Labels
    /// that break the rules are dropped and the document goes on; the warning does not
    /// repeat them (they are the patient's data).
    async fn labels(&self, source_key: &str) -> Result<Labels, StepError> {
        let Some(key) = keys::labels_key(source_key) else {
            return Ok(Labels::default());
        };
        let bytes = match self.objects.get(&key).await {
            Ok(b) => b,
            Err(StoreError::NotFound { .. }) => return Ok(Labels::default()),
            Err(e) => return Err(e.into()),
        };
        let parsed = if bytes.len() > 16 * 1024 {
            Err("larger than 16 KiB".to_string())
        } else {
            serde_json::from_slice::<Labels>(&bytes)
                .map_err(|_| "not a JSON object of document_type and note".to_string())
                .and_then(|l| l.validate().map(|()| l))
        };
        Ok(parsed.unwrap_or_else(|reason| {
            tracing::warn!(%reason, "labels.json ignored");
            Labels::default()
        }))
    }
}

/// Upload keys are `uploads/{patient}/{upload}/original` (or `bulk/…`); the patient comes
/// from the key.
fn patient_from_key(key: &str) -> Result<String, StepError> {
    keys::parse_original(key)
        .map(|original| original.patient_id.to_string())
        .ok_or_else(|| {
            StepError::invalid(
                "unexpected_key",
                "the object is not under uploads/ or bulk/{patient}/{upload}/original",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patient_comes_from_a_well_formed_upload_key_only() {
        assert_eq!(
            patient_from_key("uploads/p-1/0a1b/original").unwrap(),
            "p-1"
        );
        for bad in [
            "uploads/p-1/0a1b/other",
            "x/p-1/0a1b/original",
            "uploads/../0a1b/original",
            "uploads/p/NOTHEX/original",
        ] {
            let e = patient_from_key(bad).unwrap_err();
            assert_eq!(e.code(), "unexpected_key", "{bad}");
        }
    }
}
