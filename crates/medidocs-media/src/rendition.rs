//! Web and OCR renditions of one decoded page. Renditions are re-encoded from pixels, so no
//! metadata of the original (EXIF, GPS, XMP, comments, ICC) is ever carried into them.

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::png::{CompressionType, PngEncoder};
use image::{DynamicImage, GrayImage, ImageEncoder, RgbImage};

use crate::decode::{OCR_DPI, turns_quarter};
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

/// Makes the thumb, preview and OCR renditions of one page from its one decode.
///
/// The preview is resized from the page as stored and then turned upright; the thumb is
/// resized from the preview. Only then is the OCR image made, in the page's own buffer
/// (colour to grey in place) and turned upright. So a page costs its decoded pixels plus a
/// grey copy at most while it is turned, and the full-size image is never copied in colour.
pub fn render_renditions(page: DecodedPage) -> Result<Vec<EncodedRendition>, MediaError> {
    render(page, true)
}

/// The thumb and preview only, as [`render_renditions`] makes them: for a page that needs
/// no OCR image (a PDF page read from its own text layer).
pub fn render_view_renditions(page: DecodedPage) -> Result<Vec<EncodedRendition>, MediaError> {
    render(page, false)
}

fn render(page: DecodedPage, with_ocr: bool) -> Result<Vec<EncodedRendition>, MediaError> {
    let (uw, uh) = page.upright_dimensions();
    let DecodedPage {
        image,
        dpi,
        orientation,
    } = page;
    let pixels = opaque(image)?;
    let mut resizer = Resizer::new();
    let mut out = Vec::with_capacity(3);

    let (pw, ph) = fit(uw, uh, PREVIEW_LONGEST);
    let (sw, sh) = if turns_quarter(orientation) {
        (ph, pw)
    } else {
        (pw, ph)
    };
    let mut preview = resize_image(&mut resizer, &pixels, sw, sh)?;
    preview.apply_orientation(orientation);

    let (tw, th) = fit(pw, ph, THUMB_LONGEST);
    let thumb = resize_image(&mut resizer, &preview, tw, th)?.into_rgb8();
    let webp = webp::Encoder::from_rgb(thumb.as_raw(), tw, th).encode(THUMB_QUALITY);
    out.push(EncodedRendition {
        kind: RenditionKind::Thumb,
        width: tw,
        height: th,
        bytes: webp.to_vec(),
    });

    // jpeg-encoder: AVX2 colour conversion and DCT on x86-64 (image's own encoder took a
    // fifth of a scan's time on its 1.8 MP preview); 4:2:0 below quality 90, as cameras.
    let mut jpeg = Vec::new();
    let colour = match &preview {
        DynamicImage::ImageLuma8(_) => jpeg_encoder::ColorType::Luma,
        _ => jpeg_encoder::ColorType::Rgb,
    };
    jpeg_encoder::Encoder::new(&mut jpeg, PREVIEW_QUALITY)
        .encode(preview.as_bytes(), pw as u16, ph as u16, colour)
        .map_err(|e| MediaError::corrupt("JPEG encoder", e))?;
    drop(preview);
    out.push(EncodedRendition {
        kind: RenditionKind::Preview,
        width: pw,
        height: ph,
        bytes: jpeg,
    });

    if !with_ocr {
        return Ok(out);
    }
    let mut grey = DynamicImage::ImageLuma8(into_grey(pixels)?);
    grey.apply_orientation(orientation);
    let (ow, oh) = ocr_size(uw, uh, dpi);
    let grey = if (ow, oh) == (uw, uh) {
        grey
    } else {
        resize_image(&mut resizer, &grey, ow, oh)?
    };
    let png = encode_ocr_png(&grey)?;
    out.push(EncodedRendition {
        kind: RenditionKind::Ocr,
        width: ow,
        height: oh,
        bytes: png,
    });
    Ok(out)
}

/// A page's pixels as the renditions need them: grey stays grey (a grey scan's preview is
/// a grey JPEG), anything else becomes opaque 8-bit RGB, RGBA in its own buffer.
fn opaque(image: DynamicImage) -> Result<DynamicImage, MediaError> {
    let (w, h) = (image.width(), image.height());
    Ok(match image {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => image,
        DynamicImage::ImageRgba8(i) => DynamicImage::ImageRgb8(
            RgbImage::from_raw(w, h, rgba_to_rgb_in_place(i.into_raw(), true))
                .ok_or_else(|| MediaError::Corrupt("short pixel buffer".into()))?,
        ),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    })
}

