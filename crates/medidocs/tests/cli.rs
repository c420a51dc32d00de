//! The `medidocs` command as a user meets it: run, show, status, and their JSON.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn samples() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../samples")
}

fn medidocs(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medidocs"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("medidocs runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn run_show_status_over_the_samples() {
    let data = tempfile::tempdir().unwrap();
    let docs = samples().join("documents");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(samples().join("expected/manifest.json")).unwrap(),
    )
    .unwrap();
    let out = medidocs(
        data.path(),
        &["run", docs.to_str().unwrap(), "--json", "--patient", "p-42"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), manifest.as_object().unwrap().len());
    let mut ready_id = None;
    for l in &lines {
        let file = Path::new(l["file"].as_str().unwrap())
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let exp = &manifest[&file];
        assert_eq!(l["status"], exp["status"], "{file}");
        for field in [
            "id",
            "mime",
            "pages",
            "text_chars",
            "text_source",
            "renditions",
            "sha256",
        ] {
            assert!(l.get(field).is_some(), "{file}: no {field}");
        }
        assert_eq!(l["patient_id"], "p-42");
        if exp["status"] == "REJECTED" {
            assert_eq!(l["reason"]["code"], exp["reason"], "{file}");
            assert!(!l["reason"]["message"].as_str().unwrap().is_empty());
        } else {
            assert_eq!(l["mime"], exp["mime"], "{file}");
            assert_eq!(l["pages"], exp["pages"], "{file}");
            assert_eq!(l["text_source"], exp["text_source"], "{file}");
            assert_eq!(l["sha256"].as_str().unwrap().len(), 64);
            for r in l["renditions"].as_array().unwrap() {
                for f in ["name", "page", "mime", "width", "height", "bytes", "key"] {
                    assert!(r.get(f).is_some(), "{file}: rendition without {f}");
                }
            }
            if file == "referral-letter-g4.tif" {
                ready_id = Some(l["id"].as_str().unwrap().to_string());
            }
        }
    }

    // show --json: the run fields plus the whole text and each page's own text.
    let id = ready_id.expect("the referral letter is READY");
    let shown = medidocs(data.path(), &["show", &id, "--json"]);
    assert!(shown.status.success());
    let v: Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["status"], "READY");
    let pages = v["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[1]["page"], 2);
    let joined: Vec<&str> = pages.iter().map(|p| p["text"].as_str().unwrap()).collect();
    assert_eq!(v["text"].as_str().unwrap(), joined.join("\u{c}"));
    assert!(v["text"].as_str().unwrap().contains("Dermatology"));

    // show (for people): page separators and the text.
    let human = stdout(&medidocs(data.path(), &["show", &id]));
    assert!(
        human.contains("──── page 1") && human.contains("──── page 2"),
        "{human}"
    );
    assert!(human.contains("melanoma"), "{human}");

    // status --json: counts by status.
    let st: Value =
        serde_json::from_str(&stdout(&medidocs(data.path(), &["status", "--json"]))).unwrap();
    let expected_count = |status: &str| {
        manifest
            .as_object()
            .unwrap()
            .values()
            .filter(|e| e["status"] == status)
            .count()
    };
    assert_eq!(st["counts"]["READY"], expected_count("READY"));
    assert_eq!(st["counts"]["REJECTED"], expected_count("REJECTED"));
    assert_eq!(st["total"], lines.len());

    // A second run does nothing again and says so.
    let again = medidocs(
        data.path(),
        &["run", docs.to_str().unwrap(), "--patient", "p-42"],
    );
    assert!(again.status.success());
    let text = stdout(&again);
    let said = format!("{} already processed earlier", lines.len());
    assert!(text.contains(&said), "{text}");
    let st2: Value =
        serde_json::from_str(&stdout(&medidocs(data.path(), &["status", "--json"]))).unwrap();
    assert_eq!(st2, st);
}

