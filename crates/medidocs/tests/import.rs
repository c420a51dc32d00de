//! `medidocs import` as clinic staff meet it: killed midway and rerun, every file ends
//! imported exactly once; a manifest's bad lines are reported by line number while the
//! rest imports.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn samples() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../samples/documents")
}

fn medidocs(data: &Path, cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medidocs"))
        .current_dir(cwd)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("medidocs runs")
}

fn report(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records()
        .map(|row| row.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn ready_count(data: &Path, cwd: &Path) -> u64 {
    ready_now(data, cwd).unwrap_or_else(|e| panic!("{e}"))
}

/// READY documents, or why `status` could not say (it runs beside a busy import).
fn ready_now(data: &Path, cwd: &Path) -> Result<u64, String> {
    let out = medidocs(data, cwd, &["status", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "status --json: {e} ({}; stderr {})",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    Ok(v["counts"]["READY"].as_u64().unwrap_or(0))
}

#[test]
fn an_import_killed_midway_resumes_and_imports_every_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let (scans, data) = (dir.path().join("scans"), dir.path().join("data"));
    std::fs::create_dir_all(&scans).unwrap();
    // Twenty different scans: the same page with a different trailer after its end, so
    // each is new content that must be read.
    let page = std::fs::read(samples().join("lab-report-scan.png")).unwrap();
    let files = 20;
    for i in 0..files {
        let mut bytes = page.clone();
        bytes.extend_from_slice(format!("scan {i}").as_bytes());
        std::fs::write(scans.join(format!("scan-{i:02}.png")), bytes).unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_medidocs"))
        .current_dir(dir.path())
        .arg("--data-dir")
        .arg(&data)
        .args([
            "import",
            "scans",
            "--patient",
            "p-7",
            "--concurrency",
            "2",
            "--quiet",
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("import-stderr.txt")).unwrap())
        .spawn()
        .unwrap();
    // Kill it (SIGKILL: no clean-up) once some documents are done and others are not.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        // Whether it was still running before the count: a count taken after it ended
        // would not say it ended early.
        let running = child.try_wait().unwrap().is_none();
        let last = ready_now(&data, dir.path());
        if last.as_ref().is_ok_and(|n| *n >= 3) {
            break;
        }
        assert!(Instant::now() < deadline, "nothing imported in time");
        assert!(
            running,
            "the import ended before it was killed (last status: {last:?}; exit {:?}; stderr {})",
            child.try_wait(),
            std::fs::read_to_string(dir.path().join("import-stderr.txt")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done_before = ready_count(&data, dir.path());
    assert!(
        done_before < files,
        "all {done_before} were done before the kill"
    );

    let out = medidocs(
        &data,
        dir.path(),
        &["import", "scans", "--patient", "p-7", "--quiet"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = report(&dir.path().join("import-report.csv"));
    assert_eq!(rows.len(), files as usize, "{rows:?}");
    let mut paths: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(
        paths.len(),
        files as usize,
        "a file reported twice: {rows:?}"
    );
    let already = rows.iter().filter(|r| r[4] == "ALREADY_IMPORTED").count() as u64;
    let imported = rows.iter().filter(|r| r[4] == "READY").count() as u64;
    // What was finished before the kill is not processed again; the rest is.
    assert!(
        already >= done_before,
        "{already} already imported, {done_before} were done: {rows:?}"
    );
    assert_eq!(already + imported, files, "{rows:?}");
    // Every file is one READY document; none is left in PROCESSING, none is extra.
    let out = medidocs(&data, dir.path(), &["status", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["counts"]["READY"], files, "{v}");
    assert_eq!(v["total"], files, "{v}");

    // A third run does nothing at all.
    let out = medidocs(
        &data,
        dir.path(),
        &["import", "scans", "--patient", "p-7", "--quiet"],
    );
    assert!(out.status.success());
    let rows = report(&dir.path().join("import-report.csv"));
    assert!(rows.iter().all(|r| r[4] == "ALREADY_IMPORTED"), "{rows:?}");
}

#[test]
fn manifest_errors_are_reported_by_line_and_the_rest_imports() {
    let dir = tempfile::tempdir().unwrap();
    let docs = samples();
    let manifest = dir.path().join("manifest.csv");
    let s = |f: &str| docs.join(f).display().to_string();
    std::fs::write(
        &manifest,
        format!(
            "path,patient_id,document_type,colour,note\n\
             {},p-1,insurance,blue,\"scanned at reception, front and back\"\n\
             {},p-1,,\n\
             {},../etc,,\n\
             ,p-2,,\n\
             {},p-2,prescription,\n\
             {},,,\n\
             {},p-3,{},\n\
             {}\0.pdf,p-3,,\n",
            s("insurance-card.webp"),
            s("no-such-scan.pdf"),
            s("medication-box.heic"),
            s("prescription-photo.jpg"),
            s("empty-upload.png"),
            s("discharge-summary.pdf"),
            "t".repeat(65),
            s("discharge-summary"),
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let out = medidocs(
        &data,
        dir.path(),
        &["import", "manifest.csv", "--report", "r.csv", "--quiet"],
    );
    // Lines with errors make the exit status non-zero, after the rest is imported.
    assert!(!out.status.success());
    let rows = report(&dir.path().join("r.csv"));
    let by_line = |l: &str| {
        rows.iter()
            .find(|r| r[0] == l)
            .unwrap_or_else(|| panic!("line {l}: {rows:?}"))
    };
    assert_eq!(by_line("1")[4], "ERROR");
    assert!(
        by_line("1")[5].contains("unknown column \"colour\""),
        "{rows:?}"
    );
    assert_eq!(by_line("2")[4], "READY");
    assert_eq!(by_line("3")[4], "ERROR");
    assert!(by_line("3")[5].contains("no such file"));
    assert_eq!(by_line("4")[4], "ERROR");
    assert!(by_line("4")[5].contains("patient_id"));
    assert_eq!(by_line("5")[4], "ERROR");
    assert!(by_line("5")[5].contains("no path"));
    assert_eq!(by_line("6")[4], "READY");
    assert_eq!(by_line("6")[2], "p-2");
    // No patient on the line and no --patient: an error for that line only.
    assert_eq!(by_line("7")[4], "ERROR");
    assert!(by_line("7")[5].contains("no patient_id"));
    // Labels that break the rules: an error for that line, naming the rule.
    assert_eq!(by_line("8")[4], "ERROR");
    assert!(
        by_line("8")[5].contains("document_type is longer than 64"),
        "{rows:?}"
    );
    // A path with a NUL byte names no file.
    assert_eq!(by_line("9")[4], "ERROR");
    assert!(by_line("9")[5].contains("no such file"), "{rows:?}");
    assert_eq!(rows.len(), 9);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("2 imported"), "{stdout}");
    assert!(stdout.contains("7 errors"), "{stdout}");
    // The labels of a row are the document's.
    let shown = medidocs(&data, dir.path(), &["show", &by_line("2")[3], "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(doc["document_type"], "insurance");
    assert_eq!(doc["note"], "scanned at reception, front and back");
    let shown = medidocs(&data, dir.path(), &["show", &by_line("6")[3], "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(doc["document_type"], "prescription");
    assert!(doc.get("note").is_none(), "{doc}");
}

/// Runs medidocs to its end; its exit status and its own peak resident memory (KiB), as
/// the kernel accounts it for this one child.
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4, not Child::wait"
)]
fn peak_rss_kib(data: &Path, cwd: &Path, args: &[&str]) -> (i32, u64) {
    let child = Command::new(env!("CARGO_BIN_EXE_medidocs"))
        .current_dir(cwd)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: wait4 writes only into the two out-parameters, both valid for the call.
    let (waited, usage) = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        (libc::wait4(pid, &mut status, 0, &mut usage), usage)
    };
    assert_eq!(waited, pid);
    (libc::WEXITSTATUS(status), usage.ru_maxrss as u64)
}

#[test]
fn memory_stays_bounded_as_the_manifest_grows() {
    // Manifests of 1,000 and 10,000 rows, each row with a 1,900-character note (about
    // 19 MB of notes in the larger one). Holding the rows, or their outcomes, would show
    // as tens of MiB more; streaming them does not. Rows repeat one small file: after
    // the first, each is found already imported, so the rows themselves are measured.
    let dir = tempfile::tempdir().unwrap();
    let file = samples().join("lab-results.pdf").display().to_string();
    let note = "n".repeat(1_900);
    let mut peaks = Vec::new();
    for rows in [1_000, 10_000] {
        // Written a row at a time: a forked child's peak counts its parent's pages too.
        let name = format!("manifest-{rows}.csv");
        let mut manifest =
            std::io::BufWriter::new(std::fs::File::create(dir.path().join(&name)).unwrap());
        writeln!(manifest, "path,patient_id,document_type,note").unwrap();
        for _ in 0..rows {
            writeln!(manifest, "{file},p-9,archive,{note}").unwrap();
        }
        manifest.flush().unwrap();
        drop(manifest);
        let report_name = format!("r-{rows}.csv");
        let (code, peak) = peak_rss_kib(
            &dir.path().join("data"),
            dir.path(),
            &["import", &name, "--report", &report_name, "--quiet"],
        );
        assert_eq!(code, 0);
        assert_eq!(report(&dir.path().join(&report_name)).len(), rows);
        peaks.push(peak);
    }
    let (small, large) = (peaks[0], peaks[1]);
    println!("peak RSS: 1,000 rows {small} KiB, 10,000 rows {large} KiB");
    assert!(
        large < small + 8 * 1024,
        "peak RSS grew from {small} KiB to {large} KiB with 10x the rows"
    );
}
