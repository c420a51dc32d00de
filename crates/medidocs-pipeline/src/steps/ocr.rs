//! `ocr_page`: one page's text, from a PDF's own text layer or by OCR of the page's OCR
//! image.

use std::time::Instant;

use super::contracts::PageOcr;
use super::{OcrOutput, PageInput, Steps, parse_mime};
use crate::error::StepError;
use medidocs_core::keys;
use medidocs_core::model::TextSource;
use medidocs_core::ocr::{BoundingBox, Line, OcrPage, Word};
use medidocs_core::ports::StoreError;
use medidocs_media::{self as media, Mime};

/// A PDF page whose text layer has at least this many non-blank characters is read from
/// the text layer; below it (a scan with a printed page number, or a page with only a
/// heading) it is OCRed too, and the layer kept if OCR reads less of it.
pub const MIN_TEXT_LAYER_CHARS: usize = 16;

/// A layer where more than this share of the characters are not text (the replacement
/// character, private-use code points, control characters: glyphs without a Unicode
/// mapping) is garbled: the page is OCRed instead.
pub const MAX_UNMAPPED_SHARE: f64 = 0.25;

impl Steps {
    /// Extracts one page's text: a PDF's own text layer where it has one, OCR of the page's
    /// OCR image (under `work/`) otherwise. Needs [`Steps::render_page`] to have run for OCR.
    pub async fn ocr_page(&self, input: &PageInput) -> Result<OcrOutput, StepError> {
        let started = Instant::now();
        self.check_page_owner(input).await?;
        // Read by an earlier try of this page: never a second OCR bill for it.
        let done_key = keys::page_ocr(&input.document_id, input.page);
        if let Some(done) = self.get_json_if_present::<PageOcr>(&done_key).await? {
            return Ok(ocr_output(input, &done.page, done.ms));
        }
        let mime = parse_mime(&input.mime)?;
        let layer = match mime {
            Mime::Pdf => self.pdf_text_layer(input).await?,
            _ => TextLayer::default(),
        };
        let page = match layer.page {
            Some(p) => p,
            None => {
                let png = self.ocr_image(input, mime).await?;
                let limits = media::OcrImageLimits {
                    max_bytes: self.ocr.max_image_bytes(),
                    max_side: self.ocr.max_image_side(),
                };
                let png = if limits == media::OcrImageLimits::default() {
                    png
                } else {
                    self.cpu(move || media::shrink_png_to_fit(&png, limits))
                        .await?
                };
                let read = self.ocr.recognize(&png, input.page).await?;
                // A short layer (a page number, a heading) is exact where OCR guesses:
                // kept unless OCR reads more of the page than it holds.
                match layer.short {
                    Some(short) if solid_chars(&read.text()) <= solid_chars(&short.text()) => short,
                    _ => read,
                }
            }
        };
        let ms = started.elapsed().as_millis() as u64;
        let out = ocr_output(input, &page, ms);
        self.put_json(&done_key, &PageOcr { page, ms }).await?;
        Ok(out)
    }

    /// A PDF page's own text, judged: as the render step read it (the original read once
    /// per page), or, when that is gone, from the original.
    async fn pdf_text_layer(&self, input: &PageInput) -> Result<TextLayer, StepError> {
        let key = keys::text_layer(&input.document_id, input.page);
        if let Some(layer) = self.get_json_if_present::<TextLayer>(&key).await? {
            return Ok(layer);
        }
        let bytes = self
            .objects
            .get_version(&input.source_key, &input.source_version)
            .await?;
        let (index, page) = (input.page.saturating_sub(1), input.page);
        self.cpu(move || media::pdf_text_layer(&bytes, index).map(|l| usable_text_layer(page, l)))
            .await
    }

    /// The page's OCR image: the one the render step left under `work/`, or, when it is
    /// gone (expired while the page waited in the queue), made again from the original.
    async fn ocr_image(&self, input: &PageInput, mime: Mime) -> Result<Vec<u8>, StepError> {
        match self
            .objects
            .get(&keys::ocr_image(&input.document_id, input.page))
            .await
        {
            Err(StoreError::NotFound { .. }) => self.make_ocr_image(input, mime).await,
            other => Ok(other?),
        }
    }
}