#[test]
fn hostile_file_names_never_reach_keys_or_escape_the_data_dir() {
    let data = tempfile::tempdir().unwrap();
    let inbox = tempfile::tempdir().unwrap();
    let card = std::fs::read(samples().join("documents/insurance-card.webp")).unwrap();
    // A deep path of over 1,000 characters, a right-to-left override, dots, spaces,
    // quotes and a newline in names.
    let mut deep = inbox.path().to_path_buf();
    for i in 0..8 {
        deep = deep.join(format!("{i}-{}", "x".repeat(130)));
    }
    std::fs::create_dir_all(&deep).unwrap();
    let names = [
        deep.join("jane-doe-hiv-result.webp"),
        inbox.path().join("\u{202e}gpj.exe.webp"),
        inbox.path().join("..webp"),
        inbox.path().join("a b 'c' \"d\"\nline.webp"),
    ];
    for (i, n) in names.iter().enumerate() {
        let mut bytes = card.clone();
        bytes.extend(std::iter::repeat_n(0u8, i)); // distinct content, still a valid WebP
        std::fs::write(n, bytes).unwrap();
    }
    assert!(
        deep.join("jane-doe-hiv-result.webp")
            .to_str()
            .unwrap()
            .len()
            > 1000
    );
    // Hidden files inside a folder are skipped (`.DS_Store` and the like); named
    // explicitly, they are taken.
    let hidden = names[2].to_str().unwrap();
    let out = medidocs(
        data.path(),
        &["run", inbox.path().to_str().unwrap(), hidden, "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_lines(&out).len(), names.len());
    // Every stored object sits under the data dir with a key made of system ids only.
    let mut keys = Vec::new();
    let mut stack = vec![data.path().join("objects")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                keys.push(
                    p.strip_prefix(data.path())
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .to_string(),
                );
            }
        }
    }
    assert!(!keys.is_empty());
    for k in &keys {
        assert!(
            k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b)),
            "unsafe key {k:?}"
        );
        for word in ["jane", "hiv", "exe", "line", "xxxx"] {
            assert!(!k.contains(word), "a file name leaked into key {k}");
        }
    }
    // Nothing in the metadata either.
    let db = std::fs::read(data.path().join("metadata.sqlite3")).unwrap();
    assert!(
        !db.windows(4).any(|w| w == b"jane"),
        "a file name leaked into the metadata"
    );
}

