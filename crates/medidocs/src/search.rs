//! `medidocs reindex` (the search index made again from the records) and `medidocs
//! search` (the same search as the API's, from the command line, for one or more
//! patients).

use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::Args;
use medidocs_core::ports::SearchIndex;
use medidocs_core::search::{Filter, MAX_RESULTS, Query, SearchRequest};
use medidocs_core::understand::DocumentType;
use medidocs_media::Limits;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words and "quoted phrases" (as the API's q).
    pub query: String,
    /// A patient whose documents are searched; repeat for several.
    #[arg(long = "patient", required = true)]
    pub patients: Vec<String>,
    /// Only documents of this type (lab_report, clinic_letter, …).
    #[arg(long = "type")]
    pub doc_type: Option<String>,
    /// Only documents dated this day (YYYY-MM-DD) or later.
    #[arg(long)]
    pub from: Option<String>,
    /// Only documents dated this day (YYYY-MM-DD) or earlier.
    #[arg(long)]
    pub to: Option<String>,
    /// At most this many documents (1 to 100).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub async fn reindex(data_dir: &Path) -> Result<()> {
    let rt = crate::open_runtime(data_dir, Limits::default(), None)?;
    let search = rt.search().context("cannot open the search index")?;
    let started = std::time::Instant::now();
    let n = search
        .rebuild()
        .await
        .context("cannot rebuild the search index (is `medidocs serve` writing it? retry)")?;
    println!(
        "search index rebuilt from the records: {n} READY documents in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub async fn search(data_dir: &Path, args: SearchArgs) -> Result<()> {
    let query = Query::parse(&args.query).map_err(|e| anyhow::anyhow!("the query: {e}"))?;
    let doc_type = match &args.doc_type {
        None => None,
        Some(t) => Some(DocumentType::parse(t).with_context(|| {
            let codes: Vec<&str> = DocumentType::ALL.iter().map(|t| t.code()).collect();
            format!("--type {t}: use one of {}", codes.join(", "))
        })?),
    };
    for (name, day) in [("--from", &args.from), ("--to", &args.to)] {
        if let Some(d) = day
            && !medidocs_core::keys::is_day(d)
        {
            bail!("{name} {d}: a day is written YYYY-MM-DD");
        }
    }
    for p in &args.patients {
        medidocs_core::keys::validate_patient_id(p)
            .map_err(|e| anyhow::anyhow!("--patient {p}: {e}"))?;
    }
    let rt = crate::open_runtime(data_dir, Limits::default(), None)?;
    let index = rt.search().context("cannot open the search index")?;
    let found = index
        .search(&SearchRequest {
            query,
            patients: args.patients,
            filter: Filter {
                doc_type,
                from: args.from,
                to: args.to,
            },
            limit: args.limit.clamp(1, MAX_RESULTS),
        })
        .await
        .context("the search failed")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
        return Ok(());
    }
    println!(
        "{} document(s) match; the best {}:",
        found.total,
        found.matches.len()
    );
    for m in &found.matches {
        println!(
            "{}  patient {}  {}  {}  (score {:.2})",
            m.document_id,
            m.patient_id,
            m.doc_type.as_deref().unwrap_or("type not read"),
            m.document_date.as_deref().unwrap_or("undated"),
            m.score
        );
        for h in &m.hits {
            println!("    page {}: {}", h.page, marked(&h.text, &h.highlights));
        }
    }
    Ok(())
}

/// A line with its matching words in [brackets].
fn marked(text: &str, highlights: &[(usize, usize)]) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if highlights.iter().any(|(s, _)| *s == i) {
            out.push('[');
        }
        out.push(c);
        if highlights.iter().any(|(_, e)| *e == i + 1) {
            out.push(']');
        }
    }
    out
}
