//! One TIFF page: its layout read from its directory, what of it this service does not
//! read (named, for `unsupported_type`), and its samples decoded chunk by chunk (strips or
//! tiles, interleaved or one plane per sample) into 8-bit samples, then into colours.

use super::ifd::{Directory, Source, span};
use super::{codec, colour};
use crate::MediaError;

fn bad(what: impl std::fmt::Display) -> MediaError {
    MediaError::Corrupt(format!("TIFF: {what}"))
}

fn unsupported(page: u32, what: impl std::fmt::Display) -> MediaError {
    MediaError::UnsupportedType(format!(
        "a TIFF whose page {page} uses {what}, which this service does not read"
    ))
}

// Tags.
const WIDTH: u16 = 256;
const LENGTH: u16 = 257;
const BITS: u16 = 258;
const COMPRESSION: u16 = 259;
const PHOTOMETRIC: u16 = 262;
const FILL_ORDER: u16 = 266;
const STRIP_OFFSETS: u16 = 273;
const ORIENTATION: u16 = 274;
const SAMPLES: u16 = 277;
const ROWS_PER_STRIP: u16 = 278;
const STRIP_COUNTS: u16 = 279;
const X_RESOLUTION: u16 = 282;
const PLANAR: u16 = 284;
const T4_OPTIONS: u16 = 292;
const RESOLUTION_UNIT: u16 = 296;
const PREDICTOR: u16 = 317;
const COLOR_MAP: u16 = 320;
const TILE_WIDTH: u16 = 322;
const TILE_LENGTH: u16 = 323;
const TILE_OFFSETS: u16 = 324;
const TILE_COUNTS: u16 = 325;
const INK_SET: u16 = 332;
const EXTRA_SAMPLES: u16 = 338;
const SAMPLE_FORMAT: u16 = 339;
const JPEG_TABLES: u16 = 347;
const JPEG_IF_OFFSET: u16 = 513;
const JPEG_IF_LENGTH: u16 = 514;
const YCBCR_COEFFICIENTS: u16 = 529;
const YCBCR_SUBSAMPLING: u16 = 530;
const REFERENCE_BLACK_WHITE: u16 = 532;

/// How a page's image data is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Compression {
    None,
    /// CCITT modified Huffman (2), Group 3 (3) or Group 4 (4) fax.
    Fax(u16),
    Lzw,
    /// Old-style JPEG (6) or JPEG (7).
    Jpeg,
    OldJpeg,
    Deflate,
    PackBits,
    Zstd,
    WebP,
    ThunderScan,
    /// SGILog (34676): CIE Log(Y) and u'v' (LogLuv, 32 bits a pixel) or Log(Y) alone (LogL,
    /// 16 bits), run-length coded a byte plane at a time; read as 8-bit RGB or grey.
    SgiLog {
        colour: bool,
    },
}

impl Compression {
    fn of(code: u64, page: u32) -> Result<Self, MediaError> {
        Ok(match code {
            1 => Self::None,
            2..=4 => Self::Fax(code as u16),
            5 => Self::Lzw,
            6 => Self::OldJpeg,
            7 => Self::Jpeg,
            8 | 32946 => Self::Deflate,
            32773 => Self::PackBits,
            50000 => Self::Zstd,
            50001 | 34927 => Self::WebP,
            32809 => Self::ThunderScan,
            other => {
                let name = match other {
                    34677 => "SGILog24 (24-bit LogLuv) compression".to_string(),
                    34676 => "SGILog compression outside LogL or LogLuv colour".into(),
                    32766 => "NeXT compression".into(),
                    34661 => "JBIG compression".into(),
                    34712 | 33003 | 33005 => "JPEG 2000 compression".into(),
                    34887 => "LERC compression".into(),
                    34925 => "LZMA compression".into(),
                    32908 | 32909 => "Pixar compression".into(),
                    other => format!("compression scheme {other}"),
                };
                return Err(unsupported(page, name));
            }
        })
    }
}

/// The colour model of the samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Photometric {
    WhiteIsZero,
    BlackIsZero,
    Rgb,
    Palette,
    Cmyk,
    YCbCr,
}

