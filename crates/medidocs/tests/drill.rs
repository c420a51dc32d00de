//! `medidocs drill` as operations staff run it: a small batch, region A killed midway,
//! failover, fail-back and reconcile. After reconcile nothing is lost and nothing was
//! processed twice; the measured RPO and RTO are reported.

use std::process::Command;

use serde_json::Value;

#[test]
fn the_drill_loses_nothing_and_processes_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_medidocs"))
        .args(["drill", "--documents", "12", "--json", "--dir"])
        .arg(dir.path())
        .output()
        .expect("medidocs runs");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert!(out.status.success(), "{report}");
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["processed_twice"], 0, "{report}");
    assert_eq!(report["regions_identical"], true, "{report}");
    // Every document of the batch was acknowledged by one region or the other, and ends
    // READY in both.
    let a = report["acknowledged_in_a"].as_u64().unwrap();
    let b = report["acknowledged_in_b"].as_u64().unwrap();
    assert!((6..12).contains(&a), "A failed midway: {report}");
    assert_eq!(a + b, 12, "{report}");
    // The upload in flight at the failure (stored by A, unanswered, sent again to B) is a
    // record of its own in the end, linked to B's copy; the failure may cut others so.
    let unanswered = report["unacknowledged_in_a"].as_u64().unwrap();
    assert!(unanswered >= 1, "{report}");
    assert_eq!(report["unacknowledged_unlinked"], 0, "{report}");
    assert_eq!(report["statuses"]["READY"], 12 + unanswered, "{report}");
    assert_eq!(report["statuses"].as_object().unwrap().len(), 1, "{report}");
    // The measurements are there and plausible: the RPO is at most what A acknowledged,
    // failover waited for three failed health checks, and B was back after it.
    assert!(report["rpo_documents"].as_u64().unwrap() <= a);
    let detection = report["detection_ms"].as_u64().unwrap();
    assert!(detection >= 3 * 200, "{report}");
    assert!(report["rto_ms"].as_u64().unwrap() >= detection, "{report}");
    assert!(
        report["replicated_changes"].as_u64().unwrap() > 0,
        "{report}"
    );
}
