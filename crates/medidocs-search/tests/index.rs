//! The index on documents made for it: each way a word is found, phrases, filters, the
//! patients a search may see, ranking, and a rebuild giving the same answers.

use medidocs_core::ocr::BoundingBox;
use medidocs_core::search::{
    Filter, Found, IndexEntry, IndexedLine, IndexedWord, Query, SearchRequest,
};
use medidocs_core::understand::DocumentType;
use medidocs_search::{Change, TextIndex};

fn line(page: u32, row: usize, text: &str) -> IndexedLine {
    let words: Vec<IndexedWord> = text
        .split_whitespace()
        .enumerate()
        .map(|(i, w)| IndexedWord {
            text: w.to_string(),
            bbox: BoundingBox {
                left: 0.05 + 0.1 * i as f32,
                top: 0.05 + 0.03 * row as f32,
                width: 0.08,
                height: 0.02,
            },
        })
        .collect();
    IndexedLine {
        page,
        text: text.to_string(),
        bbox: BoundingBox::union(words.iter().map(|w| w.bbox)),
        words,
    }
}

fn entry(id: &str, patient: &str, kind: &str, day: &str, pages: &[&[&str]]) -> IndexEntry {
    IndexEntry {
        document_id: id.into(),
        patient_id: patient.into(),
        doc_type: Some(kind.into()),
        document_date: Some(day.into()),
        day: day.into(),
        created_at: format!("{day}T09:00:00.000Z"),
        version: 3,
        lines: pages
            .iter()
            .enumerate()
            .flat_map(|(p, lines)| {
                lines
                    .iter()
                    .enumerate()
                    .map(move |(r, l)| line(p as u32 + 1, r, l))
            })
            .collect(),
    }
}

fn corpus() -> Vec<IndexEntry> {
    vec![
        entry(
            "d-letter",
            "p1",
            "clinic_letter",
            "2025-03-14",
            &[
                &["Cardiology clinic letter", "Dear Dr Byrne,"],
                &[
                    "He remains on ticagre1or 90 mg twice daily",
                    "No further chest pain since the stent",
                ],
            ],
        ),
        entry(
            "d-lab",
            "p1",
            "lab_report",
            "2025-06-02",
            &[&[
                "Laboratory report",
                "HbA1c 48 mmol/mol",
                "Specimen collected 02/06/2025",
            ]],
        ),
        entry(
            "d-lab-old",
            "p1",
            "lab_report",
            "2019-11-20",
            &[&["Laboratory report", "HbA1c 61 mmol/mol (high)"]],
        ),
        entry(
            "d-fr",
            "p2",
            "consultation_note",
            "2025-09-09",
            &[&[
                "Consultation du 9 septembre 2025",
                "Patient vu pour des douleurs thoraciques",
                "Les analyses sanguines sont normales",
            ]],
        ),
        entry(
            "d-other-patient",
            "p3",
            "clinic_letter",
            "2025-04-01",
            &[&["Ticagrelor started after chest pain admission"]],
        ),
    ]
}

fn index() -> TextIndex {
    let i = TextIndex::in_memory().unwrap();
    i.apply(
        corpus()
            .into_iter()
            .map(|e| Change::Put(Box::new(e)))
            .collect(),
        false,
    )
    .unwrap();
    i
}

fn search(i: &TextIndex, q: &str, patients: &[&str], filter: Filter) -> Found {
    i.search(&SearchRequest {
        query: Query::parse(q).unwrap(),
        patients: patients.iter().map(|p| p.to_string()).collect(),
        filter,
        limit: 20,
    })
    .unwrap()
}

fn ids(f: &Found) -> Vec<&str> {
    f.matches.iter().map(|m| m.document_id.as_str()).collect()
}

#[test]
fn a_word_misread_by_ocr_is_found_on_its_page_with_its_box() {
    let i = index();
    let f = search(&i, "ticagrelor", &["p1"], Filter::default());
    assert_eq!(ids(&f), ["d-letter"]);
    let hit = &f.matches[0].hits[0];
    assert_eq!(hit.page, 2);
    assert_eq!(hit.text, "He remains on ticagre1or 90 mg twice daily");
    assert_eq!(hit.highlights, [(14, 24)]);
    assert_eq!(hit.boxes.len(), 1);
    assert!((hit.boxes[0].left - 0.35).abs() < 1e-5, "{:?}", hit.boxes);
    // Two errors from the word on the page are too many.
    assert_eq!(
        search(&i, "tucagre11r", &["p1"], Filter::default()).total,
        0
    );
}

