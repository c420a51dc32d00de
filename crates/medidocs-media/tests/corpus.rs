//! The TIFF corpus (tests/corpus/tiff, made by scripts/make-tiff-corpus.py from libtiff's
//! tools, ImageMagick and hand-written bytes): every file libtiff decodes is read, each page
//! within a small mean colour difference of libtiff's own decoding (`tiff2rgba`); what
//! this service does not read is `unsupported_type` with the feature named.

use std::path::{Path, PathBuf};

use image::metadata::Orientation;
use medidocs_media::{Limits, Mime, decode_page, inspect};

fn corpus() -> PathBuf {
    let dir = std::env::var_os("MEDIDOCS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus"));
    dir.join("tiff")
}

/// Mean absolute difference per channel (0–255) between two RGBA pictures of one size.
fn mean_difference(a: &image::RgbaImage, b: &image::RgbaImage) -> f64 {
    let total: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| x.abs_diff(y) as u64)
        .sum();
    total as f64 / a.as_raw().len() as f64
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
