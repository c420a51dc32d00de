//! A PDF page's own text judged by what it reads of the page, not by its length, and, where
//! it reads only part, merged with OCR of the page.
//!
//! Three measures: how much of the page's visible ink it covers (glyphs drawn without a
//! Unicode value, images with no text over them), its share of unmapped characters (the
//! replacement character, private-use code points, control characters), and its word rate
//! (the share of its words shaped like words of the languages served: no symbols inside,
//! a vowel in a long Latin word, at most one change of case; and in prose, some of the
//! commonest words of those languages). The verdict ([`Verdict`]):
//! - `Keep`: the layer reads the page; no OCR.
//! - `Merge`: the layer is right but reads only part (a short layer, glyphs it cannot read,
//!   an image without text over it): OCR the page too and add what OCR reads where the
//!   layer has nothing ([`merge`]).
//! - `Replace`: the layer is garbled: OCR the page, keeping the layer only if OCR reads
//!   fewer words ([`better_of`]).
//! - `Ocr`: no layer at all.

use serde::{Deserialize, Serialize};

use crate::model::TextSource;
use crate::ocr::{BoundingBox, Line, OcrPage};

/// A layer with fewer non-blank characters than this is short: the page is OCRed too.
pub const MIN_CHARS: usize = 16;

/// More than this share of a layer's characters (and glyphs drawn without a character)
/// unmapped: garbled.
pub const MAX_UNMAPPED_SHARE: f64 = 0.25;

/// A layer whose unreadable glyphs are more than this share of its ink reads only part of
/// the page: merged with OCR.
pub const MAX_UNREAD_INK: f64 = 0.05;

/// Below this word rate (with at least [`MIN_WORDS_TO_JUDGE`] words), garbled.
pub const MIN_WORD_RATE: f64 = 0.6;

pub const MIN_WORDS_TO_JUDGE: usize = 5;

/// An image over at least this share of the page (a scan, a large picture: not a
/// letterhead's banner or a logo), with fewer than
/// [`CHARS_PER_IMAGE_PAGE`] characters per page-area of text over it, may hold text the
/// layer does not: merged with OCR.
pub const MIN_IMAGE_SHARE: f32 = 0.3;
pub const CHARS_PER_IMAGE_PAGE: f32 = 200.0;

/// What a page's layer holds besides its lines, as the PDF reader saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ink {
    /// Visible glyphs with a Unicode value, and without one.
    pub glyphs: usize,
    pub unmapped_glyphs: usize,
    /// Boxes of the images the page draws.
    pub images: Vec<BoundingBox>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Keep,
    Merge,
    Replace,
    Ocr,
}

/// The measures behind a verdict, kept for the record and the corpus's table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Measures {
    pub chars: usize,
    pub unmapped_share: f64,
    pub unread_ink: f64,
    pub word_rate: f64,
    pub uncovered_images: usize,
}

/// The verdict on a layer, with its measures.
pub fn judge(page: &OcrPage, ink: &Ink) -> (Verdict, Measures) {
    let text: Vec<&str> = page
        .lines
        .iter()
        .flat_map(|l| &l.words)
        .map(|w| w.text.as_str())
        .collect();
    let chars = text
        .iter()
        .flat_map(|t| t.chars())
        .filter(|c| !c.is_whitespace())
        .count();
    let bad = text
        .iter()
        .flat_map(|t| t.chars())
        .filter(|&c| unmapped(c))
        .count();
    let unmapped_share =
        (bad + ink.unmapped_glyphs) as f64 / (chars + ink.unmapped_glyphs).max(1) as f64;
    let unread_ink = ink.unmapped_glyphs as f64 / (ink.glyphs + ink.unmapped_glyphs).max(1) as f64;
    let rate = word_rate(&text);
    let uncovered_images = ink
        .images
        .iter()
        .filter(|img| {
            let share = img.width * img.height;
            let over: usize = page
                .lines
                .iter()
                .flat_map(|l| &l.words)
                .filter(|w| inside(&w.bbox, img))
                .map(|w| w.text.chars().count())
                .sum();
            share >= MIN_IMAGE_SHARE && (over as f32) < CHARS_PER_IMAGE_PAGE * share
        })
        .count();
    let measures = Measures {
        chars,
        unmapped_share,
        unread_ink,
        word_rate: rate.unwrap_or(1.0),
        uncovered_images,
    };
    let verdict = if chars == 0 {
        Verdict::Ocr
    } else if unmapped_share > MAX_UNMAPPED_SHARE || rate.is_some_and(|r| r < MIN_WORD_RATE) {
        Verdict::Replace
    } else if chars < MIN_CHARS || unread_ink > MAX_UNREAD_INK || uncovered_images > 0 {
        Verdict::Merge
    } else {
        Verdict::Keep
    };
    (verdict, measures)
}

