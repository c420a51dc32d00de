//! `medidocs storage`: what the pipeline stores per page, measured by running it over
//! files (in a scratch data dir; --data-dir is not touched). Its JSON `per_page` is the
//! `stored_bytes_per_page` profile the capacity simulator prices
//! (`crates/medidocs-sim/prices.json`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use medidocs_core::keys;
use medidocs_core::model::Status;
use medidocs_core::ports::{ObjectStore, StoreError};
use serde_json::{Value, json};

use crate::{LimitArgs, collect_files, open_runtime};

/// S3 Intelligent-Tiering moves only objects of at least this size to cheaper tiers (and
/// charges monitoring only for them); smaller ones stay at the frequent-access price.
pub const TIERING_MIN_BYTES: u64 = 128 * 1024;

#[derive(Args)]
pub struct StorageArgs {
    /// Files or folders to process.
    #[arg(default_value = "samples/documents")]
    paths: Vec<PathBuf>,
    /// One JSON object instead of the table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

/// The bytes one document keeps, by kind.
#[derive(Default, Clone)]
struct Kept {
    pages: u64,
    bytes: BTreeMap<&'static str, u64>,
    /// Objects kept (the record), split at [`TIERING_MIN_BYTES`]: (count, bytes).
    large: (u64, u64),
    small: (u64, u64),
}

impl Kept {
    fn add(&mut self, kind: &'static str, object_bytes: u64, is_object: bool) {
        *self.bytes.entry(kind).or_default() += object_bytes;
        if is_object {
            let bucket = if object_bytes >= TIERING_MIN_BYTES {
                &mut self.large
            } else {
                &mut self.small
            };
            bucket.0 += 1;
            bucket.1 += object_bytes;
        }
    }
    fn merge(&mut self, other: &Kept) {
        self.pages += other.pages;
        for (k, v) in &other.bytes {
            *self.bytes.entry(k).or_default() += v;
        }
        self.large.0 += other.large.0;
        self.large.1 += other.large.1;
        self.small.0 += other.small.0;
        self.small.1 += other.small.1;
    }
    fn per_page(&self) -> Value {
        let n = self.pages.max(1) as f64;
        let mut out = serde_json::Map::new();
        for (k, v) in &self.bytes {
            out.insert((*k).into(), json!((*v as f64 / n).round()));
        }
        out.insert(
            "objects_at_least_128k".into(),
            json!(self.large.0 as f64 / n),
        );
        out.insert(
            "bytes_at_least_128k".into(),
            json!((self.large.1 as f64 / n).round()),
        );
        out.insert("objects_under_128k".into(), json!(self.small.0 as f64 / n));
        out.insert(
            "bytes_under_128k".into(),
            json!((self.small.1 as f64 / n).round()),
        );
        Value::Object(out)
    }
}

/// Kinds in the order the table shows them. `ocr_image` is the intermediate (kept only
/// while the document is processed); `metadata_item` is the document's item in the
/// table (as JSON: about its DynamoDB size).
const KINDS: [&str; 9] = [
    "original",
    "thumb",
    "preview",
    "pdf",
    "text",
    "ocr_model",
    "page_results",
    "metadata_item",
    "ocr_image",
];

async fn size_of(store: &dyn ObjectStore, key: &str) -> Result<u64> {
    match store.head(key).await {
        Ok(m) => Ok(m.size),
        Err(StoreError::NotFound { .. }) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

pub async fn storage(args: StorageArgs) -> Result<ExitCode> {
    let files = collect_files(&args.paths)?;
    let scratch = tempfile::tempdir().context("cannot create a scratch folder")?;
    let rt = open_runtime(&scratch.path().join("data"), args.limits.limits(), Some(1))?;
    rt.ocr.check().await?;
    let runner = rt.runner();
    let mut rows = Vec::new();
    let mut all = Kept::default();
    for file in &files {
        let source = rt.ingest(file, "storage").await?;
        let doc = runner.run(&source).await?.record;
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if doc.status != Status::Ready {
            rows.push(json!({ "file": name, "status": doc.status.as_str() }));
            continue;
        }
        let objects = rt.objects.as_ref();
        let mut k = Kept {
            pages: doc.pages as u64,
            ..Kept::default()
        };
        k.add("original", size_of(objects, &doc.source.key).await?, true);
        for r in &doc.renditions {
            let kind = if r.name == "thumb" {
                "thumb"
            } else {
                "preview"
            };
            k.add(kind, r.bytes, true);
        }
        if let Some(pdf) = &doc.pdf {
            k.add("pdf", size_of(objects, &pdf.key).await?, true);
        }
        if let Some(key) = &doc.text_key {
            k.add("text", size_of(objects, key).await?, true);
        }
        if let Some(key) = &doc.ocr_key {
            k.add("ocr_model", size_of(objects, key).await?, true);
        }
        k.add(
            "page_results",
            size_of(objects, &keys::pages_list(&doc.id)).await?,
            true,
        );
        for page in 1..=doc.pages {
            // The OCR image is gone; the page's list of renditions still says its size.
            let listed = objects.get(&keys::page_renditions(&doc.id, page)).await?;
            k.add("page_results", listed.len() as u64, true);
            k.add(
                "page_results",
                size_of(objects, &keys::page_ocr(&doc.id, page)).await?,
                true,
            );
            let list: Value = serde_json::from_slice(&listed)?;
            for r in list["renditions"].as_array().into_iter().flatten() {
                if r["name"] == "ocr" {
                    k.add("ocr_image", r["bytes"].as_u64().unwrap_or(0), false);
                }
            }
        }
        k.add(
            "metadata_item",
            serde_json::to_vec(&doc)?.len() as u64,
            false,
        );
        all.merge(&k);
        rows.push(json!({
            "file": name, "status": doc.status.as_str(), "pages": doc.pages,
            "per_page": k.per_page(),
        }));
    }
    let per_page = all.per_page();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "files": rows, "pages": all.pages, "per_page": per_page,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "medidocs storage: bytes stored per page ({} files, {} pages READY)",
        files.len(),
        all.pages
    );
    print!("{:<28} {:>5}", "file", "pages");
    for kind in KINDS {
        print!(" {:>13}", kind);
    }
    println!();
    let line = |name: &str, pages: String, p: &Value| {
        print!("{name:<28} {pages:>5}");
        for kind in KINDS {
            print!(" {:>13}", p[kind].as_f64().unwrap_or(0.0) as u64);
        }
        println!();
    };
    for r in &rows {
        let name = r["file"].as_str().unwrap_or("");
        match r.get("per_page") {
            Some(p) => line(name, r["pages"].to_string(), p),
            None => println!("{name:<28}     {}", r["status"].as_str().unwrap_or("")),
        }
    }
    line("all pages", all.pages.to_string(), &per_page);
    println!(
        "kept per page: {:.2} objects of 128 KiB or more ({} bytes), {:.2} smaller ({} bytes); \
         ocr_image is not kept (removed when the document ends)",
        per_page["objects_at_least_128k"].as_f64().unwrap_or(0.0),
        per_page["bytes_at_least_128k"],
        per_page["objects_under_128k"].as_f64().unwrap_or(0.0),
        per_page["bytes_under_128k"],
    );
    Ok(ExitCode::SUCCESS)
}
