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

/// The SHA-256 (hex) and length of everything `reader` gives, read in 64 KiB pieces:
/// the one way files are hashed, whatever reads them.
pub fn sha256_reader(mut reader: impl std::io::Read) -> std::io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let total = std::io::copy(&mut reader, &mut h)?;
    Ok((hex::encode(h.finalize()), total))
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

/// A SHA-256 as this system writes it: 64 lowercase hexadecimal characters.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Ids made by this system (document ids, upload ids): lowercase hex.
pub fn is_system_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The item that records which of a patient's documents first had this content
/// (`SHA#{patient}#{sha256}`). Duplicates are found within one patient only: the same
/// bytes from two patients are two documents that know nothing of each other.
pub fn content_claim(patient_id: &str, sha256: &str) -> String {
    format!("{CLAIM_PREFIX}{patient_id}#{sha256}")
}

// Item keys of the metadata table: DynamoDB's single table, and SQLite's `items` table
// laid out the same way (`pk`/`sk`, `gsi1pk`/`gsi1sk`, `gsi2pk`/`gsi2sk`). Both adapters
// build them here, and read them back here.

/// A document's item: partition `DOC#{id}`, sort [`DOCUMENT_SORT`].
pub fn document_item(id: &str) -> String {
    format!("{DOCUMENT_PREFIX}{id}")
}
/// What every document item's partition starts with.
pub const DOCUMENT_PREFIX: &str = "DOC#";
/// The sort key of a document's item.
pub const DOCUMENT_SORT: &str = "META";
/// The sort key of a content claim ([`content_claim`]).
pub const CLAIM_SORT: &str = "DOC";
/// What every content claim's partition starts with.
pub const CLAIM_PREFIX: &str = "SHA#";

/// A content claim of an earlier version, without its patient (`SHA#{sha256}`), which
/// `medidocs migrate` removes.
pub fn legacy_content_claim(sha256: &str) -> String {
    format!("{CLAIM_PREFIX}{sha256}")
}
/// The SHA-256 of a content claim of an earlier version; `None` for today's claims
/// (`SHA#{patient}#{sha256}`: a SHA-256 has no `#`) and for any other key.
pub fn legacy_claim_sha256(partition: &str) -> Option<&str> {
    partition
        .strip_prefix(CLAIM_PREFIX)
        .filter(|sha| !sha.contains('#'))
}

/// What a patient's partitions start with (documents on the listing index, care teams).
pub const PATIENT_PREFIX: &str = "PATIENT#";
/// A patient's settings item (`SETTINGS#{pid}`, sort [`SETTINGS_SORT`]): a partition of
/// its own, apart from the care team's `PATIENT#` one, so a writer of settings need not
/// be able to write care teams.
pub fn patient_settings(patient_id: &str) -> String {
    format!("SETTINGS#{patient_id}")
}
/// The sort key of a patient's settings item.
pub const SETTINGS_SORT: &str = "PATIENT";
/// What a care-team member's partitions start with.
pub const MEMBER_PREFIX: &str = "MEMBER#";

/// A patient's partition: the listing index of their documents (`gsi1pk`) and their care
/// team (`pk`, one item per member).
pub fn patient_partition(patient_id: &str) -> String {
    format!("{PATIENT_PREFIX}{patient_id}")
}
/// A care-team member's key: the sort key under the patient, and the partition of the
/// member's own index of patients (`gsi1pk`).
pub fn member_key(member: &str) -> String {
    format!("{MEMBER_PREFIX}{member}")
}
/// The member a [`member_key`] names.
pub fn member_of(key: &str) -> Option<&str> {
    key.strip_prefix(MEMBER_PREFIX)
}
/// The patient a [`patient_partition`] names.
pub fn patient_of(partition: &str) -> Option<&str> {
    partition.strip_prefix(PATIENT_PREFIX)
}

/// The first key after every key that starts with `prefix` (its last byte plus one), for
/// range queries: `prefix <= key < prefix_end(prefix)`. Every prefix here ends in `#`.
pub fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.to_string();
    let last = end.pop().expect("a key prefix is not empty");
    let next = char::from_u32(last as u32 + 1).expect("a key prefix ends in ASCII");
    end.push(next);
    end
}