/// What a page's directory says about its image.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    pub width: u32,
    pub height: u32,
    /// Bits per sample (the same for every sample).
    pub bits: u16,
    /// Samples per pixel, extra samples included.
    pub spp: u16,
    pub photometric: Photometric,
    pub compression: Compression,
    /// One plane per sample (planar configuration 2).
    pub planar: bool,
    pub predictor: u16,
    /// Bits of each byte stored least significant first (fill order 2).
    pub lsb_first: bool,
    pub little_endian: bool,
    /// Whether the first extra sample is alpha, and whether colours are premultiplied by it.
    pub alpha: Option<bool>,
    /// Chroma subsampling of YCbCr (horizontal, vertical).
    pub subsampling: (u16, u16),
    pub chunks: Chunks,
    pub color_map: Option<Vec<u64>>,
    pub jpeg_tables: Option<Vec<u8>>,
    /// Old-style JPEG: the whole image as one JPEG stream.
    pub jpeg_interchange: Option<std::ops::Range<u64>>,
    /// JPEG data in YCbCr with the usual coefficients: the JPEG decoder turns it into RGB
    /// (its own fast conversion), and the page is then read as RGB.
    pub jpeg_to_rgb: bool,
    pub t4_options: u64,
    pub ycbcr: [f32; 3],
    pub reference: [f32; 6],
    pub orientation: u16,
    pub dpi: Option<f32>,
    /// The page's number (1-based), for messages.
    pub page: u32,
}

/// Strips or tiles, and where each one is.
#[derive(Debug, Clone)]
pub(super) struct Chunks {
    pub width: u32,
    pub height: u32,
    pub across: u32,
    pub down: u32,
    pub offsets: Vec<u64>,
    pub counts: Vec<u64>,
}

