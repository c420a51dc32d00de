//! Searching documents: what a query is, what a search may return, and what the index
//! holds of a document. The index itself is a port ([`crate::ports::SearchIndex`]); it is
//! derived from the records and rebuilt from them ([`follow`], `medidocs reindex`), so it
//! is never the only copy of anything.
//!
//! A query is words and "quoted phrases". A document matches when it holds every word and
//! every phrase; a word is found as written (accents and case aside), by its English,
//! French or Spanish stem, as the start of a longer word (three letters or more, or ending
//! in `*`), or, from five letters, with one OCR error (one letter changed, added, dropped or
//! two swapped). A word with punctuation inside (`co-amoxiclav`, `12/03`) is a phrase of its
//! parts.

use serde::{Deserialize, Serialize};

use crate::model::{DocumentRecord, Status};
use crate::ocr::{BoundingBox, OcrDocument};
use crate::ports::{MetadataStore, ObjectStore, SearchIndex, StoreError};
use crate::understand::DocumentType;

/// At most this many words in a query.
pub const MAX_TERMS: usize = 10;
/// At most this many characters in a query.
pub const MAX_QUERY_CHARS: usize = 200;
/// At most this many hits are kept per document.
pub const MAX_HITS: usize = 10;
/// At most this many documents in one answer.
pub const MAX_RESULTS: usize = 100;
/// A word this long or longer is also found as the start of a longer word.
pub const PREFIX_MIN_CHARS: usize = 3;
/// A word this long or longer is also found with one OCR error.
pub const FUZZY_MIN_CHARS: usize = 5;

/// Lowercased alphanumeric words of a text.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// A query out of the rules: empty, too many words, too long, an unclosed quote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidQuery {
    #[error("a query is 1 to {MAX_TERMS} words, at most {MAX_QUERY_CHARS} characters")]
    Size,
    #[error("a quoted phrase is not closed")]
    UnclosedQuote,
}

/// One part of a query: every part must be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    /// A word, lowercased; `prefix` when written with a final `*` (then found as the start
    /// of a longer word whatever its length).
    Word { text: String, prefix: bool },
    /// Words that must follow one another, as written (accents and case aside).
    Phrase(Vec<String>),
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    clauses: Vec<Clause>,
}

impl Query {
    pub fn parse(text: &str) -> Result<Self, InvalidQuery> {
        let text = text.trim();
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(InvalidQuery::Size);
        }
        if text.chars().filter(|c| *c == '"').count() % 2 == 1 {
            return Err(InvalidQuery::UnclosedQuote);
        }
        let mut clauses = Vec::new();
        for (i, part) in text.split('"').enumerate() {
            if i % 2 == 1 {
                // Inside quotes: one phrase (a single word is a word).
                let ws: Vec<String> = words(part).collect();
                match ws.len() {
                    0 => {}
                    1 => clauses.push(Clause::Word {
                        text: ws[0].clone(),
                        prefix: false,
                    }),
                    _ => clauses.push(Clause::Phrase(ws)),
                }
                continue;
            }
            for token in part.split_whitespace() {
                let prefix = token.ends_with('*');
                let ws: Vec<String> = words(token).collect();
                match ws.len() {
                    0 => {}
                    1 => clauses.push(Clause::Word {
                        text: ws[0].clone(),
                        prefix,
                    }),
                    _ => clauses.push(Clause::Phrase(ws)),
                }
            }
        }
        clauses.dedup();
        let mut seen = Vec::new();
        clauses.retain(|c| {
            let keep = !seen.contains(c);
            if keep {
                seen.push(c.clone());
            }
            keep
        });
        let count: usize = clauses
            .iter()
            .map(|c| match c {
                Clause::Word { .. } => 1,
                Clause::Phrase(ws) => ws.len(),
            })
            .sum();
        if count == 0 || count > MAX_TERMS {
            return Err(InvalidQuery::Size);
        }
        Ok(Self { clauses })
    }

    pub fn clauses(&self) -> &[Clause] {
        &self.clauses
    }

    /// Every word of the query, in order.
    pub fn terms(&self) -> Vec<&str> {
        self.clauses
            .iter()
            .flat_map(|c| match c {
                Clause::Word { text, .. } => std::slice::from_ref(text),
                Clause::Phrase(ws) => ws.as_slice(),
            })
            .map(String::as_str)
            .collect()
    }

    /// The search as it was before the index, kept as the reference it is measured
    /// against: a document's lines scanned for words starting with each term. The hits
    /// (at most [`MAX_HITS`]) if it holds every word; `None` if not.
    pub fn scan(&self, ocr: &OcrDocument) -> Option<Vec<Hit>> {
        let terms = self.terms();
        let mut found = vec![false; terms.len()];
        let mut hits = Vec::new();
        for p in &ocr.pages {
            for l in &p.lines {
                let mut line_hit = false;
                for w in words(&l.text) {
                    for (t, f) in terms.iter().zip(found.iter_mut()) {
                        if w.starts_with(t) {
                            *f = true;
                            line_hit = true;
                        }
                    }
                }
                if line_hit && hits.len() < MAX_HITS {
                    hits.push(Hit {
                        page: p.page,
                        text: l.text.clone(),
                        bbox: l.bbox,
                        highlights: Vec::new(),
                        boxes: Vec::new(),
                    });
                }
            }
        }
        found.iter().all(|f| *f).then_some(hits)
    }
}

