//! HEIC/HEIF photos, decoded with heifer.

use image::metadata::Orientation;
use image::{DynamicImage, RgbaImage};

use super::DecodedPage;
use crate::inspect::check_pixels;
use crate::{Limits, MediaError};

/// Width and height of the primary image as displayed (after a quarter-turn `irot`), read from
/// the container without decoding anything.
pub(crate) fn heic_dimensions(bytes: &[u8]) -> Result<(u32, u32), MediaError> {
    use heifer::heifer_isobmff::{HeifFile, boxes::Property};
    let file = HeifFile::parse(bytes).map_err(|e| MediaError::corrupt("HEIC", e))?;
    let id = file.primary_id;
    let (w, h) = file
        .image_size(id)
        .map_err(|e| MediaError::corrupt("HEIC", e))?
        .ok_or_else(|| MediaError::Corrupt("HEIC: the primary image has no size".into()))?;
    let quarter_turn = file
        .item_properties(id)
        .map_err(|e| MediaError::corrupt("HEIC", e))?
        .any(|p| matches!(p, Property::Rotation(r) if r % 2 == 1));
    Ok(if quarter_turn { (h, w) } else { (w, h) })
}

/// Decodes the primary image with heifer (pure Rust, no `unsafe`): the same decoder in the
/// embedded build and in the arm64 Lambda functions. Rotation, mirroring and crop stored in the
/// container are applied; colours are converted to sRGB from the embedded ICC profile (iPhone
/// photos carry Display P3) or `nclx`, and kept as coded when heifer cannot convert them.
pub(super) fn decode_heic(bytes: &[u8], limits: &Limits) -> Result<DecodedPage, MediaError> {
    let (w, h) = heic_dimensions(bytes)?;
    check_pixels(1, w, h, limits)?;
    let options = heifer::Options {
        max_threads: 0,
        max_pixels: limits.max_pixels,
    };
    let decoded = match heifer::decode_srgb_rgba8(bytes, &options) {
        Err(heifer::Error::Unsupported(_)) => heifer::decode_rgba8(bytes, &options),
        other => other,
    }
    .map_err(|e| match e {
        heifer::Error::Unsupported(what) => {
            MediaError::UnsupportedType(format!("HEIC/HEIF with {what}"))
        }
        e => MediaError::corrupt("HEIC", e),
    })?;
    let (w, h, alpha) = (decoded.width, decoded.height, decoded.has_alpha);
    check_pixels(1, w, h, limits)?;
    let rgba = RgbaImage::from_raw(w, h, decoded.data)
        .ok_or_else(|| MediaError::Corrupt("HEIC: short image".into()))?;
    let image = if alpha {
        DynamicImage::ImageRgba8(rgba)
    } else {
        DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(rgba).into_rgb8())
    };
    Ok(DecodedPage {
        image,
        dpi: None,
        orientation: Orientation::NoTransforms,
    })
}
