//! A searchable PDF as its readers meet it: poppler's `pdftotext` recovers the words of
//! its invisible layer in reading order, qpdf finds the file sound, and a scanned A4 page
//! stays small enough to send by e-mail.

use std::path::PathBuf;
use std::process::Command;

use medidocs_media::{PdfInfo, PdfPage, PdfWord, searchable_pdf};

fn root() -> PathBuf {
    PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../..")
}

/// Words of `text`, as a reader compares them.
fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// The longest common subsequence's length: the words found in the same order.
fn in_order(a: &[String], b: &[String]) -> usize {
    let mut row = vec![0usize; b.len() + 1];
    for x in a {
        let mut prev = 0;
        for (j, y) in b.iter().enumerate() {
            let keep = row[j + 1];
            row[j + 1] = if x == y {
                prev + 1
            } else {
                row[j + 1].max(row[j])
            };
            prev = keep;
        }
    }
    row[b.len()]
}

#[test]
fn pdftotext_reads_the_words_in_order_and_an_a4_page_stays_small() {
    // A scanned lab report at 300 dpi, grey, shrunk to 150 dpi as the PDF keeps it.
    let scan = image::open(root().join("samples/documents/lab-report-scan.png"))
        .unwrap()
        .to_luma8();
    let (w, h) = (scan.width() / 2, scan.height() / 2);
    let small = image::imageops::resize(&scan, w, h, image::imageops::FilterType::Triangle);
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 60)
        .encode(
            small.as_raw(),
            w as u16,
            h as u16,
            jpeg_encoder::ColorType::Luma,
        )
        .unwrap();
    // Its text, a line a row, the words across it; with fadas and a French line.
    let mut text =
        std::fs::read_to_string(root().join("samples/expected/lab-report-scan.png.txt")).unwrap();
    text.push_str("Seán Ó Súilleabháin\nRésultats validés le 19 novembre 2025\n");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut placed = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let top = 0.05 + i as f32 * 0.9 / lines.len() as f32;
        let mut left = 0.06;
        for word in line.split_whitespace() {
            let width = 0.012 * word.chars().count() as f32;
            placed.push(PdfWord {
                text: word.into(),
                left,
                top,
                width,
                height: 0.018,
                angle: 0,
            });
            left += width + 0.012;
        }
    }
    let page = PdfPage {
        jpeg,
        pixel_width: w,
        pixel_height: h,
        grey: true,
        width_pt: w as f32 * 72.0 / 150.0,
        height_pt: h as f32 * 72.0 / 150.0,
        words: placed,
    };
    let pdf = searchable_pdf(
        &[page],
        &PdfInfo {
            title: "Lab report".into(),
            date: "2026-11-21".into(),
            ..PdfInfo::default()
        },
    );
    assert!(pdf.len() < 150 * 1024, "{} bytes for one page", pdf.len());

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let check = Command::new("qpdf")
        .arg("--check")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "qpdf --check: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    let got = words(&String::from_utf8_lossy(&out.stdout));
    let want = words(&lines.join("\n"));
    let found = in_order(&want, &got);
    assert!(
        found as f64 >= 0.98 * want.len() as f64,
        "{found} of {} words in order: {got:?}",
        want.len()
    );
    assert!(got.contains(&"Súilleabháin".to_string()), "{got:?}");
    let info = Command::new("pdfinfo").arg(&file).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("Title:") && info.contains("Lab report"),
        "{info}"
    );
}
