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
/// the text layer; below it (a scan, or a page with only a page number) it is OCRed.
pub const MIN_TEXT_LAYER_CHARS: usize = 16;

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
        let page = match mime {
            Mime::Pdf => self.pdf_text_layer(input).await?,
            _ => None,
        };
        let page = match page {
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
                self.ocr.recognize(&png, input.page).await?
            }
        };
        let ms = started.elapsed().as_millis() as u64;
        let out = ocr_output(input, &page, ms);
        self.put_json(&done_key, &PageOcr { page, ms }).await?;
        Ok(out)
    }

    /// A PDF page's own text if it is enough to stand for the page: as the render step
    /// read it (the original read once per page), or, when that is gone, from the original.
    async fn pdf_text_layer(&self, input: &PageInput) -> Result<Option<OcrPage>, StepError> {
        let key = keys::text_layer(&input.document_id, input.page);
        if let Some(layer) = self.get_json_if_present::<TextLayer>(&key).await? {
            return Ok(layer.page);
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
/// ([`keys::text_layer`]): the page, or `None` when it is to be OCRed.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct TextLayer {
    pub page: Option<OcrPage>,
}

/// The page read from its text layer, if the layer has at least [`MIN_TEXT_LAYER_CHARS`]
/// non-blank characters; `None` (a scan, or only a page number): OCR it.
pub(super) fn usable_text_layer(page: u32, layer: media::TextLayerPage) -> Option<OcrPage> {
    let solid = layer
        .lines
        .iter()
        .flatten()
        .map(|w| w.text.chars().filter(|c| !c.is_whitespace()).count())
        .sum::<usize>();
    (solid >= MIN_TEXT_LAYER_CHARS).then(|| text_layer_page(page, layer))
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