impl Layout {
    /// The layout of page `page` (1-based, for messages), or why it cannot be read.
    pub(super) fn read(
        src: &(impl Source + ?Sized),
        dir: &Directory,
        page: u32,
        little_endian: bool,
    ) -> Result<Self, MediaError> {
        let need = |tag: u16, name: &str| -> Result<u64, MediaError> {
            dir.uint(src, tag)?
                .ok_or_else(|| bad(format!("page {page} has no {name}")))
        };
        let width = need(WIDTH, "width")?;
        let height = need(LENGTH, "height")?;
        if width == 0 || height == 0 || width > u32::MAX as u64 || height > u32::MAX as u64 {
            return Err(bad(format!("page {page} is {width}×{height} pixels")));
        }
        let (width, height) = (width as u32, height as u32);
        let spp = dir.uint_or(src, SAMPLES, 1)?;
        if spp == 0 || spp > 16 {
            return Err(bad(format!("page {page} has {spp} samples per pixel")));
        }
        let bits_all = dir.uints(src, BITS)?.unwrap_or_else(|| vec![1]);
        let bits = bits_all.first().copied().unwrap_or(1);
        if bits_all.iter().any(|&b| b != bits) {
            return Err(unsupported(
                page,
                format!("samples of different sizes ({bits_all:?} bits)"),
            ));
        }
        let compression_code = dir.uint_or(src, COMPRESSION, 1)?;
        // SGILog pages describe their samples as the 16-bit or float numbers libtiff can
        // give back; the stored data is read as 8-bit RGB (LogLuv) or grey (LogL), as
        // libtiff's RGBA interface reads it.
        let log_colour = match (compression_code, dir.uint(src, PHOTOMETRIC)?) {
            (34676, Some(32845)) => Some(true),
            (34676, Some(32844)) => Some(false),
            _ => None,
        };
        let (compression, bits, spp) = match log_colour {
            Some(colour) => (
                Compression::SgiLog { colour },
                8,
                if colour { 3 } else { 1 },
            ),
            None => (Compression::of(compression_code, page)?, bits, spp),
        };
        let format = if log_colour.is_some() {
            1
        } else {
            dir.uint_or(src, SAMPLE_FORMAT, 1)?
        };
        match format {
            1 | 4 => {}
            2 => return Err(unsupported(page, "signed integer samples")),
            3 => return Err(unsupported(page, "floating-point samples")),
            other => return Err(unsupported(page, format!("sample format {other}"))),
        }
        let photometric_code = match dir.uint(src, PHOTOMETRIC)? {
            Some(p) => p,
            // Fax files often leave it out: white is zero.
            None if matches!(compression, Compression::Fax(_)) => 0,
            None if spp >= 3 => 2,
            None => 1,
        };
        let photometric = match photometric_code {
            0 => Photometric::WhiteIsZero,
            1 => Photometric::BlackIsZero,
            2 => Photometric::Rgb,
            3 => Photometric::Palette,
            5 => Photometric::Cmyk,
            6 => Photometric::YCbCr,
            32845 if log_colour.is_some() => Photometric::Rgb,
            32844 if log_colour.is_some() => Photometric::BlackIsZero,
            4 => return Err(unsupported(page, "a transparency mask")),
            8..=10 => return Err(unsupported(page, "CIE L*a*b* colour")),
            32844 | 32845 => return Err(unsupported(page, "LogL/LogLuv colour")),
            32803 => return Err(unsupported(page, "a colour filter array (raw camera data)")),
            other => {
                return Err(unsupported(
                    page,
                    format!("photometric interpretation {other}"),
                ));
            }
        };
        let colour_samples: u64 = match photometric {
            Photometric::WhiteIsZero | Photometric::BlackIsZero | Photometric::Palette => 1,
            Photometric::Rgb | Photometric::YCbCr => 3,
            Photometric::Cmyk => 4,
        };
        if spp < colour_samples {
            return Err(bad(format!(
                "page {page} has {spp} samples per pixel for a colour model of {colour_samples}"
            )));
        }
        let ok_bits = match photometric {
            Photometric::WhiteIsZero | Photometric::BlackIsZero => {
                matches!(bits, 1 | 2 | 4 | 8 | 16)
            }
            Photometric::Palette => matches!(bits, 1 | 2 | 4 | 8),
            Photometric::Rgb | Photometric::Cmyk => matches!(bits, 8 | 16),
            Photometric::YCbCr => bits == 8,
        };
        if !ok_bits {
            return Err(unsupported(
                page,
                format!("{bits}-bit samples in this colour model"),
            ));
        }
        if photometric == Photometric::Cmyk && dir.uint_or(src, INK_SET, 1)? != 1 {
            return Err(unsupported(page, "inks other than CMYK"));
        }
        if let Compression::Fax(_) = compression
            && (bits != 1 || spp != 1)
        {
            return Err(bad(format!(
                "page {page} is fax-compressed but not bilevel"
            )));
        }
        let planar = match dir.uint_or(src, PLANAR, 1)? {
            1 => false,
            2 => spp > 1,
            other => return Err(bad(format!("planar configuration {other}"))),
        };
        let predictor = dir.uint_or(src, PREDICTOR, 1)?;
        match predictor {
            1 => {}
            2 if matches!(bits, 8 | 16) => {}
            2 => {
                return Err(unsupported(
                    page,
                    format!("the horizontal predictor on {bits}-bit samples"),
                ));
            }
            3 => return Err(unsupported(page, "the floating-point predictor")),
            other => return Err(unsupported(page, format!("predictor {other}"))),
        }
        // Which extra sample is alpha, as libtiff decides it: associated (1) or not (2) as
        // tagged; "unspecified" (0) is associated alpha only beside three or more colour
        // samples; an untagged fourth sample of RGB is associated alpha; others are none.
        let extra = if spp > colour_samples {
            dir.uint(src, EXTRA_SAMPLES)?
        } else {
            None
        };
        let alpha = match (extra, photometric) {
            (Some(1), _) => Some(true),
            (Some(2), _) => Some(false),
            (Some(0), _) if spp > 3 => Some(true),
            (None, Photometric::Rgb) if spp == 4 => Some(true),
            _ => None,
        };
        let subsampling = match (photometric, compression) {
            (Photometric::YCbCr, Compression::Jpeg | Compression::OldJpeg) => (1, 1),
            (Photometric::YCbCr, _) => {
                let s = dir
                    .uints(src, YCBCR_SUBSAMPLING)?
                    .unwrap_or_else(|| vec![2, 2]);
                let (h, v) = (
                    s.first().copied().unwrap_or(2),
                    s.get(1).copied().unwrap_or(2),
                );
                if ![1, 2, 4].contains(&h) || ![1, 2, 4].contains(&v) || v > h {
                    return Err(bad(format!("YCbCr subsampling {h}×{v}")));
                }
                if planar && (h, v) != (1, 1) {
                    return Err(unsupported(page, "subsampled YCbCr in separate planes"));
                }
                if spp != 3 && (h, v) != (1, 1) {
                    return Err(unsupported(page, "subsampled YCbCr with extra samples"));
                }
                (h as u16, v as u16)
            }
            _ => (1, 1),
        };
        let tiled = dir.has(TILE_OFFSETS) || dir.has(TILE_WIDTH);
        let (cw, ch, offsets, counts) = if tiled {
            let tw = need(TILE_WIDTH, "tile width")?;
            let tl = need(TILE_LENGTH, "tile length")?;
            // A tile may reach past the page's edges (tiles are multiples of 16 pixels),
            // but not by more than a tile's worth of the page: a tile is decoded whole.
            let page_area = (width as u64 * height as u64).max(1 << 16);
            if tw == 0 || tl == 0 || tw > 1 << 16 || tl > 1 << 16 || tw * tl > 4 * page_area {
                return Err(bad(format!(
                    "tiles of {tw}×{tl} for a page of {width}×{height}"
                )));
            }
            let offsets = dir
                .uints(src, TILE_OFFSETS)?
                .ok_or_else(|| bad("tiles without offsets"))?;
            let counts = dir.uints(src, TILE_COUNTS)?.unwrap_or_default();
            (tw as u32, tl as u32, offsets, counts)
        } else {
            let rps = dir
                .uint_or(src, ROWS_PER_STRIP, u32::MAX as u64)
                .map(|r| if r == 0 { u32::MAX as u64 } else { r })?
                .clamp(1, height as u64);
            let offsets = dir.uints(src, STRIP_OFFSETS)?.unwrap_or_default();
            let counts = dir.uints(src, STRIP_COUNTS)?.unwrap_or_default();
            (width, rps as u32, offsets, counts)
        };
        let across = width.div_ceil(cw);
        let down = height.div_ceil(ch);
        // Every tile is decoded whole: together they may cover a little more than the
        // page, never many times it.
        let covered = across as u64 * cw as u64 * down as u64 * ch as u64;
        if covered > 4 * (width as u64 * height as u64).max(1 << 16) {
            return Err(bad(format!(
                "tiles of {cw}×{ch} cover {covered} pixels of a page of {width}×{height}"
            )));
        }
        let jpeg_interchange = match (
            dir.uint(src, JPEG_IF_OFFSET)?,
            dir.uint(src, JPEG_IF_LENGTH)?,
        ) {
            (Some(at), Some(len)) if len > 0 => span(at, len),
            _ => None,
        };
        let planes = if planar { spp } else { 1 };
        let wanted = across as u64 * down as u64 * planes;
        let whole_jpeg = compression == Compression::OldJpeg && jpeg_interchange.is_some();
        if !whole_jpeg && (offsets.len() as u64) < wanted {
            return Err(bad(format!(
                "page {page} has {} of its {wanted} strips or tiles",
                offsets.len()
            )));
        }
        let mut counts = counts;
        if !whole_jpeg && (counts.len() as u64) < wanted {
            // Some writers of uncompressed single-strip files leave the byte counts out.
            if compression == Compression::None && wanted == 1 {
                let row = (width as u64 * bits * spp).div_ceil(8);
                counts = vec![row * height as u64];
            } else {
                return Err(bad(format!(
                    "page {page} has no byte counts for its strips or tiles"
                )));
            }
        }
        let ycbcr = match dir.reals(src, YCBCR_COEFFICIENTS)? {
            Some(c) if c.len() >= 3 && c.iter().all(|v| v.is_finite()) && c[1] > 0.0 => {
                [c[0] as f32, c[1] as f32, c[2] as f32]
            }
            _ => [0.299, 0.587, 0.114],
        };
        let reference = match dir.reals(src, REFERENCE_BLACK_WHITE)? {
            Some(r) if r.len() >= 6 && r.iter().all(|v| v.is_finite()) => {
                let r: Vec<f32> = r.iter().map(|&v| v as f32).collect();
                let spans = [r[1] - r[0], r[3] - r[2], r[5] - r[4]];
                if photometric == Photometric::YCbCr && spans.iter().all(|s| s.abs() > 0.5) {
                    [r[0], r[1], r[2], r[3], r[4], r[5]]
                } else {
                    [0.0, 255.0, 128.0, 255.0, 128.0, 255.0]
                }
            }
            _ => [0.0, 255.0, 128.0, 255.0, 128.0, 255.0],
        };
        let color_map = if photometric == Photometric::Palette {
            let map = dir
                .uints(src, COLOR_MAP)?
                .ok_or_else(|| bad("a palette page without a colour map"))?;
            if (map.len() as u64) < 3 << bits {
                return Err(bad("the colour map is too short"));
            }
            Some(map)
        } else {
            None
        };
        let jpeg_tables = dir.raw(src, JPEG_TABLES)?.map(|t| t.into_owned());
        // Interleaved YCbCr in JPEG is the JPEG's own (JFIF) YCbCr: its decoder turns it
        // into RGB, and the TIFF's coefficients and reference values do not apply (as
        // libtiff reads it). In planes, each is a one-component JPEG, converted here.
        let jpeg_to_rgb = photometric == Photometric::YCbCr
            && matches!(compression, Compression::Jpeg | Compression::OldJpeg)
            && !planar;
        Ok(Self {
            width,
            height,
            bits: bits as u16,
            spp: spp as u16,
            photometric: if jpeg_to_rgb {
                Photometric::Rgb
            } else {
                photometric
            },
            jpeg_to_rgb,
            compression,
            planar,
            predictor: predictor as u16,
            lsb_first: dir.uint_or(src, FILL_ORDER, 1).unwrap_or(1) == 2,
            little_endian,
            alpha,
            subsampling,
            chunks: Chunks {
                width: cw,
                height: ch,
                across,
                down,
                offsets,
                counts,
            },
            color_map,
            jpeg_tables,
            jpeg_interchange,
            t4_options: dir.uint_or(src, T4_OPTIONS, 0)?,
            ycbcr,
            reference,
            // Tags that only describe the page do not make it unreadable.
            orientation: dir.uint_or(src, ORIENTATION, 1).unwrap_or(1).min(255) as u16,
            dpi: dpi(src, dir).ok().flatten(),
            page,
        })
    }

