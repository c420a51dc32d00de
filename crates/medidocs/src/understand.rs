//! `medidocs understand`: what a document is and when it happened, from plain text, by the
//! same analysis the pipeline will store (`core::understand`); or, with `--eval`, the score
//! over a labelled set.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use medidocs_core::understand::{self, Region, eval};

#[derive(Args)]
pub struct UnderstandArgs {
    /// A plain-text file (one line per line, in reading order).
    #[arg(long, required_unless_present = "eval", conflicts_with = "eval")]
    text: Option<PathBuf>,
    /// The patient's region, which decides numeric dates nothing on the document decides:
    /// ie or uk (day first), us (month first), ca (neither).
    #[arg(long, default_value = "ie")]
    region: String,
    /// Print JSON: {"type": {"code", "loinc", "confidence", "evidence"}, "document_date",
    /// "dates": [{"role", "date", "text", "ambiguous", ...}]}.
    #[arg(long)]
    json: bool,
    /// Score a labelled set instead (JSON lines: text, region, type, document_date, dates),
    /// such as tests/understand/set.jsonl.
    #[arg(long)]
    eval: Option<PathBuf>,
}

pub fn understand(args: UnderstandArgs) -> Result<ExitCode> {
    if let Some(path) = &args.eval {
        return score(path, args.json);
    }
    let Some(region) = Region::parse(&args.region) else {
        bail!("--region {}: use ie, uk, us or ca", args.region);
    };
    let path = args.text.as_ref().context("--text FILE is needed")?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {} (a UTF-8 text file)", path.display()))?;
    let u = understand::understand_text(&text, region);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&u)?);
        return Ok(ExitCode::SUCCESS);
    }
    crate::output::print_understanding(&u);
    Ok(ExitCode::SUCCESS)
}

fn score(path: &PathBuf, json: bool) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let set: Vec<eval::Expected> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| format!("{} line {}", path.display(), i + 1))
        })
        .collect::<Result<_>>()?;
    let s = eval::score(&set);
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} documents", s.documents);
    println!("type accuracy          {:.3}", s.type_accuracy());
    println!("document date right    {:.3}", s.date_accuracy());
    println!("birth date as document date: {}", s.birth_as_document_date);
    println!("role      precision  recall  expected  found");
    for (role, r) in &s.roles {
        println!(
            "{role:<9} {:>9.3} {:>7.3} {:>9} {:>6}",
            r.precision(),
            r.recall(),
            r.expected,
            r.found
        );
    }
    for m in &s.misses {
        println!("miss: {m}");
    }
    Ok(ExitCode::SUCCESS)
}