/// The audit trail of one patient (`pk`), or of requests that named no patient.
pub fn audit_partition(patient_id: Option<&str>) -> String {
    format!("{AUDIT_PREFIX}{}", patient_id.unwrap_or("-"))
}
/// The audit trail of one month (`gsi1pk`), for reading the whole trail in order; `month`
/// is [`crate::access::audit_month`] of a record's time.
pub fn audit_month_partition(month: &str) -> String {
    format!("{AUDIT_PREFIX}{month}")
}
/// What every audit partition starts with (the audit items are the only ones whose
/// `gsi1pk` does).
pub const AUDIT_PREFIX: &str = "AUDIT#";

/// The OCR pacer's item of one region's quota (sort key [`PACER_SORT`]).
pub fn pacer_item(name: &str) -> String {
    format!("PACER#{name}")
}
/// The sort key of a pacer's item.
pub const PACER_SORT: &str = "SLOT";

/// A document's place in its patient's listing (the index sort key, newest last). Listing
/// cursors are these keys: a page continues below the last key it returned.
pub fn listing_key(created_at: &str, id: &str) -> String {
    format!("{LISTING_PREFIX}{created_at}#{id}")
}
const LISTING_PREFIX: &str = "CREATED#";
/// Whether a key has the shape of a [`listing_key`].
pub fn is_listing_key(key: &str) -> bool {
    key.strip_prefix(LISTING_PREFIX)
        .and_then(|rest| rest.rsplit_once('#'))
        .is_some_and(|(created_at, id)| !created_at.is_empty() && is_system_id(id))
}

/// A document's place in its patient's timeline (`gsi3sk`, under the patient's
/// [`patient_partition`] as `gsi3pk`): the day it is about (its document date, else the
/// day it came in: [`crate::model::DocumentRecord::sort_date`]), then when it came in.
/// Timeline cursors are these keys.
pub fn dated_key(date: &str, created_at: &str, id: &str) -> String {
    format!("{DATED_PREFIX}{date}#{created_at}#{id}")
}
const DATED_PREFIX: &str = "DATED#";
/// A document's (`gsi3pk`, `gsi3sk`): every document is in the timeline.
pub fn dated_index(doc: &crate::model::DocumentRecord) -> (String, String) {
    (
        patient_partition(&doc.patient_id),
        dated_key(doc.sort_date(), &doc.created_at, &doc.id),
    )
}
/// Whether a key has the shape of a [`dated_key`].
pub fn is_dated_key(key: &str) -> bool {
    key.strip_prefix(DATED_PREFIX)
        .and_then(|rest| rest.split_once('#'))
        .and_then(|(date, rest)| Some((date, rest.rsplit_once('#')?)))
        .is_some_and(|(date, (created_at, id))| {
            is_day(date) && !created_at.is_empty() && is_system_id(id)
        })
}
/// The timeline keys of the days `from..=to` (either open): `low <= key < high`.
pub fn dated_range(from: Option<&str>, to: Option<&str>) -> (String, String) {
    (
        format!("{DATED_PREFIX}{}", from.unwrap_or("")),
        match to {
            Some(to) => prefix_end(&format!("{DATED_PREFIX}{to}#")),
            None => prefix_end(DATED_PREFIX),
        },
    )
}
/// `YYYY-MM-DD`, a real day of the Gregorian calendar.
pub fn is_day(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| {
        s.get(r)
            .filter(|t| t.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|t| t.parse::<u32>().ok())
    };
    match (num(0..4), num(5..7), num(8..10)) {
        (Some(y), Some(m), Some(d)) => {
            let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
            let days = match m {
                1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
                4 | 6 | 9 | 11 => 30,
                2 if leap => 29,
                2 => 28,
                _ => return false,
            };
            y >= 1 && (1..=days).contains(&d)
        }
        _ => false,
    }
}

pub fn upload_key(patient_id: &str, upload_id: &str) -> String {
    format!("uploads/{patient_id}/{upload_id}/original")
}
/// A bulk import's original. Same layout under `bulk/`, which the per-upload starter does
/// not watch: bulk imports are paced by `statemachines/bulk-import.asl.json` instead.
pub fn bulk_key(patient_id: &str, upload_id: &str) -> String {
    format!("bulk/{patient_id}/{upload_id}/original")
}
/// Where an original came in: an upload (started by the upload event) or a bulk import
/// (started by the bulk state machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    Upload,
    Bulk,
}