    /// Samples of one plane in a chunk row (all samples when interleaved).
    fn chunk_samples(&self) -> u16 {
        if self.planar { 1 } else { self.spp }
    }

    /// The most bytes decoding holds at once: the page's 8-bit samples, and one chunk
    /// decompressed.
    pub(super) fn decode_bytes(&self) -> u64 {
        let page = self.width as u64 * self.height as u64 * self.spp as u64;
        let c = &self.chunks;
        let chunk_samples = if matches!(self.compression, Compression::Jpeg | Compression::OldJpeg)
        {
            self.chunk_samples() as u64 * 8
        } else {
            self.chunk_samples() as u64 * self.bits as u64
        };
        let chunk = (c.width as u64 * c.height as u64 * chunk_samples).div_ceil(8);
        page + chunk
    }

    /// The bytes of one decoded row of a chunk `w` pixels wide.
    fn row_bytes(&self, w: u32) -> usize {
        (w as usize * self.chunk_samples() as usize * self.bits as usize).div_ceil(8)
    }
}

fn dpi(src: &(impl Source + ?Sized), dir: &Directory) -> Result<Option<f32>, MediaError> {
    let Some(x) = dir
        .reals(src, X_RESOLUTION)?
        .and_then(|v| v.first().copied())
    else {
        return Ok(None);
    };
    let unit = dir.uint_or(src, RESOLUTION_UNIT, 2).unwrap_or(2);
    let dpi = if unit == 3 { x * 2.54 } else { x } as f32;
    Ok((dpi.is_finite() && (20.0..=4800.0).contains(&dpi)).then_some(dpi))
}

