//! `medidocs drill`: the disaster-recovery drill on two embedded regions (see
//! `medidocs_local::drill` for what it does), printed for the people who run it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use medidocs_local::drill::{self, DrillOptions, DrillReport};

#[derive(Args)]
pub struct DrillArgs {
    /// Documents in the batch (region A fails when half are acknowledged).
    #[arg(long, default_value_t = 20)]
    documents: usize,
    /// Where the two regions' data dirs go; default: a temporary folder, removed after.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// How often replication looks for changes, in milliseconds.
    #[arg(long, default_value_t = 250)]
    replication_interval_ms: u64,
    /// Health checks: every this many milliseconds, failing over after three failures.
    #[arg(long, default_value_t = 200)]
    probe_interval_ms: u64,
    #[arg(long)]
    json: bool,
}

pub async fn drill(args: DrillArgs) -> Result<ExitCode> {
    let tmp;
    let base = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().context("a temporary folder for the drill")?;
            tmp.path().to_path_buf()
        }
    };
    let opts = DrillOptions {
        documents: args.documents.max(2),
        replication_interval: Duration::from_millis(args.replication_interval_ms.max(1)),
        probe_interval: Duration::from_millis(args.probe_interval_ms.max(1)),
        ocr_worker: crate::ocr_worker(),
        ..DrillOptions::default()
    };
    if !args.json {
        eprintln!(
            "Drill: {} documents, regions A and B under {}; replication every {} ms, health checks every {} ms",
            opts.documents,
            base.display(),
            args.replication_interval_ms,
            args.probe_interval_ms
        );
    }
    let r = drill::run(&base, &opts).await.context("the drill")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print(&r);
    }
    Ok(
        if r.lost == 0
            && r.processed_twice == 0
            && r.unacknowledged_unlinked == 0
            && r.regions_identical
        {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

fn print(r: &DrillReport) {
    println!(
        "1. Region A acknowledged {} of {} uploads, then failed.",
        r.acknowledged_in_a, r.documents
    );
    println!(
        "2. Failover after 3 failed health checks: {:.2} s.",
        r.detection_ms as f64 / 1000.0
    );
    println!(
        "   RPO: {} acknowledged upload{} not yet in region B{}.",
        r.rpo_documents,
        if r.rpo_documents == 1 {
            " was"
        } else {
            "s were"
        },
        if r.rpo_documents > 0 {
            format!(
                " (the oldest acknowledged {} ms before the failure)",
                r.rpo_window_ms
            )
        } else {
            String::new()
        }
    );
    println!(
        "3. Region B took over {} document{} of A's it held without a final status{}, and the other {} uploads; the first was READY {:.2} s after the failure (RTO).",
        r.taken_over_in_b,
        if r.taken_over_in_b == 1 { "" } else { "s" },
        if r.rerun_after_rpo > 0 {
            format!(
                " ({} of them A had finished without the record reaching B: run again)",
                r.rerun_after_rpo
            )
        } else {
            String::new()
        },
        r.acknowledged_in_b,
        r.rto_ms as f64 / 1000.0
    );
    println!(
        "4. Fail back: replication caught up both ways ({} changes); region A finished {} document{} at reconcile.",
        r.caught_up_changes,
        r.reconciled,
        if r.reconciled == 1 { "" } else { "s" }
    );
    println!(
        "   Replication lag while both ran, over {} changes: p50 {} ms, p99 {} ms, max {} ms; {} incoming cop{} kept out by the conflict rule.",
        r.replicated_changes,
        r.lag_p50_ms,
        r.lag_p99_ms,
        r.lag_max_ms,
        r.conflicts_kept,
        if r.conflicts_kept == 1 { "y" } else { "ies" }
    );
    if r.unacknowledged_in_a > 0 {
        println!(
            "   {} upload{} A stored without answering (in flight at the failure) and the clinic sent again: {}.",
            r.unacknowledged_in_a,
            if r.unacknowledged_in_a == 1 { "" } else { "s" },
            if r.unacknowledged_unlinked == 0 {
                "each linked to its copy as a duplicate, nothing run twice".to_string()
            } else {
                format!("{} NOT linked to its copy", r.unacknowledged_unlinked)
            }
        );
    }
    let statuses: Vec<String> = r.statuses.iter().map(|(s, n)| format!("{n} {s}")).collect();
    println!(
        "Result: {} lost, {} processed twice, regions identical: {} ({}).",
        r.lost,
        r.processed_twice,
        if r.regions_identical { "yes" } else { "NO" },
        statuses.join(", ")
    );
}
