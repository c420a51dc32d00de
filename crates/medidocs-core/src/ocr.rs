//! The normalised OCR model. Every engine (Tesseract here, Textract in AWS) and the PDF text
//! layer fill the same shape: pages → lines → words, each with text, confidence (0–100) and
//! a bounding box in page-relative ratios (Textract's Geometry.BoundingBox model).

use serde::{Deserialize, Serialize};

use crate::language::Language;
use crate::model::TextSource;

/// Page-relative box: all four values are ratios of the page's width or height, origin at
/// the top-left corner, as in Textract's `BoundingBox`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct BoundingBox {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
}

impl BoundingBox {
    /// The smallest box holding all the given boxes.
    pub fn union(boxes: impl IntoIterator<Item = BoundingBox>) -> BoundingBox {
        let mut it = boxes.into_iter();
        let Some(first) = it.next() else {
            return BoundingBox::default();
        };
        let (mut l, mut t, mut r, mut b) = (
            first.left,
            first.top,
            first.left + first.width,
            first.top + first.height,
        );
        for x in it {
            l = l.min(x.left);
            t = t.min(x.top);
            r = r.max(x.left + x.width);
            b = b.max(x.top + x.height);
        }
        BoundingBox {
            left: l,
            top: t,
            width: r - l,
            height: b - t,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub text: String,
    pub confidence: f32,
    pub bbox: BoundingBox,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub text: String,
    pub confidence: f32,
    pub bbox: BoundingBox,
    pub words: Vec<Word>,
    /// Clockwise angle of the text's baseline on the page, in degrees (0: upright; 90: a
    /// line running down the page; 270: running up it).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub angle: u16,
}

fn is_zero(a: &u16) -> bool {
    *a == 0
}

impl Line {
    /// Builds a line from its words: text joined by spaces, mean confidence, union box.
    pub fn from_words(words: Vec<Word>) -> Line {
        let text = words
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let confidence = if words.is_empty() {
            0.0
        } else {
            words.iter().map(|w| w.confidence).sum::<f32>() / words.len() as f32
        };
        let bbox = BoundingBox::union(words.iter().map(|w| w.bbox));
        Line {
            text,
            confidence,
            bbox,
            words,
            angle: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrPage {
    /// 1-based page number.
    pub page: u32,
    pub text_source: TextSource,
    /// Clockwise rotation, in degrees, the engine applied to read the page upright.
    pub rotation: u32,
    /// Lines in reading order.
    pub lines: Vec<Line>,
    /// The language the page is written in (`core::language`), when it was decided; absent
    /// in models written before languages were read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
}

impl OcrPage {
    pub fn text(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            s.push_str(&l.text);
            s.push('\n');
        }
        s
    }

    pub fn word_count(&self) -> usize {
        self.lines.iter().map(|l| l.words.len()).sum()
    }

    pub fn mean_confidence(&self) -> Option<f32> {
        let n = self.word_count();
        (n > 0).then(|| {
            self.lines
                .iter()
                .flat_map(|l| &l.words)
                .map(|w| w.confidence)
                .sum::<f32>()
                / n as f32
        })
    }
}

/// The whole document as stored in `artefacts/{id}/ocr.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct OcrDocument {
    pub pages: Vec<OcrPage>,
}

/// Separates pages in `text.txt` (form feed, as pdftotext does).
pub const PAGE_SEPARATOR: char = '\u{000C}';

impl OcrDocument {
    /// Plain text in reading order, pages separated by a form feed.
    pub fn text(&self) -> String {
        self.pages
            .iter()
            .map(OcrPage::text)
            .collect::<Vec<_>>()
            .join(&PAGE_SEPARATOR.to_string())
    }

    /// The languages of its pages, each once, in page order.
    pub fn languages(&self) -> Vec<Language> {
        let mut out = Vec::new();
        for l in self.pages.iter().filter_map(|p| p.language) {
            if !out.contains(&l) {
                out.push(l);
            }
        }
        out
    }

    pub fn text_source(&self) -> Option<TextSource> {
        let mut it = self.pages.iter().map(|p| p.text_source);
        let first = it.next()?;
        Some(if it.all(|s| s == first) {
            first
        } else {
            TextSource::Mixed
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(text: &str, l: f32, conf: f32) -> Word {
        Word {
            text: text.into(),
            confidence: conf,
            bbox: BoundingBox {
                left: l,
                top: 0.1,
                width: 0.1,
                height: 0.02,
            },
        }
    }

    #[test]
    fn line_from_words_joins_and_unions() {
        let line = Line::from_words(vec![w("Aspirin", 0.1, 90.0), w("75", 0.3, 80.0)]);
        assert_eq!(line.text, "Aspirin 75");
        assert_eq!(line.confidence, 85.0);
        assert!((line.bbox.left - 0.1).abs() < 1e-6 && (line.bbox.width - 0.3).abs() < 1e-6);
    }

    #[test]
    fn document_text_separates_pages_and_reports_mixed_sources() {
        let page = |n, src| OcrPage {
            page: n,
            text_source: src,
            rotation: 0,
            language: None,
            lines: vec![Line::from_words(vec![w("p", 0.0, 99.0)])],
        };
        let doc = OcrDocument {
            pages: vec![page(1, TextSource::TextLayer), page(2, TextSource::Ocr)],
        };
        assert_eq!(doc.text(), "p\n\u{c}p\n");
        assert_eq!(doc.text_source(), Some(TextSource::Mixed));
    }
}
