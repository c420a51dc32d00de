//! What the CLI prints: a table for people, JSON lines for programs.

use std::path::Path;
use std::time::Duration;

use medidocs_core::model::{DocumentRecord, Status, TypeSource};
use medidocs_core::ocr::OcrDocument;
use medidocs_core::understand::Understanding;
use serde_json::{Value, json};

pub struct RunRow<'a> {
    pub file: String,
    pub doc: &'a DocumentRecord,
    pub already: bool,
    pub elapsed: Duration,
}

impl<'a> RunRow<'a> {
    pub fn new(file: &Path, doc: &'a DocumentRecord, already: bool, elapsed: Duration) -> Self {
        Self {
            file: file.display().to_string(),
            doc,
            already,
            elapsed,
        }
    }
}

/// The JSON form of a document record (the `run --json` line, and the base of `show --json`).
pub fn record_json(doc: &DocumentRecord) -> Value {
    let mut v = json!({
        "id": doc.id,
        "patient_id": doc.patient_id,
        "status": doc.status,
        "mime": doc.mime,
        "pages": doc.pages,
        "bytes": doc.bytes,
        "sha256": doc.sha256,
        "text_chars": doc.text_chars,
        "text_source": doc.text_source.map(|t| t.as_str()),
        "renditions": doc.renditions,
        "text_key": doc.text_key,
        "ocr_key": doc.ocr_key,
        "timings_ms": doc.timings,
        "created_at": doc.created_at,
        "updated_at": doc.updated_at,
    });
    if let Some(r) = &doc.reason {
        v["reason"] = json!({ "code": r.code, "message": r.message });
    }
    if let Some(d) = &doc.duplicate_of {
        v["duplicate_of"] = json!(d);
    }
    if let Some(t) = &doc.document_type {
        v["document_type"] = json!(t);
    }
    if let Some(n) = &doc.note {
        v["note"] = json!(n);
    }
    if let Some(u) = &doc.understanding {
        v["understanding"] = json!(u);
    }
    v
}

pub struct Table {
    json: bool,
    counts: [u64; 5],
    already: u64,
    errors: u64,
}

const W_FILE: usize = 34;

fn ellipsize(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w {
        s.to_string()
    } else {
        let tail: String = s.chars().skip(n - (w - 1)).collect();
        format!("…{tail}")
    }
}

impl Table {
    pub fn new(json: bool) -> Self {
        Self {
            json,
            counts: [0; 5],
            already: 0,
            errors: 0,
        }
    }

    pub fn header(&self) {
        println!(
            "{:<W_FILE$} {:<24} {:<5} {:>5} {:<9} {:>7} {:>5} {:>7}",
            "FILE", "DOCUMENT", "TYPE", "PAGES", "STATUS", "CHARS", "REND", "TIME"
        );
    }

    pub fn row(&mut self, r: &RunRow) {
        let idx = Status::ALL
            .iter()
            .position(|s| *s == r.doc.status)
            .unwrap_or(0);
        self.counts[idx] += 1;
        if r.already {
            self.already += 1;
        }
        if self.json {
            let mut v = record_json(r.doc);
            v["file"] = json!(r.file);
            v["already_processed"] = json!(r.already);
            v["elapsed_ms"] = json!(r.elapsed.as_millis() as u64);
            println!("{v}");
            return;
        }
        let kind = r.doc.mime.as_deref().map(short_type).unwrap_or("-");
        let time = if r.already {
            "done".to_string()
        } else {
            format!("{:.2}s", r.elapsed.as_secs_f64())
        };
        println!(
            "{:<W_FILE$} {:<24} {:<5} {:>5} {:<9} {:>7} {:>5} {:>7}",
            ellipsize(&r.file, W_FILE),
            r.doc.id,
            kind,
            r.doc.pages,
            r.doc.status.as_str(),
            r.doc.text_chars,
            r.doc.renditions.len(),
            time
        );
        if let Some(reason) = &r.doc.reason {
            println!("{:<W_FILE$} └ {}: {}", "", reason.code, reason.message);
        }
        if let Some((doc_type, source)) = r.doc.type_of() {
            let how = match source {
                TypeSource::Given => "filed as",
                TypeSource::Read => "reads as",
            };
            let date = r
                .doc
                .document_date()
                .map_or("no document date".to_string(), |d| format!("dated {d}"));
            println!("{:<W_FILE$} └ {how} {}, {date}", "", doc_type.code());
        }
    }