#[test]
fn bad_arguments_get_clear_errors() {
    let data = tempfile::tempdir().unwrap();
    let docs = samples().join("documents");
    let out = medidocs(
        data.path(),
        &["run", docs.to_str().unwrap(), "--patient", "../etc"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--patient"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = medidocs(data.path(), &["show", "not-an-id"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a document id"));
    let out = medidocs(data.path(), &["show", "abcdef0123456789abcdef01"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no document"));
    let out = medidocs(data.path(), &["run", "/definitely/not/here"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/definitely/not/here"));
}

#[test]
fn states_validate_reports_each_problem_with_state_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.asl.json");
    std::fs::write(
        &good,
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}"#,
    )
    .unwrap();
    let out = medidocs(dir.path(), &["states", "validate", good.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("valid"));
    let bad = dir.path().join("bad.asl.json");
    std::fs::write(
        &bad,
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"C":{"Type":"Succeed"}}}"#,
    )
    .unwrap();
    let out = medidocs(dir.path(), &["states", "validate", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("state 'A', Next: 'B' is not a state"), "{err}");
    assert!(err.contains("state 'C', (name): unreachable"), "{err}");
}

/// Every example in `examples/states` (from the States Language specification, each case
/// citing its section) run as a user would: `medidocs states run DEF --input @FILE --task
/// RESOURCE=COMMAND`; stdout must be the documented output, or stderr the documented error.
#[test]
fn states_run_prints_the_documented_outputs_of_the_specification_examples() {
    let dir = tempfile::tempdir().unwrap();
    let examples = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../examples/states");
    let mut ran = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".case.json"))
        else {
            continue;
        };
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(
            case["source"]
                .as_str()
                .unwrap()
                .starts_with("https://states-language.net/spec.html#"),
            "{name}: cite the section"
        );
        let input = dir.path().join(format!("{name}.input.json"));
        std::fs::write(&input, case["input"].to_string()).unwrap();
        let def = examples.join(format!("{name}.asl.json"));
        let mut args = vec![
            "states".to_string(),
            "run".into(),
            def.to_str().unwrap().into(),
            "--input".into(),
            format!("@{}", input.display()),
        ];
        for (resource, command) in case["tasks"].as_object().into_iter().flatten() {
            args.push("--task".into());
            args.push(format!("{resource}={}", command.as_str().unwrap()));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = medidocs(dir.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        match case.get("error") {
            None => {
                assert!(out.status.success(), "{name}: {err}");
                let got: Value = serde_json::from_str(&stdout(&out)).unwrap();
                assert_eq!(got, case["output"], "{name}");
            }
            Some(error) => {
                assert!(!out.status.success(), "{name} should fail");
                assert!(
                    err.contains(&format!("Error: {}", error.as_str().unwrap())),
                    "{name}: {err}"
                );
                if let Some(cause) = case["cause"].as_str() {
                    assert!(err.contains(&format!("Cause: {cause}")), "{name}: {err}");
                }
            }
        }
        ran += 1;
    }
    assert!(ran >= 10, "only {ran} examples");
}

/// `--buckets DIR` stands for S3: a Distributed Map reads a CSV from DIR/BUCKET/KEY and
/// exports its results there; `--history` prints the events; a task command's failure
/// without a Lambda-style error is States.TaskFailed with its stderr.
#[test]
fn states_run_with_buckets_history_and_failing_commands() {
    let dir = tempfile::tempdir().unwrap();
    let buckets = dir.path().join("s3");
    std::fs::create_dir_all(buckets.join("in")).unwrap();
    std::fs::write(buckets.join("in/list.csv"), "name,pages\na,2\nb,5\n").unwrap();
    let def = dir.path().join("dmap.asl.json");
    std::fs::write(&def, r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,
        "ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"},"Parameters":{"Bucket":"in","Key":"list.csv"}},
        "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:eu-west-1:123456789012:function:count","End":true}}},
        "ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"out","Prefix":"runs"}}}}}"#).unwrap();
    let out = medidocs(
        dir.path(),
        &[
            "states",
            "run",
            def.to_str().unwrap(),
            "--buckets",
            buckets.to_str().unwrap(),
            "--task",
            "arn:aws:lambda:eu-west-1:123456789012:function:count=python3 -c 'import json,sys; print(int(json.load(sys.stdin)[\"pages\"]) * 10)'",
            "--history",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("\"type\":\"MapIterationStarted\""), "{err}");
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let key = v["ResultWriterDetails"]["Key"].as_str().unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(buckets.join("out").join(key)).unwrap()).unwrap();
    let results_key = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
        .as_str()
        .unwrap();
    let results: Value =
        serde_json::from_slice(&std::fs::read(buckets.join("out").join(results_key)).unwrap())
            .unwrap();
    let outputs: Vec<&str> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Output"].as_str().unwrap())
        .collect();
    assert_eq!(outputs, ["20", "50"]);

    let fails = dir.path().join("fails.asl.json");
    std::fs::write(
        &fails,
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:eu-west-1:123456789012:function:broken","End":true}}}"#,
    )
    .unwrap();
    let out = medidocs(
        dir.path(),
        &[
            "states",
            "run",
            fails.to_str().unwrap(),
            "--task",
            "arn:aws:lambda:eu-west-1:123456789012:function:broken=echo 'scanner offline' >&2; exit 3",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("Error: States.TaskFailed") && err.contains("Cause: scanner offline"),
        "{err}"
    );
}