fn inside(w: &BoundingBox, img: &BoundingBox) -> bool {
    let (cx, cy) = (w.left + w.width / 2.0, w.top + w.height / 2.0);
    cx >= img.left && cx <= img.left + img.width && cy >= img.top && cy <= img.top + img.height
}

/// A character a glyph without a Unicode mapping comes out as.
pub fn unmapped(c: char) -> bool {
    c == '\u{FFFD}'
        || ('\u{E000}'..='\u{F8FF}').contains(&c)
        || c >= '\u{F0000}'
        || (c.is_control() && !c.is_whitespace())
}

const VOWELS: &str = "aeiouyáéíóúàèìòùâêîôûäëïöüÿæœåøãõıAEIOUYÁÉÍÓÚÀÈÌÒÙÂÊÎÔÛÄËÏÖÜŸÆŒÅØÃÕ";

/// Some of the commonest words of English, Irish, French, Spanish and German: prose in any
/// of them holds a few.
const COMMON: &[&str] = &[
    "the", "of", "and", "to", "in", "is", "was", "for", "with", "on", "a", "an", "be", "by", "at",
    "as", "are", "this", "that", "it", "or", "not", "no", "from", "his", "her", "he", "she", "we",
    "you", "your", "has", "have", "had", "were", "will", "agus", "ar", "na", "le", "go", "is",
    "ag", "bhí", "sa", "den", "don", "la", "les", "de", "des", "du", "et", "un", "une", "en",
    "est", "pour", "dans", "par", "avec", "il", "elle", "au", "aux", "el", "los", "las", "y",
    "que", "del", "con", "por", "para", "se", "su", "una", "es", "der", "die", "das", "und", "zur",
    "zum", "mit", "ist", "ein", "eine", "nicht", "von", "sie", "im", "auf", "für", "wir", "bei",
];

/// Whether a token is shaped like a word (or a number, a dose, a date, an abbreviation).
pub fn word_like(token: &str) -> bool {
    let core = token.trim_matches(|c: char| !c.is_alphanumeric());
    if core.is_empty() {
        // Punctuation alone: a dash, a bullet, an ampersand.
        return token.chars().count() <= 2;
    }
    if core
        .chars()
        .any(|c| !(c.is_alphanumeric() || ".,'’-/:%()+°×·–".contains(c)))
    {
        return false;
    }
    let letters: Vec<char> = core.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.is_empty() {
        return true;
    }
    let latin = letters.iter().all(|c| (*c as u32) < 0x250);
    let caps = letters.iter().all(|c| c.is_uppercase());
    if latin && letters.len() > 4 && !caps && !letters.iter().any(|c| VOWELS.contains(*c)) {
        return false;
    }
    let turns = core
        .chars()
        .zip(core.chars().skip(1))
        .filter(|(a, b)| a.is_lowercase() && b.is_uppercase())
        .count();
    let switches = core
        .chars()
        .zip(core.chars().skip(1))
        .filter(|(a, b)| {
            a.is_alphabetic() != b.is_alphabetic() && a.is_alphanumeric() && b.is_alphanumeric()
        })
        .count();
    turns <= 1 && switches <= 3
}

/// The share of the text (by characters) in tokens shaped like words; in prose (40 words
/// or more, four in five of letters alone), none of the commonest words counts as garbled. Rules (a token of one
/// character repeated: "-----", "______") count for nothing. None below
/// [`MIN_WORDS_TO_JUDGE`] words and [`MIN_CHARS_TO_JUDGE`] characters.
pub fn word_rate(words: &[&str]) -> Option<f64> {
    let words: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| {
            let mut cs = w.chars();
            let first = cs.next();
            !(w.chars().count() > 2 && cs.all(|c| Some(c) == first))
        })
        .collect();
    let chars = |w: &&str| w.chars().count();
    let total: usize = words.iter().map(chars).sum();
    if words.len() < MIN_WORDS_TO_JUDGE && total < MIN_CHARS_TO_JUDGE {
        return None;
    }
    let good: usize = words.iter().filter(|w| word_like(w)).map(chars).sum();
    let common = words.iter().any(|w| {
        let w = w
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        COMMON.contains(&w.as_str())
    });
    let other_script = words
        .iter()
        .any(|w| w.chars().any(|c| c.is_alphabetic() && c as u32 >= 0x250));
    // Prose: mostly words of letters alone (a table of results is mostly numbers).
    let lettered = words
        .iter()
        .filter(|w| {
            let core = w.trim_matches(|c: char| !c.is_alphanumeric());
            !core.is_empty() && core.chars().all(char::is_alphabetic)
        })
        .count();
    if words.len() >= 40 && 5 * lettered >= 4 * words.len() && !common && !other_script {
        return Some(0.0);
    }
    Some(good as f64 / total.max(1) as f64)
}

