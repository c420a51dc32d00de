//! `render_page`: one page decoded into its renditions (thumb and preview, kept; the OCR
//! image, an intermediate under `work/`).

use std::time::Instant;

use super::contracts::PageRenditions;
use super::ocr::{TextLayer, usable_text_layer};
use super::{PageInput, RenderOutput, Steps, parse_mime};
use crate::error::StepError;
use medidocs_core::keys;
use medidocs_core::model::RenditionRef;
use medidocs_core::ports::{PutMode, StoreError};
use medidocs_media::{self as media, Mime, RenditionKind};

impl Steps {
    /// Decodes one page and writes its thumb, preview and OCR renditions.
    pub async fn render_page(&self, input: &PageInput) -> Result<RenderOutput, StepError> {
        let started = Instant::now();
        self.check_page_owner(input).await?;
        // Done by an earlier try of this page (its result lost on the way back): not again,
        // if every rendition it lists is there (objects replicated from another region
        // arrive in no particular order).
        let mime = parse_mime(&input.mime)?;
        let done_key = keys::page_renditions(&input.document_id, input.page);
        if let Some(done) = self
            .get_json_if_present::<PageRenditions>(&done_key)
            .await?
        {
            let (mut whole, mut ocr_image_gone) = (true, false);
            for r in &done.renditions {
                match self.objects.head(&r.key).await {
                    Ok(_) => {}
                    // The OCR image is an intermediate: gone once the document ended (a
                    // retry), expired, or never replicated (a take-over). The kept
                    // renditions are not written again for it.
                    Err(StoreError::NotFound { .. }) if !keys::is_kept(&r.key) => {
                        ocr_image_gone = true
                    }
                    Err(StoreError::NotFound { .. }) => whole = false,
                    Err(e) => return Err(e.into()),
                }
            }
            if whole {
                let page_read = match self
                    .objects
                    .head(&keys::page_ocr(&input.document_id, input.page))
                    .await
                {
                    Ok(_) => true,
                    Err(StoreError::NotFound { .. }) => false,
                    Err(e) => return Err(e.into()),
                };
                if ocr_image_gone && !page_read {
                    let png = self.make_ocr_image(input, mime).await?;
                    self.objects
                        .put(
                            &keys::ocr_image(&input.document_id, input.page),
                            png,
                            PutMode::Overwrite,
                        )
                        .await?;
                }
                return Ok(RenderOutput {
                    document_id: input.document_id.clone(),
                    page: input.page,
                    renditions: done.renditions.len(),
                    ms: done.ms,
                });
            }
        }
        let (encoded, layer, size_pt) = self.render_from_original(input, mime, false).await?;
        if let Some(layer) = layer {
            self.put_json(&keys::text_layer(&input.document_id, input.page), &layer)
                .await?;
        }
        let mut refs = Vec::with_capacity(encoded.len());
        for r in encoded {
            // The OCR image is an intermediate (under `work/`); thumb and preview are kept.
            let key = if r.kind == RenditionKind::Ocr {
                keys::ocr_image(&input.document_id, input.page)
            } else {
                keys::rendition(&input.document_id, input.page, r.kind.name(), r.kind.ext())
            };
            let size = r.bytes.len() as u64;
            self.objects.put(&key, r.bytes, PutMode::Overwrite).await?;
            refs.push(RenditionRef {
                name: r.kind.name().into(),
                page: input.page,
                mime: r.kind.mime().into(),
                width: r.width,
                height: r.height,
                bytes: size,
                key,
            });
        }
        let ms = started.elapsed().as_millis() as u64;
        let n = refs.len();
        self.put_json(
            &done_key,
            &PageRenditions {
                renditions: refs,
                ms,
                size_pt,
            },
        )
        .await?;
        Ok(RenderOutput {
            document_id: input.document_id.clone(),
            page: input.page,
            renditions: n,
            ms,
        })
    }

    /// Makes a page's OCR image again from the original, as the render step made it.
    pub(super) async fn make_ocr_image(
        &self,
        input: &PageInput,
        mime: Mime,
    ) -> Result<Vec<u8>, StepError> {
        tracing::info!(document = %input.document_id, page = input.page, "OCR image made again from the original");
        let (made, _, _) = self.render_from_original(input, mime, true).await?;
        made.into_iter()
            .find(|r| r.kind == RenditionKind::Ocr)
            .map(|r| r.bytes)
            .ok_or_else(|| StepError::internal("no OCR rendition made"))
    }

