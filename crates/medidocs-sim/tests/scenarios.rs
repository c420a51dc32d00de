//! The capacity simulator at a small scale, in the test command: with the deployed
//! definitions, a load beyond the quotas, at-least-once events, service errors and a
//! regional outage lose, repeat, strand or fail nothing and keep Textract within its
//! quota; the definitions from before the OCR queue, under the same load, fail
//! documents, so the model is shown to catch what it is for. (The large runs are in
//! docs/benchmarks.md.)

use medidocs_sim::{Config, Report, run};

fn before_queue() -> (String, String) {
    let dir = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("tests/fixtures");
    (
        std::fs::read_to_string(dir.join("document-pipeline.before-queue.asl.json")).unwrap(),
        std::fs::read_to_string(dir.join("bulk-import.before-queue.asl.json")).unwrap(),
    )
}

/// A clinic's import of 150 documents, 50 patients' uploads, and far more OCR asked for
/// at once (20 imports × 4 pages, plus the uploads) than the OCR concurrency (12) or the
/// Textract quota (2 a second) allow.
fn load() -> Config {
    Config {
        documents: 200,
        max_pages: 8,
        bulk: 150,
        bulk_pipelines: 20,
        uploads_per_second: 0.2,
        textract_tps: 2.0,
        ocr_concurrency: 12,
        account_concurrency: 60,
        duplicate_events: 0.2,
        lambda_error_rate: 0.02,
        dynamodb_throttle_rate: 0.01,
        seed: 7,
        ..Config::default()
    }
}

fn failed(r: &Report) -> u64 {
    r.statuses.get("FAILED").copied().unwrap_or(0)
}

fn assert_clean(r: &Report) {
    let j = serde_json::to_string_pretty(r).unwrap();
    assert_eq!((r.lost, r.processed_twice, r.stuck), (0, 0, 0), "{j}");
    assert_eq!(failed(r), 0, "{j}");
    assert_eq!(r.failed_by_throttling, 0, "{j}");
    assert!(r.textract_peak_tps as f64 <= r.textract_tps_quota, "{j}");
    let ready = r.statuses.get("READY").copied().unwrap_or(0);
    assert!(ready as usize + 10 >= r.documents, "{j}");
    assert_eq!(
        r.statuses.values().sum::<u64>() as usize,
        r.documents,
        "every document has one status: {j}"
    );
}

#[test]
fn beyond_the_quotas_with_errors_and_duplicate_events_every_document_ends_once_near_the_floor() {
    let r = run(load()).unwrap();
    assert_clean(&r);
    assert!(r.lambda_service_errors > 0, "errors were simulated");
    // Near the floor: within half of it again, and a page whose worker failed comes back
    // after the OCR queue's visibility time-out, a large share of so small a run.
    let allowed = 1.5 * r.floor_seconds + medidocs_sim::world::OCR_VISIBILITY;
    assert!(
        r.drain_seconds <= allowed,
        "drain {} s, floor {} s",
        r.drain_seconds,
        r.floor_seconds
    );
    // Patients' pages go ahead of the import's.
    assert!(
        r.patient_latency_seconds.p50 < r.bulk_latency_seconds.p50,
        "patients {:?}, bulk {:?}",
        r.patient_latency_seconds,
        r.bulk_latency_seconds
    );
    let cost = &r.cost_per_1000_pages["eu-west-1"];
    assert!(cost["textract"] >= 1.5 * 0.99, "{cost:?}");
    assert!(
        (cost.values().sum::<f64>() - 2.0 * cost["total"]).abs() < 0.01,
        "{cost:?}"
    );
}

#[test]
fn a_regional_outage_midway_loses_and_repeats_nothing_and_the_other_region_finishes_the_work() {
    let r = run(Config {
        outage_at: Some(0.4),
        outage_minutes: 30.0,
        reconcile_minutes: 5.0,
        ..load()
    })
    .unwrap();
    assert_clean(&r);
    let o = r.outage.as_ref().unwrap();
    assert!(o.reconciled > 0, "{o:?}");
    // The surviving region did real work: executions and Textract pages there.
    let dr = &r.usage["us-east-1"];
    assert!(
        dr.textract_pages_billed > 0 && dr.sfn_executions > 0,
        "{dr:?}"
    );
}

#[test]
fn the_definitions_before_the_ocr_queue_fail_documents_under_the_same_load() {
    let (pipeline, bulk) = before_queue();
    let r = run(Config {
        pipeline_definition: pipeline,
        bulk_definition: bulk,
        ..load()
    })
    .unwrap();
    let j = serde_json::to_string_pretty(&r).unwrap();
    assert!(failed(&r) > 0, "{j}");
    assert!(r.failed_by_throttling > 0, "{j}");
    assert!(r.textract_peak_tps as f64 > r.textract_tps_quota, "{j}");
}

#[test]
fn the_same_seed_gives_the_same_run_and_another_seed_another() {
    let small = Config {
        documents: 40,
        bulk: 30,
        ..load()
    };
    let a = run(small.clone()).unwrap();
    let b = run(small.clone()).unwrap();
    let c = run(Config { seed: 8, ..small }).unwrap();
    let key = |r: &Report| {
        (
            r.pages,
            r.drain_seconds,
            r.textract_pages_billed,
            r.usage["eu-west-1"].sfn_transitions,
        )
    };
    assert_eq!(key(&a), key(&b));
    assert_ne!(key(&a), key(&c));
}

#[test]
fn a_definition_that_is_not_valid_is_refused_with_the_reason() {
    let e = run(Config {
        pipeline_definition: r#"{"StartAt": "Nowhere", "States": {}}"#.into(),
        ..load()
    })
    .unwrap_err();
    assert!(e.contains("pipeline definition is not valid"), "{e}");
}
