//! TIFF pages through the `tiff` crate, with two readers of our own: CCITT Group 3 fax
//! strips ([`ccitt`]), which that crate does not decode, and LZW strips ([`lzw`]), which it
//! decodes slowly.

use std::io::{Read, Seek};

use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, RgbImage, RgbaImage};
use tiff::ColorType;
use tiff::decoder::{Decoder as TiffDecoder, DecodingResult};
use tiff::tags::Tag;

use super::{DecodedPage, to_8bit};
use crate::inspect::{check_pixels, cursor};
use crate::{Limits, MediaError};

mod ccitt;
mod lzw;
mod partial;

pub use partial::{PartialFile, TiffPageReads, decode_tiff_page_at, tiff_page_needs};

/// A TIFF decoder over any reader: the whole original in memory, or the parts of it one
/// page needs ([`partial`]).
pub(crate) type TiffReader<R> = TiffDecoder<R>;

/// Where a page's strips are read from by the decoders of our own.
#[derive(Clone, Copy)]
pub(crate) enum TiffSource<'a> {
    Whole(&'a [u8]),
    Partial(&'a PartialFile),
}

impl TiffSource<'_> {
    /// The bytes of `range`, if the source holds them.
    fn slice(&self, range: std::ops::Range<u64>) -> Option<&[u8]> {
        match self {
            Self::Whole(bytes) => {
                bytes.get(usize::try_from(range.start).ok()?..usize::try_from(range.end).ok()?)
            }
            Self::Partial(file) => file.slice(range),
        }
    }
}

pub(crate) fn tiff_decoder<R: Read + Seek>(
    reader: R,
    limits: &Limits,
) -> Result<TiffReader<R>, MediaError> {
    let mut tl = tiff::decoder::Limits::default();
    let cap = usize::try_from(limits.max_pixels.saturating_mul(8)).unwrap_or(usize::MAX);
    tl.decoding_buffer_size = cap;
    tl.intermediate_buffer_size = cap;
    Ok(TiffDecoder::new(reader)
        .map_err(|e| MediaError::corrupt("TIFF", e))?
        .with_limits(tl))
}

/// A tag's value, or `default` when the page has no such tag or it cannot be read.
pub(crate) fn tag_or<R: Read + Seek, T: TryFrom<u64>>(
    dec: &mut TiffReader<R>,
    tag: Tag,
    default: T,
) -> T {
    dec.find_tag_unsigned(tag).ok().flatten().unwrap_or(default)
}

pub(super) fn decode_tiff_page(
    bytes: &[u8],
    index: u32,
    limits: &Limits,
) -> Result<DecodedPage, MediaError> {
    decode_tiff(TiffSource::Whole(bytes), cursor(bytes), index, limits)
}

/// Page `index` of the TIFF `reader` reads; `src` holds the same bytes for the strip
/// decoders of our own.
fn decode_tiff<R: Read + Seek>(
    src: TiffSource<'_>,
    reader: R,
    index: u32,
    limits: &Limits,
) -> Result<DecodedPage, MediaError> {
    let terr = |e: tiff::TiffError| MediaError::corrupt("TIFF", e);
    let mut dec = tiff_decoder(reader, limits)?;
    dec.seek_to_image(index as usize).map_err(terr)?;
    let (w, h) = dec.dimensions().map_err(terr)?;
    check_pixels(index + 1, w, h, limits)?;
    let dpi = tiff_dpi(&mut dec);
    let compression: u16 = dec
        .find_tag_unsigned(Tag::Compression)
        .map_err(terr)?
        .unwrap_or(1);
    let img = if compression == 2 || compression == 3 {
        ccitt::decode_ccitt_t4(src, &mut dec, w, h, compression)?
    } else {
        let color = dec.colortype().map_err(terr)?;
        let fast = match compression {
            5 => lzw::read_lzw_strips(src, &mut dec, color, w, h),
            _ => None,
        };
        let data = match fast {
            Some(v) => DecodingResult::U8(v),
            None => read_tiff(&mut dec, color)?,
        };
        tiff_to_image(&mut dec, color, data, w, h)?
    };
    let orientation: u16 = tag_or(&mut dec, Tag::Orientation, 1);
    Ok(DecodedPage {
        image: to_8bit(img),
        dpi,
        orientation: Orientation::from_exif(orientation.min(255) as u8)
            .unwrap_or(Orientation::NoTransforms),
    })
}

/// The page's samples. 16-bit samples in strips are read a strip at a time and reduced to
/// 8 bits as they come, so a 16-bit RGBA scan never holds its 8-byte pixels whole.
fn read_tiff<R: Read + Seek>(
    dec: &mut TiffReader<R>,
    color: ColorType,
) -> Result<DecodingResult, MediaError> {
    let terr = |e: tiff::TiffError| MediaError::corrupt("TIFF", e);
    let sixteen = matches!(
        color,
        ColorType::Gray(16)
            | ColorType::GrayA(16)
            | ColorType::RGB(16)
            | ColorType::RGBA(16)
            | ColorType::CMYK(16)
    );
    let planar: u16 = dec
        .find_tag_unsigned(Tag::PlanarConfiguration)
        .map_err(terr)?
        .unwrap_or(1);
    if !sixteen || planar != 1 || dec.get_chunk_type() != tiff::decoder::ChunkType::Strip {
        return dec.read_image().map_err(terr);
    }
    let mut out = Vec::new();
    for i in 0..dec.strip_count().map_err(terr)? {
        match dec.read_chunk(i).map_err(terr)? {
            DecodingResult::U16(v) => out.extend(v.iter().map(|x| (x >> 8) as u8)),
            DecodingResult::U8(v) => out.extend_from_slice(&v),
            _ => {
                return Err(MediaError::Corrupt(
                    "TIFF: unsupported sample format".into(),
                ));
            }
        }
    }
    Ok(DecodingResult::U8(out))
}

