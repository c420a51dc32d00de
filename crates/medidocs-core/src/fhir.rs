//! FHIR R4 views of documents: a `DocumentReference` per READY document, a `searchset`
//! `Bundle` of a patient's, the search parameters that choose them, and the
//! `OperationOutcome` of a search that cannot be run. JSON values only, no IO.
//!
//! What the resource says:
//! - `type`: the document's LOINC document code (Document Ontology) and display name,
//!   given at import or by staff, else read from its text; a document of no known type
//!   has a `type` of text only (no LOINC code is claimed for it).
//! - `category`: US Core's `clinical-note` (the category US Core asks of every clinical
//!   document a server exposes, and the one EHR clients filter on).
//! - `subject`: `Patient/{patient id}`, the id the whole service knows the patient by.
//! - `date`: when the document came in (an instant; FHIR's "when this reference was
//!   made"); `context.period`: the day the document is about (its document date).
//! - `content`: the searchable PDF (type, size, base64 SHA-1, its `/pdf` URL, title,
//!   creation); a document from before PDFs were made has its plain text instead.
//!
//! Search parameters of `GET /v1/patients/{id}/fhir/DocumentReference` (FHIR's own names
//! and semantics): `type` (token, `system|code`, `code` or `|code`, commas for any of
//! several), `date` (DocumentReference.date: when it came in) and `period`
//! (context.period: the document's own date), each date with a prefix `eq`, `ne`, `gt`,
//! `lt`, `ge` or `le` (none means `eq`) and a year, month or day, and repeatable (all must
//! hold); `_format` is accepted for JSON. Any other parameter is refused.

use serde_json::{Value, json};

use crate::model::{DocumentRecord, Status};
use crate::understand::DocumentType;

/// LOINC's code system URI.
pub const LOINC: &str = "http://loinc.org";
/// US Core's DocumentReference category code system.
pub const US_CORE_CATEGORY: &str =
    "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category";
/// The FHIR JSON media type.
pub const FHIR_JSON: &str = "application/fhir+json";

/// A document type's name for people: its LOINC display name, or "Document".
pub fn type_title(t: Option<DocumentType>) -> &'static str {
    t.and_then(DocumentType::loinc)
        .map(|(_, display)| display)
        .unwrap_or("Document")
}

/// The `/pdf` file name: `{type}-{date}.pdf` from the type's code and the document date
/// (else the day it came in); nothing of the patient's.
pub fn pdf_file_name(doc: &DocumentRecord) -> String {
    let t = doc.type_of().map_or("document", |(t, _)| t.code());
    format!("{}-{}.pdf", t.replace('_', "-"), doc.sort_date())
}

/// The `DocumentReference` of a READY document; `base` is the API's absolute URL without
/// a trailing slash (or empty, for URLs relative to the server).
pub fn document_reference(doc: &DocumentRecord, base: &str) -> Value {
    let doc_type = doc.type_of().map(|(t, _)| t);
    let title = type_title(doc_type);
    let type_concept = match doc_type.and_then(DocumentType::loinc) {
        Some((code, display)) => json!({
            "coding": [{"system": LOINC, "code": code, "display": display}],
            "text": display,
        }),
        None => json!({"text": title}),
    };
    let attachment = match &doc.pdf {
        Some(pdf) => json!({
            "contentType": "application/pdf",
            "url": format!("{base}/v1/documents/{}/pdf", doc.id),
            "size": pdf.bytes,
            "hash": pdf.sha1_base64,
            "title": pdf_file_name(doc),
            "creation": pdf.created_at,
        }),
        None => json!({
            "contentType": "text/plain; charset=utf-8",
            "url": format!("{base}/v1/documents/{}/text", doc.id),
            "title": title,
        }),
    };
    let mut resource = json!({
        "resourceType": "DocumentReference",
        "id": doc.id,
        "meta": {"versionId": doc.version.to_string(), "lastUpdated": doc.updated_at},
        "status": "current",
        "docStatus": "final",
        "type": type_concept,
        "category": [{
            "coding": [{"system": US_CORE_CATEGORY, "code": "clinical-note", "display": "Clinical Note"}],
        }],
        "subject": {"reference": format!("Patient/{}", doc.patient_id)},
        "date": doc.created_at,
        "description": title,
        "content": [{"attachment": attachment}],
    });
    if let Some(day) = doc.document_date() {
        resource["context"] = json!({"period": {"start": day, "end": day}});
    }
    resource
}

