//! CCITT Group 3 fax strips (T.4), decoded with `hayro-ccitt`.

use image::{DynamicImage, GrayImage};
use tiff::tags::Tag;

use std::io::{Read, Seek};

use super::{TiffReader, TiffSource, tag_or};
use crate::MediaError;

/// CCITT Group 3 (T.4, compression 3) and Modified Huffman (compression 2) strips, which
/// the `tiff` crate does not decode; Group 4 it decodes itself.
pub(super) fn decode_ccitt_t4<R: Read + Seek>(
    src: TiffSource<'_>,
    dec: &mut TiffReader<R>,
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
    let t4_options: u32 = tag_or(dec, Tag::Unknown(292), 0);
    let photometric: u16 = tag_or(dec, Tag::PhotometricInterpretation, 0);
    let fill_order: u16 = tag_or(dec, Tag::FillOrder, 1);
    if offsets.len() != counts.len() {
        return Err(MediaError::Corrupt("TIFF: strip tables disagree".into()));
    }
    let mut sink = RowSink {
        width: w,
        rows: Vec::with_capacity(h as usize),
        max_rows: h as usize,
    };
    for (i, (&off, &len)) in offsets.iter().zip(&counts).enumerate() {
        let mut strip = off
            .checked_add(len)
            .and_then(|end| src.slice(off..end))
            .ok_or_else(|| MediaError::Corrupt("TIFF: strip beyond end of file".into()))?
            .to_vec();
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
