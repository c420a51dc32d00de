//! Decoding one page or image of a document into 8-bit pixels: [`decode_page`] picks the
//! decoder for the document's type, one module per format.

use image::DynamicImage;
use image::metadata::Orientation;

use crate::{Limits, MediaError, Mime, guard};

mod heic;
mod pdf;
mod png;
mod raster;
mod tiff;

pub(crate) use self::heic::heic_dimensions;
pub(crate) use self::pdf::open_pdf;
pub(crate) use self::raster::raster_dimensions;
pub(crate) use self::tiff::inspect_pages as inspect_tiff_pages;
pub use self::tiff::{PartialFile, TiffPageReads, decode_tiff_page_at, tiff_page_needs};

/// Resolution at which PDF pages are rasterised and below which scans are upsampled for OCR.
pub const OCR_DPI: f32 = 300.0;

/// One decoded page: 8-bit pixels (grey, RGB or RGBA) as stored in the file.
pub struct DecodedPage {
    pub image: DynamicImage,
    /// Horizontal resolution when the file declares one (TIFF) or we chose it (PDF).
    pub dpi: Option<f32>,
    /// How the stored pixels are turned to be seen upright (EXIF or TIFF orientation). It is
    /// applied to each rendition, not to the decoded page: turning a 12 MP photo would cost
    /// a second full-size copy, turning its renditions costs a fraction of one.
    pub orientation: Orientation,
}

impl DecodedPage {
    /// Width and height as seen, with the orientation applied.
    pub fn upright_dimensions(&self) -> (u32, u32) {
        let (w, h) = (self.image.width(), self.image.height());
        if turns_quarter(self.orientation) {
            (h, w)
        } else {
            (w, h)
        }
    }
}

/// Whether an orientation swaps width and height.
pub(crate) fn turns_quarter(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// Decodes page `index` (0-based) of a document that passed [`crate::inspect`].
pub fn decode_page(
    bytes: &[u8],
    mime: Mime,
    index: u32,
    limits: &Limits,
) -> Result<DecodedPage, MediaError> {
    guard(mime.short(), || match mime {
        Mime::Jpeg | Mime::Png | Mime::Webp => {
            if index != 0 {
                return Err(MediaError::Corrupt(format!(
                    "an image has one page, asked for page {}",
                    index + 1
                )));
            }
            raster::decode_raster(bytes, mime, limits)
        }
        Mime::Tiff => tiff::decode_tiff_page(bytes, index, limits),
        Mime::Heic => heic::decode_heic(bytes, limits),
        Mime::Pdf => pdf::render_pdf_page(bytes, index, limits, None),
    })
}

/// Page `index` (0-based) of a PDF that passed [`crate::inspect`], drawn only as large as
/// its preview needs (at most [`crate::rendition::PREVIEW_LONGEST`] pixels a side, never
/// more than [`decode_page`]'s 300 dpi): for a page whose own text layer is read instead
/// of OCR, which needs no OCR image. Drawing the page small costs a fraction of drawing it
/// at 300 dpi and shrinking it.
pub fn decode_pdf_page_to_view(
    bytes: &[u8],
    index: u32,
    limits: &Limits,
) -> Result<DecodedPage, MediaError> {
    guard(Mime::Pdf.short(), || {
        pdf::render_pdf_page(
            bytes,
            index,
            limits,
            Some(crate::rendition::PREVIEW_LONGEST),
        )
    })
}

/// Reduces any colour type to 8-bit grey, RGB or RGBA.
fn to_8bit(img: DynamicImage) -> DynamicImage {
    match img {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => {
            img
        }
        DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLumaA16(_) => {
            DynamicImage::ImageRgba8(img.to_rgba8())
        }
        DynamicImage::ImageLuma16(_) => DynamicImage::ImageLuma8(img.to_luma8()),
        i if i.color().has_alpha() => DynamicImage::ImageRgba8(i.to_rgba8()),
        i => DynamicImage::ImageRgb8(i.to_rgb8()),
    }
}
