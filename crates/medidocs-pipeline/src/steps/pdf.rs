//! The document's searchable PDF, made by `finalize`: each page's image under an
//! invisible text layer placed from the OCR model's words (`media::searchable_pdf`).
//!
//! The page image is the page's preview JPEG (at most 1600 px a side: about 140 dpi on A4
//! or US Letter), taken as it is when it is small enough to send by e-mail, else encoded
//! again smaller from it; a page the OCR engine read turned is turned with it, so the
//! words sit on what is drawn. A born-digital PDF is drawn again the same way, and its
//! words are its own text layer where the OCR step kept it: nothing of the uploaded file
//! (its scripts, attachments, forms, XMP or information dictionary) reaches the new one.
//! The information holds the document's type and date only.

use base64::Engine as _;
use sha1::{Digest as _, Sha1};

use super::Steps;
use crate::error::StepError;
use medidocs_core::fhir::type_title;
use medidocs_core::keys;
use medidocs_core::model::{DocumentRecord, PdfRef};
use medidocs_core::ocr::{OcrDocument, OcrPage};
use medidocs_core::ports::PutMode;
use medidocs_media::{self as media, PdfInfo, PdfPage, PdfWord};

/// A page's image is taken as it is up to this size (the aim: under 150 KB a scanned A4
/// page, text layer included).
const IMAGE_BUDGET: usize = 135 * 1024;
/// What a page's image is encoded again at when the preview is larger: (longest side,
/// quality), the first that fits the budget, else the last.
const SMALLER: [(u32, u8); 3] = [(1600, 60), (1400, 50), (1240, 40)];

/// A4 and US Letter, portrait, in points.
const A4: [f32; 2] = [595.28, 841.89];
const LETTER: [f32; 2] = [612.0, 792.0];

impl Steps {
    /// Makes and stores `artefacts/{id}/document.pdf` from the pages' previews and
    /// `ocr`'s words; `sizes` are the pages' sizes in points where their originals state
    /// them. None (logged) when a preview cannot be read: the document is READY without a
    /// PDF rather than FAILED for it.
    pub(super) async fn make_pdf(
        &self,
        doc: &DocumentRecord,
        ocr: &OcrDocument,
        sizes: &[Option<[f32; 2]>],
    ) -> Result<Option<PdfRef>, StepError> {
        let mut pages = Vec::with_capacity(doc.pages as usize);
        for n in 1..=doc.pages {
            let Some(preview) = doc
                .renditions
                .iter()
                .find(|r| r.page == n && r.name == "preview")
            else {
                tracing::warn!(document = %doc.id, page = n, "no preview: no PDF");
                return Ok(None);
            };
            let jpeg = self.objects.get(&preview.key).await?;
            let page = ocr.pages.iter().find(|p| p.page == n).cloned();
            let size = sizes.get(n as usize - 1).copied().flatten();
            let made = self
                .cpu(move || Ok(pdf_page(jpeg, page.as_ref(), size)))
                .await?;
            match made {
                Ok(p) => pages.push(p),
                Err(e) => {
                    tracing::warn!(document = %doc.id, page = n, error = %e, "preview unreadable: no PDF");
                    return Ok(None);
                }
            }
        }
        let doc_type = doc.type_of().map(|(t, _)| t);
        let info = PdfInfo {
            title: type_title(doc_type).into(),
            subject: String::new(),
            keywords: doc_type
                .and_then(|t| t.loinc())
                .map(|(code, _)| format!("LOINC {code}"))
                .unwrap_or_default(),
            date: doc.document_date().unwrap_or_default().into(),
        };
        let pdf = self
            .cpu(move || Ok(media::searchable_pdf(&pages, &info)))
            .await?;
        let made = PdfRef {
            key: keys::document_pdf(&doc.id),
            bytes: pdf.len() as u64,
            sha1_base64: base64::engine::general_purpose::STANDARD.encode(Sha1::digest(&pdf)),
            sha256: keys::sha256_hex(&pdf),
            created_at: self.now(),
        };
        self.objects.put(&made.key, pdf, PutMode::Overwrite).await?;
        Ok(Some(made))
    }
}

