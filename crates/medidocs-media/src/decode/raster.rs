//! JPEG and WebP through the `image` crate; PNG is sized here and decoded in [`super::png`].

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use super::{DecodedPage, to_8bit};
use crate::inspect::{check_pixels, cursor};
use crate::{Limits, MediaError, Mime};

fn image_format(mime: Mime) -> ImageFormat {
    match mime {
        Mime::Jpeg => ImageFormat::Jpeg,
        Mime::Png => ImageFormat::Png,
        Mime::Webp => ImageFormat::WebP,
        _ => ImageFormat::Tiff,
    }
}

fn image_limits(limits: &Limits) -> image::Limits {
    let mut l = image::Limits::default();
    // 8 bytes per pixel covers 16-bit RGBA; the decoder refuses anything larger up front.
    l.max_alloc = Some(limits.max_pixels.saturating_mul(8).max(64 * 1024 * 1024));
    l
}

pub(crate) fn raster_dimensions(bytes: &[u8], mime: Mime) -> Result<(u32, u32), MediaError> {
    let reader = ImageReader::with_format(cursor(bytes), image_format(mime));
    reader
        .into_dimensions()
        .map_err(|e| MediaError::corrupt(mime.short(), e))
}

pub(super) fn decode_raster(
    bytes: &[u8],
    mime: Mime,
    limits: &Limits,
) -> Result<DecodedPage, MediaError> {
    let (w, h) = raster_dimensions(bytes, mime)?;
    check_pixels(1, w, h, limits)?;
    if mime == Mime::Png {
        return super::png::decode_png(bytes, limits);
    }
    let mut reader = ImageReader::with_format(cursor(bytes), image_format(mime));
    reader.limits(image_limits(limits));
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| MediaError::corrupt(mime.short(), e))?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let img =
        DynamicImage::from_decoder(decoder).map_err(|e| MediaError::corrupt(mime.short(), e))?;
    Ok(DecodedPage {
        image: to_8bit(img),
        dpi: None,
        orientation,
    })
}
