//! The dependency rules of ARCHITECTURE.md, read from `cargo metadata`: which of the
//! workspace's crates each may use (normal, dev or build dependencies alike), and which it
//! must never reach, even through another.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Each crate and the workspace crates it may use directly.
const MAY_USE: &[(&str, &[&str])] = &[
    ("medidocs-clock", &[]),
    ("medidocs-media", &[]),
    ("medidocs-states", &["medidocs-clock"]),
    ("medidocs-core", &["medidocs-clock"]),
    (
        "medidocs-pipeline",
        &[
            "medidocs-clock",
            "medidocs-core",
            "medidocs-media",
            "medidocs-states",
        ],
    ),
    ("medidocs-testkit", &["medidocs-core"]),
    ("medidocs-search", &["medidocs-core"]),
    (
        "medidocs-aws",
        &["medidocs-clock", "medidocs-core", "medidocs-testkit"],
    ),
    ("medidocs-api", &["medidocs-clock", "medidocs-core"]),
    (
        "medidocs-local",
        &[
            "medidocs-clock",
            "medidocs-core",
            "medidocs-pipeline",
            "medidocs-media",
            "medidocs-states",
            "medidocs-search",
            "medidocs-testkit",
        ],
    ),
    (
        "medidocs-sim",
        &[
            "medidocs-clock",
            "medidocs-core",
            "medidocs-pipeline",
            "medidocs-media",
            "medidocs-states",
            "medidocs-testkit",
        ],
    ),
    (
        "medidocs-functions",
        &[
            "medidocs-clock",
            "medidocs-core",
            "medidocs-pipeline",
            "medidocs-media",
            "medidocs-states",
            "medidocs-aws",
            "medidocs-api",
            "medidocs-local",
            "medidocs-search",
            "medidocs-testkit",
        ],
    ),
];

/// Crates that must never reach the pipeline's machinery (the engine, the decoders, the
/// step handlers), even through another crate.
const NEVER: &[(&str, &[&str])] = &[
    (
        "medidocs-search",
        &[
            "medidocs-media",
            "medidocs-pipeline",
            "medidocs-states",
            "medidocs-aws",
            "medidocs-local",
        ],
    ),
    (
        "medidocs-core",
        &[
            "medidocs-media",
            "medidocs-pipeline",
            "medidocs-aws",
            "medidocs-api",
            "medidocs-local",
        ],
    ),
    (
        "medidocs-api",
        &["medidocs-media", "medidocs-states", "medidocs-pipeline"],
    ),
    (
        "medidocs-aws",
        &["medidocs-media", "medidocs-states", "medidocs-pipeline"],
    ),
];

/// The workspace's crates and the workspace crates each depends on, of any kind.
fn workspace() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = meta["packages"].as_array().unwrap();
    let names: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["name"].as_str().unwrap().to_string())
                .filter(|d| names.contains(d))
                .collect();
            (p["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

fn reach(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(c) = todo.pop() {
        for d in graph.get(&c).into_iter().flatten() {
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen
}

#[test]
fn each_crate_uses_only_what_the_rules_allow() {
    let graph = workspace();
    for (krate, allowed) in MAY_USE {
        let deps = graph
            .get(*krate)
            .unwrap_or_else(|| panic!("{krate} is not in the workspace"));
        for d in deps {
            assert!(
                allowed.contains(&d.as_str()),
                "{krate} uses {d}, which ARCHITECTURE.md's dependency rules do not allow"
            );
        }
    }
}

#[test]
fn the_domain_and_the_adapters_never_reach_the_pipelines_machinery() {
    let graph = workspace();
    for (krate, never) in NEVER {
        let reached = reach(&graph, krate);
        for n in *never {
            assert!(!reached.contains(*n), "{krate} reaches {n}");
        }
    }
    // And the rule can fail: the command-line crate reaches everything.
    assert!(reach(&graph, "medidocs").contains("medidocs-pipeline"));
}