/// The page's samples, 8 bits each, interleaved, `spp` per pixel; palette pages keep their
/// indices, other samples of fewer bits are scaled to 0–255.
pub(super) fn read_samples(
    src: &(impl Source + ?Sized),
    layout: &Layout,
) -> Result<Vec<u8>, MediaError> {
    let (w, h) = (layout.width as usize, layout.height as usize);
    let spp = layout.spp as usize;
    let size = w
        .checked_mul(h)
        .and_then(|n| n.checked_mul(spp))
        .ok_or_else(|| bad("the page is too large"))?;
    let mut out = vec![0u8; size];
    if let (Compression::OldJpeg, Some(range)) =
        (layout.compression, layout.jpeg_interchange.clone())
    {
        let stream = src
            .bytes(range)
            .ok_or_else(|| bad("the old-style JPEG stream is beyond the end"))?;
        let size = (layout.width, layout.height);
        let decoded = codec::jpeg(&stream, None, size, size, spp, layout.jpeg_to_rgb)?;
        place(
            layout,
            &mut out,
            &decoded,
            0,
            0,
            layout.width,
            layout.height,
            None,
        );
        return Ok(out);
    }
    let c = &layout.chunks;
    let planes = if layout.planar { spp } else { 1 };
    let per_plane = c.across as usize * c.down as usize;
    for plane in 0..planes {
        for i in 0..per_plane {
            let index = plane * per_plane + i;
            let (col, row) = (
                (i % c.across as usize) as u32,
                (i / c.across as usize) as u32,
            );
            let x0 = col * c.width;
            let y0 = row * c.height;
            // Strips: the last holds the rows left; tiles are whole, cut at the edges.
            let rows = if c.across == 1 && c.width == layout.width {
                c.height.min(layout.height - y0)
            } else {
                c.height
            };
            let data_range = span(c.offsets[index], c.counts[index])
                .ok_or_else(|| bad("a strip or tile beyond the end"))?;
            let compressed = if c.counts[index] == 0 {
                std::borrow::Cow::Borrowed(&[][..])
            } else {
                src.bytes(data_range)
                    .ok_or_else(|| bad("a strip or tile beyond the end of the file"))?
            };
            let samples = decode_chunk(layout, &compressed, c.width, rows)?;
            let visible_w = c.width.min(layout.width - x0);
            let visible_h = rows.min(layout.height - y0);
            let plane_of = layout.planar.then_some(plane);
            place(
                layout,
                &mut out,
                &samples,
                x0,
                y0,
                visible_w,
                visible_h,
                plane_of.map(|p| (p, c.width)),
            );
        }
    }
    Ok(out)
}

