//! The decompressors of TIFF strips and tiles, and the sample-level steps that follow them
//! (the horizontal predictor, samples of 1 to 16 bits to 8).

use std::io::Read;

use super::lzw::decode_strip;
use super::page::Layout;
use crate::MediaError;

fn bad(what: impl std::fmt::Display) -> MediaError {
    MediaError::Corrupt(format!("TIFF: {what}"))
}

/// PackBits runs, to exactly `expected` bytes.
pub(super) fn packbits(data: &[u8], expected: usize) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::with_capacity(expected);
    let mut i = 0;
    while out.len() < expected && i < data.len() {
        let n = data[i] as i8;
        i += 1;
        match n {
            0..=127 => {
                let len = n as usize + 1;
                let run = data
                    .get(i..i + len)
                    .ok_or_else(|| bad("PackBits data cut short"))?;
                out.extend_from_slice(run);
                i += len;
            }
            -127..=-1 => {
                let b = *data.get(i).ok_or_else(|| bad("PackBits data cut short"))?;
                out.extend(std::iter::repeat_n(b, (1 - n as isize) as usize));
                i += 1;
            }
            -128 => {}
        }
    }
    finish(out, expected, "PackBits")
}

/// Deflate (zlib) data, to exactly `expected` bytes.
pub(super) fn deflate(data: &[u8], expected: usize) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::with_capacity(expected);
    flate2::read::ZlibDecoder::new(data)
        .take(expected as u64)
        .read_to_end(&mut out)
        .map_err(|e| bad(format!("Deflate data: {e}")))?;
    finish(out, expected, "Deflate")
}

/// LZW data, to exactly `expected` bytes: the fast decoder for the usual (MSB-first) form,
/// `weezl` for what it declines, and for the old-style (LSB-first) form of early writers.
pub(super) fn lzw(data: &[u8], expected: usize) -> Result<Vec<u8>, MediaError> {
    let mut out = vec![0u8; expected];
    // Old-style streams start with a clear code written least significant bit first.
    let old_style = data.len() >= 2 && data[0] == 0 && data[1] & 1 == 1;
    if !old_style && decode_strip(data, &mut out).is_ok() {
        return Ok(out);
    }
    let mut decoder = if old_style {
        weezl::decode::Decoder::new(weezl::BitOrder::Lsb, 8)
    } else {
        weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
    };
    let mut written = 0;
    let mut input = data;
    while written < expected {
        let r = decoder.decode_bytes(input, &mut out[written..]);
        written += r.consumed_out;
        input = &input[r.consumed_in..];
        match r.status {
            Ok(weezl::LzwStatus::Ok) if r.consumed_in == 0 && r.consumed_out == 0 => break,
            Ok(weezl::LzwStatus::Ok) => {}
            Ok(weezl::LzwStatus::Done | weezl::LzwStatus::NoProgress) => break,
            Err(e) => return Err(bad(format!("LZW data: {e}"))),
        }
    }
    out.truncate(written);
    finish(out, expected, "LZW")
}

/// Zstandard data (compression 50000), to exactly `expected` bytes.
pub(super) fn zstd(data: &[u8], expected: usize) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::with_capacity(expected);
    let mut input = data;
    let decoder = ruzstd::decoding::StreamingDecoder::new(&mut input)
        .map_err(|e| bad(format!("ZSTD data: {e}")))?;
    decoder
        .take(expected as u64)
        .read_to_end(&mut out)
        .map_err(|e| bad(format!("ZSTD data: {e}")))?;
    finish(out, expected, "ZSTD")
}

/// A WebP strip or tile (compression 50001: each a whole WebP picture), `w`×`rows` pixels of
/// `samples` (3 or 4) 8-bit samples.
pub(super) fn webp(
    data: &[u8],
    (w, rows): (u32, u32),
    samples: usize,
) -> Result<Vec<u8>, MediaError> {
    let mut decoder = image_webp::WebPDecoder::new(std::io::Cursor::new(data))
        .map_err(|e| bad(format!("WebP data: {e}")))?;
    let (dw, dh) = decoder.dimensions();
    if (dw, dh) != (w, rows) {
        return Err(bad(format!(
            "a WebP strip of {dw}×{dh} pixels where {w}×{rows} are expected"
        )));
    }
    let alpha = decoder.has_alpha();
    let size = decoder
        .output_buffer_size()
        .ok_or_else(|| bad("WebP strip too large"))?;
    let mut pixels = vec![0u8; size];
    decoder
        .read_image(&mut pixels)
        .map_err(|e| bad(format!("WebP data: {e}")))?;
    let have = if alpha { 4 } else { 3 };
    Ok(match (have, samples) {
        (a, b) if a == b => pixels,
        (4, 3) => pixels
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        (3, 4) => pixels
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        _ => {
            return Err(MediaError::UnsupportedType(format!(
                "a TIFF with WebP data for {samples} samples per pixel, which this service does not read"
            )));
        }
    })
}

