use std::future::Future;
use std::pin::Pin;

use anyhow::{Result, ensure};
use medidocs_core::keys;
use medidocs_core::migrate::{LegacyRecords, migrate, names_another_document};
use medidocs_core::model::{DocumentRecord, RenditionRef, SourceRef, Status};
use medidocs_core::ports::{MetadataStore, ObjectStore, PutMode};
use medidocs_core::understand::{DocumentType, Region};

/// Writes a content claim as versions before per-patient claims did (`SHA#{sha256}` →
/// the first document's id), straight into the store.
pub type LegacyClaimWriter<'a> =
    &'a (dyn Fn(String, String) -> Pin<Box<dyn Future<Output = Result<()>> + Send>> + Sync);

fn record(run: &str, n: u32, patient: &str, sha: &str) -> DocumentRecord {
    let id = format!("{run}{n:04x}");
    let mut d = DocumentRecord::new(
        id.clone(),
        patient.to_string(),
        SourceRef {
            bucket: "b".into(),
            key: keys::upload_key(patient, &id),
            version: "v1".into(),
        },
        sha.to_string(),
        1234,
        "2026-01-02T03:04:05.000Z".into(),
    );
    d.status = Status::Ready;
    d.pages = 1;
    d
}

/// The state an earlier version left after the same bytes came from two patients (the
/// second linked to the first, reading its artefacts, one content claim for everyone),
/// then `migrate` twice: the second patient's document gets copies of its own and no
/// trace of the first; claims become per patient; the second run changes nothing.
pub async fn migration_suite(
    objects: &dyn ObjectStore,
    meta: &dyn MetadataStore,
    legacy: &dyn LegacyRecords,
    write_legacy_claim: LegacyClaimWriter<'_>,
    run: &str,
) -> Result<()> {
    let sha = format!("{run}{}", "5a".repeat(32))[..64].to_string();
    let (pa, pb) = (format!("p-{run}-a"), format!("p-{run}-b"));
    let mut first = record(run, 1, &pa, &sha);
    for (name, ext) in [("thumb", "webp"), ("preview", "webp")] {
        let key = keys::rendition(&first.id, 1, name, ext);
        objects
            .put(
                &key,
                format!("{name} of {}", first.id).into_bytes(),
                PutMode::Overwrite,
            )
            .await?;
        first.renditions.push(RenditionRef {
            name: name.into(),
            page: 1,
            mime: "image/webp".into(),
            width: 10,
            height: 10,
            bytes: 10,
            key,
        });
    }
    for key in [keys::text(&first.id), keys::ocr(&first.id)] {
        objects
            .put(
                &key,
                format!("text of {}", first.id).into_bytes(),
                PutMode::Overwrite,
            )
            .await?;
    }
    first.text_key = Some(keys::text(&first.id));
    first.ocr_key = Some(keys::ocr(&first.id));
    meta.create_document(&first).await?;
    // The other patient's copy, linked as the earlier version linked it.
    let mut linked = record(run, 2, &pb, &sha);
    linked.duplicate_of = Some(first.id.clone());
    linked.renditions = first.renditions.clone();
    linked.text_key = first.text_key.clone();
    linked.ocr_key = first.ocr_key.clone();
    meta.create_document(&linked).await?;
    // And a duplicate within the first patient, which stays linked.
    let mut own = record(run, 3, &pa, &sha);
    own.duplicate_of = Some(first.id.clone());
    own.renditions = first.renditions.clone();
    meta.create_document(&own).await?;
    // A link whose other document and artefacts are gone (erased): reported, and the
    // rest is migrated all the same.
    let mut orphan = record(run, 4, &pb, &format!("{run}{}", "6b".repeat(32))[..64]);
    let gone = format!("{run}0fff");
    orphan.duplicate_of = Some(gone.clone());
    orphan.text_key = Some(keys::text(&gone));
    meta.create_document(&orphan).await?;
    write_legacy_claim(sha.clone(), first.id.clone()).await?;

    // A lab report READY before documents were understood: read again from its text.
    let mut lab = record(run, 5, &pa, &format!("{run}{}", "7c".repeat(32))[..64]);
    let text_key = keys::text(&lab.id);
    objects
        .put(
            &text_key,
            "CITY HOSPITAL LABORATORY\nLABORATORY REPORT\nDate of birth: 02/01/1961\nCollected: 14/03/2019\n\u{c}Ferritin 45 ug/L (30-400)\nHaemoglobin 13.1 g/dL (11.5-16.5)\n"
                .as_bytes()
                .to_vec(),
            PutMode::Overwrite,
        )
        .await?;
    lab.text_key = Some(text_key);
    meta.create_document(&lab).await?;

    let report = migrate(
        objects,
        meta,
        legacy,
        Region::Ie,
        "2026-12-02T00:00:00.000Z",
    )
    .await?;
    ensure!(
        report.split.contains(&linked.id) && !report.split.contains(&own.id),
        "split {:?}",
        report.split
    );
    ensure!(
        report.claims_moved >= 1,
        "claims moved: {}",
        report.claims_moved
    );
    let failed: Vec<&str> = report.errors.iter().map(|(id, _)| id.as_str()).collect();
    ensure!(
        failed == [orphan.id.as_str()],
        "errors: {:?}",
        report.errors
    );
    let after = meta.get_document(&linked.id).await?;
    ensure!(
        !names_another_document(&after),
        "still names another document: {after:?}"
    );
    let json = serde_json::to_string(&after)?;
    ensure!(
        !json.contains(&first.id),
        "the record still carries the other patient's document id: {json}"
    );
    ensure!(after.status == Status::Ready && after.version > linked.version);
    let dated = meta.get_document(&lab.id).await?;
    let u = dated
        .understanding
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the lab report was not read again"))?;
    ensure!(
        u.doc_type.code == DocumentType::LabReport && dated.document_date() == Some("2019-03-14"),
        "read as {u:?}"
    );
    ensure!(report.dated >= 1, "dated: {}", report.dated);
    let timeline = meta
        .list_patient_documents_by_date(&pa, (Some("2019-03-14"), Some("2019-03-14")), 10, None)
        .await?;
    ensure!(
        timeline.documents.iter().map(|d| &d.id).collect::<Vec<_>>() == [&lab.id],
        "the timeline of 2019-03-14: {:?}",
        timeline.documents
    );
    for (theirs, mine) in first
        .renditions
        .iter()
        .map(|r| r.key.clone())
        .chain(first.text_key.clone())
        .zip(
            after
                .renditions
                .iter()
                .map(|r| r.key.clone())
                .chain(after.text_key.clone()),
        )
    {
        ensure!(
            objects.get(&theirs).await? == objects.get(&mine).await?,
            "{mine} is not a copy of {theirs}"
        );
    }
    let kept = meta.get_document(&own.id).await?;
    ensure!(
        kept.duplicate_of.as_deref() == Some(first.id.as_str()),
        "a link within one patient was dropped"
    );
    // Claims are per patient now: each patient's first document holds theirs.
    let probe = format!("{run}ffff");
    ensure!(
        meta.claim_content(&pa, &sha, &probe).await? == Some(first.id.clone()),
        "the first patient's claim did not move to them"
    );
    ensure!(
        meta.claim_content(&pb, &sha, &probe).await? == Some(linked.id.clone()),
        "the second patient's document did not claim its content"
    );
    ensure!(
        legacy.legacy_content_claims().await?.is_empty(),
        "claims without a patient remain"
    );

    let again = migrate(
        objects,
        meta,
        legacy,
        Region::Ie,
        "2026-12-02T00:00:01.000Z",
    )
    .await?;
    ensure!(
        again.split.is_empty()
            && again.claims_moved == 0
            && again.dated == 0
            && again.indexed == 0
            && again.errors.len() == 1,
        "a second run did something: {again:?}"
    );
    ensure!(
        meta.get_document(&linked.id).await?.version == after.version,
        "a second run wrote the record again"
    );

    // READY documents from before searchable PDFs are found; one given a PDF is not.
    let without = legacy.documents_without_pdf().await?;
    ensure!(
        without.contains(&first.id) && without.contains(&linked.id),
        "READY documents without a PDF not found: {without:?}"
    );
    let mut given = meta.get_document(&first.id).await?;
    given.pdf = Some(medidocs_core::model::PdfRef {
        key: keys::document_pdf(&given.id),
        bytes: 10,
        sha1_base64: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
        sha256: "0".repeat(64),
        created_at: "2026-12-02T00:00:02.000Z".into(),
    });
    given.version += 1;
    meta.update_document(&given).await?;
    let without = legacy.documents_without_pdf().await?;
    ensure!(
        !without.contains(&first.id) && without.contains(&linked.id),
        "a document with a PDF is still listed: {without:?}"
    );
    Ok(())
}