#[test]
fn a_phrase_is_its_words_in_order() {
    let i = index();
    let f = search(&i, "\"chest pain\"", &["p1"], Filter::default());
    assert_eq!(ids(&f), ["d-letter"]);
    assert_eq!(f.matches[0].hits[0].page, 2);
    assert_eq!(f.matches[0].hits[0].highlights, [(11, 16), (17, 21)]);
    assert_eq!(
        search(&i, "\"pain chest\"", &["p1"], Filter::default()).total,
        0
    );
}

#[test]
fn a_prefix_finds_the_longer_word() {
    let i = index();
    let f = search(&i, "hba1", &["p1"], Filter::default());
    assert_eq!(f.total, 2);
    let f = search(&i, "cardio*", &["p1"], Filter::default());
    assert_eq!(ids(&f), ["d-letter"]);
    assert_eq!(f.matches[0].hits[0].highlights, [(0, 10)]);
}

#[test]
fn filters_by_type_and_date_narrow_what_is_found() {
    let i = index();
    let lab = Filter {
        doc_type: Some(DocumentType::LabReport),
        ..Filter::default()
    };
    assert_eq!(search(&i, "report", &["p1"], lab.clone()).total, 2);
    let recent = Filter {
        from: Some("2025-01-01".into()),
        to: Some("2025-12-31".into()),
        ..lab
    };
    let f = search(&i, "hba1c", &["p1"], recent);
    assert_eq!(ids(&f), ["d-lab"]);
    assert_eq!(f.matches[0].document_date.as_deref(), Some("2025-06-02"));
    let until = Filter {
        to: Some("2019-11-20".into()),
        ..Filter::default()
    };
    assert_eq!(ids(&search(&i, "hba1c", &["p1"], until)), ["d-lab-old"]);
}

#[test]
fn english_and_french_words_are_found_by_their_stems() {
    let i = index();
    // French plural and adjective forms.
    let f = search(&i, "douleur thoracique analyse", &["p2"], Filter::default());
    assert_eq!(ids(&f), ["d-fr"]);
    assert_eq!(f.matches[0].hits.len(), 2);
    // English: "remain" finds "remains", "stents" finds "stent".
    assert_eq!(
        ids(&search(&i, "remained stents", &["p1"], Filter::default())),
        ["d-letter"]
    );
}

#[test]
fn only_the_patients_asked_for_are_searched() {
    let i = index();
    assert_eq!(
        ids(&search(&i, "ticagrelor", &["p3"], Filter::default())),
        ["d-other-patient"]
    );
    let both = search(&i, "ticagrelor chest", &["p1", "p3"], Filter::default());
    let mut found = ids(&both);
    found.sort();
    assert_eq!(found, ["d-letter", "d-other-patient"]);
    // The exact word ranks above the misread one.
    assert_eq!(both.matches[0].document_id, "d-other-patient");
    assert_eq!(
        search(&i, "ticagrelor", &["p2"], Filter::default()).total,
        0
    );
    assert_eq!(search(&i, "ticagrelor", &[], Filter::default()).total, 0);
}

#[test]
fn every_word_must_be_found() {
    let i = index();
    assert_eq!(
        search(&i, "hba1c stent", &["p1"], Filter::default()).total,
        0
    );
}

#[test]
fn a_put_replaces_a_remove_removes_and_a_rebuild_answers_the_same() {
    let i = index();
    let queries = ["ticagrelor", "\"chest pain\"", "hba1", "report", "analyses"];
    let before: Vec<Found> = queries
        .iter()
        .map(|q| search(&i, q, &["p1", "p2", "p3"], Filter::default()))
        .collect();
    // Replace one, remove another.
    let mut changed = corpus()[1].clone();
    changed.lines = vec![line(1, 0, "Thyroid function normal")];
    changed.version = 4;
    i.apply(
        vec![
            Change::Put(Box::new(changed)),
            Change::Remove("d-fr".into()),
        ],
        false,
    )
    .unwrap();
    assert_eq!(i.len(), 4);
    assert_eq!(search(&i, "hba1c", &["p1"], Filter::default()).total, 1);
    assert_eq!(search(&i, "thyroid", &["p1"], Filter::default()).total, 1);
    assert_eq!(search(&i, "analyses", &["p2"], Filter::default()).total, 0);
    let versions = i.versions().unwrap();
    assert!(versions.contains(&("d-lab".to_string(), 4)), "{versions:?}");
    // A rebuild from the same entries gives the same answers as the first build.
    i.apply(
        corpus()
            .into_iter()
            .map(|e| Change::Put(Box::new(e)))
            .collect(),
        true,
    )
    .unwrap();
    let after: Vec<Found> = queries
        .iter()
        .map(|q| search(&i, q, &["p1", "p2", "p3"], Filter::default()))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn an_index_on_disk_is_read_by_another_opening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let i = TextIndex::open(dir.path()).unwrap();
        i.apply(vec![Change::Put(Box::new(corpus().remove(0)))], false)
            .unwrap();
    }
    let again = TextIndex::open(dir.path()).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        ids(&search(&again, "ticagrelor", &["p1"], Filter::default())),
        ["d-letter"]
    );
}

