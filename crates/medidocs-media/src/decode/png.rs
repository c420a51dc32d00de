//! PNG, decoded with the `png` crate straight to 8 bits a sample.

use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, RgbImage, RgbaImage};

use super::DecodedPage;
use crate::inspect::cursor;
use crate::{Limits, MediaError};

/// PNG straight to 8 bits a sample: 16-bit samples are reduced and palettes expanded as
/// rows are decoded, so a 16-bit RGBA scan takes 4 bytes a pixel, not 8 and then 4 more.
pub(super) fn decode_png(bytes: &[u8], limits: &Limits) -> Result<DecodedPage, MediaError> {
    let corrupt = |e: png::DecodingError| MediaError::corrupt("png", e);
    let mut decoder = png::Decoder::new_with_limits(
        cursor(bytes),
        png::Limits {
            bytes: limits.max_pixels.saturating_mul(4).max(64 << 20) as usize,
        },
    );
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(corrupt)?;
    let orientation = reader
        .info()
        .exif_metadata
        .as_deref()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| MediaError::Corrupt("png: the image is too large to address".into()))?;
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(corrupt)?;
    buf.truncate(info.buffer_size());
    let (w, h) = (info.width, info.height);
    let short = || MediaError::Corrupt("png: fewer pixels than the header declares".into());
    let image = match info.color_type {
        png::ColorType::Grayscale => {
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, buf).ok_or_else(short)?)
        }
        png::ColorType::GrayscaleAlpha => DynamicImage::ImageRgba8(
            DynamicImage::ImageLumaA8(
                image::GrayAlphaImage::from_raw(w, h, buf).ok_or_else(short)?,
            )
            .to_rgba8(),
        ),
        png::ColorType::Rgb => {
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, buf).ok_or_else(short)?)
        }
        png::ColorType::Rgba => {
            DynamicImage::ImageRgba8(RgbaImage::from_raw(w, h, buf).ok_or_else(short)?)
        }
        png::ColorType::Indexed => {
            return Err(MediaError::Corrupt("png: a palette left unexpanded".into()));
        }
    };
    Ok(DecodedPage {
        image,
        dpi: None,
        orientation,
    })
}