/// An original's key, read back: `uploads/{patient}/{upload}/original` or
/// `bulk/{patient}/{upload}/original`, with a valid patient id and a system upload id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginalKey<'a> {
    pub arrival: Arrival,
    pub patient_id: &'a str,
    pub upload_id: &'a str,
}

/// The original a key names, if it is one of [`upload_key`] or [`bulk_key`]; `None` for
/// any other key (and for a path that only looks like one: `..`, an id out of rule).
pub fn parse_original(key: &str) -> Option<OriginalKey<'_>> {
    let mut parts = key.split('/');
    let arrival = match parts.next()? {
        "uploads" => Arrival::Upload,
        "bulk" => Arrival::Bulk,
        _ => return None,
    };
    let (patient_id, upload_id) = (parts.next()?, parts.next()?);
    let well_formed = parts.next() == Some("original")
        && parts.next().is_none()
        && validate_patient_id(patient_id).is_ok()
        && is_system_id(upload_id);
    well_formed.then_some(OriginalKey {
        arrival,
        patient_id,
        upload_id,
    })
}

/// What staff said about a bulk original ([`crate::model::Labels`]), next to it:
/// `bulk/{patient}/{upload}/labels.json`. Only bulk originals have labels.
pub fn labels_key(source_key: &str) -> Option<String> {
    let original = parse_original(source_key)?;
    (original.arrival == Arrival::Bulk).then(|| {
        format!(
            "bulk/{}/{}/labels.json",
            original.patient_id, original.upload_id
        )
    })
}
pub fn quarantine_original(doc: &str) -> String {
    format!("quarantine/{doc}/original")
}
pub fn quarantine_reason(doc: &str) -> String {
    format!("quarantine/{doc}/reason.json")
}
/// Where originals arrive: [`upload_key`]s and [`bulk_key`]s.
pub const ORIGINAL_PREFIXES: [&str; 2] = ["uploads/", "bulk/"];

/// Where bulk imports' manifests are kept (the upload bucket).
pub const BULK_MANIFESTS: &str = "bulk-manifests/";
/// Where bulk imports' results are written (the upload bucket).
pub const BULK_RESULTS: &str = "bulk-results/";

/// A bulk import's manifest: `bulk-manifests/{batch}.csv`.
pub fn bulk_manifest(batch: &str) -> String {
    format!("{BULK_MANIFESTS}{batch}.csv")
}
/// Where a bulk import's per-document results go: `bulk-results/{batch}`.
pub fn bulk_results(batch: &str) -> String {
    format!("{BULK_RESULTS}{batch}")
}

/// Whether an object lives in the upload bucket (what arrives: originals, bulk manifests
/// and results) rather than the artefact bucket (what is made: `artefacts/`,
/// `quarantine/`, `work/`).
pub fn in_upload_bucket(key: &str) -> bool {
    ORIGINAL_PREFIXES
        .iter()
        .chain(&[BULK_MANIFESTS, BULK_RESULTS])
        .any(|p| key.starts_with(p))
}

/// Everything made of a document that is part of its record.
pub fn artefacts_prefix(doc: &str) -> String {
    format!("artefacts/{doc}/")
}
pub fn pages_list(doc: &str) -> String {
    format!("{}pages.json", artefacts_prefix(doc))
}
pub fn rendition(doc: &str, page: u32, name: &str, ext: &str) -> String {
    format!("{}pages/{page}/{name}.{ext}", artefacts_prefix(doc))
}
pub fn page_renditions(doc: &str, page: u32) -> String {
    format!("{}pages/{page}/renditions.json", artefacts_prefix(doc))
}
/// A page's full-size OCR image: an intermediate the render step makes for the OCR step,
/// made again from the original whenever it is missing. It lives under `work/`, which is
/// not part of the record: not kept under retention, not replicated, removed when the
/// document ends and expired by the bucket's lifecycle in any case.
pub fn ocr_image(doc: &str, page: u32) -> String {
    format!("{}pages/{page}/ocr.png", work_prefix(doc))
}
/// A PDF page's own text, read by the render step from the bytes it decodes the page
/// from, for the OCR step: an intermediate under `work/`, like the OCR image.
pub fn text_layer(doc: &str, page: u32) -> String {
    format!("{}pages/{page}/layer.json", work_prefix(doc))
}
/// Where each page of a multi-page TIFF starts in its original (the offsets of the pages'
/// directories), found by the inspect step for the render step: an intermediate under
/// `work/`, like the OCR image. Without it a page reads the whole original.
pub fn page_directories(doc: &str) -> String {
    format!("{}directories.json", work_prefix(doc))
}
/// Everything a document's processing keeps only while it runs.
pub fn work_prefix(doc: &str) -> String {
    format!("work/{doc}/")
}
/// Whether an object is part of the record (kept for the retention period and replicated
/// to the recovery region) rather than an intermediate under `work/` or a search index
/// under `index/` (derived, rewritten in place, made again from the records).
pub fn is_kept(key: &str) -> bool {
    !key.starts_with("work/") && !key.starts_with(INDEX_PREFIX)
}