impl Steps {
    /// A searchable PDF for a READY document made before there were any (`medidocs
    /// migrate`), from its previews and OCR model (the pages' sizes from their images:
    /// the originals' stated sizes were not kept). `false` when it has one, is not READY,
    /// or has nothing to make it from; a writer coming in between is
    /// [`StepError`]'s precondition (run it again).
    pub async fn add_missing_pdf(&self, id: &str) -> Result<bool, StepError> {
        let mut doc = self.meta.get_document(id).await?;
        if doc.status != medidocs_core::model::Status::Ready || doc.pdf.is_some() {
            return Ok(false);
        }
        let Some(key) = doc.ocr_key.clone() else {
            return Ok(false);
        };
        let ocr: OcrDocument = serde_json::from_slice(&self.objects.get(&key).await?)
            .map_err(|e| StepError::internal(format!("the OCR model of {id}: {e}")))?;
        let Some(pdf) = self.make_pdf(&doc, &ocr, &[]).await? else {
            return Ok(false);
        };
        doc.pdf = Some(pdf);
        doc.version += 1;
        doc.updated_at = self.now();
        self.meta.update_document(&doc).await?;
        Ok(true)
    }
}

/// One page of the PDF: its image (the preview as it is, or encoded again), its size and
/// its words.
fn pdf_page(
    jpeg: Vec<u8>,
    ocr: Option<&OcrPage>,
    size: Option<[f32; 2]>,
) -> Result<PdfPage, media::MediaError> {
    let rotation = ocr.map_or(0, |p| p.rotation % 360);
    let frame = media::jpeg_frame(&jpeg);
    let (jpeg, w, h, grey) = match frame {
        Some((w, h, n @ (1 | 3))) if rotation == 0 && jpeg.len() <= IMAGE_BUDGET => {
            (jpeg, w, h, n == 1)
        }
        _ => media::page_jpeg(&jpeg, rotation, &SMALLER, IMAGE_BUDGET)?,
    };
    // The original's size turns with the page as the OCR engine turned it.
    let size = size.map(|[a, b]| if rotation % 180 == 90 { [b, a] } else { [a, b] });
    let [width_pt, height_pt] = page_size(w, h, size);
    let words = ocr
        .map(|p| {
            p.lines
                .iter()
                .flat_map(|l| {
                    // Along the line, each word's own box; across it, the line's, so a
                    // line's words share one baseline and a reader takes them as a line.
                    let across_is_vertical = l.angle % 180 == 0;
                    l.words.iter().map(move |word| {
                        let (b, lb) = (word.bbox, l.bbox);
                        let (left, width, top, height) = if across_is_vertical {
                            (b.left, b.width, lb.top, lb.height)
                        } else {
                            (lb.left, lb.width, b.top, b.height)
                        };
                        PdfWord {
                            text: word.text.clone(),
                            left,
                            top,
                            width,
                            height,
                            angle: l.angle,
                        }
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(PdfPage {
        jpeg,
        pixel_width: w,
        pixel_height: h,
        grey,
        width_pt,
        height_pt,
        words,
    })
}

/// A page's size in points: the original's where it states one that is a page's (2 to 20
/// inches a side, the image's proportions), else the image fitted into A4 or US Letter,
/// whichever has its proportions closer, turned as it is.
fn page_size(w: u32, h: u32, stated: Option<[f32; 2]>) -> [f32; 2] {
    let aspect = w as f32 / h.max(1) as f32;
    if let Some([sw, sh]) = stated {
        let plausible = |s: f32| (144.0..=1440.0).contains(&s);
        if plausible(sw) && plausible(sh) && ((sw / sh) / aspect - 1.0).abs() < 0.03 {
            return [sw, sh];
        }
    }
    let landscape = w > h;
    let long_over_short = if landscape { aspect } else { 1.0 / aspect };
    let paper = [A4, LETTER]
        .into_iter()
        .min_by(|a, b| {
            let d = |p: [f32; 2]| (p[1] / p[0] - long_over_short).abs();
            d(*a).total_cmp(&d(*b))
        })
        .unwrap_or(A4);
    let [short, long] = paper;
    let (pw, ph) = if landscape {
        (long, short)
    } else {
        (short, long)
    };
    // The image within the paper, its proportions kept.
    let scale = (pw / w.max(1) as f32).min(ph / h.max(1) as f32);
    [w as f32 * scale, h as f32 * scale]
}

#[cfg(test)]
mod tests {
    use super::*;
    use medidocs_core::model::TextSource;
    use medidocs_core::ocr::{BoundingBox, Line, Word};

    /// A white grey JPEG, as a grey scan's preview is.
    fn jpeg(w: u16, h: u16) -> Vec<u8> {
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 80)
            .encode(
                &vec![255u8; w as usize * h as usize],
                w,
                h,
                jpeg_encoder::ColorType::Luma,
            )
            .unwrap();
        out
    }

    fn ocr_page(rotation: u32) -> OcrPage {
        let word = |text: &str, left: f32| Word {
            text: text.into(),
            confidence: 90.0,
            bbox: BoundingBox {
                left,
                top: 0.1,
                width: 0.2,
                height: 0.02,
            },
        };
        OcrPage {
            page: 1,
            text_source: TextSource::Ocr,
            rotation,
            language: None,
            lines: vec![Line::from_words(vec![
                word("Full", 0.1),
                word("blood", 0.4),
            ])],
        }
    }

    #[test]
    fn a_small_preview_is_taken_as_it_is_and_a_turned_page_turns_its_image() {
        let preview = jpeg(120, 170);
        let page = pdf_page(preview.clone(), Some(&ocr_page(0)), None).unwrap();
        assert_eq!(page.jpeg, preview, "re-encoded a preview that fits");
        assert_eq!(
            (page.pixel_width, page.pixel_height, page.grey),
            (120, 170, true)
        );
        assert_eq!(page.words.len(), 2);
        assert_eq!(page.words[1].text, "blood");
        // Read turned a quarter: the image turns with the boxes, and so does the size.
        let turned = pdf_page(preview.clone(), Some(&ocr_page(90)), Some([340.0, 482.0])).unwrap();
        assert_eq!((turned.pixel_width, turned.pixel_height), (170, 120));
        assert_eq!([turned.width_pt, turned.height_pt], [482.0, 340.0]);
        // Not a JPEG: an error, never a panic.
        assert!(pdf_page(b"junk".to_vec(), None, None).is_err());
    }

    #[test]
    fn a_stated_size_is_kept_when_it_is_a_page_else_paper_proportions() {
        // A 150 dpi A4 scan states its size.
        assert_eq!(page_size(1240, 1754, Some([595.2, 841.9])), [595.2, 841.9]);
        // A phone photo at "72 dpi" says 55 inches: not believed; fitted into US Letter,
        // the paper closer to its 4:3.
        let [w, h] = page_size(3000, 4000, Some([3000.0, 4000.0]));
        assert!((h - 792.0).abs() < 0.5 && w < 612.0, "{w} {h}");
        // An A4-proportioned image, landscape.
        let [w, h] = page_size(1600, 1131, None);
        assert!(
            (w - 841.89).abs() < 0.5 && (h - 595.28).abs() < 1.0,
            "{w} {h}"
        );
        // A stated size of other proportions than the image is not believed.
        let [w, _] = page_size(1000, 1000, Some([595.0, 842.0]));
        assert!((w - 595.28).abs() < 0.5 || (w - 612.0).abs() < 0.5);
    }
}
