//! `ocr_page`: one page's text, from a PDF's own text layer or by OCR of the page's OCR
//! image.

use std::time::Instant;

use super::contracts::PageOcr;
use super::{OcrOutput, PageInput, Steps, parse_mime};
use crate::error::StepError;
use medidocs_core::keys;
use medidocs_core::language;
use medidocs_core::layout;
use medidocs_core::model::TextSource;
use medidocs_core::ocr::{BoundingBox, Line, OcrPage, Word};
use medidocs_core::ports::StoreError;
use medidocs_core::textlayer::{self, Ink, Verdict};
use medidocs_core::understand::Region;
use medidocs_media::{self as media, Mime};

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
                let region = self.patient_region(input).await?;
                let read = self.ocr.recognize_for(&png, input.page, region).await?;
                // A layer reading part of the page is exact where OCR guesses: OCR adds
                // what it does not read. A garbled one stands only if OCR reads less.
                let mut page = match (layer.merge, layer.garbled) {
                    (Some(part), _) => textlayer::merge(part, read),
                    (None, Some(garbled)) => textlayer::better_of(garbled, read),
                    (None, None) => read,
                };
                page.lines = in_reading_order(page.lines);
                page
            }
        };
        let mut page = page;
        // Every page says its language: the engine's, else what its words say (a PDF's
        // text layer, a Textract page), else the patient's region's default.
        if page.language.is_none() {
            let words = page.lines.iter().flat_map(|l| &l.words);
            page.language = Some(match language::detect(words.map(|w| w.text.as_str())) {
                Some(d) => d.language,
                None => language::prior(self.patient_region(input).await?).default,
            });
        }
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

    /// The region of the page's patient (their own setting, else the deployment's): the
    /// prior of the page's language.
    async fn patient_region(&self, input: &PageInput) -> Result<Region, StepError> {
        let doc = self.meta.get_document(&input.document_id).await?;
        Ok(self
            .meta
            .patient_settings(&doc.patient_id)
            .await?
            .date_region
            .unwrap_or(self.date_region))
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
/// ([`keys::text_layer`]), judged ([`usable_text_layer`]). At most one is set; none: OCR.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct TextLayer {
    /// The page read from its layer: no OCR.
    pub page: Option<OcrPage>,
    /// A layer reading part of the page: OCR it too and merge.
    #[serde(default, alias = "short", skip_serializing_if = "Option::is_none")]
    pub merge: Option<OcrPage>,
    /// A garbled layer: OCR it, keeping the layer if OCR reads less.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garbled: Option<OcrPage>,
}

/// A page's lines in reading order ([`layout::reading_order`]), right to left where most of
/// its letters are.
fn in_reading_order(lines: Vec<Line>) -> Vec<Line> {
    let rtl = media::is_right_to_left(lines.iter().map(|l| l.text.as_str()));
    layout::reading_order(lines, rtl)
}

/// A text layer as page `page` of the OCR model (every word certain, lines in reading
/// order), and what else the page draws, for judging it.
fn text_layer_page(page: u32, layer: media::TextLayerPage) -> (OcrPage, Ink) {
    let boxed = |left, top, width, height| BoundingBox {
        left,
        top,
        width,
        height,
    };
    let lines = layer
        .lines
        .into_iter()
        .map(|l| {
            let mut line = Line::from_words(
                l.words
                    .into_iter()
                    .map(|w| Word {
                        text: w.text,
                        confidence: 100.0,
                        bbox: boxed(w.left, w.top, w.width, w.height),
                    })
                    .collect(),
            );
            line.angle = l.angle;
            line
        })
        .collect();
    let ink = Ink {
        glyphs: layer.glyphs,
        unmapped_glyphs: layer.unmapped,
        images: layer
            .images
            .iter()
            .map(|i| boxed(i[0], i[1], i[2], i[3]))
            .collect(),
    };
    let page = OcrPage {
        page,
        text_source: TextSource::TextLayer,
        rotation: 0,
        language: None,
        lines: in_reading_order(lines),
    };
    (page, ink)
}

/// A page's text layer judged ([`textlayer::judge`]), its lines in reading order.
pub(super) fn usable_text_layer(page: u32, layer: media::TextLayerPage) -> TextLayer {
    let (read, ink) = text_layer_page(page, layer);
    let (verdict, measures) = textlayer::judge(&read, &ink);
    tracing::debug!(page, ?verdict, ?measures, "text layer judged");
    match verdict {
        Verdict::Keep => TextLayer {
            page: Some(read),
            ..TextLayer::default()
        },
        Verdict::Merge => TextLayer {
            merge: Some(read),
            ..TextLayer::default()
        },
        Verdict::Replace => TextLayer {
            garbled: Some(read),
            ..TextLayer::default()
        },
        Verdict::Ocr => TextLayer::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(words: &[&str]) -> media::TextLayerPage {
        media::TextLayerPage {
            lines: vec![media::TextLayerLine {
                words: words
                    .iter()
                    .enumerate()
                    .map(|(i, w)| media::TextLayerWord {
                        text: w.to_string(),
                        left: 0.1 + 0.1 * i as f32,
                        top: 0.1,
                        width: 0.08,
                        height: 0.02,
                    })
                    .collect(),
                angle: 0,
            }],
            glyphs: words.iter().map(|w| w.chars().count()).sum(),
            ..Default::default()
        }
    }

    #[test]
    fn a_text_layer_is_judged_by_what_it_holds() {
        let full = usable_text_layer(1, layer(&["Levothyroxine", "50", "micrograms", "daily"]));
        assert!(full.page.is_some() && full.merge.is_none() && full.garbled.is_none());
        let short = usable_text_layer(1, layer(&["3"]));
        assert!(short.page.is_none() && short.merge.is_some());
        // Glyphs without a Unicode mapping: private-use and replacement characters.
        let garbled = usable_text_layer(
            1,
            layer(&[
                "\u{E012}\u{E013}\u{E014}\u{E015}",
                "Ab",
                "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}",
            ]),
        );
        assert!(garbled.page.is_none() && garbled.garbled.is_some());
        let blank = usable_text_layer(1, layer(&[" ", ""]));
        assert!(blank.page.is_none() && blank.merge.is_none() && blank.garbled.is_none());
        // What an earlier version left for the OCR step still reads.
        let old: TextLayer = serde_json::from_str(r#"{"page":null,"short":{"page":1,"text_source":"text_layer","rotation":0,"lines":[]}}"#).unwrap();
        assert!(old.merge.is_some());
    }
}