/// ThunderScan data (compression 32809): 4-bit grey, each row coded on its own in bytes
/// whose top two bits say what they hold: a run of the last value (count in the low six
/// bits), three 2-bit or two 3-bit changes to it (one value of each set meaning none), or a
/// raw value. Packed two pixels a byte, as the page stores 4-bit samples.
pub(super) fn thunderscan(data: &[u8], w: u32, rows: u32) -> Result<Vec<u8>, MediaError> {
    const TWO: [i32; 4] = [0, 1, 0, -1];
    const THREE: [i32; 8] = [0, 1, 2, 3, 0, -3, -2, -1];
    let (w, row_bytes) = (w as usize, (w as usize).div_ceil(2));
    let mut out = vec![0u8; row_bytes * rows as usize];
    let mut bytes = data.iter();
    for row in out.chunks_exact_mut(row_bytes) {
        let mut n = 0usize;
        let mut last = 0i32;
        let put = |row: &mut [u8], n: &mut usize, v: i32| {
            if *n < w {
                let v = (v & 0xF) as u8;
                row[*n / 2] |= if (*n).is_multiple_of(2) { v << 4 } else { v };
                *n += 1;
            }
        };
        while n < w {
            let Some(&b) = bytes.next() else {
                return Err(bad("ThunderScan data ends inside a row"));
            };
            match b & 0xC0 {
                0x00 => {
                    for _ in 0..(b & 0x3F) {
                        put(row, &mut n, last);
                    }
                }
                0x40 => {
                    for d in [(b >> 4) & 3, (b >> 2) & 3, b & 3] {
                        if d != 2 {
                            last = (last + TWO[d as usize]) & 0xF;
                            put(row, &mut n, last);
                        }
                    }
                }
                0x80 => {
                    for d in [(b >> 3) & 7, b & 7] {
                        if d != 4 {
                            last = (last + THREE[d as usize]) & 0xF;
                            put(row, &mut n, last);
                        }
                    }
                }
                _ => {
                    last = (b & 0xF) as i32;
                    put(row, &mut n, last);
                }
            }
        }
    }
    Ok(out)
}

/// SGILog data (compression 34676), each row coded alone: the bytes of each pixel's 32-bit
/// LogLuv value (16-bit LogL for grey), most significant first, one byte plane after the
/// other, in runs (a byte of 128 or more: that many less 126 of the next byte) and
/// literals (a byte below 128: that many bytes as they are). Turned into 8-bit RGB (grey)
/// as libtiff's RGBA interface does it: CIE XYZ, Rec. 709 primaries, a gamma of 2.
pub(super) fn sgilog(data: &[u8], w: u32, rows: u32, colour: bool) -> Result<Vec<u8>, MediaError> {
    let w = w as usize;
    let planes = if colour { 4 } else { 2 };
    let mut out = Vec::with_capacity(w * rows as usize * if colour { 3 } else { 1 });
    let mut values = vec![0u32; w];
    let mut at = 0usize;
    for _ in 0..rows {
        values.fill(0);
        for plane in 0..planes {
            let shift = 8 * (planes - 1 - plane);
            let mut i = 0;
            while i < w {
                let b = *data
                    .get(at)
                    .ok_or_else(|| bad("SGILog data ends inside a row"))?;
                if b >= 128 {
                    let v = *data
                        .get(at + 1)
                        .ok_or_else(|| bad("SGILog data ends inside a run"))?;
                    at += 2;
                    let n = (b as usize + 2 - 128).min(w - i);
                    for x in &mut values[i..i + n] {
                        *x |= (v as u32) << shift;
                    }
                    i += n;
                } else {
                    at += 1;
                    let n = (b as usize).min(w - i);
                    let run = data
                        .get(at..at + n)
                        .ok_or_else(|| bad("SGILog data ends inside a literal"))?;
                    for (x, &v) in values[i..i + n].iter_mut().zip(run) {
                        *x |= (v as u32) << shift;
                    }
                    at += b as usize;
                    i += n;
                }
            }
        }
        for &p in &values {
            if colour {
                out.extend(xyz_to_rgb8(logluv32_to_xyz(p)));
            } else {
                out.push(gamma2(log_l16_to_y(p as u16)));
            }
        }
    }
    Ok(out)
}

/// Luminance from a 16-bit LogL value (a sign bit, then log2 of Y in 256ths, offset 64).
fn log_l16_to_y(p: u16) -> f64 {
    let le = (p & 0x7FFF) as f64;
    if le == 0.0 {
        return 0.0;
    }
    let y = (std::f64::consts::LN_2 / 256.0 * (le + 0.5) - std::f64::consts::LN_2 * 64.0).exp();
    if p & 0x8000 == 0 { y } else { -y }
}

