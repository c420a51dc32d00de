//! The hostile corpus (`scripts/make-hostile.py`): decompression bombs, hostile PDFs,
//! truncated and bit-flipped copies of every sample, polyglots, wrong types and hostile
//! file names. Each file goes through `medidocs run` in a process of its own. It must end
//! in one of its expected outcomes (READY, or REJECTED with a specific reason; never
//! FAILED, never a crash), within the time limit, with a peak RSS under 1 GiB. No file
//! name reaches the data dir, and no appended payload reaches a rendition.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use medidocs_testkit::files_under;
use serde_json::Value;

const RSS_LIMIT_KIB: u64 = 1024 * 1024;
const TIME_LIMIT: Duration = Duration::from_secs(120);

struct Run {
    code: i32,
    peak_kib: u64,
    secs: f64,
    record: Option<Value>,
}

/// One `medidocs run FILE --json` in a fresh data dir; killed at the time limit. The peak
/// RSS is the kernel's for this child alone (wait4).
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4, not Child::wait"
)]
fn run(file: &Path, data: &Path) -> Run {
    let out_path = data.with_extension("json");
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_medidocs"))
        .arg("--data-dir")
        .arg(data)
        .arg("run")
        .arg(file)
        .arg("--json")
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let done = Arc::new(AtomicBool::new(false));
    let watch = {
        let done = done.clone();
        std::thread::spawn(move || {
            let until = Instant::now() + TIME_LIMIT;
            while Instant::now() < until {
                if done.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            // SAFETY: kill only sends a signal; the pid is our unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        })
    };
    let mut status = 0;
    // SAFETY: wait4 writes only into the two out-parameters, both valid for the call.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::wait4(pid, &mut status, 0, &mut usage), pid);
        usage
    };
    done.store(true, Ordering::SeqCst);
    watch.join().unwrap();
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    Run {
        code: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -libc::WTERMSIG(status)
        },
        peak_kib: usage.ru_maxrss as u64,
        secs: started.elapsed().as_secs_f64(),
        record: stdout
            .lines()
            .find(|l| l.starts_with('{'))
            .and_then(|l| serde_json::from_str(l).ok()),
    }
}

#[test]
fn every_hostile_file_ends_in_its_expected_outcome_within_time_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    let script = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../scripts/make-hostile.py");
    let made = Command::new("python3")
        .arg(&script)
        .arg(&corpus)
        .output()
        .expect("python3 runs (scripts/install-deps.sh --test installs what it needs)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let expected: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(corpus.join("expected.json")).unwrap())
            .unwrap();
    assert!(expected.len() > 80, "{} files", expected.len());

    // Two at a time: the machine has two cores.
    let queue = Arc::new(Mutex::new(expected.keys().cloned().collect::<Vec<_>>()));
    let results = Arc::new(Mutex::new(BTreeMap::new()));
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let (queue, results) = (queue.clone(), results.clone());
            let (corpus, base) = (corpus.clone(), dir.path().join(format!("data-{w}")));
            std::thread::spawn(move || {
                let mut n = 0;
                while let Some(name) = queue.lock().unwrap().pop() {
                    n += 1;
                    let data = base.with_extension(n.to_string());
                    let r = run(&corpus.join("files").join(&name), &data);
                    results.lock().unwrap().insert(name, (r, data));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let results = Arc::try_unwrap(results).ok().unwrap().into_inner().unwrap();

    let mut problems = Vec::new();
    let mut table = Vec::new();
    for (name, (r, data)) in &results {
        let want = &expected[name];
        let allowed: Vec<&str> = want["status"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let status = r
            .record
            .as_ref()
            .and_then(|v| v["status"].as_str())
            .unwrap_or("none");
        let reason = r
            .record
            .as_ref()
            .and_then(|v| v["reason"]["code"].as_str())
            .unwrap_or("");
        table.push(format!(
            "{:>5} MiB {:>6.1} s  {status:<8} {reason:<16} {name:?}",
            r.peak_kib / 1024,
            r.secs
        ));
        if r.code != 0 {
            problems.push(format!("{name:?}: exit {}", r.code));
        }
        if !allowed.contains(&status) {
            problems.push(format!("{name:?}: {status}, expected one of {allowed:?}"));
        }
        if status == "REJECTED"
            && let Some(reasons) = want["reasons"].as_array()
            && !reasons.iter().any(|x| x == reason)
        {
            problems.push(format!(
                "{name:?}: rejected as {reason:?}, expected one of {reasons:?}"
            ));
        }
        if r.peak_kib >= RSS_LIMIT_KIB {
            problems.push(format!("{name:?}: peak RSS {} MiB", r.peak_kib / 1024));
        }
        if r.secs >= TIME_LIMIT.as_secs_f64() {
            problems.push(format!("{name:?}: over the {TIME_LIMIT:?} limit"));
        }
        // Nothing of the file's name is in the data dir, and no appended payload is in a
        // rendition (they are re-encoded from pixels).
        for f in files_under(data) {
            let shown = f.strip_prefix(data).unwrap().display().to_string();
            for fragment in ["passwd", "pwned", "gpj", "deep", "shalom", "line"] {
                if shown.contains(fragment) {
                    problems.push(format!("{name:?}: {shown} names the file"));
                }
            }
            if shown.starts_with("objects/artefacts/") {
                let bytes = std::fs::read(&f).unwrap();
                if bytes.windows(20).any(|w| w == b"This program cannot ") {
                    problems.push(format!("{name:?}: {shown} carries the appended executable"));
                }
            }
        }
    }
    println!("{}", table.join("\n"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The bombs under the pixel limit were decoded (READY), within the memory bound.
    for bomb in [
        "bomb-png-98mp-rgba16.png",
        "bomb-tiff-98mp-rgba16.tif",
        "bomb-jpeg-90mp.jpg",
    ] {
        let status = results[bomb].0.record.as_ref().unwrap()["status"].clone();
        assert_eq!(status, "READY", "{bomb}");
    }
}