fn tiff_dpi<R: Read + Seek>(dec: &mut TiffReader<R>) -> Option<f32> {
    let x = match dec.find_tag(Tag::XResolution).ok()?? {
        tiff::decoder::ifd::Value::Rational(n, d) if d != 0 => n as f32 / d as f32,
        v => v.into_f32().ok()?,
    };
    let unit: u16 = tag_or(dec, Tag::ResolutionUnit, 2);
    let dpi = if unit == 3 { x * 2.54 } else { x };
    (dpi.is_finite() && (20.0..=4800.0).contains(&dpi)).then_some(dpi)
}

fn tiff_to_image<R: Read + Seek>(
    dec: &mut TiffReader<R>,
    color: ColorType,
    data: DecodingResult,
    w: u32,
    h: u32,
) -> Result<DynamicImage, MediaError> {
    let bad = |what: &str| MediaError::Corrupt(format!("TIFF: {what}"));
    let n = w as usize * h as usize;
    let u8s = |d: DecodingResult| -> Result<Vec<u8>, MediaError> {
        match d {
            DecodingResult::U8(v) => Ok(v),
            DecodingResult::U16(v) => Ok(v.into_iter().map(|x| (x >> 8) as u8).collect()),
            _ => Err(bad("unsupported sample format")),
        }
    };
    let img = match color {
        ColorType::Gray(1) => {
            let packed = u8s(data)?;
            let stride = (w as usize).div_ceil(8);
            if packed.len() < stride * h as usize {
                return Err(bad("bilevel data shorter than the image"));
            }
            let mut out = GrayImage::new(w, h);
            for (y, row) in packed.chunks(stride).take(h as usize).enumerate() {
                for x in 0..w as usize {
                    let bit = (row[x / 8] >> (7 - (x % 8))) & 1;
                    out.put_pixel(
                        x as u32,
                        y as u32,
                        image::Luma([if bit == 1 { 255 } else { 0 }]),
                    );
                }
            }
            DynamicImage::ImageLuma8(out)
        }
        ColorType::Gray(8) | ColorType::Gray(16) => {
            let v = u8s(data)?;
            DynamicImage::ImageLuma8(
                GrayImage::from_raw(w, h, v).ok_or_else(|| bad("short grey data"))?,
            )
        }
        ColorType::GrayA(8) | ColorType::GrayA(16) => {
            let v = u8s(data)?;
            if v.len() < n * 2 {
                return Err(bad("short grey+alpha data"));
            }
            let rgba: Vec<u8> = v
                .chunks_exact(2)
                .flat_map(|p| [p[0], p[0], p[0], p[1]])
                .collect();
            DynamicImage::ImageRgba8(
                RgbaImage::from_raw(w, h, rgba).ok_or_else(|| bad("short data"))?,
            )
        }
        ColorType::RGB(8) | ColorType::RGB(16) | ColorType::YCbCr(8) => {
            let v = u8s(data)?;
            DynamicImage::ImageRgb8(
                RgbImage::from_raw(w, h, v).ok_or_else(|| bad("short RGB data"))?,
            )
        }
        ColorType::RGBA(8) | ColorType::RGBA(16) => {
            let v = u8s(data)?;
            DynamicImage::ImageRgba8(
                RgbaImage::from_raw(w, h, v).ok_or_else(|| bad("short RGBA data"))?,
            )
        }
        ColorType::CMYK(8) | ColorType::CMYK(16) => {
            let v = u8s(data)?;
            if v.len() < n * 4 {
                return Err(bad("short CMYK data"));
            }
            let rgb = v
                .chunks_exact(4)
                .flat_map(|p| cmyk_to_rgb(p[0], p[1], p[2], p[3]))
                .collect();
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, rgb).ok_or_else(|| bad("short data"))?)
        }
        ColorType::Palette(bits @ (1 | 2 | 4 | 8)) => {
            let map: Vec<u16> = dec
                .get_tag_u16_vec(Tag::ColorMap)
                .map_err(|e| MediaError::corrupt("TIFF colour map", e))?;
            let entries = 1usize << bits;
            if map.len() < entries * 3 {
                return Err(bad("colour map too short"));
            }
            let packed = u8s(data)?;
            let stride = (w as usize * bits as usize).div_ceil(8);
            if packed.len() < stride * h as usize {
                return Err(bad("palette data shorter than the image"));
            }
            let mut rgb = Vec::with_capacity(n * 3);
            for row in packed.chunks(stride).take(h as usize) {
                for x in 0..w as usize {
                    let bitpos = x * bits as usize;
                    let byte = row[bitpos / 8];
                    let shift = 8 - bits as usize - (bitpos % 8);
                    let idx = ((byte >> shift) & ((1u16 << bits) - 1) as u8) as usize;
                    rgb.extend([
                        (map[idx] >> 8) as u8,
                        (map[entries + idx] >> 8) as u8,
                        (map[2 * entries + idx] >> 8) as u8,
                    ]);
                }
            }
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, rgb).ok_or_else(|| bad("short data"))?)
        }
        other => {
            return Err(MediaError::Corrupt(format!(
                "TIFF: unsupported colour type {other:?}"
            )));
        }
    };
    Ok(img)
}

pub(crate) fn cmyk_to_rgb(c: u8, m: u8, y: u8, k: u8) -> [u8; 3] {
    let k = 255 - k as u32;
    [
        ((255 - c as u32) * k / 255) as u8,
        ((255 - m as u32) * k / 255) as u8,
        ((255 - y as u32) * k / 255) as u8,
    ]
}