/// Where the patients' search indexes live (the artefact bucket; each region its own).
pub const INDEX_PREFIX: &str = "index/";

/// A patient's search index in an object store: `index/{patient}/search-v{version}`, the
/// version being the index's schema's: a new one is written beside the old, which is no
/// longer read.
pub fn patient_index(patient_id: &str, version: u32) -> String {
    format!("{INDEX_PREFIX}{patient_id}/search-v{version}")
}
pub fn page_ocr(doc: &str, page: u32) -> String {
    format!("{}pages/{page}/ocr.json", artefacts_prefix(doc))
}
pub fn text(doc: &str) -> String {
    format!("{}text.txt", artefacts_prefix(doc))
}
pub fn ocr(doc: &str) -> String {
    format!("{}ocr.json", artefacts_prefix(doc))
}
/// The document's searchable PDF: page images under an invisible text layer.
pub fn document_pdf(doc: &str) -> String {
    format!("{}document.pdf", artefacts_prefix(doc))
}

/// The name of the pipeline execution that runs attempt `attempt` of document `id`: the
/// id for the first (so a repeated upload event asks for the same name), `{id}-a{n}` for
/// a later run that takes the document over (a reconcile in the region that survived a
/// failure). Step Functions keeps a name for 90 days whatever the outcome, so every new
/// run of a document needs a new attempt number.
pub fn execution_name(id: &str, attempt: u32) -> String {
    if attempt <= 1 {
        id.to_string()
    } else {
        format!("{id}-a{attempt}")
    }
}

/// The name of a retry of a FAILED document as attempt `attempt`: `{id}-r{n}`. Only a
/// run named so may start a FAILED document again.
pub fn retry_execution_name(id: &str, attempt: u32) -> String {
    format!("{id}-r{}", attempt.max(2))
}

/// A run of a document, as its execution's name says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run<'a> {
    pub document_id: &'a str,
    pub attempt: u32,
    /// A retry of a FAILED document ([`retry_execution_name`]).
    pub retry: bool,
}

/// The run an execution name made by [`execution_name`] or [`retry_execution_name`]
/// stands for; `None` for any other name.
pub fn parse_execution_name(name: &str) -> Option<Run<'_>> {
    let (id, attempt, retry) = match name.rsplit_once('-') {
        None => (name, 1, false),
        Some((id, tail)) => {
            let (retry, n) = match (tail.strip_prefix('a'), tail.strip_prefix('r')) {
                (Some(n), _) => (false, n),
                (_, Some(n)) => (true, n),
                _ => return None,
            };
            let digits = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
            if !digits || n.starts_with('0') {
                return None;
            }
            (id, n.parse::<u32>().ok().filter(|n| *n >= 2)?, retry)
        }
    };
    is_system_id(id).then_some(Run {
        document_id: id,
        attempt,
        retry,
    })
}

/// The sparse in-flight index (`gsi2` in DynamoDB, a partial index in SQLite): partition
/// `INFLIGHT#{region}`, sort `{deadline}#{id}`. Only documents in flight that have a
/// deadline are in it, so the watchdog's query costs the same whatever the table holds.
pub fn inflight_index(doc: &crate::model::DocumentRecord) -> Option<(String, String)> {
    let deadline = doc.deadline.as_deref()?;
    (!doc.status.is_terminal()).then(|| {
        (
            inflight_partition(&doc.region),
            format!("{deadline}#{}", doc.id),
        )
    })
}