/// The 8-bit grey image of an [`opaque`] page, made in the same buffer for RGB (Rec. 601
/// luma, as JPEG's Y).
fn into_grey(image: DynamicImage) -> Result<GrayImage, MediaError> {
    match image {
        DynamicImage::ImageRgb8(i) => {
            let (w, h) = i.dimensions();
            let grey = repack_in_place::<3, 1>(i.into_raw(), |p| {
                [((77 * p[0] as u32 + 150 * p[1] as u32 + 29 * p[2] as u32 + 128) >> 8) as u8]
            });
            GrayImage::from_raw(w, h, grey)
                .ok_or_else(|| MediaError::Corrupt("short pixel buffer".into()))
        }
        other => Ok(other.into_luma8()),
    }
}

/// RGBA to RGB in the same buffer. With `on_white`, transparent areas become white (paper);
/// without, the alpha is dropped (the pixels are already opaque).
pub(crate) fn rgba_to_rgb_in_place(rgba: Vec<u8>, on_white: bool) -> Vec<u8> {
    if on_white {
        repack_in_place::<4, 3>(rgba, |p| {
            let a = p[3] as u32;
            let over = |c: u8| ((c as u32 * a + 255 * (255 - a) + 127) / 255) as u8;
            [over(p[0]), over(p[1]), over(p[2])]
        })
    } else {
        repack_in_place::<4, 3>(rgba, |p| [p[0], p[1], p[2]])
    }
}

/// Rewrites pixels of `F` bytes as pixels of `T` bytes (`T <= F`) front to back in the same
/// buffer, a block at a time: a block is converted into a small stack buffer first, and
/// the bytes it then overwrites were all read already.
fn repack_in_place<const F: usize, const T: usize>(
    mut buf: Vec<u8>,
    convert: impl Fn(&[u8]) -> [u8; T],
) -> Vec<u8> {
    const BLOCK: usize = 2048;
    debug_assert!(T <= F && T <= 4);
    let n = buf.len() / F;
    let mut tmp = [0u8; BLOCK * 4];
    let mut done = 0;
    while done < n {
        let k = BLOCK.min(n - done);
        for (src, dst) in buf[done * F..(done + k) * F]
            .chunks_exact(F)
            .zip(tmp.chunks_exact_mut(T))
        {
            dst.copy_from_slice(&convert(src));
        }
        buf[done * T..(done + k) * T].copy_from_slice(&tmp[..k * T]);
        done += k;
    }
    buf.truncate(n * T);
    buf.shrink_to_fit();
    buf
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

/// What an OCR engine takes: at most `max_bytes` of PNG (Textract's synchronous calls take
/// 10 MB; a 24 MP photo's OCR PNG is about 17 MB) and at most `max_side` pixels on a side
/// (Textract: 10,000). `None`: no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OcrImageLimits {
    pub max_bytes: Option<usize>,
    pub max_side: Option<u32>,
}

/// An OCR image made small enough for an engine's [`OcrImageLimits`]. It is resized as a
/// whole (aspect kept), so page-relative word boxes are unchanged. Returned as is when it
/// already fits.
pub fn shrink_png_to_fit(png: &[u8], limits: OcrImageLimits) -> Result<Vec<u8>, MediaError> {
    let (w0, h0) = png_size(png)?;
    let side_scale = match limits.max_side {
        Some(max) if w0.max(h0) > max => max as f64 / w0.max(h0) as f64,
        _ => 1.0,
    };
    let max_bytes = limits.max_bytes.unwrap_or(usize::MAX);
    if side_scale >= 1.0 && png.len() <= max_bytes {
        return Ok(png.to_vec());
    }
    let grey = DynamicImage::ImageLuma8(
        image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .map_err(|e| MediaError::corrupt("PNG", e))?
            .into_luma8(),
    );
    let mut resizer = Resizer::new();
    // Within the side limit first (floor, so the long side is at most the limit).
    let mut scale = side_scale;
    let mut size = (png.len() as f64 * scale * scale) as usize;
    // PNG bytes grow about with the pixel count; aim a little under, then tighten.
    for _ in 0..6 {
        if size > max_bytes {
            scale *= (max_bytes as f64 / size as f64 * 0.9).sqrt().min(0.95);
        }
        let w = ((grey.width() as f64 * scale).floor() as u32).max(1);
        let h = ((grey.height() as f64 * scale).floor() as u32).max(1);
        let smaller = resize_image(&mut resizer, &grey, w, h)?;
        let out = encode_ocr_png(&smaller)?;
        if out.len() <= max_bytes {
            return Ok(out);
        }
        size = out.len();
    }
    Err(MediaError::Corrupt(format!(
        "the OCR image cannot be made smaller than {max_bytes} bytes"
    )))
}

