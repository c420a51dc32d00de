//! Decoding one page or image of a document into 8-bit pixels.

use std::sync::Arc;

use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader, RgbImage, RgbaImage};
use tiff::ColorType;
use tiff::decoder::{Decoder as TiffDecoder, DecodingResult};
use tiff::tags::Tag;

use crate::inspect::{check_pixels, cursor};
use crate::{Limits, MediaError, Mime, guard};

/// Resolution at which PDF pages are rasterised and below which scans are upsampled for OCR.
pub const OCR_DPI: f32 = 300.0;
/// Upper bound for one rasterised PDF page, whatever its declared size.
const MAX_RASTER_PIXELS: f64 = 40_000_000.0;

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
            decode_raster(bytes, mime, limits)
        }
        Mime::Tiff => decode_tiff_page(bytes, index, limits),
        Mime::Heic => decode_heic(bytes, limits),
        Mime::Pdf => render_pdf_page(bytes, index, limits),
    })
}

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

fn decode_raster(bytes: &[u8], mime: Mime, limits: &Limits) -> Result<DecodedPage, MediaError> {
    let (w, h) = raster_dimensions(bytes, mime)?;
    check_pixels(1, w, h, limits)?;
    if mime == Mime::Png {
        return decode_png(bytes, limits);
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

/// PNG straight to 8 bits a sample: 16-bit samples are reduced and palettes expanded as
/// rows are decoded, so a 16-bit RGBA scan takes 4 bytes a pixel, not 8 and then 4 more.
fn decode_png(bytes: &[u8], limits: &Limits) -> Result<DecodedPage, MediaError> {
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

// ---------- TIFF ----------

pub(crate) type TiffReader<'a> = TiffDecoder<std::io::Cursor<&'a [u8]>>;

pub(crate) fn tiff_decoder<'a>(
    bytes: &'a [u8],
    limits: &Limits,
) -> Result<TiffDecoder<std::io::Cursor<&'a [u8]>>, MediaError> {
    let mut tl = tiff::decoder::Limits::default();
    let cap = usize::try_from(limits.max_pixels.saturating_mul(8)).unwrap_or(usize::MAX);
    tl.decoding_buffer_size = cap;
    tl.intermediate_buffer_size = cap;
    Ok(TiffDecoder::new(cursor(bytes))
        .map_err(|e| MediaError::corrupt("TIFF", e))?
        .with_limits(tl))
}

fn decode_tiff_page(bytes: &[u8], index: u32, limits: &Limits) -> Result<DecodedPage, MediaError> {
    let terr = |e: tiff::TiffError| MediaError::corrupt("TIFF", e);
    let mut dec = tiff_decoder(bytes, limits)?;
    dec.seek_to_image(index as usize).map_err(terr)?;
    let (w, h) = dec.dimensions().map_err(terr)?;
    check_pixels(index + 1, w, h, limits)?;
    let dpi = tiff_dpi(&mut dec);
    let compression: u16 = dec
        .find_tag_unsigned(Tag::Compression)
        .map_err(terr)?
        .unwrap_or(1);
    let img = if compression == 2 || compression == 3 {
        decode_ccitt_t4(bytes, &mut dec, w, h, compression)?
    } else {
        let color = dec.colortype().map_err(terr)?;
        let fast = match compression {
            5 => read_lzw_strips(bytes, &mut dec, color, w, h),
            _ => None,
        };
        let data = match fast {
            Some(v) => DecodingResult::U8(v),
            None => read_tiff(&mut dec, color)?,
        };
        tiff_to_image(&mut dec, color, data, w, h)?
    };
    let orientation: u16 = dec
        .find_tag_unsigned(Tag::Orientation)
        .ok()
        .flatten()
        .unwrap_or(1);
    Ok(DecodedPage {
        image: to_8bit(img),
        dpi,
        orientation: Orientation::from_exif(orientation.min(255) as u8)
            .unwrap_or(Orientation::NoTransforms),
    })
}

/// The page's samples. 16-bit samples in strips are read a strip at a time and reduced to
/// 8 bits as they come, so a 16-bit RGBA scan never holds its 8-byte pixels whole.
fn read_tiff(dec: &mut TiffReader, color: ColorType) -> Result<DecodingResult, MediaError> {
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

/// LZW strips of 8-bit interleaved samples (the usual colour or grey scan) through the fast
/// decoder in [`crate::lzw`], with the horizontal predictor undone. `None` for any other
/// layout, or when the fast decoder declines a strip: the `tiff` crate then decodes the page.
fn read_lzw_strips(
    bytes: &[u8],
    dec: &mut TiffReader,
    color: ColorType,
    w: u32,
    h: u32,
) -> Option<Vec<u8>> {
    let tag = |dec: &mut TiffReader, t: Tag, default: u32| -> Option<u32> {
        dec.find_tag_unsigned::<u32>(t)
            .ok()
            .map(|v| v.unwrap_or(default))
    };
    let photometric = tag(dec, Tag::PhotometricInterpretation, u32::MAX)?;
    let spp = match (color, photometric) {
        (ColorType::Gray(8), 1) => 1,
        (ColorType::GrayA(8), 1) => 2,
        (ColorType::RGB(8), 2) => 3,
        (ColorType::RGBA(8), 2) | (ColorType::CMYK(8), 5) => 4,
        _ => return None,
    };
    let predictor = tag(dec, Tag::Predictor, 1)?;
    if tag(dec, Tag::PlanarConfiguration, 1)? != 1
        || !matches!(predictor, 1 | 2)
        || dec.get_chunk_type() != tiff::decoder::ChunkType::Strip
    {
        return None;
    }
    let rows_per_strip = tag(dec, Tag::RowsPerStrip, h)?.clamp(1, h.max(1)) as usize;
    let offsets = dec.get_tag_u64_vec(Tag::StripOffsets).ok()?;
    let counts = dec.get_tag_u64_vec(Tag::StripByteCounts).ok()?;
    let row_bytes = (w as usize).checked_mul(spp)?;
    let mut out = vec![0u8; row_bytes.checked_mul(h as usize)?];
    for (i, strip) in out.chunks_mut(row_bytes * rows_per_strip).enumerate() {
        let start = usize::try_from(*offsets.get(i)?).ok()?;
        let len = usize::try_from(*counts.get(i)?).ok()?;
        let input = bytes.get(start..start.checked_add(len)?)?;
        crate::lzw::decode_strip(input, strip).ok()?;
        if predictor == 2 {
            for row in strip.chunks_exact_mut(row_bytes) {
                for x in spp..row_bytes {
                    row[x] = row[x].wrapping_add(row[x - spp]);
                }
            }
        }
    }
    Some(out)
}

fn tiff_dpi(dec: &mut TiffDecoder<std::io::Cursor<&[u8]>>) -> Option<f32> {
    let x = match dec.find_tag(Tag::XResolution).ok()?? {
        tiff::decoder::ifd::Value::Rational(n, d) if d != 0 => n as f32 / d as f32,
        v => v.into_f32().ok()?,
    };
    let unit: u16 = dec
        .find_tag_unsigned(Tag::ResolutionUnit)
        .ok()
        .flatten()
        .unwrap_or(2);
    let dpi = if unit == 3 { x * 2.54 } else { x };
    (dpi.is_finite() && (20.0..=4800.0).contains(&dpi)).then_some(dpi)
}

fn tiff_to_image(
    dec: &mut TiffDecoder<std::io::Cursor<&[u8]>>,
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

/// CCITT Group 3 (T.4, compression 3) and Modified Huffman (compression 2) strips, which
/// the `tiff` crate does not decode; Group 4 it decodes itself.
fn decode_ccitt_t4(
    bytes: &[u8],
    dec: &mut TiffDecoder<std::io::Cursor<&[u8]>>,
    w: u32,
    h: u32,
    compression: u16,
) -> Result<DynamicImage, MediaError> {
    let terr = |e: tiff::TiffError| MediaError::corrupt("TIFF", e);
    let offsets: Vec<u64> = dec.get_tag_u64_vec(Tag::StripOffsets).map_err(terr)?;
    let counts: Vec<u64> = dec.get_tag_u64_vec(Tag::StripByteCounts).map_err(terr)?;
    let rows_per_strip: u32 = dec
        .find_tag_unsigned(Tag::RowsPerStrip)
        .map_err(terr)?
        .unwrap_or(h)
        .max(1);
    let t4_options: u32 = dec
        .find_tag_unsigned(Tag::Unknown(292))
        .ok()
        .flatten()
        .unwrap_or(0);
    let photometric: u16 = dec
        .find_tag_unsigned(Tag::PhotometricInterpretation)
        .ok()
        .flatten()
        .unwrap_or(0);
    let fill_order: u16 = dec
        .find_tag_unsigned(Tag::FillOrder)
        .ok()
        .flatten()
        .unwrap_or(1);
    if offsets.len() != counts.len() {
        return Err(MediaError::Corrupt("TIFF: strip tables disagree".into()));
    }
    let mut sink = RowSink {
        width: w,
        rows: Vec::with_capacity(h as usize),
        max_rows: h as usize,
    };
    for (i, (&off, &len)) in offsets.iter().zip(&counts).enumerate() {
        let start =
            usize::try_from(off).map_err(|_| MediaError::Corrupt("TIFF: strip offset".into()))?;
        let end = start
            .checked_add(usize::try_from(len).unwrap_or(usize::MAX))
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| MediaError::Corrupt("TIFF: strip beyond end of file".into()))?;
        let mut strip = bytes[start..end].to_vec();
        if fill_order == 2 {
            strip.iter_mut().for_each(|b| *b = b.reverse_bits());
        }
        let rows = rows_per_strip.min(h.saturating_sub(i as u32 * rows_per_strip));
        if rows == 0 {
            break;
        }
        let encoding = if compression == 2 {
            hayro_ccitt::EncodingMode::Group3_1D
        } else if t4_options & 1 == 1 {
            hayro_ccitt::EncodingMode::Group3_2D
        } else {
            hayro_ccitt::EncodingMode::Group3_1D
        };
        let settings = hayro_ccitt::DecodeSettings {
            columns: w,
            rows,
            end_of_block: false,
            end_of_line: false,
            rows_are_byte_aligned: compression == 2 || t4_options & 4 == 4,
            encoding,
            strict: false,
        };
        let mut ctx = hayro_ccitt::DecoderContext::new(settings);
        hayro_ccitt::decode(&strip, &mut sink, &mut ctx)
            .map_err(|e| MediaError::Corrupt(format!("TIFF: CCITT data: {e:?}")))?;
    }
    if sink.rows.len() < h as usize {
        return Err(MediaError::Corrupt(format!(
            "TIFF: CCITT data ends after {} of {h} rows",
            sink.rows.len()
        )));
    }
    let black_is_zero = photometric == 1;
    let mut img = GrayImage::new(w, h);
    for (y, changes) in sink.rows.iter().enumerate() {
        let mut black = false;
        let mut x = 0u32;
        let mut it = changes.iter().copied().chain(std::iter::once(w));
        while x < w {
            let next = it.next().unwrap_or(w).min(w);
            let v = if black ^ black_is_zero { 0 } else { 255 };
            for px in x..next {
                img.put_pixel(px, y as u32, image::Luma([v]));
            }
            x = next;
            black = !black;
        }
    }
    Ok(DynamicImage::ImageLuma8(img))
}

struct RowSink {
    width: u32,
    rows: Vec<Vec<u32>>,
    max_rows: usize,
}

impl hayro_ccitt::Decoder for RowSink {
    fn push_row(&mut self, changes: &[u32]) {
        if self.rows.len() < self.max_rows {
            self.rows.push(
                changes
                    .iter()
                    .copied()
                    .filter(|&c| c < self.width)
                    .collect(),
            );
        }
    }
}

// ---------- HEIC ----------

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
fn decode_heic(bytes: &[u8], limits: &Limits) -> Result<DecodedPage, MediaError> {
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

// ---------- PDF ----------

pub(crate) fn open_pdf(bytes: &[u8]) -> Result<hayro::hayro_syntax::Pdf, MediaError> {
    use hayro::hayro_syntax::LoadPdfError;
    hayro::hayro_syntax::Pdf::new(Arc::new(bytes.to_vec())).map_err(|e| match e {
        LoadPdfError::Decryption(_) => MediaError::Encrypted,
        LoadPdfError::Invalid => {
            MediaError::Corrupt("PDF: the file structure cannot be read".into())
        }
    })
}

fn render_pdf_page(bytes: &[u8], index: u32, _limits: &Limits) -> Result<DecodedPage, MediaError> {
    let pdf = open_pdf(bytes)?;
    let pages = pdf.pages();
    let page = pages
        .get(index as usize)
        .ok_or_else(|| MediaError::Corrupt(format!("PDF: page {} does not exist", index + 1)))?;
    let (w_pt, h_pt) = page.render_dimensions();
    if !(w_pt.is_finite() && h_pt.is_finite()) || w_pt < 1.0 || h_pt < 1.0 {
        return Err(MediaError::Corrupt(format!(
            "PDF: page {} has no size",
            index + 1
        )));
    }
    // 300 dpi, reduced for oversized pages so one page never exceeds the raster budget
    // (and the renderer's 16-bit canvas).
    let mut scale = OCR_DPI / 72.0;
    let px = (w_pt * scale) as f64 * (h_pt * scale) as f64;
    if px > MAX_RASTER_PIXELS {
        scale *= (MAX_RASTER_PIXELS / px).sqrt() as f32;
    }
    let longest = w_pt.max(h_pt) * scale;
    if longest > 16_000.0 {
        scale *= 16_000.0 / longest;
    }
    let cache = hayro::RenderCache::new();
    let pixmap = hayro::render(
        page,
        &cache,
        &hayro::hayro_interpret::InterpreterSettings::default(),
        &hayro::RenderSettings::default(),
        &hayro::PixmapSettings {
            x_scale: scale,
            y_scale: scale,
            bg_color: hayro::vello_cpu::color::palette::css::WHITE,
        },
    );
    let (w, h) = (pixmap.width() as u32, pixmap.height() as u32);
    if w == 0 || h == 0 {
        return Err(MediaError::Corrupt(format!(
            "PDF: page {} rendered empty",
            index + 1
        )));
    }
    // Opaque white background: premultiplied equals straight RGB, packed in place.
    let rgba = pixmap.take_rgba8(hayro::vello_cpu::peniko::ImageAlphaType::AlphaPremultiplied);
    let image = DynamicImage::ImageRgb8(
        RgbImage::from_raw(w, h, crate::rendition::rgba_to_rgb_in_place(rgba, false))
            .ok_or_else(|| MediaError::Corrupt("PDF raster".into()))?,
    );
    Ok(DecodedPage {
        image,
        dpi: Some(72.0 * scale),
        orientation: Orientation::NoTransforms,
    })
}

/// Rotates an encoded PNG clockwise by 90, 180 or 270 degrees (OCR orientation fix).
pub fn rotate_png(png: &[u8], degrees_cw: u32) -> Result<Vec<u8>, MediaError> {
    let img = image::load_from_memory_with_format(png, ImageFormat::Png)
        .map_err(|e| MediaError::corrupt("PNG", e))?;
    let rotated = match degrees_cw % 360 {
        90 => img.rotate90(),
        180 => img.rotate180(),
        270 => img.rotate270(),
        _ => img,
    };
    let mut out = Vec::new();
    rotated
        .write_to(&mut std::io::Cursor::new(&mut out), ImageFormat::Png)
        .map_err(|e| MediaError::corrupt("PNG", e))?;
    Ok(out)
}