    pub fn error(&mut self, file: &Path, message: &str) {
        self.errors += 1;
        if self.json {
            println!(
                "{}",
                json!({ "file": file.display().to_string(), "status": "ERROR", "error": message })
            );
        } else {
            println!(
                "{:<W_FILE$} not processed: {message}",
                ellipsize(&file.display().to_string(), W_FILE)
            );
        }
    }

    pub fn tally(&self, elapsed: Duration) {
        if self.json {
            return;
        }
        let total: u64 = self.counts.iter().sum::<u64>() + self.errors;
        let parts: Vec<String> = Status::ALL
            .iter()
            .zip(self.counts)
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{n} {}", s.as_str()))
            .collect();
        println!();
        println!(
            "{total} document{}: {}{} in {:.1}s",
            if total == 1 { "" } else { "s" },
            parts.join(", "),
            if self.errors > 0 {
                format!(", {} not processed", self.errors)
            } else {
                String::new()
            },
            elapsed.as_secs_f64()
        );
        if self.already > 0 {
            println!(
                "{} already processed earlier: nothing was done again for {}.",
                self.already,
                if self.already == 1 { "it" } else { "them" }
            );
        }
        if self.counts[3] > 0 {
            println!(
                "Rejected files are kept in quarantine with their reason; `medidocs show ID` explains each."
            );
        }
    }
}

fn short_type(mime: &str) -> &str {
    mime.rsplit('/').next().unwrap_or(mime)
}

/// What a document reads as and when it happened (`medidocs show`, `medidocs understand`).
pub fn print_understanding(u: &Understanding) {
    let t = &u.doc_type;
    println!(
        "Reads as   {} (LOINC {}), confidence {:.2}",
        t.code.code(),
        t.loinc.as_deref().unwrap_or("none"),
        t.confidence
    );
    for e in &t.evidence {
        println!("           because of {e}");
    }
    println!(
        "Dated      {}",
        u.document_date
            .as_deref()
            .unwrap_or("no service or issue date found")
    );
    for d in &u.dates {
        println!(
            "           {} {} from \"{}\" (line {}){}",
            d.role.as_str(),
            d.date,
            d.text,
            d.line + 1,
            if d.ambiguous {
                ", ambiguous: day and month could be either way"
            } else {
                ""
            }
        );
    }
}

pub fn print_document(doc: &DocumentRecord, ocr: Option<&OcrDocument>) {
    println!("Document   {}", doc.id);
    println!("Patient    {}", doc.patient_id);
    println!("Status     {}", doc.status.as_str());
    if let Some(r) = &doc.reason {
        println!("Reason     {} — {}", r.code, r.message);
    }
    println!("Type       {}", doc.mime.as_deref().unwrap_or("unknown"));
    println!("Pages      {}", doc.pages);
    println!("Size       {} bytes", doc.bytes);
    println!("SHA-256    {}", doc.sha256);
    if let Some(d) = &doc.duplicate_of {
        println!("Duplicate  same content as {d}");
    }
    if let Some(t) = &doc.document_type {
        println!("Filed as   {t}");
    }
    if let Some(n) = &doc.note {
        println!("Note       {}", n.replace('\n', "\n           "));
    }
    if let Some(t) = doc.text_source {
        println!(
            "Text       {} characters, from {}",
            doc.text_chars,
            t.as_str()
        );
    }
    if let Some(u) = &doc.understanding {
        print_understanding(u);
    }
    println!("Created    {}", doc.created_at);
    if !doc.timings.is_empty() {
        let t: Vec<String> = doc
            .timings
            .iter()
            .map(|(k, v)| format!("{k} {v} ms"))
            .collect();
        println!("Timings    {}", t.join(", "));
    }
    if !doc.renditions.is_empty() {
        println!("\nRenditions");
        for r in &doc.renditions {
            println!(
                "  page {:<3} {:<8} {:<10} {:>5}×{:<5} {:>8} bytes  {}",
                r.page, r.name, r.mime, r.width, r.height, r.bytes, r.key
            );
        }
    }
    if let Some(ocr) = ocr {
        println!("\nText");
        for p in &ocr.pages {
            let conf = p
                .mean_confidence()
                .map(|c| format!(", mean confidence {c:.0}"))
                .unwrap_or_default();
            let rot = if p.rotation != 0 {
                format!(", turned {}° to read", p.rotation)
            } else {
                String::new()
            };
            println!(
                "──── page {} ({}{conf}{rot}) ────",
                p.page,
                p.text_source.as_str()
            );
            print!("{}", p.text());
        }
    }
}
