//! The labelled understanding sets (tests/understand, described in its README): the
//! sets the rules were widened to read within the targets, and never a date of birth as a
//! document's date.

use medidocs_core::understand::eval::{Expected, Score, score};

fn scored(name: &str) -> Score {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/understand")
        .join(name);
    let set: Vec<Expected> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let s = score(&set);
    println!(
        "{name}: {} documents: type {:.3}, document date {:.3}, birth as document date {}",
        s.documents,
        s.type_accuracy(),
        s.date_accuracy(),
        s.birth_as_document_date
    );
    for (role, r) in &s.roles {
        println!(
            "  {role}: precision {:.3}, recall {:.3} ({} expected, {} found)",
            r.precision(),
            r.recall(),
            r.expected,
            r.found
        );
    }
    for m in &s.misses {
        println!("  miss {m}");
    }
    assert_eq!(s.birth_as_document_date, 0, "{name}");
    s
}

#[test]
fn the_labelled_sets_are_read_within_the_targets() {
    for name in [
        "set.jsonl",
        "hard.jsonl",
        "held-out.jsonl",
        "held-out-2.jsonl",
        "held-out-3.jsonl",
        "held-out-4.jsonl",
        "held-out-5.jsonl",
        "held-out-6.jsonl",
        "held-out-7.jsonl",
        "held-out-8.jsonl",
        "held-out-9.jsonl",
        "held-out-10.jsonl",
        "held-out-11.jsonl",
        "held-out-12.jsonl",
        "held-out-13.jsonl",
        "held-out-14.jsonl",
        "held-out-15.jsonl",
        "held-out-16.jsonl",
        "held-out-17.jsonl",
        "held-out-18.jsonl",
        "held-out-19.jsonl",
        "held-out-20.jsonl",
        "held-out-21.jsonl",
        "held-out-22.jsonl",
        "held-out-23.jsonl",
        "held-out-24.jsonl",
        "held-out-25.jsonl",
        "held-out-26.jsonl",
        "held-out-27.jsonl",
        "held-out-28.jsonl",
        "held-out-29.jsonl",
        "held-out-30.jsonl",
        "held-out-31.jsonl",
        "held-out-32.jsonl",
        "held-out-33.jsonl",
        "held-out-34.jsonl",
        "held-out-35.jsonl",
        "held-out-36.jsonl",
        "held-out-37.jsonl",
        "held-out-38.jsonl",
        "held-out-39.jsonl",
        "held-out-40.jsonl",
        "held-out-41.jsonl",
        "held-out-42.jsonl",
        "held-out-43.jsonl",
        "held-out-44.jsonl",
        "held-out-45.jsonl",
        "held-out-46.jsonl",
        "held-out-49.jsonl",
        "held-out-50.jsonl",
        "held-out-51.jsonl",
        "held-out-52.jsonl",
        "held-out-53.jsonl",
        "held-out-54.jsonl",
        "held-out-55.jsonl",
        "held-out-56.jsonl",
        "held-out-57.jsonl",
        "held-out-58.jsonl",
        "held-out-59.jsonl",
        "held-out-60.jsonl",
        "held-out-61.jsonl",
        "held-out-62.jsonl",
        "held-out-63.jsonl",
        "held-out-64.jsonl",
        "held-out-65.jsonl",
        "held-out-66.jsonl",
        "held-out-67.jsonl",
        "held-out-68.jsonl",
        "held-out-69.jsonl",
        "held-out-70.jsonl",
        "held-out-71.jsonl",
        "held-out-72.jsonl",
        "held-out-73.jsonl",
        "held-out-74.jsonl",
        "held-out-75.jsonl",
        "held-out-76.jsonl",
        "held-out-77.jsonl",
        "held-out-78.jsonl",
        "held-out-79.jsonl",
        "held-out-80.jsonl",
        "held-out-81.jsonl",
    ] {
        let s = scored(name);
        assert!(s.documents >= 15, "{name}: {} documents", s.documents);
        assert!(
            s.type_accuracy() >= 0.90,
            "{name}: type accuracy {:.3}",
            s.type_accuracy()
        );
        assert!(
            s.date_accuracy() >= 0.95,
            "{name}: document date {:.3}",
            s.date_accuracy()
        );
    }
    assert!(scored("set.jsonl").documents >= 150);
}