fn ocr_output(input: &PageInput, page: &OcrPage, ms: u64) -> OcrOutput {
    OcrOutput {
        document_id: input.document_id.clone(),
        page: input.page,
        text_source: page.text_source,
        chars: page.text().chars().count(),
        words: page.word_count(),
        mean_confidence: page.mean_confidence(),
        ms,
    }
}

/// A PDF page's own text, as the render step leaves it for the OCR step
/// ([`keys::text_layer`]), judged ([`usable_text_layer`]).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct TextLayer {
    /// The page read from its layer; `None`: OCR it.
    pub page: Option<OcrPage>,
    /// A short layer, kept if OCR reads less of the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<OcrPage>,
}

fn solid_chars(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// A character a glyph without a Unicode mapping comes out as.
fn unmapped(c: char) -> bool {
    c == '\u{FFFD}'
        || ('\u{E000}'..='\u{F8FF}').contains(&c)
        || c >= '\u{F0000}'
        || (c.is_control() && !c.is_whitespace())
}

/// A page's text layer judged: read from it when it has at least
/// [`MIN_TEXT_LAYER_CHARS`] non-blank characters and at most [`MAX_UNMAPPED_SHARE`] of
/// them unmapped; a shorter one is OCRed too and kept if OCR reads less ([`TextLayer`]);
/// an empty or garbled one is OCRed.
pub(super) fn usable_text_layer(page: u32, layer: media::TextLayerPage) -> TextLayer {
    let chars = || layer.lines.iter().flatten().flat_map(|w| w.text.chars());
    let solid = chars().filter(|c| !c.is_whitespace()).count();
    let bad = chars().filter(|&c| unmapped(c)).count();
    if solid == 0 || bad as f64 > solid as f64 * MAX_UNMAPPED_SHARE {
        return TextLayer::default();
    }
    let read = text_layer_page(page, layer);
    if solid >= MIN_TEXT_LAYER_CHARS {
        TextLayer {
            page: Some(read),
            short: None,
        }
    } else {
        TextLayer {
            page: None,
            short: Some(read),
        }
    }
}

fn text_layer_page(page: u32, layer: media::TextLayerPage) -> OcrPage {
    let lines = layer
        .lines
        .into_iter()
        .map(|words| {
            Line::from_words(
                words
                    .into_iter()
                    .map(|w| Word {
                        text: w.text,
                        confidence: 100.0,
                        bbox: BoundingBox {
                            left: w.left,
                            top: w.top,
                            width: w.width,
                            height: w.height,
                        },
                    })
                    .collect(),
            )
        })
        .collect();
    OcrPage {
        page,
        text_source: TextSource::TextLayer,
        rotation: 0,
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(words: &[&str]) -> media::TextLayerPage {
        media::TextLayerPage {
            lines: vec![
                words
                    .iter()
                    .map(|w| media::TextLayerWord {
                        text: w.to_string(),
                        left: 0.1,
                        top: 0.1,
                        width: 0.1,
                        height: 0.02,
                    })
                    .collect(),
            ],
        }
    }

    #[test]
    fn a_text_layer_is_judged_by_what_it_holds() {
        let full = usable_text_layer(1, layer(&["Levothyroxine", "50", "micrograms", "daily"]));
        assert!(full.page.is_some() && full.short.is_none());
        let short = usable_text_layer(1, layer(&["3"]));
        assert!(short.page.is_none() && short.short.is_some());
        // Glyphs without a Unicode mapping: private-use and replacement characters.
        let garbled = usable_text_layer(
            1,
            layer(&[
                "\u{E012}\u{E013}\u{E014}\u{E015}",
                "Ab",
                "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}",
            ]),
        );
        assert!(garbled.page.is_none() && garbled.short.is_none());
        let blank = usable_text_layer(1, layer(&[" ", ""]));
        assert!(blank.page.is_none() && blank.short.is_none());
    }
}