/// One chunk `w`×`rows` decoded into 8-bit samples, `chunk_samples` per pixel, rows of
/// exactly `w` pixels (subsampled YCbCr expanded to one Y, Cb and Cr per pixel).
fn decode_chunk(layout: &Layout, data: &[u8], w: u32, rows: u32) -> Result<Vec<u8>, MediaError> {
    let samples = layout.chunk_samples() as usize;
    if let Compression::Fax(scheme) = layout.compression {
        return codec::fax(data, scheme, layout, w, rows);
    }
    if let Compression::SgiLog { colour } = layout.compression {
        return codec::sgilog(data, w, rows, colour);
    }
    if layout.compression == Compression::OldJpeg && !data.starts_with(&[0xFF, 0xD8]) {
        return Err(unsupported(
            layout.page,
            "old-style JPEG without a JPEG interchange stream",
        ));
    }
    if matches!(layout.compression, Compression::Jpeg | Compression::OldJpeg) {
        let most = (w, rows.max(layout.chunks.height));
        let tables = layout.jpeg_tables.as_deref();
        return codec::jpeg(data, tables, (w, rows), most, samples, layout.jpeg_to_rgb);
    }
    let (sh, sv) = (layout.subsampling.0 as u32, layout.subsampling.1 as u32);
    let subsampled = (sh, sv) != (1, 1);
    let expected = if subsampled {
        // Data units of sh×sv luma samples and one Cb and one Cr.
        let units = w.div_ceil(sh) as usize * rows.div_ceil(sv) as usize;
        units * (sh * sv + 2) as usize
    } else {
        layout.row_bytes(w) * rows as usize
    };
    // Fill order 2: the stored bytes' bits are reversed before anything reads them (as
    // libtiff does for every scheme but fax and JPEG, which read bit order themselves).
    let reversed: Vec<u8>;
    let data = if layout.lsb_first {
        reversed = data.iter().map(|b| b.reverse_bits()).collect();
        &reversed[..]
    } else {
        data
    };
    let mut raw = match layout.compression {
        Compression::None => data.get(..expected).map(<[u8]>::to_vec).ok_or_else(|| {
            bad(format!(
                "a strip or tile of {} bytes, {expected} expected",
                data.len()
            ))
        })?,
        Compression::PackBits => codec::packbits(data, expected)?,
        Compression::Deflate => codec::deflate(data, expected)?,
        Compression::Lzw => codec::lzw(data, expected)?,
        Compression::Zstd => codec::zstd(data, expected)?,
        Compression::ThunderScan => codec::thunderscan(data, w, rows)?,
        Compression::WebP => codec::webp(data, (w, rows), samples)?,
        Compression::Fax(_)
        | Compression::Jpeg
        | Compression::OldJpeg
        | Compression::SgiLog { .. } => {
            return Err(bad("fax, JPEG and SGILog data are decoded above"));
        }
    };

    if subsampled {
        return Ok(colour::expand_subsampled(&raw, w, rows, sh, sv));
    }
    let row_bytes = layout.row_bytes(w);
    if layout.predictor == 2 {
        for row in raw.chunks_exact_mut(row_bytes) {
            codec::undo_horizontal(row, samples, layout.bits, layout.little_endian);
        }
    }
    Ok(codec::to_8bit(
        raw,
        row_bytes,
        w,
        rows,
        samples,
        layout.bits,
        layout.little_endian,
        layout.photometric == super::page::Photometric::Palette,
    ))
}