/// A `searchset` Bundle of `docs` (all of the matches: `total` is their number); `self_url`
/// is the search as asked.
pub fn search_bundle(
    docs: &[DocumentRecord],
    base: &str,
    search_url: &str,
    search: &Search,
) -> Value {
    let count = search.count.unwrap_or(DEFAULT_COUNT);
    let start = search.offset.min(docs.len());
    let end = start.saturating_add(count).min(docs.len());
    let entries: Vec<Value> = docs[start..end]
        .iter()
        .map(|d| {
            json!({
                "fullUrl": format!("{base}/v1/documents/{}/fhir", d.id),
                "resource": document_reference(d, base),
                "search": {"mode": "match"},
            })
        })
        .collect();
    // Each link is the search's own URL with the page's `_count` and `_offset`.
    let page = |offset: usize| {
        let sep = if search_url.contains('?') { '&' } else { '?' };
        format!("{search_url}{sep}_count={count}&_offset={offset}")
    };
    let mut links = vec![
        json!({"relation": "self", "url": page(search.offset)}),
        json!({"relation": "first", "url": page(0)}),
    ];
    if count > 0 && start > 0 {
        links.push(json!({"relation": "previous", "url": page(start.saturating_sub(count))}));
    }
    if count > 0 && end < docs.len() {
        links.push(json!({"relation": "next", "url": page(end)}));
    }
    if count > 0 && !docs.is_empty() {
        links.push(json!({"relation": "last", "url": page((docs.len() - 1) / count * count)}));
    }
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": docs.len(),
        "link": links,
    });
    // FHIR's Bundle has no empty arrays: no `entry` when the page holds none.
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    bundle
}

/// An `OperationOutcome` with one error issue.
pub fn operation_outcome(code: &str, diagnostics: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    })
}

/// A date search's comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
}

/// One date condition: the days `from..until` (a year, a month or a day) and how the
/// target's day compares with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateCondition {
    pub prefix: Prefix,
    /// First day of the value's range, `YYYY-MM-DD`.
    pub from: String,
    /// The day after its range.
    pub until: String,
}

impl DateCondition {
    /// `[prefix]YYYY[-MM[-DD]]`.
    pub fn parse(value: &str) -> Result<DateCondition, String> {
        let (prefix, rest) = match value.get(..2) {
            Some("eq") => (Prefix::Eq, &value[2..]),
            Some("ne") => (Prefix::Ne, &value[2..]),
            Some("gt") => (Prefix::Gt, &value[2..]),
            Some("lt") => (Prefix::Lt, &value[2..]),
            Some("ge") => (Prefix::Ge, &value[2..]),
            Some("le") => (Prefix::Le, &value[2..]),
            Some(p) if p.chars().all(|c| c.is_ascii_lowercase()) => {
                return Err(format!(
                    "the date prefix {p:?} is not supported (eq, ne, gt, lt, ge, le)"
                ));
            }
            _ => (Prefix::Eq, value),
        };
        let bad = || format!("{value:?} is not a date: YYYY, YYYY-MM or YYYY-MM-DD after a prefix");
        let parts: Vec<&str> = rest.split('-').collect();
        let num = |s: &str, len: usize| -> Result<u32, String> {
            if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse().map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        let (y, m, d) = match parts.as_slice() {
            [y] => (num(y, 4)?, None, None),
            [y, m] => (num(y, 4)?, Some(num(m, 2)?), None),
            [y, m, d] => (num(y, 4)?, Some(num(m, 2)?), Some(num(d, 2)?)),
            _ => return Err(bad()),
        };
        let month = |m: u32| time::Month::try_from(m as u8).map_err(|_| bad());
        let year = y as i32;
        let (start, end) = match (m, d) {
            (None, _) => (
                time::Date::from_calendar_date(year, time::Month::January, 1),
                time::Date::from_calendar_date(year + 1, time::Month::January, 1),
            ),
            (Some(m), None) => {
                let start = time::Date::from_calendar_date(year, month(m)?, 1);
                let end = if m == 12 {
                    time::Date::from_calendar_date(year + 1, time::Month::January, 1)
                } else {
                    time::Date::from_calendar_date(year, month(m + 1)?, 1)
                };
                (start, end)
            }
            (Some(m), Some(d)) => {
                let start = time::Date::from_calendar_date(year, month(m)?, d as u8);
                let end = start.map(|s| s.next_day().unwrap_or(s));
                (start, end)
            }
        };
        let (start, end) = (start.map_err(|_| bad())?, end.map_err(|_| bad())?);
        let day =
            |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
        Ok(DateCondition {
            prefix,
            from: day(start),
            until: day(end),
        })
    }

    /// Whether a target on `day` (`YYYY-MM-DD`) meets it.
    pub fn holds(&self, day: &str) -> bool {
        let within = self.from.as_str() <= day && day < self.until.as_str();
        match self.prefix {
            Prefix::Eq => within,
            Prefix::Ne => !within,
            Prefix::Gt => day >= self.until.as_str(),
            Prefix::Lt => day < self.from.as_str(),
            Prefix::Ge => day >= self.from.as_str(),
            Prefix::Le => day < self.until.as_str(),
        }
    }
}

/// One `type` token: a code, with the system it must be of (`Some("")`: none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeToken {
    pub system: Option<String>,
    pub code: String,
}

