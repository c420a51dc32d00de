//! The TIFF corpus (tests/corpus/tiff, made by scripts/make-tiff-corpus.py from libtiff's
//! tools, ImageMagick and hand-written bytes): every file libtiff decodes is read, each page
//! within a small mean colour difference of libtiff's own decoding (`tiff2rgba`); what
//! this service does not read is `unsupported_type` with the feature named. And the PDF
//! corpus (tests/corpus/pdf): every page drawn like poppler's `pdftoppm`.

use std::path::{Path, PathBuf};

use image::metadata::Orientation;
use medidocs_media::{Limits, Mime, decode_page, inspect};

fn corpus() -> PathBuf {
    let dir = std::env::var_os("MEDIDOCS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus"));
    dir.join("tiff")
}

/// Mean absolute difference per sample (0–255) between two pictures of one size and
/// layout (RGBA or grey).
fn mean_difference<P: image::Pixel<Subpixel = u8>>(
    a: &image::ImageBuffer<P, Vec<u8>>,
    b: &image::ImageBuffer<P, Vec<u8>>,
) -> f64 {
    let total: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| x.abs_diff(y) as u64)
        .sum();
    total as f64 / a.as_raw().len().max(1) as f64
}

/// Transparent pixels carry no colour: both sides white where alpha is 0.
fn settle(mut img: image::RgbaImage) -> image::RgbaImage {
    for p in img.pixels_mut() {
        if p[3] == 0 {
            *p = image::Rgba([255, 255, 255, 0]);
        }
    }
    img
}

#[test]
fn every_tiff_libtiff_reads_is_read_with_its_colours() {
    let dir = corpus();
    let manifest: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest.len() >= 60, "{} files", manifest.len());
    let limits = Limits::default();
    let mut failures = Vec::new();
    let mut worst = (0.0f64, String::new());
    for entry in &manifest {
        let file = entry["file"].as_str().unwrap();
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let features: Vec<&str> = entry["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f.as_str())
            .collect();
        let outcome = inspect(&bytes, &limits).and_then(|i| {
            (0..i.pages)
                .map(|p| decode_page(&bytes, Mime::Tiff, p, &limits))
                .collect::<Result<Vec<_>, _>>()
        });
        match (entry["expect"].as_str().unwrap(), outcome) {
            ("ready", Ok(pages)) => {
                let references = entry["reference"].as_array().unwrap();
                if pages.len() != references.len() {
                    failures.push(format!(
                        "{file}: {} pages, {} expected",
                        pages.len(),
                        references.len()
                    ));
                    continue;
                }
                for (i, (page, reference)) in pages.iter().zip(references).enumerate() {
                    let want = image::open(dir.join(reference.as_str().unwrap())).unwrap();
                    // An opaque reference of a page with alpha (libtiff's RGBA reader
                    // drops the alpha of CMYK): its colours are compared, not its alpha.
                    let opaque = !want.color().has_alpha();
                    let want = want.to_rgba8();
                    let mut got = page.image.to_rgba8();
                    if opaque {
                        got.pixels_mut().for_each(|p| p[3] = 255);
                    }
                    if got.dimensions() != want.dimensions() {
                        failures.push(format!(
                            "{file} page {}: {:?}, libtiff {:?}",
                            i + 1,
                            got.dimensions(),
                            want.dimensions()
                        ));
                        continue;
                    }
                    let d = mean_difference(&settle(got), &settle(want));
                    if d > worst.0 {
                        worst = (d, format!("{file} page {}", i + 1));
                    }
                    // JPEG decoders differ a little in rounding; lossless data must match.
                    let budget = if features.iter().any(|f| f.contains("jpeg")) {
                        3.0
                    } else {
                        1.0
                    };
                    if d > budget {
                        failures.push(format!(
                            "{file} page {}: mean difference {d:.2} (budget {budget})",
                            i + 1
                        ));
                    }
                }
                if let Some(n) = features.iter().find_map(|f| f.strip_prefix("orientation-")) {
                    let n: u8 = n.parse().unwrap();
                    if pages[0].orientation != Orientation::from_exif(n).unwrap() {
                        failures.push(format!(
                            "{file}: orientation {:?}, tag {n}",
                            pages[0].orientation
                        ));
                    }
                }
            }
            ("ready", Err(e)) => failures.push(format!("{file}: {} ({e})", e.code())),
            ("unsupported_type", Err(e)) => {
                let named = entry["unsupported"].as_str().unwrap();
                if e.code() != "unsupported_type" || !e.to_string().contains(named) {
                    failures.push(format!(
                        "{file}: {} ({e}), expected unsupported_type naming {named}",
                        e.code()
                    ));
                }
            }
            (expect, Ok(_)) => failures.push(format!("{file}: read, expected {expect}")),
            (expect, Err(e)) => {
                failures.push(format!("{file}: {} ({e}), expected {expect}", e.code()))
            }
        }
    }
    println!(
        "{} TIFF files; largest mean colour difference from libtiff {:.2} ({})",
        manifest.len(),
        worst.0,
        worst.1
    );
    assert!(
        failures.is_empty(),
        "{} of {} files:\n{}\n(largest difference: {:.2}, {})",
        failures.len(),
        manifest.len(),
        failures.join("\n"),
        worst.0,
        worst.1
    );
}

