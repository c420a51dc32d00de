//! Web and OCR renditions of one decoded page. Renditions are re-encoded from pixels, so no
//! metadata of the original (EXIF, GPS, XMP, comments, ICC) is ever carried into them.

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, PngEncoder};
use image::{DynamicImage, GrayImage, ImageEncoder, RgbImage};

use crate::decode::OCR_DPI;
use crate::{DecodedPage, MediaError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenditionKind {
    /// Longest side 256 px, lossy WebP: lists and search results.
    Thumb,
    /// Longest side 1600 px, JPEG quality 82: the page a doctor reads.
    Preview,
    /// 8-bit grey PNG at about 300 dpi: what OCR reads.
    Ocr,
}

impl RenditionKind {
    pub const ALL: [RenditionKind; 3] = [
        RenditionKind::Thumb,
        RenditionKind::Preview,
        RenditionKind::Ocr,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RenditionKind::Thumb => "thumb",
            RenditionKind::Preview => "preview",
            RenditionKind::Ocr => "ocr",
        }
    }
    pub fn mime(self) -> &'static str {
        match self {
            RenditionKind::Thumb => "image/webp",
            RenditionKind::Preview => "image/jpeg",
            RenditionKind::Ocr => "image/png",
        }
    }
    pub fn ext(self) -> &'static str {
        match self {
            RenditionKind::Thumb => "webp",
            RenditionKind::Preview => "jpg",
            RenditionKind::Ocr => "png",
        }
    }
}

pub const THUMB_LONGEST: u32 = 256;
pub const PREVIEW_LONGEST: u32 = 1600;
pub const PREVIEW_QUALITY: u8 = 82;
const THUMB_QUALITY: f32 = 75.0;
/// Upper bound for the OCR rendition when a low-resolution scan is upsampled to 300 dpi.
const OCR_MAX_PIXELS: u64 = 40_000_000;

pub struct EncodedRendition {
    pub kind: RenditionKind,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

/// Makes the thumb, preview and OCR renditions of one page.
pub fn render_renditions(page: &DecodedPage) -> Result<Vec<EncodedRendition>, MediaError> {
    let rgb = flatten(&page.image);
    let mut resizer = Resizer::new();
    let mut out = Vec::with_capacity(3);

    let (tw, th) = fit(rgb.width(), rgb.height(), THUMB_LONGEST);
    let thumb = resize_rgb(&mut resizer, &rgb, tw, th)?;
    let webp = webp::Encoder::from_rgb(thumb.as_raw(), tw, th).encode(THUMB_QUALITY);
    out.push(EncodedRendition {
        kind: RenditionKind::Thumb,
        width: tw,
        height: th,
        bytes: webp.to_vec(),
    });

    let (pw, ph) = fit(rgb.width(), rgb.height(), PREVIEW_LONGEST);
    let preview = resize_rgb(&mut resizer, &rgb, pw, ph)?;
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, PREVIEW_QUALITY)
        .write_image(preview.as_raw(), pw, ph, image::ExtendedColorType::Rgb8)
        .map_err(|e| MediaError::corrupt("JPEG encoder", e))?;
    out.push(EncodedRendition {
        kind: RenditionKind::Preview,
        width: pw,
        height: ph,
        bytes: jpeg,
    });

    let grey = DynamicImage::ImageRgb8(rgb).to_luma8();
    let (ow, oh) = ocr_size(grey.width(), grey.height(), page.dpi);
    let grey = if (ow, oh) == (grey.width(), grey.height()) {
        grey
    } else {
        let mut dst = DynamicImage::ImageLuma8(GrayImage::new(ow, oh));
        resizer
            .resize(&DynamicImage::ImageLuma8(grey), &mut dst, &lanczos())
            .map_err(|e| MediaError::corrupt("resize", e))?;
        dst.into_luma8()
    };
    let mut png = Vec::new();
    PngEncoder::new_with_quality(
        &mut png,
        CompressionType::Fast,
        image::codecs::png::FilterType::Adaptive,
    )
    .write_image(grey.as_raw(), ow, oh, image::ExtendedColorType::L8)
    .map_err(|e| MediaError::corrupt("PNG encoder", e))?;
    out.push(EncodedRendition {
        kind: RenditionKind::Ocr,
        width: ow,
        height: oh,
        bytes: png,
    });
    Ok(out)
}

fn lanczos() -> ResizeOptions {
    ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
}

/// Size with the longest side at most `longest`, never enlarged, at least 1 px.
pub fn fit(w: u32, h: u32, longest: u32) -> (u32, u32) {
    let m = w.max(h);
    if m <= longest {
        return (w.max(1), h.max(1));
    }
    let s = longest as f64 / m as f64;
    (
        ((w as f64 * s).round() as u32).clamp(1, longest),
        ((h as f64 * s).round() as u32).clamp(1, longest),
    )
}

/// Low-resolution scans (fax at 200 dpi, say) are upsampled to about 300 dpi for OCR.
fn ocr_size(w: u32, h: u32, dpi: Option<f32>) -> (u32, u32) {
    let Some(dpi) = dpi else { return (w, h) };
    if dpi >= OCR_DPI * 0.85 {
        return (w, h);
    }
    let mut s = (OCR_DPI / dpi) as f64;
    let px = w as f64 * h as f64 * s * s;
    if px > OCR_MAX_PIXELS as f64 {
        s *= (OCR_MAX_PIXELS as f64 / px).sqrt();
    }
    if s <= 1.0 {
        return (w, h);
    }
    ((w as f64 * s).round() as u32, (h as f64 * s).round() as u32)
}

/// Any page as opaque 8-bit RGB; transparent areas become white (paper).
fn flatten(img: &DynamicImage) -> RgbImage {
    match img {
        DynamicImage::ImageRgb8(i) => i.clone(),
        DynamicImage::ImageRgba8(i) => {
            let mut out = RgbImage::new(i.width(), i.height());
            for (o, p) in out.pixels_mut().zip(i.pixels()) {
                let a = p[3] as u32;
                for c in 0..3 {
                    o[c] = ((p[c] as u32 * a + 255 * (255 - a)) / 255) as u8;
                }
            }
            out
        }
        other => other.to_rgb8(),
    }
}

fn resize_rgb(
    resizer: &mut Resizer,
    src: &RgbImage,
    w: u32,
    h: u32,
) -> Result<RgbImage, MediaError> {
    if (w, h) == (src.width(), src.height()) {
        return Ok(src.clone());
    }
    let mut dst = RgbImage::new(w, h);
    resizer
        .resize(src, &mut dst, &lanczos())
        .map_err(|e| MediaError::corrupt("resize", e))?;
    Ok(dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_keeps_aspect_and_never_enlarges() {
        assert_eq!(fit(4032, 3024, 256), (256, 192));
        assert_eq!(fit(3024, 4032, 1600), (1200, 1600));
        assert_eq!(fit(100, 50, 256), (100, 50));
        assert_eq!(fit(30000, 1, 256), (256, 1));
    }

    #[test]
    fn low_dpi_scans_are_upsampled_for_ocr() {
        assert_eq!(ocr_size(1700, 2200, Some(200.0)), (2550, 3300));
        assert_eq!(ocr_size(2550, 3300, Some(300.0)), (2550, 3300));
        assert_eq!(ocr_size(800, 600, None), (800, 600));
    }
}