/// A DocumentReference search over one patient's documents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    /// Any of these (each `type` parameter must hold: a list per parameter).
    pub types: Vec<Vec<TypeToken>>,
    /// DocumentReference.date: the day it came in.
    pub date: Vec<DateCondition>,
    /// context.period: the document's date.
    pub period: Vec<DateCondition>,
    /// `_count`: entries per page ([`DEFAULT_COUNT`] unless asked, at most
    /// [`MAX_COUNT`]; 0 asks for the total alone).
    pub count: Option<usize>,
    /// `_offset`: how many matches come before this page (the `next` link says it).
    pub offset: usize,
}

/// Entries in a page of a searchset Bundle when `_count` is not given.
pub const DEFAULT_COUNT: usize = 50;
/// The most entries a page holds, whatever `_count` asks.
pub const MAX_COUNT: usize = 200;
/// The search parameters that choose a page rather than the matches.
pub const PAGING_PARAMETERS: [&str; 2] = ["_count", "_offset"];

impl Search {
    /// From the query's (name, value) pairs, in order; an error names the parameter.
    pub fn parse(pairs: &[(String, String)]) -> Result<Search, String> {
        let mut search = Search::default();
        for (name, value) in pairs {
            match name.as_str() {
                "type" => {
                    let mut any = Vec::new();
                    for token in value.split(',') {
                        let (system, code) = match token.split_once('|') {
                            Some((s, c)) => (Some(s.to_string()), c),
                            None => (None, token),
                        };
                        if code.is_empty() {
                            return Err(format!("type {value:?}: a token is [system|]code"));
                        }
                        any.push(TypeToken {
                            system,
                            code: code.to_string(),
                        });
                    }
                    search.types.push(any);
                }
                "date" => search
                    .date
                    .push(DateCondition::parse(value).map_err(|e| format!("date: {e}"))?),
                "period" => search
                    .period
                    .push(DateCondition::parse(value).map_err(|e| format!("period: {e}"))?),
                "_count" => {
                    let n: usize = value
                        .parse()
                        .map_err(|_| format!("_count {value:?} is not a whole number"))?;
                    search.count = Some(n.min(MAX_COUNT));
                }
                "_offset" => {
                    search.offset = value
                        .parse()
                        .map_err(|_| format!("_offset {value:?} is not a whole number"))?;
                }
                "_format" if matches!(value.as_str(), "json" | "application/fhir+json") => {}
                "_format" => return Err("_format: only json is served".into()),
                other => {
                    return Err(format!(
                        "the search parameter {other:?} is not supported (type, date, period, _count, _offset)"
                    ));
                }
            }
        }
        Ok(search)
    }