pub const MIN_CHARS_TO_JUDGE: usize = 24;

fn solid_chars(page: &OcrPage) -> usize {
    page.lines
        .iter()
        .flat_map(|l| l.text.chars())
        .filter(|c| !c.is_whitespace())
        .count()
}

fn good_words(page: &OcrPage) -> usize {
    page.lines
        .iter()
        .flat_map(|l| &l.words)
        .filter(|w| real_word(&w.text))
        .count()
}

/// A word shaped like a word with a letter or a digit in it (a table's rule read as "|" is
/// not one).
fn real_word(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric) && word_like(text)
}

/// A word OCR reads with less confidence than this is not added to a layer.
pub const MIN_MERGED_CONFIDENCE: f32 = 50.0;

/// The layer's lines, and the words OCR reads where the layer has none (over no word of the
/// layer, read with at least [`MIN_MERGED_CONFIDENCE`], shaped like words). An OCR page read turned (its
/// boxes are not the layer's) gives whichever of the two holds more text. The page's
/// source is the text layer unless OCR added a word.
pub fn merge(layer: OcrPage, ocr: OcrPage) -> OcrPage {
    if ocr.rotation != 0 {
        return if solid_chars(&ocr) > solid_chars(&layer) {
            ocr
        } else {
            layer
        };
    }
    let boxes: Vec<BoundingBox> = layer
        .lines
        .iter()
        .flat_map(|l| &l.words)
        .map(|w| w.bbox)
        .collect();
    let mut page = layer;
    let mut added = false;
    for line in ocr.lines {
        let angle = line.angle;
        let words: Vec<_> = line
            .words
            .into_iter()
            .filter(|w| {
                w.confidence >= MIN_MERGED_CONFIDENCE
                    && real_word(&w.text)
                    && !boxes.iter().any(|b| covers(b, &w.bbox))
            })
            .collect();
        if !words.is_empty() {
            added = true;
            let mut l = Line::from_words(words);
            l.angle = angle;
            page.lines.push(l);
        }
    }
    if added {
        page.text_source = TextSource::Ocr;
    }
    page
}

/// Whether `a` covers a good part (30%) of `b`.
fn covers(a: &BoundingBox, b: &BoundingBox) -> bool {
    let w = (a.left + a.width).min(b.left + b.width) - a.left.max(b.left);
    let h = (a.top + a.height).min(b.top + b.height) - a.top.max(b.top);
    w > 0.0 && h > 0.0 && w * h >= 0.3 * (b.width * b.height).max(1e-9)
}