#[test]
fn an_index_carried_as_one_object_answers_as_it_did_and_takes_more_changes() {
    let before = index();
    // Several commits, so several segments, one removal among them.
    let mut more = corpus();
    let last = more.pop().unwrap();
    before
        .apply(vec![Change::Remove(last.document_id.clone())], false)
        .unwrap();
    before
        .apply(vec![Change::Put(Box::new(last))], false)
        .unwrap();
    let bytes = before.to_bytes().unwrap();
    let after = TextIndex::from_bytes(&bytes).unwrap();
    assert_eq!(after.len(), before.len());
    assert_eq!(after.versions().unwrap(), before.versions().unwrap());
    let all = ["p1", "p2", "p3"];
    for q in [
        "ticagre1or",
        "\"chest pain\"",
        "hba1",
        "tension",
        "ticagrelor",
    ] {
        let (a, b) = (
            search(&before, q, &all, Filter::default()),
            search(&after, q, &all, Filter::default()),
        );
        assert_eq!(a, b, "{q}");
    }
    // It takes changes like any index, and carries them on.
    after
        .apply(vec![Change::Remove("d-letter".into())], false)
        .unwrap();
    let again = TextIndex::from_bytes(&after.to_bytes().unwrap()).unwrap();
    assert_eq!(again.len(), before.len() - 1);
    assert!(!ids(&search(&again, "ticagrelor", &all, Filter::default())).contains(&"d-letter"));
}

#[test]
fn a_damaged_index_object_is_refused_not_trusted() {
    let bytes = index().to_bytes().unwrap();
    // Cut short anywhere, or one byte changed in a file's body: an error, never a panic
    // and never an index that answers differently.
    let step = (bytes.len() / 97).max(1);
    for cut in (0..bytes.len()).step_by(step) {
        assert!(
            TextIndex::from_bytes(&bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let expected = search(
        &index(),
        "ticagrelor",
        &["p1", "p2", "p3"],
        Filter::default(),
    );
    let mut refused = 0;
    for at in (64..bytes.len()).step_by(step) {
        let mut b = bytes.clone();
        b[at] ^= 0x5a;
        match TextIndex::from_bytes(&b) {
            Err(_) => refused += 1,
            Ok(i) => {
                // A change that tantivy's checksums do not cover (meta.json's spacing,
                // say) must still leave an index that answers the same.
                let found = i.search(&SearchRequest {
                    query: Query::parse("ticagrelor").unwrap(),
                    patients: vec!["p1".into(), "p2".into(), "p3".into()],
                    filter: Filter::default(),
                    limit: 20,
                });
                if let Ok(found) = found {
                    assert_eq!(ids(&found), ids(&expected), "byte {at}");
                }
            }
        }
    }
    assert!(refused > 0);
    assert!(TextIndex::from_bytes(b"not an index").is_err());
}

#[test]
fn a_removed_document_leaves_the_object_not_only_its_listing() {
    let i = index();
    let n = corpus().len() as u64;
    assert_eq!((i.len(), i.stored()), (n, n));
    // Removed, and one replaced: tantivy only marks them, their stored lines stay.
    let again = corpus().remove(1);
    i.apply(
        vec![
            Change::Remove("d-letter".into()),
            Change::Put(Box::new(again)),
        ],
        false,
    )
    .unwrap();
    assert_eq!(i.len(), n - 1);
    assert!(
        i.stored() > i.len(),
        "nothing was only marked: the test shows nothing"
    );
    i.compact().unwrap();
    assert_eq!(i.stored(), n - 1);
    let back = TextIndex::from_bytes(&i.to_bytes().unwrap()).unwrap();
    assert_eq!((back.len(), back.stored()), (n - 1, n - 1));
    assert!(
        !ids(&search(
            &back,
            "ticagrelor",
            &["p1", "p2", "p3"],
            Filter::default()
        ))
        .contains(&"d-letter")
    );
}