    /// Whether a document is a match: READY, and every condition holds.
    pub fn keeps(&self, doc: &DocumentRecord) -> bool {
        if doc.status != Status::Ready {
            return false;
        }
        let coding = doc.type_of().and_then(|(t, _)| t.loinc()).map(|(c, _)| c);
        let type_holds = |any: &Vec<TypeToken>| {
            any.iter().any(|t| {
                coding
                    .is_some_and(|c| c == t.code && t.system.as_deref().is_none_or(|s| s == LOINC))
            })
        };
        let came_in = doc.created_at.get(..10).unwrap_or("");
        self.types.iter().all(type_holds)
            && self.date.iter().all(|c| c.holds(came_in))
            && (self.period.is_empty()
                || doc
                    .document_date()
                    .is_some_and(|d| self.period.iter().all(|c| c.holds(d))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PdfRef, SourceRef};
    use crate::understand::{TypeGuess, Understanding};

    fn doc(doc_type: DocumentType, date: Option<&str>) -> DocumentRecord {
        let mut d = DocumentRecord::new(
            "ab12".into(),
            "patient-7".into(),
            SourceRef {
                bucket: "b".into(),
                key: "k".into(),
                version: "v".into(),
            },
            "00".into(),
            10,
            "2026-03-04T05:06:07.000Z".into(),
        );
        d.status = Status::Ready;
        d.understanding = Some(Understanding {
            doc_type: TypeGuess {
                code: doc_type,
                loinc: doc_type.loinc().map(|(c, _)| c.to_string()),
                confidence: 0.9,
                evidence: vec![],
            },
            document_date: date.map(str::to_string),
            dates: vec![],
        });
        d
    }

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn a_reference_names_the_type_the_patient_the_period_and_the_pdf() {
        let mut d = doc(DocumentType::LabReport, Some("2025-11-19"));
        d.pdf = Some(PdfRef {
            key: "artefacts/ab12/document.pdf".into(),
            bytes: 1234,
            sha1_base64: "qvTGHdzF6KLavt4PO0gs2a6pQ00=".into(),
            sha256: "00".into(),
            created_at: "2026-03-04T05:07:00.000Z".into(),
        });
        let r = document_reference(&d, "https://api.example");
        assert_eq!(r["type"]["coding"][0]["code"], "11502-2");
        assert_eq!(r["type"]["coding"][0]["system"], LOINC);
        assert_eq!(r["subject"]["reference"], "Patient/patient-7");
        assert_eq!(r["context"]["period"]["start"], "2025-11-19");
        let a = &r["content"][0]["attachment"];
        assert_eq!(a["contentType"], "application/pdf");
        assert_eq!(a["size"], 1234);
        assert_eq!(a["url"], "https://api.example/v1/documents/ab12/pdf");
        assert_eq!(a["title"], "lab-report-2025-11-19.pdf");
        // Another type, none known: text only, no code claimed; no PDF: the text.
        let o = document_reference(&doc(DocumentType::Other, None), "");
        assert_eq!(o["type"], json!({"text": "Document"}));
        assert!(o.get("context").is_none());
        assert_eq!(
            o["content"][0]["attachment"]["url"],
            "/v1/documents/ab12/text"
        );
    }

    #[test]
    fn dates_take_prefixes_and_their_precision() {
        let check = |v: &str, day: &str, expect: bool| {
            assert_eq!(
                DateCondition::parse(v).unwrap().holds(day),
                expect,
                "{v} {day}"
            );
        };
        check("2025", "2025-12-31", true);
        check("2025", "2026-01-01", false);
        check("eq2025-02", "2025-02-28", true);
        check("ge2025-01-01", "2025-01-01", true);
        check("lt2026-01-01", "2025-12-31", true);
        check("lt2026-01-01", "2026-01-01", false);
        check("gt2025-12", "2026-01-01", true);
        check("gt2025-12", "2025-12-31", false);
        check("le2025-12", "2025-12-31", true);
        check("ne2025-06-01", "2025-06-01", false);
        for bad in [
            "sa2025",
            "2025-13",
            "2025-02-30",
            "25-01-01",
            "2025-1-1",
            "",
            "ge",
        ] {
            assert!(DateCondition::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_search_keeps_what_every_parameter_allows() {
        let lab = doc(DocumentType::LabReport, Some("2025-11-19"));
        let keeps =
            |q: &[(&str, &str)], d: &DocumentRecord| Search::parse(&pairs(q)).unwrap().keeps(d);
        assert!(keeps(&[("type", "http://loinc.org|11502-2")], &lab));
        assert!(keeps(&[("type", "11502-2")], &lab));
        assert!(keeps(&[("type", "18842-5,11502-2")], &lab));
        assert!(!keeps(&[("type", "http://snomed.info/sct|11502-2")], &lab));
        assert!(!keeps(&[("type", "|11502-2")], &lab));
        assert!(keeps(
            &[("period", "ge2025-01-01"), ("period", "lt2026-01-01")],
            &lab
        ));
        assert!(!keeps(&[("period", "ge2026-01-01")], &lab));
        // `date` is when it came in (2026-03-04).
        assert!(keeps(&[("date", "ge2026-01-01"), ("date", "lt2027")], &lab));
        assert!(!keeps(&[("date", "2025")], &lab));
        // No document date: a period never holds.
        assert!(!keeps(
            &[("period", "ge1900")],
            &doc(DocumentType::LabReport, None)
        ));
        let mut failed = lab.clone();
        failed.status = Status::Failed;
        assert!(!keeps(&[], &failed));
        for bad in [
            ("patient", "x"),
            ("type", ""),
            ("date", "x"),
            ("_format", "xml"),
        ] {
            assert!(Search::parse(&pairs(&[bad])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_bundle_counts_and_links_its_entries() {
        let docs = vec![
            doc(DocumentType::LabReport, None),
            doc(DocumentType::Prescription, None),
        ];
        let url = "http://h/v1/patients/p/fhir/DocumentReference";
        let b = search_bundle(&docs, "http://h", url, &Search::default());
        assert_eq!(b["type"], "searchset");
        assert_eq!(b["total"], 2);
        assert_eq!(b["entry"][1]["search"]["mode"], "match");
        assert_eq!(b["entry"][0]["fullUrl"], "http://h/v1/documents/ab12/fhir");
        assert_eq!(b["link"][0]["relation"], "self");
        assert_eq!(b["link"][0]["url"], format!("{url}?_count=50&_offset=0"));
        let relations = |b: &Value| -> Vec<String> {
            b["link"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["relation"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(relations(&b), ["self", "first", "last"]);

        // Five matches two at a time: the middle page links both ways, the last has no
        // next; a page past the end holds nothing; _count=0 is the total alone.
        let five: Vec<_> = (0..5).map(|_| doc(DocumentType::LabReport, None)).collect();
        let at = |q: &[(&str, &str)]| {
            search_bundle(
                &five,
                "http://h",
                &format!("{url}?type=11502-2"),
                &Search::parse(&pairs(q)).unwrap(),
            )
        };
        let middle = at(&[("_count", "2"), ("_offset", "2")]);
        assert_eq!(middle["total"], 5);
        assert_eq!(middle["entry"].as_array().unwrap().len(), 2);
        assert_eq!(
            relations(&middle),
            ["self", "first", "previous", "next", "last"]
        );
        assert_eq!(
            middle["link"][3]["url"],
            format!("{url}?type=11502-2&_count=2&_offset=4")
        );
        assert_eq!(
            middle["link"][4]["url"],
            format!("{url}?type=11502-2&_count=2&_offset=4")
        );
        let last = at(&[("_count", "2"), ("_offset", "4")]);
        assert_eq!(last["entry"].as_array().unwrap().len(), 1);
        assert!(!relations(&last).contains(&"next".to_string()));
        let past = at(&[("_count", "2"), ("_offset", "99")]);
        assert!(past.get("entry").is_none());
        assert_eq!(past["total"], 5);
        let total = at(&[("_count", "0")]);
        assert!(total.get("entry").is_none());
        assert_eq!(relations(&total), ["self", "first"]);
        assert_eq!(
            at(&[("_count", "100000")])["entry"]
                .as_array()
                .unwrap()
                .len(),
            5
        );
        for bad in [("_count", "-1"), ("_offset", "x"), ("_count", "")] {
            assert!(Search::parse(&pairs(&[bad])).is_err(), "{bad:?}");
        }
    }
}
