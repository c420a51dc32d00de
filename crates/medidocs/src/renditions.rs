//! `medidocs renditions`: the thumb, preview and OCR renditions of files, made exactly as the
//! pipeline's render step makes them (the same decode and the same code), written to a
//! folder. Nothing is stored in a data dir. With `--json` it prints the time of every page,
//! which is what `scripts/bench-media.sh` reads.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use medidocs_media as media;

use crate::LimitArgs;

#[derive(Args)]
pub struct RenditionsArgs {
    /// Image, TIFF or PDF files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Folder the renditions are written to (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Process every file this many times (for benchmarks).
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// One JSON line per page: file, page, source megapixels, milliseconds.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

pub fn renditions(args: RenditionsArgs) -> Result<ExitCode> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let limits = args.limits.limits();
    let mut failed = false;
    for _ in 0..args.repeat.max(1) {
        for file in &args.files {
            if let Err(e) = one_file(file, &args.out, &limits, args.json) {
                eprintln!("{}: {e:#}", file.display());
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn one_file(file: &Path, out: &Path, limits: &media::Limits, json: bool) -> Result<()> {
    let started = Instant::now();
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let info = media::inspect(&bytes, limits)?;
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let mut page_started = started;
    for index in 0..info.pages {
        let page = media::decode_page(&bytes, info.mime, index, limits)?;
        let source_pixels = page.image.width() as u64 * page.image.height() as u64;
        let encoded = media::render_renditions(page)?;
        for r in encoded {
            let name = format!("{stem}-p{}-{}.{}", index + 1, r.kind.name(), r.kind.ext());
            std::fs::write(out.join(&name), &r.bytes)
                .with_context(|| format!("cannot write {name}"))?;
        }
        let now = Instant::now();
        let ms = (now - page_started).as_secs_f64() * 1000.0;
        page_started = now;
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "file": file.display().to_string(),
                    "page": index + 1,
                    "megapixels": source_pixels as f64 / 1e6,
                    "ms": ms,
                })
            );
        } else {
            println!(
                "{} page {}: {:.1} MP in {ms:.0} ms",
                file.display(),
                index + 1,
                source_pixels as f64 / 1e6
            );
        }
    }
    Ok(())
}