/// `medidocs textract normalize` over a saved two-page job (tests/corpus/textract).
#[test]
fn textract_normalize_prints_the_ocr_model_or_the_text() {
    let corpus = std::env::var_os("MEDIDOCS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR")
                    .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../tests/corpus")
        })
        .join("textract/multi-page-forms-samples-2-page.json");
    let dir = tempfile::tempdir().unwrap();
    let f = corpus.to_str().unwrap();
    let out = medidocs(dir.path(), &["textract", "normalize", f]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["pages"].as_array().unwrap().len(), 2);
    assert_eq!(doc["pages"][0]["lines"][0]["text"], "Patient Information");
    assert!(
        doc["pages"][0]["lines"][0]["words"][0]["bbox"]["left"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let out = medidocs(dir.path(), &["textract", "normalize", "--text", f]);
    let text = stdout(&out);
    assert_eq!(
        text.matches('\u{000C}').count(),
        1,
        "two pages: one separator"
    );
    assert!(text.starts_with("Patient Information\n"));
    // Not a Textract response: a clear error, no panic.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "[1, 2]").unwrap();
    let out = medidocs(
        dir.path(),
        &["textract", "normalize", bad.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a Textract response"));
}

#[test]
fn watchdog_and_retry_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = samples().join("documents/pharmacy-fax-g3.tif");
    let run = medidocs(&data, &["run", file.to_str().unwrap(), "--json"]);
    let id = json_lines(&run)[0]["id"].as_str().unwrap().to_string();
    // Nothing is stuck: the watchdog stops nothing.
    let w = medidocs(&data, &["watchdog", "--deadline-minutes", "1"]);
    assert!(w.status.success());
    assert!(
        stdout(&w).starts_with("0 documents stopped"),
        "{}",
        stdout(&w)
    );
    // A READY document is never redone.
    let r = medidocs(&data, &["retry", &id]);
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("is READY: only FAILED documents are retried"),
        "{err}"
    );
    let r = medidocs(&data, &["retry", "0123456789abcdef01234567"]);
    assert!(!r.status.success());
}

#[test]
fn renditions_writes_each_pages_three_files_and_times_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let docs = samples().join("documents");
    let photo = docs.join("prescription-photo.jpg");
    let pdf = docs.join("discharge-summary.pdf");
    let broken = docs.join("wound-photo-truncated.jpg");
    let o = medidocs(
        dir.path(),
        &[
            "renditions",
            "--json",
            "--out",
            out.to_str().unwrap(),
            photo.to_str().unwrap(),
            broken.to_str().unwrap(),
            pdf.to_str().unwrap(),
        ],
    );
    // The damaged photo fails on its own, named; the other files are still done.
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("wound-photo-truncated.jpg"), "{err}");
    let lines = json_lines(&o);
    let pages: Vec<(String, u64)> = lines
        .iter()
        .map(|l| {
            assert!(l["ms"].as_f64().unwrap() > 0.0);
            assert!(l["megapixels"].as_f64().unwrap() > 0.1);
            (
                l["file"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                l["page"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(pages[0], ("prescription-photo.jpg".into(), 1));
    assert!(pages.len() >= 3, "{pages:?}");
    assert!(pages[1..].iter().all(|(f, _)| f == "discharge-summary.pdf"));
    // The photo is stored sideways (EXIF 6): its renditions are upright.
    let size = |name: &str| image::image_dimensions(out.join(name)).unwrap();
    assert_eq!(size("prescription-photo-p1-preview.jpg"), (1600, 1067));
    assert_eq!(size("prescription-photo-p1-thumb.webp"), (256, 171));
    assert_eq!(size("prescription-photo-p1-ocr.png"), (1800, 1200));
    for (_, page) in &pages[1..] {
        for kind in ["thumb.webp", "preview.jpg", "ocr.png"] {
            assert!(
                out.join(format!("discharge-summary-p{page}-{kind}"))
                    .is_file()
            );
        }
    }
    // Nothing but the output folder: no data dir was made or written.
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["out"]);
}

/// Every file and folder under `dir` whose permissions let group or others in.
fn shared_entries(dir: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let m = std::fs::symlink_metadata(&d).unwrap();
        if m.mode() & 0o077 != 0 {
            out.push(format!("{} {:o}", d.display(), m.mode() & 0o777));
        }
        if m.is_dir() {
            for e in std::fs::read_dir(&d).unwrap() {
                stack.push(e.unwrap().path());
            }
        }
    }
    out
}

#[test]
fn nothing_under_the_data_dir_is_readable_by_others_after_any_command() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // A data dir someone made by hand, open to everyone, with a database an older version
    // left readable.
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let docs = samples().join("documents");
    let one = tmp.path().join("one");
    std::fs::create_dir(&one).unwrap();
    std::fs::copy(
        docs.join("lab-report-scan.png"),
        one.join("lab-report-scan.png"),
    )
    .unwrap();
    let report = tmp.path().join("report.csv");
    let d = data.to_str().unwrap();
    let steps: Vec<Vec<String>> = vec![
        vec!["status".into()],
        vec![
            "run".into(),
            docs.to_str().unwrap().into(),
            "--patient".into(),
            "p-1".into(),
        ],
        vec!["status".into()],
        vec![
            "token".into(),
            "--role".into(),
            "doctor".into(),
            "--sub".into(),
            "d-1".into(),
        ],
        vec![
            "care-team".into(),
            "add".into(),
            "--patient".into(),
            "p-1".into(),
            "--doctor".into(),
            "d-1".into(),
        ],
        vec!["audit".into()],
        vec![
            "import".into(),
            one.to_str().unwrap().into(),
            "--patient".into(),
            "p-2".into(),
            "--quiet".into(),
            "--report".into(),
            report.to_str().unwrap().into(),
        ],
        vec!["watchdog".into()],
        vec!["reconcile".into()],
    ];
    for (i, args) in steps.iter().enumerate() {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = medidocs(&data, &args);
        assert!(
            out.status.success(),
            "medidocs {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if i == 1 {
            // Loosen the database as an older version left it: the next command tightens it.
            let db = data.join("metadata.sqlite3");
            std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
            continue;
        }
        assert_eq!(
            shared_entries(&data),
            Vec::<String>::new(),
            "after medidocs {args:?} in {d}"
        );
    }
    assert!(data.join("metadata.sqlite3-wal").exists() || data.join("metadata.sqlite3").exists());
}

#[test]
fn the_same_file_for_two_patients_gives_two_documents_with_no_link() {
    let data = tempfile::tempdir().unwrap();
    let file = samples().join("documents/lab-report-scan.png");
    let run = |patient: &str| -> Value {
        let out = medidocs(
            data.path(),
            &[
                "run",
                file.to_str().unwrap(),
                "--json",
                "--patient",
                patient,
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_lines(&out).remove(0)
    };
    let (a, b) = (run("p-1"), run("p-2"));
    assert_eq!(
        (a["status"].as_str(), b["status"].as_str()),
        (Some("READY"), Some("READY"))
    );
    let (ia, ib) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    assert_ne!(ia, ib);
    let show = |id: &str| -> Value {
        let out = medidocs(data.path(), &["show", id, "--json"]);
        assert!(out.status.success());
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    let (sa, sb) = (show(ia), show(ib));
    assert!(sb.get("duplicate_of").is_none_or(Value::is_null), "{sb}");
    assert!(
        !sb.to_string().contains(ia),
        "p-2's record names p-1's document: {sb}"
    );
    assert!(!sa.to_string().contains(ib));
    assert_eq!(sa["text"], sb["text"]);
    // Within one patient the same bytes are still one piece of work: linked.
    let copy = data.path().join("again.png");
    std::fs::copy(&file, &copy).unwrap();
    let out = medidocs(
        data.path(),
        &["run", copy.to_str().unwrap(), "--json", "--patient", "p-1"],
    );
    let again = json_lines(&out).remove(0);
    assert!(
        again["id"] == a["id"] || again["duplicate_of"] == a["id"],
        "{again}"
    );
}

#[test]
fn storage_measures_what_each_page_keeps_and_touches_no_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let files = [
        samples().join("documents/referral-letter-g4.tif"),
        samples().join("documents/prescription-photo.jpg"),
    ];
    let mut args = vec!["storage", "--json"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let out = medidocs(&data, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["pages"], 3);
    let p = &report["per_page"];
    let get = |k: &str| p[k].as_f64().unwrap_or_else(|| panic!("{k} missing: {p}"));
    // The originals' bytes, spread over their pages.
    let originals: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    assert!(
        (get("original") - originals as f64 / 3.0).abs() <= 1.0,
        "{p}"
    );
    for kind in [
        "thumb",
        "preview",
        "pdf",
        "text",
        "ocr_model",
        "page_results",
        "metadata_item",
        "ocr_image",
    ] {
        assert!(get(kind) > 0.0, "{kind}: {p}");
    }
    // The record's objects, split at 128 KiB, add up to the kinds kept; the OCR image
    // (an intermediate) is not among them.
    let kept: f64 = [
        "original",
        "thumb",
        "preview",
        "pdf",
        "text",
        "ocr_model",
        "page_results",
    ]
    .iter()
    .map(|k| get(k))
    .sum();
    let split = get("bytes_at_least_128k") + get("bytes_under_128k");
    assert!((kept - split).abs() <= 3.0, "{kept} vs {split}");
    assert!(get("ocr_image") > get("preview"));
    assert!(!data.exists(), "storage wrote into the data dir");
}

#[test]
fn a_patients_date_convention_reads_their_numeric_dates_and_reads_them_again_when_it_changes() {
    let data = tempfile::tempdir().unwrap();
    let letter = data.path().join("letter.pdf");
    std::fs::write(
        &letter,
        medidocs_testkit::pdf::text_pdf(&[
            "Riverside Medical Practice",
            "Date of visit: 03/04/2026",
            "Dear Dr Example,",
            "I saw Ms Sample in clinic today. Her blood pressure is well controlled.",
            "Yours sincerely,",
        ]),
    )
    .unwrap();
    let run = |patient: &str, env: Option<&str>| -> String {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_medidocs"));
        cmd.arg("--data-dir").arg(data.path()).args([
            "run",
            letter.to_str().unwrap(),
            "--json",
            "--patient",
            patient,
        ]);
        if let Some(r) = env {
            cmd.env("MEDIDOCS_DATE_REGION", r);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = &json_lines(&out)[0];
        assert_eq!(v["status"], "READY", "{v}");
        v["id"].as_str().unwrap().to_string()
    };
    let dated = |id: &str| -> (Value, Value) {
        let v: Value =
            serde_json::from_str(&stdout(&medidocs(data.path(), &["show", id, "--json"]))).unwrap();
        let u = &v["understanding"];
        let visit = u["dates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["text"] == "03/04/2026")
            .unwrap_or_else(|| panic!("{u}"))
            .clone();
        (u["document_date"].clone(), visit["ambiguous"].clone())
    };
    let set = |patient: &str, region: &str| -> Value {
        let out = medidocs(
            data.path(),
            &[
                "patient",
                "--patient",
                patient,
                "--date-region",
                region,
                "--json",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&stdout(&out)).unwrap()
    };

    // Ireland's convention by default: 3 April.
    let id = run("p-7", None);
    assert_eq!(dated(&id), (Value::from("2026-04-03"), Value::from(false)));
    // The patient is in the US: their letter is read again, 4 March.
    let r = set("p-7", "us");
    assert_eq!(
        (
            r["reread"]["read"].as_u64(),
            r["reread"]["changed"].as_u64()
        ),
        (Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(r["date_region"], "us");
    assert_eq!(dated(&id), (Value::from("2026-03-04"), Value::from(false)));
    // In Canada nothing on the letter decides: day first, flagged.
    set("p-7", "ca");
    assert_eq!(dated(&id), (Value::from("2026-04-03"), Value::from(true)));
    // Back to the default; set again, nothing changes.
    set("p-7", "default");
    assert_eq!(dated(&id), (Value::from("2026-04-03"), Value::from(false)));
    let again = set("p-7", "default");
    assert_eq!(again["reread"]["changed"], 0, "{again}");
    assert!(again["date_region"].is_null());
    let shown = stdout(&medidocs(data.path(), &["patient", "--patient", "p-7"]));
    assert!(
        shown.contains("Ireland: day first") && shown.contains("(the default)"),
        "{shown}"
    );

    // A patient set before their documents come in, and a data dir whose default is the US.
    set("p-8", "us");
    assert_eq!(dated(&run("p-8", None)).0, "2026-03-04");
    assert_eq!(dated(&run("p-9", Some("us"))).0, "2026-03-04");
    // What is wrong is named.
    let bad = medidocs(
        data.path(),
        &["patient", "--patient", "p-7", "--date-region", "fr"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("use ie, uk, us, ca or default"));
}

#[test]
fn migrate_gives_documents_from_before_searchable_pdfs_their_own() {
    let data = tempfile::tempdir().unwrap();
    let scan = samples().join("documents/lab-report-scan.png");
    let out = medidocs(
        data.path(),
        &["run", scan.to_str().unwrap(), "--json", "--patient", "p-7"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = json_lines(&out)[0]["id"].as_str().unwrap().to_string();

    // The document as a version before searchable PDFs left it: READY, no PDF.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = data.path().join("metadata.sqlite3");
    let pdf_key = medidocs_core::keys::document_pdf(&id);
    rt.block_on(async {
        use medidocs_core::ports::MetadataStore;
        let store = medidocs_local::SqliteMetadataStore::open(&db).unwrap();
        let mut doc = store.get_document(&id).await.unwrap();
        assert!(doc.pdf.is_some());
        doc.pdf = None;
        doc.version += 1;
        store.update_document(&doc).await.unwrap();
    });
    let file = data.path().join("objects").join(&pdf_key);
    std::fs::remove_file(&file).unwrap();
    let text = String::from_utf8(
        std::fs::read(
            data.path()
                .join("objects")
                .join(medidocs_core::keys::text(&id)),
        )
        .unwrap(),
    )
    .unwrap();

    let out = medidocs(data.path(), &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).contains("1 documents given a searchable PDF"),
        "{}",
        stdout(&out)
    );
    let record = rt.block_on(async {
        use medidocs_core::ports::MetadataStore;
        medidocs_local::SqliteMetadataStore::open(&db)
            .unwrap()
            .get_document(&id)
            .await
            .unwrap()
    });
    let pdf = record.pdf.expect("a PDF on the record");
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(pdf.bytes, bytes.len() as u64);
    assert_eq!(pdf.sha256, medidocs_core::keys::sha256_hex(&bytes));
    // Its text layer is the document's words.
    let read = Command::new("pdftotext")
        .args([file.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    let found = String::from_utf8_lossy(&read.stdout).to_lowercase();
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| w.to_lowercase())
        .filter(|w| w.chars().count() >= 4)
        .collect();
    let recovered = words.iter().filter(|w| found.contains(w.as_str())).count();
    assert!(
        words.len() >= 10 && recovered * 100 >= words.len() * 98,
        "{recovered} of {} words",
        words.len()
    );

    // Nothing left to do the second time.
    let again = medidocs(data.path(), &["migrate"]);
    assert!(
        stdout(&again).contains("nothing to migrate"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn a_pdf_page_read_from_its_own_text_is_drawn_for_its_preview_alone_and_a_scanned_one_for_ocr() {
    let data = tempfile::tempdir().unwrap();
    let docs = samples().join("documents");
    let renditions = |file: &str| -> Vec<Value> {
        let out = medidocs(
            data.path(),
            &[
                "run",
                docs.join(file).to_str().unwrap(),
                "--json",
                "--patient",
                "p-1",
            ],
        );
        assert!(out.status.success(), "{}", stdout(&out));
        let doc = json_lines(&out).remove(0);
        assert_eq!(doc["status"], "READY", "{doc}");
        let id = doc["id"].as_str().unwrap().to_string();
        (1..=doc["pages"].as_u64().unwrap() as u32)
            .map(|page| {
                let key = medidocs_core::keys::page_renditions(&id, page);
                serde_json::from_slice(
                    &std::fs::read(data.path().join("objects").join(key)).unwrap(),
                )
                .unwrap()
            })
            .collect()
    };
    let names = |page: &Value| -> Vec<String> {
        page["renditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    // Born digital: its text is its own, so no OCR image; the preview as large as ever.
    let digital = renditions("discharge-summary.pdf");
    assert_eq!(digital.len(), 3);
    for page in &digital {
        assert_eq!(names(page), ["thumb", "preview"], "{page}");
        let preview = &page["renditions"][1];
        let longest = preview["width"].as_u64().max(preview["height"].as_u64());
        assert_eq!(longest, Some(1600), "{page}");
        // A4, in points, as the page states it (to a pixel's rounding).
        let size = page["size_pt"].as_array().unwrap();
        let (w, h) = (size[0].as_f64().unwrap(), size[1].as_f64().unwrap());
        assert!(
            (w - 595.28).abs() < 1.0 && (h - 841.89).abs() < 1.0,
            "{page}"
        );
    }
    // A scan in a PDF is read by OCR: its OCR image is made.
    let scanned = renditions("fax-gateway-scan.pdf");
    assert!(
        scanned
            .iter()
            .all(|p| names(p) == ["thumb", "preview", "ocr"]),
        "{scanned:?}"
    );
}
