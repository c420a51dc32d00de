//! A searchable PDF: each page's image (JPEG, as it was scanned, shrunk) under an
//! invisible text layer placed from the OCR words' boxes, so that a reader selects, copies
//! and searches the words where they are on the page, and `pdftotext` reads them.
//!
//! The text layer uses a glyph-less font, as Tesseract's PDF renderer does: a Type 0 font,
//! `Identity-H`, each character's code its Unicode value (two bytes, so every script of
//! the Basic Multilingual Plane), a ToUnicode map that says so, and text render mode 3
//! (neither filled nor stroked). No font program is embedded: nothing is drawn with it.
//! Each word is stretched (`Tz`) to its box's width, so a selection covers the word seen.
//!
//! What goes in the document's information is what the caller gives (its type and date,
//! never a patient's name or id), and the producer.

use std::fmt::Write as _;

use crate::error::MediaError;

/// A word on a page: its text and its box, as fractions of the page (0–1, from the top
/// left, of the upright page).
#[derive(Debug, Clone, PartialEq)]
pub struct PdfWord {
    pub text: String,
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
    /// The line's angle, clockwise degrees (0, 90, 180, 270): text running down the page
    /// or upside down on an upright page.
    pub angle: u16,
}

/// A page: its image as JPEG bytes, the image's size in pixels, whether it is grey, the
/// page's size in points (1/72 inch), and its words in reading order.
#[derive(Debug, Clone)]
pub struct PdfPage {
    pub jpeg: Vec<u8>,
    pub pixel_width: u32,
    pub pixel_height: u32,
    pub grey: bool,
    pub width_pt: f32,
    pub height_pt: f32,
    pub words: Vec<PdfWord>,
}

/// The document's information dictionary.
#[derive(Debug, Clone, Default)]
pub struct PdfInfo {
    pub title: String,
    pub subject: String,
    pub keywords: String,
    /// `YYYY-MM-DD`, or empty.
    pub date: String,
}

/// The producer named in every file.
pub const PRODUCER: &str = "Medi-Advice document pipeline";

/// A baseline or progressive JPEG's frame: width, height and number of components, from
/// its SOF header; none if the bytes hold no readable frame header.
pub fn jpeg_frame(jpeg: &[u8]) -> Option<(u32, u32, u8)> {
    if jpeg.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2;
    loop {
        // Markers may be padded with 0xFF.
        while *jpeg.get(at)? == 0xFF && *jpeg.get(at + 1)? == 0xFF {
            at += 1;
        }
        if *jpeg.get(at)? != 0xFF {
            return None;
        }
        let marker = *jpeg.get(at + 1)?;
        let len = u16::from_be_bytes([*jpeg.get(at + 2)?, *jpeg.get(at + 3)?]) as usize;
        // SOF0–SOF15 but DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let h = u16::from_be_bytes([*jpeg.get(at + 5)?, *jpeg.get(at + 6)?]) as u32;
            let w = u16::from_be_bytes([*jpeg.get(at + 7)?, *jpeg.get(at + 8)?]) as u32;
            let n = *jpeg.get(at + 9)?;
            return (w > 0 && h > 0).then_some((w, h, n));
        }
        if marker == 0xDA || len < 2 {
            return None;
        }
        at += 2 + len;
    }
}