/// What narrows a search besides its words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub doc_type: Option<DocumentType>,
    /// First and last day (`YYYY-MM-DD`, inclusive) of the document's date, else the day
    /// it came in (its place in the timeline, [`DocumentRecord::sort_date`]).
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A search: the query, the patients whose documents it may return (already
/// authorised), the filter and how many documents at most.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub query: Query,
    pub patients: Vec<String>,
    pub filter: Filter,
    pub limit: usize,
}

/// A line holding what was searched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub page: u32,
    /// The line's text.
    pub text: String,
    /// The line's box.
    pub bbox: BoundingBox,
    /// Where in `text` the matching words are: character offsets, start and end.
    pub highlights: Vec<(usize, usize)>,
    /// The matching words' boxes, page-relative.
    pub boxes: Vec<BoundingBox>,
}

/// A document found, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    pub document_id: String,
    pub patient_id: String,
    pub doc_type: Option<String>,
    pub document_date: Option<String>,
    pub created_at: String,
    pub score: f32,
    /// The lines holding what was searched, in reading order (at most [`MAX_HITS`]).
    pub hits: Vec<Hit>,
}

/// A search's answer: the best documents and how many matched in all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Found {
    pub matches: Vec<Match>,
    pub total: usize,
}

/// A word of a line, as the index keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexedWord {
    pub text: String,
    pub bbox: BoundingBox,
}

/// A line, as the index keeps it (for hits: its text, box, and words' boxes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexedLine {
    pub page: u32,
    pub text: String,
    pub bbox: BoundingBox,
    pub words: Vec<IndexedWord>,
}

/// What the index holds of one document: enough to find it, filter it and show its hits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub document_id: String,
    pub patient_id: String,
    /// Its type's code ([`DocumentRecord::type_of`]).
    pub doc_type: Option<String>,
    pub document_date: Option<String>,
    /// The day it is filtered by ([`DocumentRecord::sort_date`]).
    pub day: String,
    pub created_at: String,
    /// The record's version it was made from.
    pub version: u64,
    pub lines: Vec<IndexedLine>,
}

impl IndexEntry {
    /// What the index should hold of a record: a READY document with its text, not a
    /// link to another document of the same patient; `None` for anything else.
    pub fn of(doc: &DocumentRecord, ocr: &OcrDocument) -> Option<IndexEntry> {
        if !is_indexed(doc) {
            return None;
        }
        Some(IndexEntry {
            document_id: doc.id.clone(),
            patient_id: doc.patient_id.clone(),
            doc_type: doc.type_of().map(|(t, _)| t.code().to_string()),
            document_date: doc.document_date().map(str::to_string),
            day: doc.sort_date().to_string(),
            created_at: doc.created_at.clone(),
            version: doc.version,
            lines: Self::lines_of(ocr),
        })
    }

    /// An OCR model's lines as the index keeps them, in reading order.
    pub fn lines_of(ocr: &OcrDocument) -> Vec<IndexedLine> {
        ocr.pages
            .iter()
            .flat_map(|p| {
                p.lines.iter().map(|l| IndexedLine {
                    page: p.page,
                    text: l.text.clone(),
                    bbox: l.bbox,
                    words: l
                        .words
                        .iter()
                        .map(|w| IndexedWord {
                            text: w.text.clone(),
                            bbox: w.bbox,
                        })
                        .collect(),
                })
            })
            .collect()
    }

    /// The text the words are found in: lines in reading order.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            out.push_str(&l.text);
            out.push('\n');
        }
        out
    }
}

/// Whether a record belongs in the index: READY, with an OCR model, its own content.
pub fn is_indexed(doc: &DocumentRecord) -> bool {
    doc.status == Status::Ready && doc.ocr_key.is_some() && doc.duplicate_of.is_none()
}

/// A day `YYYY-MM-DD` as a number that sorts as the day does (20250301).
pub fn day_number(day: &str) -> Option<i64> {
    let b = day.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits: String = day.chars().filter(|c| *c != '-').collect();
    if digits.len() != 8 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// What following a record did to the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Followed {
    Indexed,
    Removed,
}

/// Brings the index up to one document's record as it is now: indexed when it belongs
/// there ([`is_indexed`]), removed otherwise (gone, failed, not yet READY). Called for
/// every change of a record (the embedded store's outbox, DynamoDB Streams in AWS) and by
/// `medidocs reindex` for every record.
pub async fn follow(
    meta: &dyn MetadataStore,
    objects: &dyn ObjectStore,
    index: &dyn SearchIndex,
    document_id: &str,
) -> Result<Followed, StoreError> {
    let doc = match meta.get_document(document_id).await {
        Ok(d) => d,
        Err(StoreError::NotFound { .. }) => {
            index.remove(None, document_id).await?;
            return Ok(Followed::Removed);
        }
        Err(e) => return Err(e),
    };
    follow_record(objects, index, &doc).await
}