/// Damaged copies of every corpus file (bytes overwritten in the header, the directories
/// and anywhere, copies cut short): each is read or refused with a reason, and the TIFF
/// reader never panics (a panic would show as the guard's "failed on malformed data").
#[test]
fn damaged_tiffs_are_refused_without_a_panic() {
    let dir = corpus();
    let limits = Limits::default();
    let mut seed = 0x2545_f491_u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed as usize
    };
    let mut tried = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "tif") {
            continue;
        }
        let clean = std::fs::read(&path).unwrap();
        let directories = inspect(&clean, &limits)
            .map(|i| i.directories)
            .unwrap_or_default();
        for round in 0..40 {
            let mut bytes = clean.clone();
            if round == 0 {
                bytes.truncate(bytes.len() * 2 / 3);
            }
            for _ in 0..1 + next() % 6 {
                let at = match (next() % 3, directories.is_empty()) {
                    (0, _) => next() % 16,
                    (1, false) => directories[next() % directories.len()] as usize + next() % 300,
                    _ => next() % bytes.len(),
                };
                if let Some(b) = bytes.get_mut(at) {
                    *b = next() as u8;
                }
            }
            tried += 1;
            let result = inspect(&bytes, &limits).and_then(|i| {
                (0..i.pages.min(3))
                    .try_for_each(|p| decode_page(&bytes, Mime::Tiff, p, &limits).map(|_| ()))
            });
            if let Err(e) = result {
                assert!(
                    !e.to_string().contains("failed on malformed data"),
                    "{} (round {round}): {e}",
                    path.display()
                );
            }
        }
    }
    assert!(tried >= 2000, "{tried} copies");
}

/// A little-endian TIFF of one page: `entries` (tag, type, values as bytes), values that do
/// not fit in their entry placed after the directory, and `data` (the strips) at byte 8.
fn tiff_of(entries: &[(u16, u16, u32, Vec<u8>)], data: &[u8]) -> Vec<u8> {
    let ifd = 8 + data.len();
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&(ifd as u32).to_le_bytes());
    out.extend_from_slice(data);
    let mut values = Vec::new();
    let values_at = ifd + 2 + 12 * entries.len() + 4;
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, count, bytes) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        if bytes.len() <= 4 {
            let mut field = bytes.clone();
            field.resize(4, 0);
            out.extend_from_slice(&field);
        } else {
            out.extend_from_slice(&((values_at + values.len()) as u32).to_le_bytes());
            values.extend_from_slice(bytes);
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&values);
    out
}

fn short(tag: u16, v: u16) -> (u16, u16, u32, Vec<u8>) {
    (tag, 3, 1, v.to_le_bytes().to_vec())
}

fn long(tag: u16, v: u32) -> (u16, u16, u32, Vec<u8>) {
    (tag, 4, 1, v.to_le_bytes().to_vec())
}

/// Files made to exhaust a decoder: many 16-bit samples per pixel within the pixel limit,
/// tiles far wider than their page, a JPEG strip whose end is lost. Each is refused with a
/// reason before the work (or the grey band) it asks for.
#[test]
fn tiffs_that_ask_for_too_much_are_refused_before_decoding() {
    let limits = Limits {
        max_pixels: 1_000_000,
        ..Limits::default()
    };
    // 1000×1000 grey with 15 extra samples of 16 bits: 1 MP, but 32 MB of samples.
    let bits: Vec<u8> = std::iter::repeat_n(16u16.to_le_bytes(), 16)
        .flatten()
        .collect();
    let wide = tiff_of(
        &[
            long(256, 1000),
            long(257, 1000),
            (258, 3, 16, bits),
            short(259, 1),
            short(262, 1),
            long(273, 8),
            short(277, 16),
            long(279, 4),
        ],
        &[0; 4],
    );
    let e = inspect(&wide, &limits).unwrap_err();
    assert_eq!(e.code(), "too_many_pixels", "{e}");

    // A 1×10,000,000 page in tiles of 65,536×32: 312,500 tiles of 2 MP each, every one
    // within four times the page, all together 65,000 times it.
    let tiles = 10_000_000u32.div_ceil(32);
    let offsets: Vec<u8> = (0..tiles).flat_map(|_| 8u32.to_le_bytes()).collect();
    let counts: Vec<u8> = (0..tiles).flat_map(|_| 4u32.to_le_bytes()).collect();
    let tiled = tiff_of(
        &[
            long(256, 1),
            long(257, 10_000_000),
            short(258, 8),
            short(259, 1),
            short(262, 1),
            short(277, 1),
            long(322, 65_536),
            long(323, 32),
            (324, 4, tiles, offsets),
            (325, 4, tiles, counts),
        ],
        &[0; 4],
    );
    let e = inspect(&tiled, &Limits::default()).unwrap_err();
    assert_eq!(e.code(), "corrupt", "{e}");
    assert!(e.to_string().contains("tiles of 65536×32 cover"), "{e}");

    // A JPEG-in-TIFF whose strips lose their last bytes (entropy data and end marker).
    let clean = std::fs::read(corpus().join("rgb-jpeg-ycbcr.tif")).unwrap();
    assert!(decode_page(&clean, Mime::Tiff, 0, &Limits::default()).is_ok());
    let mut cut = clean.clone();
    let end = cut.windows(2).rposition(|w| w == [0xFF, 0xD9]).unwrap();
    cut[end - 200..end + 2].fill(0);
    let Err(e) = decode_page(&cut, Mime::Tiff, 0, &Limits::default()) else {
        panic!("a JPEG strip cut short was read");
    };
    assert_eq!(e.code(), "corrupt", "{e}");
}