/// A garbled layer against OCR of its page: OCR, unless it reads fewer words shaped like
/// words than the layer (or as few, and less text).
pub fn better_of(layer: OcrPage, ocr: OcrPage) -> OcrPage {
    let (read, held) = (good_words(&ocr), good_words(&layer));
    if read > held || (read == held && solid_chars(&ocr) >= solid_chars(&layer)) {
        ocr
    } else {
        layer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocr::Word;

    fn page(lines: &[(&str, f32)], source: TextSource, confidence: f32) -> OcrPage {
        OcrPage {
            page: 1,
            text_source: source,
            rotation: 0,
            language: None,
            lines: lines
                .iter()
                .map(|(t, top)| {
                    Line::from_words(
                        t.split(' ')
                            .enumerate()
                            .map(|(i, w)| Word {
                                text: w.into(),
                                confidence,
                                bbox: BoundingBox {
                                    left: 0.1 + 0.1 * i as f32,
                                    top: *top,
                                    width: 0.08,
                                    height: 0.02,
                                },
                            })
                            .collect(),
                    )
                })
                .collect(),
        }
    }

    fn layer(lines: &[(&str, f32)]) -> OcrPage {
        page(lines, TextSource::TextLayer, 100.0)
    }

    fn ink(glyphs: usize, unmapped: usize) -> Ink {
        Ink {
            glyphs,
            unmapped_glyphs: unmapped,
            images: vec![],
        }
    }

    #[test]
    fn a_layer_is_judged_by_what_it_reads_of_the_page() {
        let letter = layer(&[(
            "Levothyroxine 50 micrograms daily, review thyroid function in six weeks",
            0.1,
        )]);
        assert_eq!(judge(&letter, &ink(60, 0)).0, Verdict::Keep);
        // A short layer: OCR too.
        assert_eq!(judge(&layer(&[("3", 0.9)]), &ink(1, 0)).0, Verdict::Merge);
        // The body font unreadable, the captions kept: OCR too, merged.
        assert_eq!(judge(&letter, &ink(60, 400)).0, Verdict::Replace);
        assert_eq!(judge(&letter, &ink(60, 20)).0, Verdict::Merge);
        // A scan under a few words: OCR too.
        let mut scanned = ink(60, 0);
        scanned.images.push(BoundingBox {
            left: 0.0,
            top: 0.3,
            width: 1.0,
            height: 0.6,
        });
        assert_eq!(judge(&letter, &scanned).0, Verdict::Merge);
        // A letterhead's banner across the top is not a scan.
        let mut banner = ink(60, 0);
        banner.images.push(BoundingBox {
            left: 0.0,
            top: 0.0,
            width: 1.0,
            height: 0.12,
        });
        assert_eq!(judge(&letter, &banner).0, Verdict::Keep);
        // A page of results: few of the commonest words, and no garbage either.
        let results: Vec<String> = (0..12)
            .map(|k| format!("Sodium {} mmol/L 133-146 normal", 130 + k))
            .collect();
        let rows: Vec<(&str, f32)> = results
            .iter()
            .enumerate()
            .map(|(k, t)| (t.as_str(), 0.1 + 0.03 * k as f32))
            .collect();
        assert_eq!(judge(&layer(&rows), &ink(400, 0)).0, Verdict::Keep);
        // Codes where letters should be.
        let codes = layer(&[(
            "!\"#$%#&'(#)*'##'+ ,&%-(./&/0)1'(&-()$%+.23/4%*)$./&#&.(%*)5'+#&-.6",
            0.1,
        )]);
        assert_eq!(judge(&codes, &ink(60, 0)).0, Verdict::Replace);
        // Private-use glyphs.
        let private = layer(&[(
            "\u{E012}\u{E013}\u{E014} \u{E015}\u{E016} Ab \u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}",
            0.1,
        )]);
        assert_eq!(judge(&private, &ink(12, 0)).0, Verdict::Replace);
        assert_eq!(judge(&layer(&[]), &ink(0, 0)).0, Verdict::Ocr);
    }

    #[test]
    fn words_are_told_from_garbage_in_the_languages_served() {
        for w in [
            "Levothyroxine",
            "50",
            "mg,",
            "HbA1c",
            "eGFR",
            "14.03.1961",
            "ECG",
            "Größe",
            "Ödeme.",
            "anaesthésie",
            "Bhí",
            "co-amoxiclav",
            "(geb.",
            "148/92",
            "–",
            "מינון",
            "3rd",
        ] {
            assert!(word_like(w), "{w}");
        }
        for w in ["!\"#$%", "Op#r$t", "xQzKpWt", "aBcDeF", "q1w2e3r4t5"] {
            assert!(!word_like(w), "{w}");
        }
        // Prose with none of the commonest words: letters in the wrong places.
        // "The patient was seen in clinic" with every letter moved one on.
        let shifted: Vec<&str> = ["Uif", "qbujfou", "xbt", "tffo", "jo", "dmjojd"]
            .iter()
            .cycle()
            .take(45)
            .copied()
            .collect();
        assert_eq!(word_rate(&shifted), Some(0.0));
    }

    #[test]
    fn ocr_adds_what_the_layer_does_not_read() {
        let captions = layer(&[("Figure 1", 0.1)]);
        let ocr = page(
            &[
                ("Figure 1", 0.1),
                ("the body text the layer could not read", 0.3),
                ("noise", 0.6),
            ],
            TextSource::Ocr,
            90.0,
        );
        let mut ocr = ocr;
        ocr.lines[2].words[0].confidence = 20.0;
        let merged = merge(captions, ocr);
        assert_eq!(
            merged.text(),
            "Figure 1\nthe body text the layer could not read\n"
        );
        assert_eq!(merged.text_source, TextSource::Ocr);
        // Nothing new: the layer stands alone.
        let merged = merge(
            layer(&[("3", 0.9)]),
            page(&[("3", 0.9)], TextSource::Ocr, 90.0),
        );
        assert_eq!(
            (merged.text().as_str(), merged.text_source),
            ("3\n", TextSource::TextLayer)
        );
    }

    #[test]
    fn a_garbled_layer_gives_way_to_ocr_unless_ocr_reads_less() {
        let garbled = layer(&[("!\"#$% &'()* +,-./", 0.1)]);
        let read = page(&[("Outpatient letter", 0.1)], TextSource::Ocr, 90.0);
        assert_eq!(
            better_of(garbled.clone(), read).text(),
            "Outpatient letter\n"
        );
        let nothing = page(&[], TextSource::Ocr, 90.0);
        assert_eq!(
            better_of(garbled, nothing).text_source,
            TextSource::TextLayer
        );
    }
}