/// [`follow`], for a record already read.
pub async fn follow_record(
    objects: &dyn ObjectStore,
    index: &dyn SearchIndex,
    doc: &DocumentRecord,
) -> Result<Followed, StoreError> {
    match entry_for(objects, doc).await? {
        Some(e) => {
            index.put(e).await?;
            Ok(Followed::Indexed)
        }
        None => {
            index.remove(Some(&doc.patient_id), &doc.id).await?;
            Ok(Followed::Removed)
        }
    }
}

/// What the index should hold of a record, its OCR model read from the store; `None`
/// when it does not belong there ([`is_indexed`]).
pub async fn entry_for(
    objects: &dyn ObjectStore,
    doc: &DocumentRecord,
) -> Result<Option<IndexEntry>, StoreError> {
    let Some(key) = doc.ocr_key.as_deref().filter(|_| is_indexed(doc)) else {
        return Ok(None);
    };
    let bytes = objects.get(key).await?;
    let ocr: OcrDocument = serde_json::from_slice(&bytes)
        .map_err(|e| StoreError::unavailable(format!("the OCR model of {}", doc.id), e))?;
    Ok(IndexEntry::of(doc, &ocr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TextSource;
    use crate::ocr::{Line, OcrPage};

    fn doc(lines: &[&str]) -> OcrDocument {
        OcrDocument {
            pages: vec![OcrPage {
                page: 1,
                text_source: TextSource::Ocr,
                rotation: 0,
                language: None,
                lines: lines
                    .iter()
                    .map(|t| Line {
                        text: t.to_string(),
                        confidence: 90.0,
                        bbox: BoundingBox::default(),
                        words: Vec::new(),
                        angle: 0,
                    })
                    .collect(),
            }],
        }
    }

    fn word(t: &str, prefix: bool) -> Clause {
        Clause::Word {
            text: t.into(),
            prefix,
        }
    }

    #[test]
    fn the_scan_matches_a_document_holding_every_word_or_a_word_starting_with_it() {
        let d = doc(&["Levothyroxine 50 mcg", "Take once daily", "Nothing here"]);
        let hits = Query::parse("levo DAILY").unwrap().scan(&d).unwrap();
        let lines: Vec<_> = hits.iter().map(|h| h.text.as_str()).collect();
        assert_eq!(lines, ["Levothyroxine 50 mcg", "Take once daily"]);
        assert_eq!(Query::parse("levo insulin").unwrap().scan(&d), None);
        assert_eq!(Query::parse("thyroxine").unwrap().scan(&d), None);
    }

    #[test]
    fn a_query_is_words_phrases_and_prefixes() {
        let q = Query::parse(r#"HbA1c "chest pain" ticag* co-amoxiclav"#).unwrap();
        assert_eq!(
            q.clauses(),
            [
                word("hba1c", false),
                Clause::Phrase(vec!["chest".into(), "pain".into()]),
                word("ticag", true),
                Clause::Phrase(vec!["co".into(), "amoxiclav".into()]),
            ]
        );
        assert_eq!(
            q.terms(),
            ["hba1c", "chest", "pain", "ticag", "co", "amoxiclav"]
        );
        // A quoted single word is a word; repeats count once.
        let q = Query::parse(r#""Seán" seán B b"#).unwrap();
        assert_eq!(q.clauses(), [word("seán", false), word("b", false)]);
    }

    #[test]
    fn queries_out_of_the_rules_are_refused() {
        assert_eq!(Query::parse("  ,;  "), Err(InvalidQuery::Size));
        assert_eq!(Query::parse(r#""  ""#), Err(InvalidQuery::Size));
        assert_eq!(Query::parse(&"a ".repeat(11)).unwrap().terms(), ["a"]);
        let eleven: String = (0..11).map(|i| format!("w{i} ")).collect();
        assert_eq!(Query::parse(&eleven), Err(InvalidQuery::Size));
        let phrase: String = format!("\"{}\"", eleven);
        assert_eq!(Query::parse(&phrase), Err(InvalidQuery::Size));
        assert_eq!(Query::parse(&"x".repeat(201)), Err(InvalidQuery::Size));
        assert_eq!(
            Query::parse(r#""chest pain"#),
            Err(InvalidQuery::UnclosedQuote)
        );
    }

    #[test]
    fn days_become_numbers_that_sort_as_days() {
        assert_eq!(day_number("2025-03-01"), Some(20250301));
        assert!(day_number("2024-12-31") < day_number("2025-01-01"));
        for bad in ["2025-3-01", "2025/03/01", "20250301", "2025-03-0x", ""] {
            assert_eq!(day_number(bad), None, "{bad}");
        }
    }
}