fn logluv32_to_xyz(p: u32) -> [f64; 3] {
    const UV_SCALE: f64 = 410.0;
    let l = log_l16_to_y((p >> 16) as u16);
    if l <= 0.0 {
        return [0.0; 3];
    }
    let u = ((p >> 8 & 0xFF) as f64 + 0.5) / UV_SCALE;
    let v = ((p & 0xFF) as f64 + 0.5) / UV_SCALE;
    let s = 1.0 / (6.0 * u - 16.0 * v + 12.0);
    let (x, y) = (9.0 * u * s, 4.0 * v * s);
    [x / y * l, l, (1.0 - x - y) / y * l]
}

/// A value of 0..1 as 8 bits through a gamma of 2 (libtiff's own rounding).
fn gamma2(v: f64) -> u8 {
    if v <= 0.0 || v.is_nan() {
        0
    } else if v >= 1.0 {
        255
    } else {
        (256.0 * v.sqrt()) as u8
    }
}

fn xyz_to_rgb8([x, y, z]: [f64; 3]) -> [u8; 3] {
    let r = 2.690 * x - 1.276 * y - 0.414 * z;
    let g = -1.022 * x + 1.978 * y + 0.044 * z;
    let b = 0.061 * x - 0.224 * y + 1.163 * z;
    [gamma2(r), gamma2(g), gamma2(b)]
}

fn finish(out: Vec<u8>, expected: usize, what: &str) -> Result<Vec<u8>, MediaError> {
    if out.len() < expected {
        return Err(bad(format!(
            "{what} data ends after {} of {expected} bytes",
            out.len()
        )));
    }
    Ok(out)
}

/// One JPEG strip or tile (or an old-style JPEG page), its tables from `tables` when the
/// stream leaves them out: `samples` components per pixel as stored (no colour
/// conversion: the page's photometric interpretation says what they are), or YCbCr
/// turned into RGB if `to_rgb`; exactly `w`×`rows` pixels; a stream larger than `most` is
/// refused before it is decoded.
pub(super) fn jpeg(
    data: &[u8],
    tables: Option<&[u8]>,
    (w, rows): (u32, u32),
    most: (u32, u32),
    samples: usize,
    to_rgb: bool,
) -> Result<Vec<u8>, MediaError> {
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let stream: std::borrow::Cow<[u8]> = match tables {
        // The tables' stream without its end marker, then the strip's without its start.
        Some(t) if t.len() > 4 && data.starts_with(&[0xFF, 0xD8]) => {
            let mut s = Vec::with_capacity(t.len() + data.len());
            s.extend_from_slice(&t[..t.len() - 2]);
            s.extend_from_slice(&data[2..]);
            std::borrow::Cow::Owned(s)
        }
        _ => std::borrow::Cow::Borrowed(data),
    };
    let options = DecoderOptions::default()
        .set_max_width(most.0 as usize)
        .set_max_height(most.1 as usize)
        .set_strict_mode(false);
    let mut dec = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(&stream[..]), options);
    dec.decode_headers()
        .map_err(|e| bad(format!("JPEG data: {e:?}")))?;
    let input = dec
        .input_colorspace()
        .ok_or_else(|| bad("JPEG data without a colour space"))?;
    if input.num_components() != samples {
        return Err(MediaError::UnsupportedType(format!(
            "a TIFF whose JPEG data has {} components for {samples} samples per pixel, which this service does not read",
            input.num_components()
        )));
    }
    // The components as stored (the page's photometric interpretation converts them), or
    // the usual YCbCr as RGB.
    let out = if to_rgb && input == zune_jpeg::zune_core::colorspace::ColorSpace::YCbCr {
        zune_jpeg::zune_core::colorspace::ColorSpace::RGB
    } else {
        input
    };
    dec.set_options(options.jpeg_set_out_colorspace(out));
    let pixels = dec.decode().map_err(|e| bad(format!("JPEG data: {e:?}")))?;
    let (jw, jh) = dec
        .dimensions()
        .ok_or_else(|| bad("JPEG data without dimensions"))?;
    let (jw, jh) = (jw as u32, jh as u32);
    if jw < w || jh < rows {
        return Err(bad(format!(
            "a JPEG strip or tile of {jw}×{jh} for {w}×{rows} pixels"
        )));
    }
    if jw == w {
        let mut pixels = pixels;
        pixels.truncate(w as usize * rows as usize * samples);
        return Ok(pixels);
    }
    let mut out = Vec::with_capacity(w as usize * rows as usize * samples);
    for row in pixels
        .chunks_exact(jw as usize * samples)
        .take(rows as usize)
    {
        out.extend_from_slice(&row[..w as usize * samples]);
    }
    Ok(out)
}