/// An extra sample is alpha only when the file says so (or libtiff's readers take it so):
/// grey with an "unspecified" second sample of zeros is a grey page, not a blank one.
#[test]
fn an_unspecified_extra_sample_beside_grey_is_not_alpha() {
    let data: Vec<u8> = (0..16u8).flat_map(|i| [i * 16, 0]).collect();
    let page = tiff_of(
        &[
            long(256, 4),
            long(257, 4),
            (
                258,
                3,
                2,
                [8u16, 8].iter().flat_map(|b| b.to_le_bytes()).collect(),
            ),
            short(259, 1),
            short(262, 1),
            long(273, 8),
            short(277, 2),
            long(279, 32),
            short(338, 0),
        ],
        &data,
    );
    let decoded = decode_page(&page, Mime::Tiff, 0, &Limits::default()).unwrap();
    assert!(
        !decoded.image.color().has_alpha(),
        "{:?}",
        decoded.image.color()
    );
    assert_eq!(decoded.image.to_luma8().as_raw()[15], 240);
}

/// Pages of the PDF corpus drawn differently from poppler by more than this (mean grey
/// difference, 0–255, at poppler's 100 dpi): glyph edges are smoothed a little differently;
/// a missing line of text or a wrong colour costs far more.
const MAX_PDF_GREY_DIFFERENCE: f64 = 4.0;

/// At a tenth of poppler's size (a cell is a tenth of an inch square), no cell may differ by
/// more than this: a word missing or misplaced darkens its cells by 35 or more.
const MAX_PDF_CELL_DIFFERENCE: u8 = 30;

/// Every page of the PDF corpus (tests/corpus/pdf) renders like poppler's `pdftoppm -r 100`,
/// made in the same run as the corpus: the page as decoded for its renditions (300 dpi),
/// reduced to poppler's size, in grey: close on average, and nowhere far.
#[test]
fn every_pdf_page_renders_like_poppler() {
    let dir = corpus().parent().unwrap().join("pdf");
    let manifest: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let limits = Limits::default();
    let mut failures = Vec::new();
    let mut pages = 0;
    for entry in &manifest {
        let file = entry["file"].as_str().unwrap();
        let bytes = std::fs::read(dir.join(file)).unwrap();
        for page in entry["pages"].as_array().unwrap() {
            let Some(reference) = page["image"].as_str() else {
                continue;
            };
            let n = page["page"].as_u64().unwrap() as u32;
            let want = image::open(dir.join(reference)).unwrap().to_luma8();
            let got = decode_page(&bytes, Mime::Pdf, n - 1, &limits)
                .unwrap_or_else(|e| panic!("{file} p{n}: {e}"))
                .image
                .to_luma8();
            let got = image::imageops::resize(
                &got,
                want.width(),
                want.height(),
                image::imageops::FilterType::Triangle,
            );
            let diff = mean_difference(&got, &want);
            // At a tenth of that size, where smoothing no longer differs and a missing word
            // still shows: the worst cell.
            let small = |img: &image::GrayImage| {
                image::imageops::resize(
                    img,
                    img.width() / 10,
                    img.height() / 10,
                    image::imageops::FilterType::Triangle,
                )
            };
            let (a, b) = (small(&got), small(&want));
            let worst = a
                .as_raw()
                .iter()
                .zip(b.as_raw())
                .map(|(&x, &y)| x.abs_diff(y))
                .max()
                .unwrap_or(0);
            println!(
                "{file} p{n}: mean grey difference from pdftoppm {diff:.2}, worst cell {worst}"
            );
            pages += 1;
            if diff > MAX_PDF_GREY_DIFFERENCE || worst > MAX_PDF_CELL_DIFFERENCE {
                failures.push(format!("{file} p{n}: mean {diff:.2}, worst cell {worst}"));
            }
        }
    }
    assert!(pages >= 14, "{pages} pages");
    assert!(failures.is_empty(), "{failures:#?}");
}
