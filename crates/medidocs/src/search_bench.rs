//! `medidocs search-bench`: search latency at many documents, the index against the scan
//! it replaced, in one run. Documents are made from the labelled texts of
//! `tests/understand/` (each text many times, spread over patients), their OCR models
//! written to a scratch folder as the pipeline writes them.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use medidocs_core::model::TextSource;
use medidocs_core::ocr::{BoundingBox, Line, OcrDocument, OcrPage, Word};
use medidocs_core::search::{Filter, IndexEntry, Query, SearchRequest};
use medidocs_core::understand::DocumentType;
use medidocs_search::{Change, TextIndex};

#[derive(Args)]
pub struct SearchBenchArgs {
    /// Folder of labelled texts (JSON lines with `text` and `type`).
    #[arg(long, default_value = "tests/understand")]
    texts: PathBuf,
    /// How many documents.
    #[arg(long, default_value_t = 10_000)]
    documents: usize,
    /// Over how many patients.
    #[arg(long, default_value_t = 50)]
    patients: usize,
    /// How many patients a doctor's care teams hold (the search across them).
    #[arg(long, default_value_t = 10)]
    care_team: usize,
    /// How many queries of each kind.
    #[arg(long, default_value_t = 50)]
    queries: usize,
}

struct Doc {
    patient: String,
    doc_type: String,
    ocr: OcrDocument,
}

