//! Which words of a found document match, and so its hits: the lines holding them, where
//! in each line, and the words' boxes. The same analyzers and rules as the index's query,
//! applied to the document's stored words, so what is highlighted is what was found.

use medidocs_core::ocr::BoundingBox;
use medidocs_core::search::{Clause, Hit, IndexedLine, MAX_HITS, Query};
use tantivy::tokenizer::TextAnalyzer;

use crate::{STEMMED, fuzzy_ok, plain, prefix_ok, stemmed, tokens};

/// A query word, as the index sees it.
#[derive(Debug, Clone)]
pub(crate) struct WordTerm {
    /// As written: lowercased, accents folded.
    pub plain: String,
    /// Its stem in each stemmed field's language.
    pub stems: [String; 3],
    pub prefix: bool,
    pub fuzzy: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Term {
    Word(WordTerm),
    Phrase(Vec<String>),
}

/// A query made ready for the index and for finding its words in a document.
pub struct Matcher {
    terms: Vec<Term>,
    plain: TextAnalyzer,
    stemmers: [TextAnalyzer; 3],
}

impl Matcher {
    pub fn new(query: &Query) -> Matcher {
        let mut plain = plain();
        let mut stemmers = STEMMED.map(|(_, l)| stemmed(l));
        let mut terms = Vec::new();
        for clause in query.clauses() {
            match clause {
                Clause::Word { text, prefix } => {
                    // A query word is one alphanumeric run: one token, or none if too long.
                    let Some(p) = tokens(&mut plain, text).into_iter().next() else {
                        continue;
                    };
                    let chars = p.chars().count();
                    let stems = [0, 1, 2].map(|i| {
                        tokens(&mut stemmers[i], text)
                            .into_iter()
                            .next()
                            .unwrap_or_else(|| p.clone())
                    });
                    terms.push(Term::Word(WordTerm {
                        prefix: prefix_ok(chars, *prefix),
                        fuzzy: fuzzy_ok(chars),
                        plain: p,
                        stems,
                    }));
                }
                Clause::Phrase(words) => {
                    let ws: Vec<String> =
                        words.iter().flat_map(|w| tokens(&mut plain, w)).collect();
                    match ws.len() {
                        0 => {}
                        1 => terms.push(Term::Word(WordTerm {
                            plain: ws[0].clone(),
                            stems: [ws[0].clone(), ws[0].clone(), ws[0].clone()],
                            prefix: false,
                            fuzzy: false,
                        })),
                        _ => terms.push(Term::Phrase(ws)),
                    }
                }
            }
        }
        Matcher {
            terms,
            plain,
            stemmers,
        }
    }

    pub(crate) fn clauses(&self) -> &[Term] {
        &self.terms
    }

    /// Whether a document token matches a query word (the stemmers are the matcher's).
    fn word_matches(stemmers: &mut [TextAnalyzer; 3], token: &str, w: &WordTerm) -> bool {
        if token == w.plain
            || (w.prefix && token.starts_with(&w.plain))
            || (w.fuzzy && within_one_edit(token, &w.plain))
        {
            return true;
        }
        // A stem is (nearly) a prefix of its word: only words sharing the start of the
        // query word can share its stem, so the others are not stemmed.
        let shared = token
            .chars()
            .zip(w.plain.chars())
            .take_while(|(a, b)| a == b)
            .count();
        if shared < 3.min(w.plain.chars().count()) {
            return false;
        }
        (0..3).any(|i| {
            tokens(&mut stemmers[i], token)
                .first()
                .is_some_and(|s| *s == w.stems[i])
        })
    }

