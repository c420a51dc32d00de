//! `medidocs bench`: documents per minute and peak memory of the embedded pipeline.
//! Each repetition runs every file for another patient, so every run does all the work.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use futures::stream::{self, StreamExt};
use medidocs_core::keys;
use medidocs_core::language::{self, Language};
use medidocs_core::model::{DocumentRecord, Status};
use medidocs_media as media;

use crate::{LimitArgs, collect_files, open_runtime};

#[derive(Args)]
pub struct BenchArgs {
    /// Files or folders to process.
    #[arg(default_value = "samples/documents")]
    paths: Vec<PathBuf>,
    /// How many times to process the whole set.
    #[arg(long, default_value_t = 3)]
    repeat: u32,
    #[arg(long)]
    workers: Option<usize>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Peak resident memory (KiB) of this process. (Child processes are not counted: a forked
/// child is charged the parent's pages until it execs, so `RUSAGE_CHILDREN` would mislead.)
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

pub async fn bench(args: BenchArgs) -> Result<ExitCode> {
    let files = collect_files(&args.paths)?;
    let scratch = tempfile::tempdir().context("cannot create a scratch folder")?;
    let mut per_status = [0u64; 5];
    let mut pages = 0u64;
    let mut docs = 0u64;
    let repeat = args.repeat.max(1);
    // One runtime for every repetition, as a clinic's server or an import runs: its OCR
    // engines are loaded once and kept across pages. Each repetition is another patient,
    // so nothing is found already done (content is deduplicated per patient). Its
    // opening and its engines' loading count as the pipeline's time.
    let opened = Instant::now();
    let data_dir = scratch.path().join("run");
    let rt = open_runtime(&data_dir, args.limits.limits(), args.workers)?;
    rt.ocr.check().await?;
    let workers = rt.config.workers;
    let region = rt.config.date_region;
    let runner = rt.runner();
    let (rt, runner) = (&rt, &runner);
    let mut secs = opened.elapsed().as_secs_f64();
    // The pipeline and the reference take turns, a repetition each, so a machine that
    // gets busier or quieter during the run weighs on both alike.
    let mut reference: Option<(f64, usize)> = None;
    let mut images = Vec::new();
    for rep in 0..repeat {
        let started = Instant::now();
        let patient = format!("bench-{rep}");
        let results: Vec<_> = stream::iter(files.iter())
            .map(|f| {
                let patient = &patient;
                async move {
                    let source = rt.ingest(f, patient).await?;
                    anyhow::Ok((f, runner.run(&source).await?))
                }
            })
            .buffer_unordered(workers)
            .collect()
            .await;
        secs += started.elapsed().as_secs_f64();
        let mut run = Vec::new();
        for r in results {
            let (file, o) = r?;
            docs += 1;
            pages += o.record.pages as u64;
            let i = Status::ALL
                .iter()
                .position(|s| *s == o.record.status)
                .unwrap_or(0);
            per_status[i] += 1;
            run.push((file.clone(), o.record));
        }
        if rep == 0 {
            images = ocr_images(
                &data_dir,
                &scratch.path().join("ocr-images"),
                &run,
                &args.limits.limits(),
                language::prior(region),
            )?;
        }
        if let Some((s, n)) = tesseract_alone(&images, workers).await? {
            let (total, pages) = reference.unwrap_or_default();
            reference = Some((total + s, pages + n));
        }
    }
    let own = peak_rss_kib();
    let (page_reads, probe_reads) = rt.ocr.readings();
    let per_min = docs as f64 / secs * 60.0;
    let pages_per_min = pages as f64 / secs * 60.0;
    println!(
        "medidocs bench: {} files × {} repetitions, {} workers",
        files.len(),
        args.repeat.max(1),
        workers
    );
    println!("{:<28} {:>12}", "documents", docs);
    println!("{:<28} {:>12}", "pages", pages);
    for (s, n) in Status::ALL.iter().zip(per_status) {
        if n > 0 {
            println!("{:<28} {:>12}", format!("  {}", s.as_str()), n);
        }
    }
    println!("{:<28} {:>12.1}", "wall time (s)", secs);
    println!("{:<28} {:>12.1}", "documents per minute", per_min);
    println!("{:<28} {:>12.1}", "pages per minute", pages_per_min);
    println!(
        "{:<28} {:>12.1}",
        "peak RSS, pipeline (MiB)",
        own as f64 / 1024.0
    );
    println!(
        "{:<28} {:>12}   (whole pages: once each, unless its probes did not tell its language)",
        "  OCR readings", page_reads
    );
    println!(
        "{:<28} {:>12}   (about {} characters of a page each, read first to tell its language)",
        "  OCR probes",
        probe_reads,
        medidocs_local::PROBE_CHARS
    );
    if let Some((ref_secs, ref_pages)) = reference {
        println!(
            "{:<28} {:>12.1}   (same OCR pages, same parallelism, no pipeline)",
            "tesseract alone (s)", ref_secs
        );
        println!(
            "{:<28} {:>12.2}",
            "pipeline / tesseract alone",
            secs / ref_secs
        );
        println!("{:<28} {:>12}", "  pages OCRed by tesseract", ref_pages);
    }
    println!(
        "{}",
        serde_json::json!({
            "tesseract_alone_seconds": reference.map(|r| r.0),
            "ratio_to_tesseract_alone": reference.map(|r| secs / r.0),
            "bench": "pipeline", "files": files.len(), "repeat": args.repeat.max(1), "workers": workers,
            "documents": docs, "pages": pages, "seconds": secs, "documents_per_minute": per_min,
            "pages_per_minute": pages_per_min, "peak_rss_kib": own,
            "ocr_page_readings": page_reads, "ocr_probe_readings": probe_reads,
        })
    );
    Ok(ExitCode::SUCCESS)
}

/// The OCR images of the pages the first run read by OCR (not from a PDF's text layer),
/// made again from the originals as the render step makes them (the pipeline keeps them
/// only while a document is processed), each with the Tesseract languages of the page's
/// final reading.
fn ocr_images(
    data_dir: &Path,
    out: &Path,
    run: &[(PathBuf, DocumentRecord)],
    limits: &media::Limits,
    prior: language::Prior,
) -> Result<Vec<(PathBuf, String)>> {
    std::fs::create_dir_all(out).context("cannot create a scratch folder")?;
    let mut images = Vec::new();
    for (file, doc) in run {
        let Some(mime) = doc.mime.as_deref().and_then(media::Mime::parse) else {
            continue;
        };
        if doc.status != Status::Ready {
            continue;
        }
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        for page in 1..=doc.pages {
            let ocr_json = data_dir.join("objects").join(keys::page_ocr(&doc.id, page));
            let read: serde_json::Value = std::fs::read(ocr_json)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            if read["page"]["text_source"] != "ocr" {
                continue;
            }
            let lang = read["page"]["language"]
                .as_str()
                .and_then(Language::parse)
                .unwrap_or(prior.default);
            let decoded = media::decode_page(&bytes, mime, page - 1, limits)?;
            let Some(png) = media::render_renditions(decoded)?
                .into_iter()
                .find(|r| r.kind == media::RenditionKind::Ocr)
            else {
                continue;
            };
            let path = out.join(format!("{}-{page}.png", doc.id));
            std::fs::write(&path, png.bytes).context("cannot write an OCR image")?;
            images.push((path, language::tesseract_languages(lang, prior)));
        }
    }
    Ok(images)
}

/// The reference: Debian's `tesseract` command alone over every OCR-read page image of
/// one run, in the languages the pipeline read it in at last, once (a repetition),
/// `workers` at a time, single-threaded, TSV out, as the pipeline ran it before Tesseract
/// ran in-process. Pages read from a PDF text layer are not OCRed by the pipeline and are
/// left out here too.
async fn tesseract_alone(
    images: &[(PathBuf, String)],
    workers: usize,
) -> Result<Option<(f64, usize)>> {
    if images.is_empty() {
        return Ok(None);
    }
    let jobs = images.to_vec();
    let n = jobs.len();
    let started = Instant::now();
    let results: Vec<std::io::Result<std::process::Output>> = stream::iter(jobs)
        .map(|(img, languages)| async move {
            tokio::process::Command::new("tesseract")
                .arg(&img)
                .args(["stdout", "-l", &languages, "--psm", "3", "tsv"])
                .env("OMP_THREAD_LIMIT", "1")
                .output()
                .await
        })
        .buffer_unordered(workers)
        .collect()
        .await;
    for r in results {
        let out = r.context("running tesseract")?;
        anyhow::ensure!(out.status.success(), "tesseract failed on a page");
    }
    Ok(Some((started.elapsed().as_secs_f64(), n)))
}