/// A page image for the PDF made again from a JPEG: turned clockwise by `degrees_cw`
/// (0, 90, 180, 270), then, for each `(longest side, quality)` in `tries` in turn, shrunk
/// to at most that many pixels a side and encoded at that quality, grey if it was, until
/// one is at most `budget` bytes (else the last). The JPEG is decoded once. Returns the
/// JPEG, its width and height, and whether it is grey.
pub fn page_jpeg(
    jpeg: &[u8],
    degrees_cw: u32,
    tries: &[(u32, u8)],
    budget: usize,
) -> Result<(Vec<u8>, u32, u32, bool), MediaError> {
    let img = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .map_err(|e| MediaError::corrupt("JPEG", e))?;
    let img = match degrees_cw % 360 {
        90 => img.rotate90(),
        180 => img.rotate180(),
        270 => img.rotate270(),
        _ => img,
    };
    // A page in black and white whose scan or raster is colour (most letters) is encoded
    // grey: fewer bytes for the same page.
    let grey = match &img {
        image::DynamicImage::ImageLuma8(_) => true,
        other => is_neutral(&other.to_rgb8()),
    };
    let img = if grey {
        image::DynamicImage::ImageLuma8(img.into_luma8())
    } else {
        image::DynamicImage::ImageRgb8(img.into_rgb8())
    };
    let colour = if grey {
        jpeg_encoder::ColorType::Luma
    } else {
        jpeg_encoder::ColorType::Rgb
    };
    let mut resizer = fast_image_resize::Resizer::new();
    let mut made = None;
    for &(longest, quality) in tries {
        let (w, h) = crate::rendition::fit(img.width(), img.height(), longest.max(1));
        let resized;
        let sized = if (w, h) == (img.width(), img.height()) {
            &img
        } else {
            resized = crate::rendition::resize_image(&mut resizer, &img, w, h)?;
            &resized
        };
        let (w16, h16) = (
            u16::try_from(w).map_err(|e| MediaError::corrupt("JPEG size", e))?,
            u16::try_from(h).map_err(|e| MediaError::corrupt("JPEG size", e))?,
        );
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, quality)
            .encode(sized.as_bytes(), w16, h16, colour)
            .map_err(|e| MediaError::corrupt("JPEG encoder", e))?;
        let fits = out.len() <= budget;
        made = Some((out, w, h, grey));
        if fits {
            break;
        }
    }
    made.ok_or_else(|| MediaError::Corrupt("no page image".into()))
}

/// Whether an image is black, white and grey but for a few pixels (at most 1 in 200 of
/// them with a colour: scanner fringes, a small stamp).
fn is_neutral(rgb: &image::RgbImage) -> bool {
    let (mut seen, mut coloured) = (0u64, 0u64);
    for p in rgb.pixels().step_by(3) {
        let [r, g, b] = p.0;
        seen += 1;
        if r.max(g).max(b) - r.min(g).min(b) > 24 {
            coloured += 1;
        }
    }
    coloured * 200 <= seen
}

/// Bytes of a PDF object, with the offsets the cross-reference table needs.
struct Writer {
    out: Vec<u8>,
    offsets: Vec<usize>,
}

