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
    /// Only decode: write each page's pixels as stored (before turning upright) as an
    /// uncompressed RGBA PAM file, `{name}-p{page}.pam`, instead of the renditions (what
    /// `scripts/bench-tiff.sh` compares with libtiff's `tiff2rgba`).
    #[arg(long)]
    pixels: bool,
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
            if let Err(e) = one_file(file, &args.out, &limits, args.json, args.pixels) {
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

fn one_file(
    file: &Path,
    out: &Path,
    limits: &media::Limits,
    json: bool,
    pixels: bool,
) -> Result<()> {
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
        if pixels {
            let (w, h) = (page.image.width(), page.image.height());
            // Expanded by hand: the image crate's generic conversion is slower than the
            // decoding it would be measured with.
            let rgba: Vec<u8> = if let Some(g) = page.image.as_luma8() {
                g.as_raw().iter().flat_map(|&v| [v, v, v, 255]).collect()
            } else if let Some(c) = page.image.as_rgb8() {
                c.as_raw()
                    .chunks_exact(3)
                    .flat_map(|p| [p[0], p[1], p[2], 255])
                    .collect()
            } else {
                page.image.to_rgba8().into_raw()
            };
            let mut pam = format!(
                "P7\nWIDTH {w}\nHEIGHT {h}\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n"
            )
            .into_bytes();
            pam.extend_from_slice(&rgba);
            let name = format!("{stem}-p{}.pam", index + 1);
            std::fs::write(out.join(&name), &pam)
                .with_context(|| format!("cannot write {name}"))?;
        } else {
            let encoded = media::render_renditions(page)?;
            for r in encoded {
                let name = format!("{stem}-p{}-{}.{}", index + 1, r.kind.name(), r.kind.ext());
                std::fs::write(out.join(&name), &r.bytes)
                    .with_context(|| format!("cannot write {name}"))?;
            }
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