fn ocr_of(text: &str) -> OcrDocument {
    let lines = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(r, l)| {
            let words: Vec<Word> = l
                .split_whitespace()
                .enumerate()
                .map(|(i, w)| Word {
                    text: w.to_string(),
                    confidence: 90.0,
                    bbox: BoundingBox {
                        left: (0.05 + 0.08 * i as f32).min(0.95),
                        top: (0.04 + 0.025 * r as f32).min(0.97),
                        width: 0.07,
                        height: 0.02,
                    },
                })
                .collect();
            Line::from_words(words)
        })
        .collect();
    OcrDocument {
        pages: vec![OcrPage {
            page: 1,
            text_source: TextSource::Ocr,
            rotation: 0,
            language: None,
            lines,
        }],
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(name: &str, mut ms: Vec<f64>, baseline: Option<(f64, f64)>) -> (f64, f64) {
    ms.sort_by(|a, b| a.total_cmp(b));
    let (p50, p99) = (percentile(&ms, 0.5), percentile(&ms, 0.99));
    let times = |r: f64| {
        if r >= 1.0 {
            format!("{r:.0}× faster")
        } else {
            format!("{:.1}× slower", 1.0 / r)
        }
    };
    let ratio = baseline
        .map(|(b50, b99)| format!("  (p50 {}, p99 {})", times(b50 / p50), times(b99 / p99)))
        .unwrap_or_default();
    println!("{name:<52} p50 {p50:>8.2} ms   p99 {p99:>8.2} ms{ratio}");
    (p50, p99)
}

pub fn search_bench(args: SearchBenchArgs) -> Result<()> {
    // The texts.
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&args.texts)
        .with_context(|| format!("cannot read {}", args.texts.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    for f in files {
        for line in std::fs::read_to_string(&f)?.lines() {
            let v: serde_json::Value = serde_json::from_str(line)?;
            if let (Some(t), Some(k)) = (v["text"].as_str(), v["type"].as_str()) {
                texts.push((t.to_string(), k.to_string()));
            }
        }
    }
    if texts.is_empty() || args.patients == 0 || args.care_team > args.patients {
        bail!("no texts, or a care team larger than the patients");
    }
    let docs: Vec<Doc> = (0..args.documents)
        .map(|i| {
            let (text, kind) = &texts[i % texts.len()];
            Doc {
                patient: format!("p-{}", i % args.patients),
                doc_type: kind.clone(),
                ocr: ocr_of(text),
            }
        })
        .collect();

    // The scan's inputs: each document's OCR model as a file.
    let scratch = tempfile::tempdir()?;
    let models = scratch.path().join("models");
    for (i, d) in docs.iter().enumerate() {
        let dir = models.join(&d.patient);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("{i}.json")), serde_json::to_vec(&d.ocr)?)?;
    }

    // The index, on disk.
    let started = Instant::now();
    let index = TextIndex::open(&scratch.path().join("index"))?;
    let entries: Vec<Change> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Change::Put(Box::new(IndexEntry {
                document_id: format!("{i:032x}"),
                patient_id: d.patient.clone(),
                doc_type: Some(d.doc_type.clone()),
                document_date: None,
                day: format!("2025-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
                created_at: "2026-01-01T00:00:00.000Z".into(),
                version: 1,
                lines: IndexEntry::lines_of(&d.ocr),
            }))
        })
        .collect();
    for chunk in entries.chunks(1000) {
        index.apply(chunk.to_vec(), false)?;
    }
    let build = started.elapsed().as_secs_f64();
    let size: u64 = walk_size(&scratch.path().join("index"));
    println!(
        "{} documents of {} patients ({} texts); index built in {build:.1} s, {:.1} MB on disk \
         (the OCR models: {:.1} MB)",
        args.documents,
        args.patients,
        texts.len(),
        size as f64 / 1e6,
        walk_size(&models) as f64 / 1e6
    );

    // The queries: words, words with one error, phrases, prefixes, and words of a type.
    let words: Vec<String> = texts
        .iter()
        .flat_map(|(t, _)| t.split_whitespace().map(str::to_string))
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_string())
        .filter(|w| w.chars().count() >= 6 && w.chars().all(char::is_alphabetic))
        .collect();
    let pick = |k: usize| &words[(k * 7919) % words.len()];
    let mut queries: Vec<(String, Filter)> = Vec::new();
    for k in 0..args.queries {
        queries.push((pick(k).clone(), Filter::default()));
        let w: Vec<char> = pick(k + 1).chars().collect();
        let mut typo = w.clone();
        typo[w.len() / 2] = if w[w.len() / 2] == 'l' { '1' } else { 'l' };
        queries.push((typo.into_iter().collect(), Filter::default()));
        let (t, _) = &texts[(k * 31) % texts.len()];
        let pair: Vec<&str> = t.split_whitespace().skip(2).take(2).collect();
        queries.push((format!("\"{}\"", pair.join(" ")), Filter::default()));
        queries.push((w[..4].iter().collect(), Filter::default()));
        queries.push((
            pick(k + 2).clone(),
            Filter {
                doc_type: Some(DocumentType::ALL[k % DocumentType::ALL.len()]),
                from: Some("2025-03-01".into()),
                to: Some("2025-10-31".into()),
            },
        ));
    }
    let queries: Vec<(Query, Filter)> = queries
        .into_iter()
        .filter_map(|(q, f)| Query::parse(&q).ok().map(|q| (q, f)))
        .collect();
    println!(
        "{} queries (words, one error, phrases, prefixes, filtered)\n",
        queries.len()
    );

    let one: Vec<String> = vec!["p-0".into()];
    let team: Vec<String> = (0..args.care_team).map(|i| format!("p-{i}")).collect();
    let request = |q: &Query, f: &Filter, patients: &[String]| SearchRequest {
        query: q.clone(),
        patients: patients.to_vec(),
        filter: f.clone(),
        limit: 20,
    };
    let time_index = |patients: &[String]| -> Result<Vec<f64>> {
        let mut ms = Vec::new();
        for (q, f) in &queries {
            let t = Instant::now();
            index.search(&request(q, f, patients))?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(ms)
    };
    let time_scan = |patients: &[String]| -> Result<Vec<f64>> {
        let mut ms = Vec::new();
        for (q, _) in &queries {
            let t = Instant::now();
            for p in patients {
                for e in std::fs::read_dir(models.join(p))?.flatten() {
                    let ocr: OcrDocument = serde_json::from_slice(&std::fs::read(e.path())?)?;
                    let _ = q.scan(&ocr);
                }
            }
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(ms)
    };
    // What the AWS API does today: the patient's models read and indexed in memory for
    // each search (medidocs_search::RecordsIndex), then searched.
    let time_records = |patients: &[String]| -> Result<Vec<f64>> {
        let mut ms = Vec::new();
        for (q, f) in &queries {
            let t = Instant::now();
            let mut changes = Vec::new();
            for p in patients {
                for e in std::fs::read_dir(models.join(p))?.flatten() {
                    let ocr: OcrDocument = serde_json::from_slice(&std::fs::read(e.path())?)?;
                    let mut entry = match &entries[0] {
                        Change::Put(e) => (**e).clone(),
                        Change::Remove(_) => unreachable!("only puts are made"),
                    };
                    entry.patient_id = p.clone();
                    entry.document_id = e.file_name().to_string_lossy().into_owned();
                    entry.lines = IndexEntry::lines_of(&ocr);
                    changes.push(Change::Put(Box::new(entry)));
                }
            }
            let ram = TextIndex::in_memory()?;
            ram.apply(changes, false)?;
            ram.search(&request(q, f, patients))?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(ms)
    };
    let per = args.documents / args.patients;
    let scan1 = summary(
        &format!("scan, one patient ({per} documents)"),
        time_scan(&one)?,
        None,
    );
    summary("index, one patient", time_index(&one)?, Some(scan1));
    summary(
        "index made per search from the models, one patient",
        time_records(&one)?,
        Some(scan1),
    );
    let scan_team = summary(
        &format!(
            "scan, {} patients ({} documents)",
            args.care_team,
            per * args.care_team
        ),
        time_scan(&team)?,
        None,
    );
    summary(
        "index, the same patients",
        time_index(&team)?,
        Some(scan_team),
    );
    let all: Vec<String> = (0..args.patients).map(|i| format!("p-{i}")).collect();
    summary(
        &format!("index, every patient ({} documents)", args.documents),
        time_index(&all)?,
        None,
    );

    // What the AWS API does: one index object per patient (medidocs_search::
    // PatientIndexes), opened from its bytes when its ETag changed (cold), or searched as
    // kept in memory (warm); each patient's index searched, the best kept.
    let objects: Vec<Vec<u8>> = team
        .iter()
        .map(|p| -> Result<Vec<u8>> {
            let own: Vec<Change> = entries
                .iter()
                .filter(|c| matches!(c, Change::Put(e) if &e.patient_id == p))
                .cloned()
                .collect();
            let i = TextIndex::in_memory()?;
            i.apply(own, false)?;
            Ok(i.to_bytes()?)
        })
        .collect::<Result<_>>()?;
    let sizes: Vec<usize> = objects.iter().map(Vec::len).collect();
    println!(
        "\nindex objects of {per} documents: {:.2} MB each on average ({:.2} MB the largest)",
        sizes.iter().sum::<usize>() as f64 / sizes.len() as f64 / 1e6,
        *sizes.iter().max().unwrap_or(&0) as f64 / 1e6
    );
    let open = |n: usize| -> Result<Vec<TextIndex>> {
        Ok(objects[..n]
            .iter()
            .map(|b| TextIndex::from_bytes(b))
            .collect::<Result<_, _>>()?)
    };
    let time_objects = |n: usize, cold: bool| -> Result<Vec<f64>> {
        let kept = open(n)?;
        let mut ms = Vec::new();
        for (q, f) in &queries {
            let t = Instant::now();
            let opened = if cold { open(n)? } else { Vec::new() };
            let mut found = Vec::new();
            for i in if cold { &opened } else { &kept } {
                found.extend(i.search(&request(q, f, &team[..n]))?.matches);
            }
            found.sort_by(|a, b| b.score.total_cmp(&a.score));
            found.truncate(20);
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(ms)
    };
    summary(
        "index objects, one patient, opened (ETag changed)",
        time_objects(1, true)?,
        Some(scan1),
    );
    summary(
        "index objects, one patient, kept (ETag held)",
        time_objects(1, false)?,
        Some(scan1),
    );
    summary(
        &format!("index objects, {} patients, opened", team.len()),
        time_objects(team.len(), true)?,
        Some(scan_team),
    );
    summary(
        &format!("index objects, {} patients, kept", team.len()),
        time_objects(team.len(), false)?,
        Some(scan_team),
    );
    Ok(())
}

fn walk_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
