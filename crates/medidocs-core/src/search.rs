//! Finding words in a patient's documents: what a query is, and whether (and where) a
//! document's text holds it. A document matches when it holds every word of the query, or
//! a word starting with it; the lines that hold one are its hits, in reading order.

use crate::ocr::{BoundingBox, OcrDocument};

/// At most this many words in a query.
pub const MAX_TERMS: usize = 10;
/// At most this many characters in a query.
pub const MAX_QUERY_CHARS: usize = 200;
/// At most this many hits are kept per document.
pub const MAX_HITS: usize = 10;

/// Lowercased alphanumeric words of a text.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// A query out of the rules: empty, too many words, too long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a query is 1 to {MAX_TERMS} words, at most {MAX_QUERY_CHARS} characters")]
pub struct InvalidQuery;

/// A parsed query: its distinct words, lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    terms: Vec<String>,
}

/// A line holding a searched word.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub page: u32,
    pub text: String,
    pub bbox: BoundingBox,
}

impl Query {
    pub fn parse(text: &str) -> Result<Self, InvalidQuery> {
        let text = text.trim();
        let mut terms: Vec<String> = words(text).collect();
        terms.sort();
        terms.dedup();
        if terms.is_empty() || terms.len() > MAX_TERMS || text.chars().count() > MAX_QUERY_CHARS {
            return Err(InvalidQuery);
        }
        Ok(Self { terms })
    }

    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// The document's hits (at most [`MAX_HITS`]) if it holds every word; `None` if not.
    pub fn find(&self, ocr: &OcrDocument) -> Option<Vec<Hit>> {
        // One pass over the document's words: which terms it holds, which lines hit.
        let mut found = vec![false; self.terms.len()];
        let mut hits = Vec::new();
        for p in &ocr.pages {
            for l in &p.lines {
                let mut line_hit = false;
                for w in words(&l.text) {
                    for (t, f) in self.terms.iter().zip(found.iter_mut()) {
                        if w.starts_with(t.as_str()) {
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
                    });
                }
            }
        }
        found.iter().all(|f| *f).then_some(hits)
    }
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

    #[test]
    fn a_document_matches_when_it_holds_every_word_or_a_word_starting_with_it() {
        let d = doc(&["Levothyroxine 50 mcg", "Take once daily", "Nothing here"]);
        let hits = Query::parse("levo DAILY").unwrap().find(&d).unwrap();
        let lines: Vec<_> = hits.iter().map(|h| h.text.as_str()).collect();
        assert_eq!(lines, ["Levothyroxine 50 mcg", "Take once daily"]);
        assert_eq!(Query::parse("levo insulin").unwrap().find(&d), None);
        assert_eq!(
            Query::parse("thyroxine").unwrap().find(&d),
            None,
            "prefixes only"
        );
    }

    #[test]
    fn queries_out_of_the_rules_are_refused() {
        assert_eq!(Query::parse("  ,;  "), Err(InvalidQuery));
        assert_eq!(Query::parse(&"a ".repeat(11)).unwrap().terms(), ["a"]);
        let eleven: String = (0..11).map(|i| format!("w{i} ")).collect();
        assert_eq!(Query::parse(&eleven), Err(InvalidQuery));
        assert_eq!(Query::parse(&"x".repeat(201)), Err(InvalidQuery));
        assert_eq!(Query::parse("B a b").unwrap().terms(), ["a", "b"]);
    }
}