    /// Reads the page's original once and makes its renditions from it, and, for a PDF
    /// page, reads its text layer from the same bytes for the OCR step (none if the
    /// layer cannot be read: the OCR step then reads it from the original, and says why).
    /// A page of a multi-page TIFF reads only its own part of the original. With them,
    /// the upright page's size in points, if its original states its resolution.
    ///
    /// A PDF page whose own text layer is read whole needs no OCR image: it is drawn only
    /// as large as its preview and gets its thumb and preview alone, unless `ocr_image`
    /// asks for the OCR image all the same.
    async fn render_from_original(
        &self,
        input: &PageInput,
        mime: Mime,
        ocr_image: bool,
    ) -> Result<
        (
            Vec<media::EncodedRendition>,
            Option<TextLayer>,
            Option<[f32; 2]>,
        ),
        StepError,
    > {
        if let Some(at) = self.tiff_directory(input, mime).await?
            && let Some(parts) = self.read_tiff_page(input, at).await?
        {
            let limits = self.limits;
            let page = input.page;
            let made = self
                .cpu(move || {
                    let decoded = media::decode_tiff_page_at(&parts, at, page, &limits)?;
                    let size = size_pt(&decoded);
                    Ok((media::render_renditions(decoded)?, size))
                })
                .await;
            match made {
                Ok((renditions, size)) => return Ok((renditions, None, size)),
                // The whole original decides: its errors are the ones a user is shown.
                Err(e) => {
                    tracing::info!(document = %input.document_id, page = input.page, error = %e,
                    "the page's part of the TIFF did not decode alone; reading the whole original")
                }
            }
        }
        let bytes = self
            .objects
            .get_version(&input.source_key, &input.source_version)
            .await?;
        let (limits, index, page) = (self.limits, input.page.saturating_sub(1), input.page);
        self.cpu(move || {
            let layer = (mime == Mime::Pdf)
                .then(|| media::pdf_text_layer(&bytes, index).ok())
                .flatten()
                .map(|l| usable_text_layer(page, l));
            let no_ocr = !ocr_image && layer.as_ref().is_some_and(|l| l.page.is_some());
            let (renditions, size) = if no_ocr {
                let decoded = media::decode_pdf_page_to_view(&bytes, index, &limits)?;
                let size = size_pt(&decoded);
                (media::render_view_renditions(decoded)?, size)
            } else {
                let decoded = media::decode_page(&bytes, mime, index, &limits)?;
                let size = size_pt(&decoded);
                (media::render_renditions(decoded)?, size)
            };
            Ok((renditions, layer, size))
        })
        .await
    }

    /// Where a page of a multi-page TIFF starts in its original, as the inspect step found
    /// it; None for any other page, or when that intermediate is gone.
    async fn tiff_directory(
        &self,
        input: &PageInput,
        mime: Mime,
    ) -> Result<Option<u64>, StepError> {
        if mime != Mime::Tiff {
            return Ok(None);
        }
        let directories = self
            .get_json_if_present::<Vec<u64>>(&keys::page_directories(&input.document_id))
            .await?;
        Ok(directories.and_then(|d| d.get(input.page.checked_sub(1)? as usize).copied()))
    }

    /// The parts of a TIFF original page `at` (its directory's offset) needs, by ranged
    /// reads: its directory, the values it points at, then its strips or tiles (two or
    /// three reads for a usual page, never more than the size limit). None when the reads
    /// stop without them all: the page then reads the original whole.
    async fn read_tiff_page(
        &self,
        input: &PageInput,
        at: u64,
    ) -> Result<Option<media::PartialFile>, StepError> {
        let mut reads = media::TiffPageReads::new(at, self.limits);
        while let Some(ranges) = reads.next() {
            for range in ranges {
                let bytes = self
                    .objects
                    .get_range(&input.source_key, &input.source_version, range.clone())
                    .await?;
                reads.insert(range.start, bytes);
            }
        }
        Ok(reads.finish())
    }
}

/// The upright page's size in points from the resolution its original states.
fn size_pt(page: &media::DecodedPage) -> Option<[f32; 2]> {
    let dpi = page.dpi.filter(|d| d.is_finite() && *d > 0.0)?;
    let (w, h) = page.upright_dimensions();
    Some([w as f32 * 72.0 / dpi, h as f32 * 72.0 / dpi])
}