impl Writer {
    fn new() -> Self {
        let mut out = Vec::new();
        // A binary comment after the header tells transfer tools the file is binary.
        out.extend_from_slice(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
        Writer {
            out,
            offsets: Vec::new(),
        }
    }

    /// Object `id` (1-based, in order) with a dictionary and no stream.
    fn object(&mut self, id: usize, body: &str) {
        self.start(id);
        self.out.extend_from_slice(body.as_bytes());
        self.out.extend_from_slice(b"\nendobj\n");
    }

    /// Object `id` with a dictionary (without `/Length`) and a stream.
    fn stream(&mut self, id: usize, dict: &str, data: &[u8]) {
        self.start(id);
        let head = format!("<< {dict} /Length {} >>\nstream\n", data.len());
        self.out.extend_from_slice(head.as_bytes());
        self.out.extend_from_slice(data);
        self.out.extend_from_slice(b"\nendstream\nendobj\n");
    }

    fn start(&mut self, id: usize) {
        debug_assert_eq!(self.offsets.len() + 1, id, "objects are written in order");
        self.offsets.push(self.out.len());
        self.out
            .extend_from_slice(format!("{id} 0 obj\n").as_bytes());
    }

    fn finish(mut self, root: usize, info: usize) -> Vec<u8> {
        let xref = self.out.len();
        let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", self.offsets.len() + 1);
        for o in &self.offsets {
            let _ = writeln!(table, "{o:010} 00000 n ");
        }
        let _ = write!(
            table,
            "trailer\n<< /Size {} /Root {root} 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            self.offsets.len() + 1
        );
        self.out.extend_from_slice(table.as_bytes());
        self.out
    }
}

/// A PDF text string: UTF-16BE with its byte-order mark, as hex.
fn text_string(s: &str) -> String {
    let mut hex = String::from("<FEFF");
    for unit in s.encode_utf16() {
        let _ = write!(hex, "{unit:04X}");
    }
    hex.push('>');
    hex
}

/// A word's codes for the glyph-less font: each character's Unicode value, two bytes;
/// characters beyond the Basic Multilingual Plane as U+FFFD, control characters dropped.
fn word_codes(text: &str) -> (String, usize) {
    let mut hex = String::new();
    let mut n = 0;
    for c in text.chars().filter(|c| !c.is_control()) {
        let code = u32::from(c);
        let code = if code > 0xFFFF || (0xD800..=0xDFFF).contains(&code) {
            0xFFFD
        } else {
            code
        };
        let _ = write!(hex, "{code:04X}");
        n += 1;
    }
    (hex, n)
}

/// The ToUnicode map of the glyph-less font: each two-byte code is its own Unicode value.
/// (A range may only vary in its last byte: one range per first byte, the surrogates'
/// left out.)
fn to_unicode_cmap() -> String {
    let mut ranges = String::new();
    let firsts: Vec<u32> = (0..=0xFF).filter(|b| !(0xD8..=0xDF).contains(b)).collect();
    for chunk in firsts.chunks(100) {
        let _ = writeln!(ranges, "{} beginbfrange", chunk.len());
        for b in chunk {
            let _ = writeln!(ranges, "<{b:02X}00> <{b:02X}FF> <{b:02X}00>");
        }
        ranges.push_str("endbfrange\n");
    }
    format!(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n\
         {ranges}endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    )
}

/// The glyph-less font's advance, in thousandths of the font size, for every code.
const ADVANCE: f32 = 500.0;

/// A page's content: the image over the whole page, then each word, invisible.
fn page_content(page: &PdfPage) -> String {
    let (w, h) = (page.width_pt, page.height_pt);
    let mut s = format!("q {w:.2} 0 0 {h:.2} 0 0 cm /Im0 Do Q\nBT 3 Tr\n");
    for word in &page.words {
        let (hex, n) = word_codes(&word.text);
        if n == 0 || !(word.width > 0.0 && word.height > 0.0) {
            continue;
        }
        // The box in points, from the bottom left.
        let (bx, by) = (word.left * w, h - (word.top + word.height) * h);
        let (bw, bh) = (word.width * w, word.height * h);
        // Along the text and across it: a vertical line's box is tall and narrow.
        let vertical = word.angle == 90 || word.angle == 270;
        let (along, across) = if vertical { (bh, bw) } else { (bw, bh) };
        let size = across.max(1.0);
        let natural = n as f32 * ADVANCE / 1000.0 * size;
        let stretch = (100.0 * along / natural).clamp(1.0, 10_000.0);
        // The baseline a fifth of the height above the box's bottom (descenders below),
        // turned with the line.
        let d = size * 0.2;
        let (a, b, c, dd, x, y) = match word.angle {
            90 => (0.0, -1.0, 1.0, 0.0, bx + d, by + bh),
            180 => (-1.0, 0.0, 0.0, -1.0, bx + bw, by + bh - d),
            270 => (0.0, 1.0, -1.0, 0.0, bx + bw - d, by),
            _ => (1.0, 0.0, 0.0, 1.0, bx, by + d),
        };
        let _ = writeln!(
            s,
            "/F1 {size:.2} Tf {stretch:.2} Tz {a} {b} {c} {dd} {x:.2} {y:.2} Tm <{hex}> Tj"
        );
    }
    s.push_str("ET\n");
    s
}

/// A PDF date, `D:YYYYMMDD`, from `YYYY-MM-DD` (nothing if it is not one).
fn pdf_date(date: &str) -> Option<String> {
    let digits: String = date.chars().filter(char::is_ascii_digit).collect();
    (date.len() == 10 && digits.len() == 8).then(|| format!("D:{digits}"))
}

/// The PDF of `pages` with `info`.
pub fn searchable_pdf(pages: &[PdfPage], info: &PdfInfo) -> Vec<u8> {
    // Objects: 1 catalog, 2 pages, 3 font, 4 descendant font, 5 ToUnicode, 6 info, then
    // three per page (page, content, image).
    let mut w = Writer::new();
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", 7 + 3 * i))
        .collect();
    w.object(1, "<< /Type /Catalog /Pages 2 0 R >>");
    w.object(
        2,
        &format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        ),
    );
    w.object(
        3,
        "<< /Type /Font /Subtype /Type0 /BaseFont /GlyphLessFont /Encoding /Identity-H \
         /DescendantFonts [4 0 R] /ToUnicode 5 0 R >>",
    );
    w.object(
        4,
        &format!(
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /GlyphLessFont \
             /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
             /CIDToGIDMap /Identity /DW {ADVANCE} >>"
        ),
    );
    let cmap = to_unicode_cmap();
    w.stream(5, "", cmap.as_bytes());
    let mut dict = format!("<< /Producer {}", text_string(PRODUCER));
    for (key, value) in [
        ("Title", &info.title),
        ("Subject", &info.subject),
        ("Keywords", &info.keywords),
    ] {
        if !value.is_empty() {
            let _ = write!(dict, " /{key} {}", text_string(value));
        }
    }
    if let Some(d) = pdf_date(&info.date) {
        let _ = write!(dict, " /CreationDate ({d})");
    }
    dict.push_str(" >>");
    w.object(6, &dict);
    for (i, page) in pages.iter().enumerate() {
        let (pid, cid, iid) = (7 + 3 * i, 8 + 3 * i, 9 + 3 * i);
        w.object(
            pid,
            &format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {:.2} {:.2}] \
                 /Resources << /Font << /F1 3 0 R >> /XObject << /Im0 {iid} 0 R >> >> \
                 /Contents {cid} 0 R >>",
                page.width_pt, page.height_pt
            ),
        );
        w.stream(cid, "", page_content(page).as_bytes());
        w.stream(
            iid,
            &format!(
                "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /{} \
                 /BitsPerComponent 8 /Filter /DCTDecode",
                page.pixel_width,
                page.pixel_height,
                if page.grey { "DeviceGray" } else { "DeviceRGB" }
            ),
            &page.jpeg,
        );
    }
    w.finish(1, 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(words: Vec<PdfWord>) -> PdfPage {
        // A 1×1 grey JPEG.
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 50)
            .encode(&[255], 1, 1, jpeg_encoder::ColorType::Luma)
            .unwrap();
        PdfPage {
            jpeg,
            pixel_width: 1,
            pixel_height: 1,
            grey: true,
            width_pt: 595.0,
            height_pt: 842.0,
            words,
        }
    }

    fn word(text: &str, left: f32, top: f32, angle: u16) -> PdfWord {
        PdfWord {
            text: text.into(),
            left,
            top,
            width: 0.1,
            height: 0.02,
            angle,
        }
    }

    #[test]
    fn the_cross_reference_table_points_at_every_object() {
        let pdf = searchable_pdf(
            &[page(vec![word("Seán", 0.1, 0.1, 0)]), page(vec![])],
            &PdfInfo {
                title: "Lab report".into(),
                date: "2026-02-03".into(),
                ..PdfInfo::default()
            },
        );
        // Past the binary header line, the file is ASCII but for the image: read the
        // table from the end.
        let tail_at = pdf.len() - 2_000.min(pdf.len());
        let tail = String::from_utf8_lossy(&pdf[tail_at..]).to_string();
        let start: usize = tail
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .unwrap()
            .parse()
            .unwrap();
        let table = String::from_utf8_lossy(&pdf[start..]).to_string();
        assert!(table.starts_with("xref\n0 13\n"), "{table}");
        let text = String::from_utf8_lossy(&pdf);
        for (i, line) in table.lines().skip(3).take(12).enumerate() {
            let offset: usize = line[..10].parse().unwrap();
            let expected = format!("{} 0 obj", i + 1);
            assert!(
                pdf[offset..].starts_with(expected.as_bytes()),
                "object {} at {offset}",
                i + 1
            );
        }
        assert!(text.contains("/CreationDate (D:20260203)"));
    }

    #[test]
    fn words_become_their_unicode_codes_and_their_line_turns_them() {
        // "Seán": S e á n; an emoji outside the BMP becomes U+FFFD; controls are dropped.
        assert_eq!(
            word_codes("Seán"),
            ("005300650061006E".replace("0061", "00E1"), 4)
        );
        assert_eq!(word_codes("a\u{7}😀"), ("0061FFFD".into(), 2));
        let content = page_content(&page(vec![
            word("across", 0.1, 0.1, 0),
            word("down", 0.5, 0.5, 90),
            word("", 0.2, 0.2, 0),
        ]));
        assert_eq!(content.matches(" Tj").count(), 2);
        assert!(content.contains(" 0 -1 1 0 "), "{content}");
        // Invisible text over the image.
        assert!(content.starts_with("q 595.00 0 0 842.00 0 0 cm /Im0 Do Q\nBT 3 Tr\n"));
    }

    #[test]
    fn a_jpeg_frame_gives_its_size_and_components_and_a_page_image_turns() {
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 80)
            .encode(&[0u8; 3 * 40 * 20], 40, 20, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        assert_eq!(jpeg_frame(&jpeg), Some((40, 20, 3)));
        assert_eq!(jpeg_frame(b"\xFF\xD8\xFF"), None);
        assert_eq!(jpeg_frame(b"not a jpeg"), None);
        let (turned, w, h, grey) = page_jpeg(&jpeg, 90, &[(1000, 60)], usize::MAX).unwrap();
        // (Black in colour: encoded grey.)
        assert_eq!((w, h, grey), (20, 40, true));
        assert_eq!(jpeg_frame(&turned), Some((20, 40, 1)));
        let (_, w, h, _) = page_jpeg(&jpeg, 0, &[(10, 60)], usize::MAX).unwrap();
        assert_eq!((w, h), (10, 5));
        // Black on white in colour becomes grey; a red page stays colour.
        let mut red = Vec::new();
        jpeg_encoder::Encoder::new(&mut red, 80)
            .encode(
                &[200u8, 20, 20].repeat(40 * 20),
                40,
                20,
                jpeg_encoder::ColorType::Rgb,
            )
            .unwrap();
        assert!(!page_jpeg(&red, 0, &[(100, 60)], usize::MAX).unwrap().3);
        assert_eq!(
            jpeg_frame(&page_jpeg(&jpeg, 0, &[(100, 60)], usize::MAX).unwrap().0).map(|f| f.2),
            Some(1)
        );
        assert!(page_jpeg(b"junk", 0, &[(10, 60)], usize::MAX).is_err());
    }

    #[test]
    fn a_page_image_over_its_budget_is_made_smaller_until_it_fits_else_the_last_try() {
        // Noise: a JPEG that stays large at any quality.
        let (w, h) = (400u32, 300u32);
        let mut seed = 7u32;
        let noise: Vec<u8> = (0..w * h * 3)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (seed >> 16) as u8
            })
            .collect();
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 90)
            .encode(&noise, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let tries = [(400, 90), (200, 60), (100, 40)];
        let full = page_jpeg(&jpeg, 0, &tries[..1], usize::MAX).unwrap();
        let half = page_jpeg(&jpeg, 0, &tries[1..2], usize::MAX).unwrap();
        // A budget the first try misses and the second meets: the second.
        let budget = (full.0.len() + half.0.len()) / 2;
        let (bytes, w2, h2, _) = page_jpeg(&jpeg, 0, &tries, budget).unwrap();
        assert_eq!((w2, h2), (200, 150));
        assert!(bytes.len() <= budget);
        // A budget nothing meets: the last try.
        let (bytes, w3, h3, _) = page_jpeg(&jpeg, 0, &tries, 10).unwrap();
        assert_eq!((w3, h3), (100, 75));
        assert!(bytes.len() > 10);
    }

    #[test]
    fn the_information_holds_what_it_is_given_and_the_producer_only() {
        let pdf = searchable_pdf(
            &[page(vec![])],
            &PdfInfo {
                title: "Discharge summary".into(),
                ..PdfInfo::default()
            },
        );
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains(&format!("/Title {}", text_string("Discharge summary"))));
        assert!(!text.contains("/Author") && !text.contains("/Subject"));
        assert!(text.contains(&text_string(PRODUCER)));
    }
}
