//! Amazon Textract's block model turned into the pipeline's OCR model ([`OcrDocument`]):
//! pages → lines → words, with confidence (0–100) and page-relative boxes, the same shape
//! the Tesseract adapter produces. Input is the JSON of DetectDocumentText,
//! AnalyzeDocument or GetDocumentTextDetection responses (as the SDKs and the CLI print
//! them); one document's results may span several responses (NextToken pages).
//!
//! Pages come from each block's `Page`; a response whose blocks have none (a synchronous,
//! single-page call) is one page, numbered after the pages before it. Lines keep
//! Textract's order (its reading order); a line's words are its CHILD blocks.
//!
//! Textract says nothing of a page's language: DetectDocumentText's response is `Blocks`,
//! `DocumentMetadata` and `DetectDocumentTextModelVersion`, and no `Block` field names one
//! (Textract's API reference). Each page's language is decided from its own words by
//! `core::language::detect`, the detector the Tesseract adapter uses; a page with too few
//! words to say is left without one here, and the OCR step gives it the patient's
//! region's default.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::language;
use crate::model::TextSource;
use crate::ocr::{BoundingBox, Line, OcrDocument, OcrPage, Word};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    #[serde(default)]
    pub blocks: Vec<Block>,
    #[serde(default)]
    pub document_metadata: Option<DocumentMetadata>,
    #[serde(default)]
    pub next_token: Option<String>,
    /// Asynchronous jobs: IN_PROGRESS, SUCCEEDED, FAILED, PARTIAL_SUCCESS.
    #[serde(default)]
    pub job_status: Option<String>,
    #[serde(default)]
    pub status_message: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DocumentMetadata {
    #[serde(default)]
    pub pages: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Block {
    #[serde(default)]
    pub block_type: String,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub confidence: Option<f32>,
    #[serde(default)]
    pub page: Option<u32>,
    #[serde(default)]
    pub geometry: Option<Geometry>,
    #[serde(default)]
    pub relationships: Option<Vec<Relationship>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Geometry {
    #[serde(default)]
    pub bounding_box: Option<TextractBox>,
    /// The outline, starting at the text's own top-left corner and going round clockwise
    /// as the text reads: its first edge runs along the text, whichever way it is turned.
    #[serde(default)]
    pub polygon: Vec<TextractPoint>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TextractPoint {
    #[serde(default)]
    pub x: f32,
    #[serde(default)]
    pub y: f32,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TextractBox {
    #[serde(default)]
    pub left: f32,
    #[serde(default)]
    pub top: f32,
    #[serde(default)]
    pub width: f32,
    #[serde(default)]
    pub height: f32,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Relationship {
    #[serde(default)]
    pub r#type: String,
    #[serde(default)]
    pub ids: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextractError {
    #[error("the Textract job did not succeed ({status}): {message}")]
    JobFailed { status: String, message: String },
    #[error(
        "the results are incomplete: {declared} pages declared, {found} found (a NextToken page of results is missing?)"
    )]
    Incomplete { declared: u32, found: u32 },
    #[error("line {line} refers to block {child}, which is not in the results")]
    MissingBlock { line: String, child: String },
    #[error("no responses to normalise")]
    Empty,
}

fn clamp01(v: f32) -> f32 {
    if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// The clockwise angle of a block's text, to the quarter turn, from its outline's first
/// edge (0 without an outline).
fn angle(b: &Block) -> u16 {
    let Some([p0, p1, ..]) = b.geometry.as_ref().map(|g| g.polygon.as_slice()) else {
        return 0;
    };
    let (dx, dy) = (p1.x - p0.x, p1.y - p0.y);
    if !(dx.is_finite() && dy.is_finite()) || (dx == 0.0 && dy == 0.0) {
        return 0;
    }
    let degrees = dy.atan2(dx).to_degrees().rem_euclid(360.0);
    crate::layout::quarter(degrees.round() as u16)
}

fn bbox(b: &Block) -> BoundingBox {
    let t = b
        .geometry
        .as_ref()
        .and_then(|g| g.bounding_box)
        .unwrap_or_default();
    let (left, top) = (clamp01(t.left), clamp01(t.top));
    BoundingBox {
        left,
        top,
        width: clamp01(t.width).min(1.0 - left),
        height: clamp01(t.height).min(1.0 - top),
    }
}

fn confidence(b: &Block) -> f32 {
    b.confidence
        .filter(|c| c.is_finite())
        .unwrap_or(0.0)
        .clamp(0.0, 100.0)
}

/// Normalises one document's responses, in the order they were received.
pub fn normalize(responses: &[Response]) -> Result<OcrDocument, TextractError> {
    if responses.is_empty() {
        return Err(TextractError::Empty);
    }
    for r in responses {
        if let Some(status) = r.job_status.as_deref()
            && !matches!(status, "SUCCEEDED" | "PARTIAL_SUCCESS")
        {
            return Err(TextractError::JobFailed {
                status: status.to_string(),
                message: r.status_message.clone().unwrap_or_default(),
            });
        }
    }
    // Each block with its page.
    let mut blocks: Vec<(u32, &Block)> = Vec::new();
    let mut last_page = 0u32;
    for r in responses {
        let unpaged = r.blocks.iter().all(|b| b.page.is_none());
        let page_of_unpaged = last_page + 1;
        for b in &r.blocks {
            let page = if unpaged {
                page_of_unpaged
            } else {
                b.page.unwrap_or(1)
            };
            last_page = last_page.max(page);
            blocks.push((page, b));
        }
    }
    let by_id: HashMap<&str, &Block> = blocks.iter().map(|(_, b)| (b.id.as_str(), *b)).collect();

    let mut pages: BTreeMap<u32, Vec<Line>> = BTreeMap::new();
    for (page, b) in &blocks {
        match b.block_type.as_str() {
            "PAGE" => {
                pages.entry(*page).or_default();
            }
            "LINE" => {
                let mut words = Vec::new();
                for rel in b.relationships.iter().flatten() {
                    if rel.r#type != "CHILD" {
                        continue;
                    }
                    for id in &rel.ids {
                        let child =
                            by_id
                                .get(id.as_str())
                                .ok_or_else(|| TextractError::MissingBlock {
                                    line: b.id.clone(),
                                    child: id.clone(),
                                })?;
                        if child.block_type == "WORD" {
                            words.push(Word {
                                text: child.text.clone().unwrap_or_default(),
                                confidence: confidence(child),
                                bbox: bbox(child),
                            });
                        }
                    }
                }
                let text = b.text.clone().unwrap_or_else(|| {
                    words
                        .iter()
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                });
                pages.entry(*page).or_default().push(Line {
                    text,
                    confidence: confidence(b),
                    bbox: bbox(b),
                    words,
                    angle: angle(b),
                });
            }
            _ => {}
        }
    }
    let declared = responses
        .iter()
        .filter_map(|r| r.document_metadata.as_ref().and_then(|m| m.pages))
        .max();
    if let Some(declared) = declared
        && (pages.len() as u32) < declared
    {
        return Err(TextractError::Incomplete {
            declared,
            found: pages.len() as u32,
        });
    }
    Ok(OcrDocument {
        pages: pages
            .into_iter()
            .map(|(page, lines)| OcrPage {
                page,
                text_source: TextSource::Ocr,
                rotation: 0,
                language: language::detect(
                    lines
                        .iter()
                        .flat_map(|l| l.words.iter().map(|w| w.text.as_str())),
                )
                .map(|d| d.language),
                lines,
            })
            .collect(),
    })
}

/// Parses response JSON (unknown fields, such as the JavaScript SDK's `$metadata`, are
/// ignored).
pub fn parse(json: &str) -> Result<Response, serde_json::Error> {
    serde_json::from_str(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::Language;

    /// One synchronous response: a PAGE and one LINE whose words are `words` (block ids
    /// are unique across a document's responses, as Textract's are).
    fn response(tag: &str, words: &[&str]) -> Response {
        let ids: Vec<String> = (0..words.len()).map(|i| format!("{tag}w{i}")).collect();
        let geometry = serde_json::json!({"BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": 0.05, "Height": 0.02}});
        let mut blocks = vec![
            serde_json::json!({"BlockType": "PAGE", "Id": format!("{tag}p"), "Geometry": geometry,
                "Relationships": [{"Type": "CHILD", "Ids": [format!("{tag}l")]}]}),
            serde_json::json!({"BlockType": "LINE", "Id": format!("{tag}l"), "Text": words.join(" "),
                "Confidence": 99.0, "Geometry": geometry,
                "Relationships": [{"Type": "CHILD", "Ids": ids}]}),
        ];
        for (w, id) in words.iter().zip(&ids) {
            blocks.push(serde_json::json!({"BlockType": "WORD", "Id": id, "Text": w,
                "Confidence": 98.0, "Geometry": geometry}));
        }
        parse(&serde_json::json!({ "Blocks": blocks }).to_string()).unwrap()
    }

    #[test]
    fn each_page_s_language_is_read_from_its_words() {
        let fr = "Votre patient a été hospitalisé pour une pneumonie et la fièvre a disparu";
        let es = "El paciente ingresó por una neumonía y la fiebre desapareció después";
        let doc = normalize(&[
            response("a", &fr.split(' ').collect::<Vec<_>>()),
            response("b", &es.split(' ').collect::<Vec<_>>()),
            response("c", &["13.9", "g/dL"]),
        ])
        .unwrap();
        let langs: Vec<_> = doc.pages.iter().map(|p| p.language).collect();
        assert_eq!(
            langs,
            [Some(Language::French), Some(Language::Spanish), None]
        );
        assert!(doc.pages[0].text().contains("été hospitalisé"));
    }
}