/// Copies a decoded chunk's visible part into the page's interleaved samples; for one
/// plane of a planar page, into that sample of each pixel.
#[allow(clippy::too_many_arguments)]
fn place(
    layout: &Layout,
    out: &mut [u8],
    chunk: &[u8],
    x0: u32,
    y0: u32,
    w: u32,
    h: u32,
    plane: Option<(usize, u32)>,
) {
    let spp = layout.spp as usize;
    let page_w = layout.width as usize;
    match plane {
        None => {
            let chunk_w = if layout.compression == Compression::OldJpeg
                && layout.jpeg_interchange.is_some()
            {
                layout.width as usize
            } else {
                layout.chunks.width as usize
            };
            for y in 0..h as usize {
                let from = y * chunk_w * spp;
                let to = ((y0 as usize + y) * page_w + x0 as usize) * spp;
                let n = w as usize * spp;
                if let (Some(src), Some(dst)) = (chunk.get(from..from + n), out.get_mut(to..to + n))
                {
                    dst.copy_from_slice(src);
                }
            }
        }
        Some((p, chunk_w)) => {
            for y in 0..h as usize {
                for x in 0..w as usize {
                    let v = chunk.get(y * chunk_w as usize + x).copied().unwrap_or(0);
                    if let Some(d) =
                        out.get_mut(((y0 as usize + y) * page_w + x0 as usize + x) * spp + p)
                    {
                        *d = v;
                    }
                }
            }
        }
    }
}