/// Width and height from a PNG's header (IHDR), without decoding it.
fn png_size(png: &[u8]) -> Result<(u32, u32), MediaError> {
    if png.len() < 24 || &png[..8] != b"\x89PNG\r\n\x1a\n" || &png[12..16] != b"IHDR" {
        return Err(MediaError::Corrupt("the OCR image is not a PNG".into()));
    }
    let be = |i: usize| u32::from_be_bytes([png[i], png[i + 1], png[i + 2], png[i + 3]]);
    Ok((be(16), be(20)))
}

/// Rotates an encoded PNG clockwise by 90, 180 or 270 degrees (OCR orientation fix).
pub fn rotate_png(png: &[u8], degrees_cw: u32) -> Result<Vec<u8>, MediaError> {
    let img = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .map_err(|e| MediaError::corrupt("PNG", e))?;
    let rotated = match degrees_cw % 360 {
        90 => img.rotate90(),
        180 => img.rotate180(),
        270 => img.rotate270(),
        _ => img,
    };
    let mut out = Vec::new();
    rotated
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(|e| MediaError::corrupt("PNG", e))?;
    Ok(out)
}

/// An OCR image as an engine takes it: 8-bit grey pixels, rows packed top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct GreyPixels {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

/// The pixels of a page's OCR image (a PNG; any colour type is turned grey), refusing
/// one of more than `max_pixels` before anything is decoded.
pub fn grey_pixels(png: &[u8], max_pixels: u64) -> Result<GreyPixels, MediaError> {
    crate::guard("PNG", || {
        let mut reader =
            image::ImageReader::with_format(std::io::Cursor::new(png), image::ImageFormat::Png);
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(max_pixels.saturating_mul(8));
        reader.limits(limits.clone());
        let (w, h) = reader
            .into_dimensions()
            .map_err(|e| MediaError::corrupt("PNG", e))?;
        if w as u64 * h as u64 > max_pixels {
            return Err(MediaError::corrupt(
                "PNG",
                format!("{w}×{h} is more pixels than OCR takes"),
            ));
        }
        let mut reader =
            image::ImageReader::with_format(std::io::Cursor::new(png), image::ImageFormat::Png);
        reader.limits(limits);
        let grey = reader
            .decode()
            .map_err(|e| MediaError::corrupt("PNG", e))?
            .into_luma8();
        Ok(GreyPixels {
            width: grey.width(),
            height: grey.height(),
            pixels: grey.into_raw(),
        })
    })
}

/// The pixels turned clockwise by a quarter turn count (90, 180, 270; others: unchanged).
pub fn rotate_grey(img: &GreyPixels, degrees_cw: u32) -> GreyPixels {
    let Some(grey) = GrayImage::from_raw(img.width, img.height, img.pixels.clone()) else {
        return img.clone();
    };
    let turned = match degrees_cw % 360 {
        90 => image::imageops::rotate90(&grey),
        180 => image::imageops::rotate180(&grey),
        270 => image::imageops::rotate270(&grey),
        _ => grey,
    };
    GreyPixels {
        width: turned.width(),
        height: turned.height(),
        pixels: turned.into_raw(),
    }
}

fn encode_ocr_png(grey: &DynamicImage) -> Result<Vec<u8>, MediaError> {
    let mut png = Vec::new();
    PngEncoder::new_with_quality(
        &mut png,
        CompressionType::Fast,
        image::codecs::png::FilterType::Adaptive,
    )
    .write_image(
        grey.as_bytes(),
        grey.width(),
        grey.height(),
        image::ExtendedColorType::L8,
    )
    .map_err(|e| MediaError::corrupt("PNG encoder", e))?;
    Ok(png)
}

/// A grey or RGB image at another size (Lanczos 3).
pub(crate) fn resize_image(
    resizer: &mut Resizer,
    src: &DynamicImage,
    w: u32,
    h: u32,
) -> Result<DynamicImage, MediaError> {
    if (w, h) == (src.width(), src.height()) {
        return Ok(src.clone());
    }
    let mut dst = match src {
        DynamicImage::ImageLuma8(_) => DynamicImage::ImageLuma8(GrayImage::new(w, h)),
        _ => DynamicImage::ImageRgb8(RgbImage::new(w, h)),
    };
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
