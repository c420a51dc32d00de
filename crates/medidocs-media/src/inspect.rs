use std::io::Cursor;

use crate::decode::{self, open_pdf};
use crate::{Limits, MediaError, Mime, guard, sniff};

/// What inspection learnt about a document, from headers only: no pixel is decoded here.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Inspection {
    pub mime: Mime,
    pub pages: u32,
    /// Pixel size of the first page or image (PDF: at 72 dpi, i.e. in points).
    pub width: u32,
    pub height: u32,
    /// TIFF: where each page's directory starts, so a page can be read on its own
    /// ([`crate::tiff_page_needs`]); empty for other types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub directories: Vec<u64>,
}

/// Checks a document against the limits and reads its type, page count and size.
/// Errors carry the reason a document is rejected.
pub fn inspect(bytes: &[u8], limits: &Limits) -> Result<Inspection, MediaError> {
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    if bytes.len() as u64 > limits.max_bytes {
        return Err(MediaError::TooLarge {
            bytes: bytes.len() as u64,
            limit: limits.max_bytes,
        });
    }
    let mime = sniff(bytes)?;
    guard(mime.short(), || match mime {
        Mime::Jpeg | Mime::Png | Mime::Webp => {
            if mime == Mime::Jpeg {
                check_jpeg_complete(bytes)?;
            }
            one_image(mime, decode::raster_dimensions(bytes, mime)?, limits)
        }
        Mime::Tiff => inspect_tiff(bytes, limits),
        Mime::Heic => one_image(mime, decode::heic_dimensions(bytes)?, limits),
        Mime::Pdf => {
            let pdf = open_pdf(bytes)?;
            let pages = pdf.pages();
            let n = pages.len();
            if n == 0 {
                return Err(MediaError::Corrupt("the PDF has no pages".into()));
            }
            if n as u64 > limits.max_pages as u64 {
                return Err(MediaError::TooManyPages {
                    pages: n as u64,
                    limit: limits.max_pages,
                });
            }
            let (w, h) = pages[0].render_dimensions();
            Ok(Inspection {
                mime,
                pages: n as u32,
                width: w.max(1.0) as u32,
                height: h.max(1.0) as u32,
                directories: Vec::new(),
            })
        }
    })
}

/// A document of one image (JPEG, PNG, WebP, HEIC) of `width`×`height`, within the limits.
fn one_image(
    mime: Mime,
    (width, height): (u32, u32),
    limits: &Limits,
) -> Result<Inspection, MediaError> {
    check_pixels(1, width, height, limits)?;
    Ok(Inspection {
        mime,
        pages: 1,
        width,
        height,
        directories: Vec::new(),
    })
}

pub(crate) fn check_pixels(
    page: u32,
    width: u32,
    height: u32,
    limits: &Limits,
) -> Result<(), MediaError> {
    if width == 0 || height == 0 {
        return Err(MediaError::Corrupt(format!(
            "page {page} has no pixels ({width}×{height})"
        )));
    }
    if width as u64 * height as u64 > limits.max_pixels {
        return Err(MediaError::TooManyPixels {
            page,
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    Ok(())
}

fn inspect_tiff(bytes: &[u8], limits: &Limits) -> Result<Inspection, MediaError> {
    let (directories, (width, height)) = decode::inspect_tiff_pages(bytes, limits)?;
    Ok(Inspection {
        mime: Mime::Tiff,
        pages: directories.len() as u32,
        width,
        height,
        directories,
    })
}

/// A JPEG whose entropy-coded data is cut short still decodes in lenient decoders (the
/// missing part comes out grey). A medical image with a grey bottom half is worse than a
/// rejection, so a JPEG must have an end-of-image marker after its first scan.
pub(crate) fn check_jpeg_complete(bytes: &[u8]) -> Result<(), MediaError> {
    let mut i = 2usize;
    // Walk marker segments up to the start of scan.
    loop {
        if i + 4 > bytes.len() {
            return Err(MediaError::Corrupt(
                "JPEG: truncated before the image data".into(),
            ));
        }
        if bytes[i] != 0xFF {
            return Err(MediaError::Corrupt(
                "JPEG: malformed marker structure".into(),
            ));
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            i += 2;
            continue;
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        if len < 2 {
            return Err(MediaError::Corrupt("JPEG: malformed segment length".into()));
        }
        if marker == 0xDA {
            i += 2 + len;
            break;
        }
        i += 2 + len;
    }
    if i >= bytes.len() {
        return Err(MediaError::Corrupt("JPEG: truncated, no image data".into()));
    }
    let has_eoi = bytes[i..].windows(2).any(|w| w == [0xFF, 0xD9]);
    if !has_eoi {
        return Err(MediaError::Corrupt(
            "JPEG: truncated, the end-of-image marker is missing".into(),
        ));
    }
    Ok(())
}

pub(crate) fn cursor(bytes: &[u8]) -> Cursor<&[u8]> {
    Cursor::new(bytes)
}