/// A CCITT strip or tile (modified Huffman, Group 3 or Group 4) as samples: 255 where the
/// fax coding says black (sample value 1), 0 where white; the photometric interpretation
/// then says which is dark.
pub(super) fn fax(
    data: &[u8],
    scheme: u16,
    layout: &Layout,
    w: u32,
    rows: u32,
) -> Result<Vec<u8>, MediaError> {
    let mut strip = std::borrow::Cow::Borrowed(data);
    if layout.lsb_first {
        strip = std::borrow::Cow::Owned(data.iter().map(|b| b.reverse_bits()).collect());
    }
    let two_d = scheme == 3 && layout.t4_options & 1 == 1;
    let settings = hayro_ccitt::DecodeSettings {
        columns: w,
        rows,
        end_of_block: scheme != 2,
        end_of_line: false,
        rows_are_byte_aligned: scheme == 2 || (scheme == 3 && layout.t4_options & 4 == 4),
        encoding: match scheme {
            4 => hayro_ccitt::EncodingMode::Group4,
            3 if two_d => hayro_ccitt::EncodingMode::Group3_2D,
            _ => hayro_ccitt::EncodingMode::Group3_1D,
        },
        strict: false,
    };
    let mut sink = FaxRows {
        width: w,
        out: Vec::with_capacity(w as usize * rows as usize),
        rows: 0,
        max_rows: rows,
    };
    let mut ctx = hayro_ccitt::DecoderContext::new(settings);
    hayro_ccitt::decode(&strip, &mut sink, &mut ctx)
        .map_err(|e| bad(format!("CCITT data: {e:?}")))?;
    if sink.rows < rows {
        return Err(bad(format!(
            "CCITT data ends after {} of {rows} rows",
            sink.rows
        )));
    }
    Ok(sink.out)
}

struct FaxRows {
    width: u32,
    out: Vec<u8>,
    rows: u32,
    max_rows: u32,
}

impl hayro_ccitt::Decoder for FaxRows {
    fn push_row(&mut self, changes: &[u32]) {
        if self.rows >= self.max_rows {
            return;
        }
        self.rows += 1;
        let mut black = false;
        let mut x = 0u32;
        for next in changes.iter().copied().chain(std::iter::once(self.width)) {
            let next = next.min(self.width).max(x);
            self.out.extend(std::iter::repeat_n(
                if black { 255 } else { 0 },
                (next - x) as usize,
            ));
            x = next;
            black = !black;
            if x >= self.width {
                break;
            }
        }
    }
}

/// Undoes the horizontal predictor on one row of `samples`-interleaved samples.
pub(super) fn undo_horizontal(row: &mut [u8], samples: usize, bits: u16, little: bool) {
    if bits == 8 {
        for x in samples..row.len() {
            row[x] = row[x].wrapping_add(row[x - samples]);
        }
    } else {
        let get = |r: &[u8], i: usize| {
            let b = [r[2 * i], r[2 * i + 1]];
            if little {
                u16::from_le_bytes(b)
            } else {
                u16::from_be_bytes(b)
            }
        };
        for i in samples..row.len() / 2 {
            let v = get(row, i).wrapping_add(get(row, i - samples));
            let b = if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            };
            row[2 * i..2 * i + 2].copy_from_slice(&b);
        }
    }
}

/// Rows of packed samples (1, 2, 4, 8 or 16 bits) as one byte per sample: indices kept
/// as they are for a palette, other values scaled to 0–255 (16 bits: the high byte).
#[allow(clippy::too_many_arguments)]
pub(super) fn to_8bit(
    raw: Vec<u8>,
    row_bytes: usize,
    w: u32,
    rows: u32,
    samples: usize,
    bits: u16,
    little: bool,
    indices: bool,
) -> Vec<u8> {
    let n = w as usize * samples;
    match bits {
        8 => {
            if row_bytes == n {
                let mut v = raw;
                v.truncate(n * rows as usize);
                return v;
            }
            raw.chunks(row_bytes)
                .take(rows as usize)
                .flat_map(|r| r[..n].iter().copied())
                .collect()
        }
        16 => raw
            .chunks(row_bytes)
            .take(rows as usize)
            .flat_map(|r| {
                r[..2 * n]
                    .chunks_exact(2)
                    .map(move |b| if little { b[1] } else { b[0] })
            })
            .collect(),
        _ => {
            let max = (1u16 << bits) - 1;
            let mut out = Vec::with_capacity(n * rows as usize);
            for r in raw.chunks(row_bytes).take(rows as usize) {
                for i in 0..n {
                    let bit = i * bits as usize;
                    let v = (r[bit / 8] >> (8 - bits as usize - bit % 8)) as u16 & max;
                    out.push(if indices {
                        v as u8
                    } else {
                        (v * 255 / max) as u8
                    });
                }
            }
            out
        }
    }
}
