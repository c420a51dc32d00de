//! Textract normalisation over real responses (tests/corpus/textract, from
//! aws-samples/amazon-textract-response-parser): every LINE becomes a line with its WORD
//! children, on the right page, with page-relative boxes; split and incomplete results.

use std::path::PathBuf;

use medidocs_core::textract::{self, Response, TextractError};
use serde_json::Value;

fn corpus(name: &str) -> String {
    let dir = std::env::var_os("MEDIDOCS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR")
                    .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../tests/corpus")
        });
    std::fs::read_to_string(dir.join("textract").join(name)).expect("the Textract corpus")
}

fn blocks_of(raw: &Value, kind: &str) -> Vec<Value> {
    raw["Blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["BlockType"] == kind)
        .cloned()
        .collect()
}

#[test]
fn every_line_and_word_of_each_response_is_kept_in_order() {
    for name in [
        "patient_intake_form_sample.json",
        "test-response.json",
        "multi-page-forms-samples-2-page.json",
    ] {
        let text = corpus(name);
        let raw: Value = serde_json::from_str(&text).unwrap();
        let doc = textract::normalize(&[textract::parse(&text).unwrap()]).unwrap();
        let lines = blocks_of(&raw, "LINE");
        let pages = blocks_of(&raw, "PAGE");
        assert_eq!(doc.pages.len(), pages.len(), "{name}: pages");
        let got: Vec<&str> = doc
            .pages
            .iter()
            .flat_map(|p| &p.lines)
            .map(|l| l.text.as_str())
            .collect();
        let want: Vec<&str> = lines.iter().map(|l| l["Text"].as_str().unwrap()).collect();
        assert_eq!(got, want, "{name}: lines");
        let words: usize = doc.pages.iter().map(|p| p.word_count()).sum();
        assert_eq!(words, blocks_of(&raw, "WORD").len(), "{name}: words");
        for page in &doc.pages {
            for line in &page.lines {
                // Textract's line text is its words joined by spaces.
                let joined: Vec<&str> = line.words.iter().map(|w| w.text.as_str()).collect();
                assert_eq!(line.text, joined.join(" "), "{name}");
                for b in std::iter::once(&line.bbox).chain(line.words.iter().map(|w| &w.bbox)) {
                    assert!(
                        b.left >= 0.0
                            && b.top >= 0.0
                            && b.left + b.width <= 1.0 + 1e-6
                            && b.top + b.height <= 1.0 + 1e-6,
                        "{name}: {b:?}"
                    );
                    assert!(b.width > 0.0 && b.height > 0.0, "{name}: {b:?}");
                }
                assert!((0.0..=100.0).contains(&line.confidence));
            }
        }
    }
}

#[test]
fn a_multi_page_job_lands_on_its_pages_even_when_split_over_next_token_responses() {
    let text = corpus("multi-page-forms-samples-2-page.json");
    let raw: Value = serde_json::from_str(&text).unwrap();
    let whole = textract::normalize(&[textract::parse(&text).unwrap()]).unwrap();
    for page in &whole.pages {
        let want: Vec<&str> = raw["Blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["BlockType"] == "LINE" && b["Page"] == page.page)
            .map(|b| b["Text"].as_str().unwrap())
            .collect();
        let got: Vec<&str> = page.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(got, want, "page {}", page.page);
    }
    // The same job as GetDocumentTextDetection pages it: three responses, NextToken between.
    let blocks = raw["Blocks"].as_array().unwrap();
    let thirds: Vec<Response> = blocks
        .chunks(blocks.len().div_ceil(3))
        .enumerate()
        .map(|(i, chunk)| {
            let mut r = raw.clone();
            r["Blocks"] = Value::Array(chunk.to_vec());
            r["NextToken"] = if i < 2 {
                Value::from(format!("t{i}"))
            } else {
                Value::Null
            };
            serde_json::from_value(r).unwrap()
        })
        .collect();
    assert_eq!(textract::normalize(&thirds).unwrap(), whole);
    // The last response lost: its lines' words are missing, and that is an error, not a
    // quietly shorter text.
    let err = textract::normalize(&thirds[..2]).unwrap_err();
    assert!(
        matches!(
            err,
            TextractError::MissingBlock { .. } | TextractError::Incomplete { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn single_page_responses_become_successive_pages_and_failed_jobs_are_errors() {
    let a = corpus("patient_intake_form_sample.json");
    let b = corpus("test-response.json");
    let doc =
        textract::normalize(&[textract::parse(&a).unwrap(), textract::parse(&b).unwrap()]).unwrap();
    assert_eq!(doc.pages.iter().map(|p| p.page).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(doc.pages[1].lines[0].text, "Employment Application");
    assert!(doc.text().contains('\u{000C}'));

    let failed = textract::parse(
        r#"{"JobStatus": "FAILED", "StatusMessage": "Request has unsupported document format"}"#,
    )
    .unwrap();
    assert_eq!(
        textract::normalize(&[failed]).unwrap_err(),
        TextractError::JobFailed {
            status: "FAILED".into(),
            message: "Request has unsupported document format".into()
        }
    );
    assert_eq!(textract::normalize(&[]).unwrap_err(), TextractError::Empty);
}

/// Against the expected files in samples/textract (page numbers, line and word counts,
/// first and last lines).
#[test]
fn the_corpus_normalises_to_the_expected_pages() {
    let dir = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../samples/textract");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".expected.json"))
        else {
            continue;
        };
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let doc =
            textract::normalize(&[textract::parse(&corpus(&format!("{name}.json"))).unwrap()])
                .unwrap();
        let got: Vec<Value> = doc
            .pages
            .iter()
            .map(|p| {
                serde_json::json!({
                    "page": p.page,
                    "lines": p.lines.len(),
                    "words": p.word_count(),
                    "first_line": p.lines.first().map(|l| l.text.as_str()),
                    "last_line": p.lines.last().map(|l| l.text.as_str()),
                })
            })
            .collect();
        assert_eq!(Value::Array(got), expected["pages"], "{name}");
        checked += 1;
    }
    assert_eq!(checked, 3);
}

/// A line's angle comes from its outline: the real responses' lines run upright; the same
/// lines with their outlines turned a quarter (text running down the page) or three
/// quarters (running up it) say so.
#[test]
fn a_lines_angle_comes_from_its_outline() {
    let text = corpus("test-response.json");
    let doc = textract::normalize(&[textract::parse(&text).unwrap()]).unwrap();
    let lines: Vec<_> = doc.pages.iter().flat_map(|p| &p.lines).collect();
    assert!(!lines.is_empty() && lines.iter().all(|l| l.angle == 0));
    for (turn, want) in [(1, 90), (3, 270), (2, 180)] {
        let mut raw: Value = serde_json::from_str(&text).unwrap();
        for b in raw["Blocks"].as_array_mut().unwrap() {
            if let Some(points) = b["Geometry"]["Polygon"].as_array_mut() {
                points.rotate_left(turn);
            }
        }
        let response: Response = serde_json::from_value(raw).unwrap();
        let doc = textract::normalize(&[response]).unwrap();
        let angles: Vec<u16> = doc
            .pages
            .iter()
            .flat_map(|p| &p.lines)
            .map(|l| l.angle)
            .collect();
        assert!(angles.iter().all(|&a| a == want), "turn {turn}: {angles:?}");
    }
}
