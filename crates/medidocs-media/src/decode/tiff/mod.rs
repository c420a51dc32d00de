//! TIFF pages, read by a decoder of our own: the structure ([`ifd`]), each page's layout
//! and what of it is not read, named ([`page`]), the decompressors ([`codec`]: none,
//! PackBits, LZW in both forms with a fast reader of the usual one ([`lzw`]), Deflate, CCITT
//! modified Huffman, Group 3 and Group 4, JPEG and old-style JPEG), and the colour models
//! ([`colour`]). A page of a multi-page file can be read from its own parts ([`partial`]).

use image::metadata::Orientation;

use self::ifd::{Directory, Header, Source};
use self::page::Layout;
use super::{DecodedPage, to_8bit};
use crate::inspect::check_pixels;
use crate::{Limits, MediaError};

mod codec;
mod colour;
mod ifd;
mod lzw;
mod page;
mod partial;

pub use partial::{PartialFile, TiffPageReads, decode_tiff_page_at, tiff_page_needs};

/// Page `index` (0-based) of a TIFF file.
pub(super) fn decode_tiff_page(
    bytes: &[u8],
    index: u32,
    limits: &Limits,
) -> Result<DecodedPage, MediaError> {
    let header = Header::read(bytes)?;
    let (directories, _) = ifd::page_directories(bytes, header, index.saturating_add(1))?;
    let at = directories
        .get(index as usize)
        .map(|(at, _)| *at)
        .ok_or_else(|| MediaError::Corrupt(format!("TIFF: there is no page {}", index + 1)))?;
    decode_at(bytes, header, at, index + 1, limits)
}

/// The page whose directory is at `at` (page number `page`, for messages).
pub(super) fn decode_at(
    src: &(impl Source + ?Sized),
    header: Header,
    at: u64,
    page: u32,
    limits: &Limits,
) -> Result<DecodedPage, MediaError> {
    let dir = Directory::read(src, header, at)?;
    let layout = Layout::read(src, &dir, page, header.little)?;
    check_pixels(page, layout.width, layout.height, limits)?;
    check_memory(&layout, limits)?;
    let samples = page::read_samples(src, &layout)?;
    let img = colour::to_image(&layout, samples)?;
    Ok(DecodedPage {
        image: to_8bit(img),
        dpi: layout.dpi,
        orientation: Orientation::from_exif(layout.orientation as u8)
            .unwrap_or(Orientation::NoTransforms),
    })
}

/// Decoding holds the page's samples and one chunk; at most what an RGBA page of the
/// pixel limit takes, twice (800 MB at the default 100 MP). Many samples per pixel, or 16
/// bits, lower the pixel limit in proportion.
fn check_memory(layout: &Layout, limits: &Limits) -> Result<(), MediaError> {
    let budget = limits.max_pixels.saturating_mul(8);
    let needed = layout.decode_bytes();
    if needed <= budget {
        return Ok(());
    }
    let pixels = (layout.width as u64 * layout.height as u64).max(1);
    Err(MediaError::TooManyPixels {
        page: layout.page,
        width: layout.width,
        height: layout.height,
        limit: budget / needed.div_ceil(pixels).max(1),
    })
}

/// What inspection needs of a TIFF file: where each page's directory is, and each page's
/// size, checked against the limits and for features this service does not read.
pub(crate) fn inspect_pages(
    bytes: &[u8],
    limits: &Limits,
) -> Result<(Vec<u64>, (u32, u32)), MediaError> {
    let header = Header::read(bytes)?;
    let (directories, more) = ifd::page_directories(bytes, header, limits.max_pages)?;
    if more != 0 {
        return Err(MediaError::TooManyPages {
            pages: directories.len() as u64 + ifd::count_pages(bytes, header, more),
            limit: limits.max_pages,
        });
    }
    let mut first = (0, 0);
    for (i, (_, dir)) in directories.iter().enumerate() {
        let page = i as u32 + 1;
        let layout = Layout::read(bytes, dir, page, header.little)?;
        check_pixels(page, layout.width, layout.height, limits)?;
        check_memory(&layout, limits)?;
        if i == 0 {
            first = (layout.width, layout.height);
        }
    }
    Ok((directories.into_iter().map(|(at, _)| at).collect(), first))
}

pub(crate) fn cmyk_to_rgb(c: u8, m: u8, y: u8, k: u8) -> [u8; 3] {
    let k = 255 - k as u32;
    [
        ((255 - c as u32) * k / 255) as u8,
        ((255 - m as u32) * k / 255) as u8,
        ((255 - y as u32) * k / 255) as u8,
    ]
}
