//! Search as its users meet it: documents run through the real pipeline (Tesseract, the
//! PDF text layer), `medidocs serve` on a socket, the index following the records, and
//! `medidocs reindex` making it again from them.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples/documents")
}

fn medidocs(data: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_medidocs"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("medidocs runs");
    assert!(
        out.status.success(),
        "medidocs {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn run(data: &Path, file: &str, patient: &str) -> String {
    let out = medidocs(
        data,
        &[
            "run",
            samples().join(file).to_str().unwrap(),
            "--json",
            "--patient",
            patient,
        ],
    );
    let v: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["status"], "READY", "{v}");
    v["id"].as_str().unwrap().to_string()
}

struct Serve {
    child: Child,
    base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_medidocs"))
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut first).unwrap();
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .trim_end_matches('/')
        .to_string();
    Serve { child, base }
}

async fn get(base: &str, path: &str, token: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn ids(v: &Value) -> Vec<String> {
    v["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {v}"))
        .iter()
        .map(|r| r["document_id"].as_str().unwrap().to_string())
        .collect()
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The page and box of the first word of a document that is `word`, from the API's pages.
async fn word_on_page(base: &str, token: &str, doc: &str, word: &str) -> (u64, Value) {
    let (status, pages) = get(base, &format!("/v1/documents/{doc}/pages"), token).await;
    assert_eq!(status, 200, "{pages}");
    for p in pages["pages"].as_array().unwrap() {
        for l in p["lines"].as_array().unwrap() {
            for w in l["words"].as_array().unwrap() {
                if w["text"]
                    .as_str()
                    .unwrap()
                    .trim_matches(|c: char| !c.is_alphanumeric())
                    == word
                {
                    return (p["page"].as_u64().unwrap(), w["bbox"].clone());
                }
            }
        }
    }
    panic!("{word} is not on any page of {doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_pages_through_ocr_errors_phrases_prefixes_filters_and_care_teams() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let summary = run(d, "discharge-summary.pdf", "p-1");
    let medication = run(d, "medication-box.heic", "p-1");
    let other = run(d, "prescription-photo.jpg", "p-2");
    let third = run(d, "discharge-summary.pdf", "p-3");
    for p in ["p-1", "p-3"] {
        medidocs(d, &["care-team", "add", "--doctor", "d-1", "--patient", p]);
    }
    let server = serve(d);
    let base = &server.base;
    let doctor = medidocs(d, &["token", "--role", "doctor", "--sub", "d-1"])
        .trim()
        .to_string();
    let search = |q: &str| format!("/v1/patients/p-1/search?q={}", enc(q));

    // One OCR error: the page says Ticagrelor; the query (or a scan) reads ticagre1or.
    let (status, v) = get(base, &search("ticagre1or"), &doctor).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(ids(&v), [summary.as_str()]);
    let (page, bbox) = word_on_page(base, &doctor, &summary, "Ticagrelor").await;
    let hit = &v["results"][0]["hits"][0];
    assert_eq!(hit["page"], page);
    assert!(
        hit["text"].as_str().unwrap().contains("Ticagrelor"),
        "{hit}"
    );
    assert_eq!(hit["boxes"][0], bbox, "the hit's box is the word's box");
    let [start, end] = [0, 1].map(|i| hit["highlights"][0][i].as_u64().unwrap() as usize);
    let text: Vec<char> = hit["text"].as_str().unwrap().chars().collect();
    assert_eq!(text[start..end].iter().collect::<String>(), "Ticagrelor");

    // A phrase, in order only.
    let (_, v) = get(base, &search("\"drug eluting stent\""), &doctor).await;
    assert_eq!(ids(&v), [summary.as_str()]);
    assert_eq!(
        v["results"][0]["hits"][0]["highlights"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let (_, v) = get(base, &search("\"stent eluting drug\""), &doctor).await;
    assert_eq!(v["total"], 0, "{v}");

    // A prefix.
    let (_, v) = get(base, &search("atorvast"), &doctor).await;
    assert_eq!(ids(&v), [summary.as_str()]);

    // Filters: the type read from the text, and the document's date.
    let (_, v) = get(
        base,
        &format!("{}&type=discharge_summary", search("aspirin")),
        &doctor,
    )
    .await;
    assert_eq!(ids(&v), [summary.as_str()]);
    let (_, v) = get(
        base,
        &format!("{}&type=lab_report", search("aspirin")),
        &doctor,
    )
    .await;
    assert_eq!(v["total"], 0, "{v}");
    let (_, doc) = get(base, &format!("/v1/documents/{summary}"), &doctor).await;
    let date = doc["document_date"]
        .as_str()
        .unwrap_or_else(|| panic!("{doc}"))
        .to_string();
    let (_, v) = get(
        base,
        &format!("{}&from={date}&to={date}", search("aspirin")),
        &doctor,
    )
    .await;
    assert_eq!(ids(&v), [summary.as_str()]);
    let (_, v) = get(
        base,
        &format!("{}&to=2000-01-01", search("aspirin")),
        &doctor,
    )
    .await;
    assert_eq!(v["total"], 0, "{v}");

    // Across the doctor's care teams: p-1 and p-3, never p-2.
    let (status, v) = get(
        base,
        &format!("/v1/search?q={}", enc("ticagrelor")),
        &doctor,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let mut found = ids(&v);
    found.sort();
    let mut want = vec![summary.clone(), third.clone()];
    want.sort();
    assert_eq!(found, want);
    let patients: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["patient_id"].as_str().unwrap())
        .collect();
    assert!(!patients.contains(&"p-2"), "{patients:?}");
    let p2_word = a_word(base, &medidocs_token(d, "patient", "p-2"), &other).await;
    let (_, v) = get(base, &format!("/v1/search?q={}", enc(&p2_word)), &doctor).await;
    assert!(
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["patient_id"] != "p-2"),
        "{v}"
    );
    // The patient p-2 finds it in their own.
    let (_, v) = get(
        base,
        &format!("/v1/search?q={}", enc(&p2_word)),
        &medidocs_token(d, "patient", "p-2"),
    )
    .await;
    assert_eq!(ids(&v), [other.as_str()]);
    // Another doctor, on no care team, finds nothing; a patient's search of another
    // patient is refused.
    let stranger = medidocs_token(d, "doctor", "d-9");
    let (_, v) = get(
        base,
        &format!("/v1/search?q={}", enc("ticagrelor")),
        &stranger,
    )
    .await;
    assert_eq!(v["total"], 0, "{v}");
    let (status, _) = get(
        base,
        &search("ticagrelor"),
        &medidocs_token(d, "patient", "p-2"),
    )
    .await;
    assert_eq!(status, 403);

    // The index follows a change of the record: filed by staff as a lab report, the
    // medication box is found under that type.
    let staff = medidocs_token(d, "staff", "s-1");
    let resp = reqwest::Client::new()
        .put(format!("{base}/v1/documents/{medication}/type"))
        .bearer_auth(&staff)
        .json(&serde_json::json!({"document_type": "lab_report"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let word = a_word(base, &doctor, &medication).await;
    let (_, v) = get(base, &format!("{}&type=lab_report", search(&word)), &doctor).await;
    assert_eq!(ids(&v), [medication.as_str()], "{word}: {v}");

    // Every search is on record, for each patient shown.
    let trail: Vec<Value> = medidocs(d, &["audit", "--json", "--limit", "1000"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for p in ["p-1", "p-3"] {
        assert!(
            trail
                .iter()
                .any(|r| r["action"] == "search" && r["actor"] == "d-1" && r["patient_id"] == p),
            "no search of {p} on record"
        );
    }

    // Reindex from the records: the same answers (the same documents in the same order,
    // the same hits; scores are BM25's, which count documents since replaced until their
    // segments merge, so they are left out).
    let queries = ["ticagre1or", "\"drug eluting stent\"", "atorvast", &word];
    let mut before = Vec::new();
    for q in queries {
        before.push(unscored(
            get(base, &format!("/v1/search?q={}", enc(q)), &doctor)
                .await
                .1,
        ));
    }
    drop(server);
    std::fs::remove_dir_all(d.join("index")).unwrap();
    let out = medidocs(d, &["reindex"]);
    assert!(out.contains("4 READY documents"), "{out}");
    let server = serve(d);
    for (q, want) in queries.iter().zip(&before) {
        let (_, got) = get(&server.base, &format!("/v1/search?q={}", enc(q)), &doctor).await;
        assert_eq!(&unscored(got), want, "{q}");
    }
    // The command line searches the same index.
    let out = medidocs(
        d,
        &[
            "search",
            "ticagrelor",
            "--patient",
            "p-1",
            "--patient",
            "p-3",
        ],
    );
    assert!(out.starts_with("2 document(s) match"), "{out}");
    assert!(out.contains("[Ticagrelor]"), "{out}");
}

/// A word of six letters or more on a document's first page, as the API shows it.
async fn a_word(base: &str, token: &str, doc: &str) -> String {
    let (_, t) = get(base, &format!("/v1/documents/{doc}/pages"), token).await;
    t["pages"][0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["words"].as_array().unwrap().iter())
        .map(|w| w["text"].as_str().unwrap().to_string())
        .find(|w| w.len() >= 6 && w.chars().all(char::is_alphabetic))
        .unwrap_or_else(|| panic!("no word of six letters on {doc}'s first page"))
}

fn unscored(mut v: Value) -> Value {
    for r in v["results"].as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("score");
    }
    v
}

fn medidocs_token(d: &Path, role: &str, sub: &str) -> String {
    medidocs(d, &["token", "--role", role, "--sub", sub])
        .trim()
        .to_string()
}