    /// The lines holding a matching word or phrase, in reading order, at most
    /// [`MAX_HITS`], each with the matching words' places in its text and their boxes.
    pub fn hits(&mut self, lines: &[IndexedLine]) -> Vec<Hit> {
        let m = self;
        // Every word of the document: (line, word), its tokens.
        let mut words: Vec<(usize, usize, Vec<String>)> = Vec::new();
        let split: Vec<Vec<(String, BoundingBox)>> = lines.iter().map(line_words).collect();
        for (li, ws) in split.iter().enumerate() {
            for (wi, (text, _)) in ws.iter().enumerate() {
                words.push((li, wi, tokens(&mut m.plain, text)));
            }
        }
        let mut hit = vec![false; words.len()];
        let terms = &m.terms;
        for (k, (_, _, toks)) in words.iter().enumerate() {
            for t in terms {
                if let Term::Word(w) = t
                    && toks
                        .iter()
                        .any(|tok| Self::word_matches(&mut m.stemmers, tok, w))
                {
                    hit[k] = true;
                }
            }
        }
        // Phrases: runs of tokens across words (and lines), as written.
        let flat: Vec<(usize, &str)> = words
            .iter()
            .enumerate()
            .flat_map(|(k, (_, _, toks))| toks.iter().map(move |t| (k, t.as_str())))
            .collect();
        for t in terms {
            let Term::Phrase(ps) = t else { continue };
            for start in 0..flat.len() {
                if flat.len() - start < ps.len() {
                    break;
                }
                if ps.iter().enumerate().all(|(i, p)| flat[start + i].1 == p) {
                    for i in 0..ps.len() {
                        hit[flat[start + i].0] = true;
                    }
                }
            }
        }
        let mut out: Vec<Hit> = Vec::new();
        let mut current: Option<usize> = None;
        for (k, (li, wi, _)) in words.iter().enumerate() {
            if !hit[k] {
                continue;
            }
            if current != Some(*li) {
                if out.len() == MAX_HITS {
                    break;
                }
                current = Some(*li);
                out.push(Hit {
                    page: lines[*li].page,
                    text: lines[*li].text.clone(),
                    bbox: lines[*li].bbox,
                    highlights: Vec::new(),
                    boxes: Vec::new(),
                });
            }
            let h = out.last_mut().expect("a hit was pushed for this line");
            let (text, bbox) = &split[*li][*wi];
            h.boxes.push(*bbox);
            if let Some(range) = place(&lines[*li].text, &split[*li], *wi, text) {
                h.highlights.push(range);
            }
        }
        out
    }
}

/// A line's words with their boxes; a line kept without words (an engine that gives
/// lines only) is split at spaces, each part with the line's box.
fn line_words(l: &IndexedLine) -> Vec<(String, BoundingBox)> {
    if l.words.is_empty() {
        return l
            .text
            .split_whitespace()
            .map(|w| (w.to_string(), l.bbox))
            .collect();
    }
    l.words.iter().map(|w| (w.text.clone(), w.bbox)).collect()
}

/// Where word `wi` is in the line's text, as character offsets: the words are found in
/// order, each after the one before.
fn place(
    line: &str,
    words: &[(String, BoundingBox)],
    wi: usize,
    text: &str,
) -> Option<(usize, usize)> {
    let mut from = 0;
    for (text_before, _) in &words[..wi] {
        if let Some(at) = line[from..].find(text_before.as_str()) {
            from += at + text_before.len();
        }
    }
    let at = from + line[from..].find(text)?;
    let start = line[..at].chars().count();
    Some((start, start + text.chars().count()))
}

/// Whether two words are at most one edit apart: one character changed, added or
/// dropped, or two neighbours swapped (the restricted Damerau–Levenshtein distance the
/// index's fuzzy query uses).
pub(crate) fn within_one_edit(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > 1 {
        return false;
    }
    let p = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if p == la && p == lb {
        return true;
    }
    let (ra, rb) = (&a[p..], &b[p..]);
    if la == lb {
        // A change, or a swap of neighbours.
        ra[1..] == rb[1..]
            || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
    } else if la > lb {
        ra[1..] == *rb
    } else {
        *ra == rb[1..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medidocs_core::search::IndexedWord;

    #[test]
    fn one_edit_is_a_change_an_addition_a_drop_or_a_swap() {
        for (a, b) in [
            ("ticagrelor", "ticagre1or"),
            ("ticagrelor", "ticagrelo"),
            ("ticagrelor", "tiicagrelor"),
            ("ticagrelor", "ticagrleor"),
            ("same", "same"),
        ] {
            assert!(within_one_edit(a, b), "{a} {b}");
            assert!(within_one_edit(b, a), "{b} {a}");
        }
        for (a, b) in [
            ("ticagrelor", "ticagre11r"),
            ("ticagrelor", "ticagrel"),
            ("abcd", "badc"),
        ] {
            assert!(!within_one_edit(a, b), "{a} {b}");
        }
    }

    fn line(page: u32, words: &[&str]) -> IndexedLine {
        let mut x = 0.0;
        IndexedLine {
            page,
            text: words.join(" "),
            bbox: BoundingBox::default(),
            words: words
                .iter()
                .map(|w| {
                    x += 0.1;
                    IndexedWord {
                        text: w.to_string(),
                        bbox: BoundingBox {
                            left: x,
                            top: 0.5,
                            width: 0.05,
                            height: 0.01,
                        },
                    }
                })
                .collect(),
        }
    }

    #[test]
    fn hits_mark_the_words_found_by_every_way_a_word_is_found() {
        let lines = [
            line(1, &["Ticagre1or", "90mg", "twice", "daily"]),
            line(1, &["Nothing", "to", "see"]),
            line(2, &["Chest", "pain,", "resolved."]),
            line(2, &["Seán", "Ó", "Súilleabháin", "fièvres"]),
        ];
        let q = Query::parse(r#"ticagrelor "chest pain" sean fievre"#).unwrap();
        let hits = Matcher::new(&q).hits(&lines);
        type Seen<'a> = (u32, &'a str, &'a [(usize, usize)]);
        let seen: Vec<Seen> = hits
            .iter()
            .map(|h| (h.page, h.text.as_str(), h.highlights.as_slice()))
            .collect();
        assert_eq!(
            seen,
            [
                (1, "Ticagre1or 90mg twice daily", &[(0, 10)][..]),
                (2, "Chest pain, resolved.", &[(0, 5), (6, 11)][..]),
                (2, "Seán Ó Súilleabháin fièvres", &[(0, 4), (20, 27)][..]),
            ]
        );
        assert_eq!(hits[0].boxes.len(), 1);
        assert!((hits[0].boxes[0].left - 0.1).abs() < 1e-6);
        // A phrase is its words in order: "pain chest" is not "chest pain".
        let q = Query::parse(r#""pain chest""#).unwrap();
        assert!(Matcher::new(&q).hits(&lines).is_empty());
    }
}