/// The in-flight index partition of a region's documents.
pub fn inflight_partition(region: &str) -> String {
    format!("INFLIGHT#{region}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_range_holds_exactly_the_keys_with_the_prefix() {
        for prefix in [
            MEMBER_PREFIX,
            PATIENT_PREFIX,
            AUDIT_PREFIX,
            DOCUMENT_PREFIX,
            CLAIM_PREFIX,
        ] {
            let end = prefix_end(prefix);
            let inside = |k: &str| prefix <= k && k < end.as_str();
            assert!(inside(prefix));
            assert!(inside(&format!("{prefix}~~~~")));
            assert!(inside(&format!("{prefix}\u{10ffff}")));
            assert!(!inside(&prefix[..prefix.len() - 1]));
            assert!(!inside(&end));
        }
        assert_eq!(member_of(&member_key("d-1")), Some("d-1"));
        assert_eq!(patient_of(&patient_partition("p-1")), Some("p-1"));
        assert_eq!(member_of("PATIENT#p-1"), None);
    }

    #[test]
    fn timeline_keys_sort_by_day_then_arrival_and_ranges_hold_whole_days() {
        let k = |d, c, id| dated_key(d, c, id);
        let a = k("2019-03-04", "2026-12-02T08:00:00.000Z", "0a");
        let b = k("2019-03-04", "2026-12-02T09:00:00.000Z", "0b");
        let c = k("2025-01-01", "2020-01-01T00:00:00.000Z", "0c");
        assert!(a < b && b < c);
        for key in [&a, &b, &c] {
            assert!(is_dated_key(key), "{key}");
        }
        for bad in [
            "",
            "DATED#",
            "DATED#2019-02-30#t#0a",
            "DATED#2019-03-04##0a",
            "DATED#2019-03-04#t#XY",
            "CREATED#t#0a",
        ] {
            assert!(!is_dated_key(bad), "{bad}");
        }
        let (lo, hi) = dated_range(Some("2019-03-04"), Some("2019-03-04"));
        assert!(lo <= a && b < hi && c >= hi);
        let (lo, hi) = dated_range(Some("2019-03-05"), None);
        assert!(a < lo && c >= lo && c < hi);
        let (lo, hi) = dated_range(None, Some("2019-03-03"));
        assert!(lo < a && a >= hi);
        assert!(
            is_day("2024-02-29")
                && !is_day("2023-02-29")
                && !is_day("2024-13-01")
                && !is_day("24-01-01")
        );
    }

    #[test]
    fn listing_cursors_are_listing_keys() {
        assert!(is_listing_key(&listing_key(
            "2026-12-02T08:00:00.000Z",
            "0a1b"
        )));
        for bad in [
            "",
            "CREATED#",
            "CREATED#x",
            "CREATED##0a",
            "CREATED#t#NOTHEX",
            "DOC#0a",
        ] {
            assert!(!is_listing_key(bad), "{bad}");
        }
    }

    #[test]
    fn what_arrives_is_in_the_upload_bucket_and_what_is_made_is_not() {
        let doc = document_id("b", "k", "v");
        for key in [
            upload_key("p", "ab"),
            bulk_key("p", "ab"),
            bulk_manifest("b1"),
        ] {
            assert!(in_upload_bucket(&key), "{key}");
        }
        assert!(in_upload_bucket(&format!(
            "{}/SUCCEEDED_0.json",
            bulk_results("b1")
        )));
        for key in [text(&doc), quarantine_original(&doc), ocr_image(&doc, 1)] {
            assert!(!in_upload_bucket(&key), "{key}");
        }
    }

    #[test]
    fn item_keys_read_back() {
        assert_eq!(document_item("ab"), "DOC#ab");
        assert_eq!(
            legacy_claim_sha256(&legacy_content_claim("ff00")),
            Some("ff00")
        );
        assert_eq!(legacy_claim_sha256(&content_claim("p-1", "ff00")), None);
        assert_eq!(legacy_claim_sha256(&document_item("ff00")), None);
        assert!(patient_partition("p-1").starts_with(PATIENT_PREFIX));
        assert!(member_key("d-1").starts_with(MEMBER_PREFIX));
        assert_eq!(audit_partition(None), "AUDIT#-");
        assert_eq!(audit_partition(Some("p-1")), "AUDIT#p-1");
        assert_eq!(audit_month_partition("2026-11"), "AUDIT#2026-11");
    }

    #[test]
    fn originals_are_read_back_by_the_rule_they_are_made_by() {
        let up = upload_key("p-1", "0a1b");
        let o = parse_original(&up).unwrap();
        assert_eq!(
            (o.arrival, o.patient_id, o.upload_id),
            (Arrival::Upload, "p-1", "0a1b")
        );
        let bulk = bulk_key("P_2", "ff");
        let o = parse_original(&bulk).unwrap();
        assert_eq!((o.arrival, o.patient_id), (Arrival::Bulk, "P_2"));
        for bad in [
            "uploads/p-1/0a1b/other",
            "uploads/p-1/0a1b/original/more",
            "x/p-1/0a1b/original",
            "uploads/../0a1b/original",
            "uploads/p/NOTHEX/original",
            "uploads//0a1b/original",
            "uploads/p-1/original",
            "quarantine/0a1b/original",
        ] {
            assert_eq!(parse_original(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_work_objects_are_left_out_of_the_record() {
        let doc = document_id("b", "k", "v1");
        for kept in [
            upload_key("p-1", "ab"),
            bulk_key("p-1", "ab"),
            quarantine_original(&doc),
            rendition(&doc, 1, "preview", "jpg"),
            page_renditions(&doc, 1),
            page_ocr(&doc, 1),
            text(&doc),
            ocr(&doc),
        ] {
            assert!(is_kept(&kept), "{kept}");
        }
        let image = ocr_image(&doc, 2);
        assert!(!is_kept(&image));
        assert!(image.starts_with(&work_prefix(&doc)));
    }

    #[test]
    fn execution_names_carry_the_attempt_and_parse_back() {
        let id = document_id("b", "k", "v1");
        assert_eq!(execution_name(&id, 1), id);
        assert_eq!(execution_name(&id, 0), id);
        assert_eq!(execution_name(&id, 3), format!("{id}-a3"));
        assert_eq!(retry_execution_name(&id, 3), format!("{id}-r3"));
        for n in [1, 2, 17, 4_000_000] {
            let name = execution_name(&id, n);
            assert!(
                name.len() <= 80,
                "Step Functions names are at most 80 characters"
            );
            let run = parse_execution_name(&name).unwrap();
            assert_eq!(
                (run.document_id, run.attempt, run.retry),
                (id.as_str(), n, false)
            );
            if n >= 2 {
                let name = retry_execution_name(&id, n);
                let run = parse_execution_name(&name).unwrap();
                assert_eq!(
                    (run.document_id, run.attempt, run.retry),
                    (id.as_str(), n, true)
                );
            }
        }
        for bad in [
            "",
            "x-a2",
            &format!("{id}-a"),
            &format!("{id}-a1"),
            &format!("{id}-r1"),
            &format!("{id}-a02"),
            &format!("{id}-a2x"),
            &format!("{id}-b2"),
            &format!("{id}-a2-a3"),
            "NOT-HEX",
        ] {
            assert_eq!(parse_execution_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_documents_in_flight_with_a_deadline_are_in_the_inflight_index() {
        let mut d = crate::model::DocumentRecord::new(
            "ab12".into(),
            "p-1".into(),
            crate::model::SourceRef {
                bucket: "b".into(),
                key: "k".into(),
                version: "v".into(),
            },
            String::new(),
            1,
            "2026-01-01T00:00:00.000Z".into(),
        );
        assert_eq!(inflight_index(&d), None);
        d.region = "eu-west-1".into();
        d.deadline = Some("2026-01-01T01:00:00.000Z".into());
        assert_eq!(
            inflight_index(&d),
            Some((
                "INFLIGHT#eu-west-1".into(),
                "2026-01-01T01:00:00.000Z#ab12".into()
            ))
        );
        d.status = crate::model::Status::Ready;
        assert_eq!(inflight_index(&d), None);
    }

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
