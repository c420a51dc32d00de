//! The full-text search index: tantivy (BM25 ranking, positions for phrases, Levenshtein
//! automata for OCR errors, Snowball stemmers), behind the core's
//! [`SearchIndex`](medidocs_core::ports::SearchIndex) port.
//!
//! One index document per document: its text in four fields, one as written (lowercased,
//! accents folded, with positions: exact words, phrases, prefixes, OCR errors) and one per
//! stemmer (English, French, Spanish); its patient, type and day for filters; its lines
//! with their words' boxes stored, so a hit's words and boxes come from the index alone.
//!
//! Why tantivy: it is maintained, pure Rust (no service to run beside the embedded
//! runtime, and it runs in a Lambda function), and has everything the search needs
//! (BM25, phrase and fuzzy queries, stemmers) in one library whose files can be kept on
//! disk or carried as one object. A second engine (SQLite FTS5) has no fuzzy matching or
//! French stemming; OpenSearch is a cluster to run.

mod hits;
mod objects;
mod pack;
mod store;

use std::ops::Bound;
use std::path::Path;
use std::sync::Mutex;

use medidocs_core::ports::StoreError;
use medidocs_core::search::{
    FUZZY_MIN_CHARS, Filter, Found, IndexEntry, IndexedLine, MAX_RESULTS, Match, PREFIX_MIN_CHARS,
    SearchRequest, day_number,
};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur,
    PhraseQuery, Query, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, NumericOptions, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

pub use hits::Matcher;
pub use objects::{CACHE_BYTES, PatientIndexes, Updated};
pub use store::{RECORDS_INDEX_MAX_DOCUMENTS, RecordsIndex, SharedIndex, records_of};

/// Bumped when the schema or the analyzers change: an index of another version is set
/// aside and made again from the records.
pub const SCHEMA_VERSION: u32 = 1;

/// The stemmers, each with its own field.
const STEMMED: [(&str, Language); 3] = [
    ("en", Language::English),
    ("fr", Language::French),
    ("es", Language::Spanish),
];

/// Words longer than this are not indexed (no word is; a run of characters is noise).
const LONGEST_WORD: usize = 48;

/// The analyzer of the field as written: words (alphanumeric runs), lowercased, accents
/// folded (Seán and Sean, fièvre and fievre are one word).
fn plain() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(LONGEST_WORD))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

fn stemmed(language: Language) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(LONGEST_WORD))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(language))
        .build()
}

/// The tokens an analyzer makes of a text.
pub(crate) fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// The index's fields.
#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    patient: Field,
    doc_type: Field,
    day: Field,
    date: Field,
    created: Field,
    version: Field,
    plain: Field,
    stems: [Field; 3],
    lines: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let id = b.add_text_field("id", STRING | STORED);
    let patient = b.add_text_field("patient", STRING | STORED);
    let doc_type = b.add_text_field("type", STRING | STORED);
    let day = b.add_i64_field(
        "day",
        NumericOptions::default()
            .set_indexed()
            .set_fast()
            .set_stored(),
    );
    let date = b.add_text_field("date", STORED);
    let created = b.add_text_field("created", STORED);
    let version = b.add_u64_field("version", STORED | INDEXED);
    let text = |name: &str, positions: bool| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(name)
                .set_index_option(if positions {
                    IndexRecordOption::WithFreqsAndPositions
                } else {
                    IndexRecordOption::WithFreqs
                }),
        )
    };
    let plain = b.add_text_field("plain", text("md_plain", true));
    let stems = STEMMED.map(|(code, _)| {
        b.add_text_field(&format!("text_{code}"), text(&format!("md_{code}"), false))
    });
    let lines = b.add_text_field("lines", STORED);
    (
        b.build(),
        Fields {
            id,
            patient,
            doc_type,
            day,
            date,
            created,
            version,
            plain,
            stems,
            lines,
        },
    )
}

fn register_analyzers(index: &Index) {
    let t = index.tokenizers();
    t.register("md_plain", plain());
    for (code, lang) in STEMMED {
        t.register(&format!("md_{code}"), stemmed(lang));
    }
}

fn err(what: &str) -> impl FnOnce(tantivy::TantivyError) -> StoreError + '_ {
    move |e| StoreError::unavailable(format!("the search index: {what}"), e)
}

/// What a batch of changes does to the index.
#[derive(Debug, Clone)]
pub enum Change {
    Put(Box<IndexEntry>),
    Remove(String),
}

/// A tantivy index of documents: on disk ([`TextIndex::open`]) or in memory.
pub struct TextIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// One writer at a time in this process (tantivy also locks the directory against
    /// other processes).
    writing: Mutex<()>,
}

impl TextIndex {
    /// The index in `dir` (made if absent). One made by another schema version is an
    /// error: the caller sets it aside and rebuilds.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::unavailable(format!("{}", dir.display()), e))?;
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir)
            .map_err(|e| StoreError::unavailable("the search index's folder", e))?;
        let index = Index::open_or_create(directory, schema).map_err(err("opening"))?;
        Self::with(index, fields)
    }

    pub fn in_memory() -> Result<Self, StoreError> {
        let (schema, fields) = schema();
        Self::with(Index::create_in_ram(schema), fields)
    }

    /// An index in memory holding `entries`, in one commit.
    pub fn from_entries(entries: Vec<IndexEntry>) -> Result<Self, StoreError> {
        let index = Self::in_memory()?;
        index.apply(
            entries
                .into_iter()
                .map(|e| Change::Put(Box::new(e)))
                .collect(),
            false,
        )?;
        Ok(index)
    }

    /// An index carried as one object ([`TextIndex::to_bytes`]), opened in memory. A
    /// damaged object, or one of another schema, is [`StoreError::InvalidInput`]: the
    /// caller makes the index again from the records.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StoreError> {
        let damaged = |what: String| StoreError::InvalidInput {
            what: format!("a search index object: {what}"),
        };
        let dir = tantivy::directory::RamDirectory::create();
        for (name, data) in pack::unpack(bytes)? {
            use tantivy::directory::Directory;
            dir.atomic_write(Path::new(&name), data)
                .map_err(|e| damaged(format!("{name}: {e}")))?;
        }
        let index = Index::open(dir).map_err(|e| damaged(e.to_string()))?;
        let (schema, fields) = schema();
        if index.schema() != schema {
            return Err(damaged("made with another schema".into()));
        }
        let broken = index
            .validate_checksum()
            .map_err(|e| damaged(e.to_string()))?;
        if !broken.is_empty() {
            return Err(damaged(format!(
                "{} files fail their checksum",
                broken.len()
            )));
        }
        Self::with(index, fields).map_err(|e| damaged(e.to_string()))
    }

    /// Merges every segment into one when any holds removed or replaced documents, so
    /// their stored text is gone from the files and not only marked deleted (an index
    /// carried as an object, whose old versions are the only others kept).
    pub fn compact(&self) -> Result<(), StoreError> {
        let _one = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let searcher = self.reader.searcher();
        let deleted = searcher
            .segment_readers()
            .iter()
            .any(|r| r.num_deleted_docs() > 0);
        if !deleted {
            return Ok(());
        }
        let ids = self
            .index
            .searchable_segment_ids()
            .map_err(err("merging"))?;
        let mut writer: IndexWriter = self
            .index
            .writer_with_num_threads(1, 32_000_000)
            .map_err(err("merging"))?;
        writer.merge(&ids).wait().map_err(err("merging"))?;
        // The merged segments' files go now, not at some later commit.
        writer
            .garbage_collect_files()
            .wait()
            .map_err(err("removing merged files"))?;
        writer
            .wait_merging_threads()
            .map_err(err("merging segments"))?;
        self.refresh()
    }

    /// The index as one object: its files packed one after another (`pack.rs`).
    pub fn to_bytes(&self) -> Result<Vec<u8>, StoreError> {
        use tantivy::directory::Directory;
        let _one = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let dir = self.index.directory();
        let mut names: Vec<std::path::PathBuf> = dir.list_managed_files().into_iter().collect();
        names.push("meta.json".into());
        names.push(".managed.json".into());
        names.sort();
        names.dedup();
        let reading = |e: tantivy::directory::error::OpenReadError| {
            StoreError::unavailable("the search index: packing", e)
        };
        let mut files = Vec::with_capacity(names.len());
        for path in names {
            if !dir.exists(&path).map_err(reading)? {
                continue;
            }
            let Some(name) = path.to_str().map(str::to_string) else {
                continue;
            };
            files.push((name, dir.atomic_read(&path).map_err(reading)?));
        }
        Ok(pack::pack(&files))
    }

    fn with(index: Index, fields: Fields) -> Result<Self, StoreError> {
        register_analyzers(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(err("reading"))?;
        Ok(Self {
            index,
            reader,
            fields,
            writing: Mutex::new(()),
        })
    }

    /// How many documents it holds.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// How many documents its files hold, those removed or replaced but not yet merged
    /// away included ([`TextIndex::compact`]).
    pub fn stored(&self) -> u64 {
        self.reader
            .searcher()
            .segment_readers()
            .iter()
            .map(|r| r.max_doc() as u64)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sees what other processes committed.
    pub fn refresh(&self) -> Result<(), StoreError> {
        self.reader.reload().map_err(err("reloading"))
    }

    /// Applies changes in one commit; `clear` empties the index first (a rebuild).
    pub fn apply(&self, changes: Vec<Change>, clear: bool) -> Result<(), StoreError> {
        if changes.is_empty() && !clear {
            return Ok(());
        }
        let _one = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        // One thread, a small arena: documents come a few at a time.
        let mut writer: IndexWriter =
            self.index
                .writer_with_num_threads(1, 32_000_000)
                .map_err(|e| match e {
                    tantivy::TantivyError::LockFailure(..) => StoreError::Precondition {
                        what: "the search index is being written by another process".into(),
                    },
                    e => StoreError::unavailable("the search index: writing", e),
                })?;
        if clear {
            writer.delete_all_documents().map_err(err("clearing"))?;
        }
        for change in changes {
            match change {
                Change::Put(entry) => {
                    writer.delete_term(Term::from_field_text(self.fields.id, &entry.document_id));
                    writer
                        .add_document(self.document(&entry)?)
                        .map_err(err("adding"))?;
                }
                Change::Remove(id) => {
                    writer.delete_term(Term::from_field_text(self.fields.id, &id));
                }
            }
        }
        writer.commit().map_err(err("committing"))?;
        writer
            .wait_merging_threads()
            .map_err(err("merging segments"))?;
        self.refresh()
    }

    fn document(&self, e: &IndexEntry) -> Result<TantivyDocument, StoreError> {
        let f = &self.fields;
        let mut d = TantivyDocument::default();
        d.add_text(f.id, &e.document_id);
        d.add_text(f.patient, &e.patient_id);
        if let Some(t) = &e.doc_type {
            d.add_text(f.doc_type, t);
        }
        if let Some(day) = day_number(&e.day) {
            d.add_i64(f.day, day);
        }
        if let Some(date) = &e.document_date {
            d.add_text(f.date, date);
        }
        d.add_text(f.created, &e.created_at);
        d.add_u64(f.version, e.version);
        let text = e.text();
        d.add_text(f.plain, &text);
        for field in f.stems {
            d.add_text(field, &text);
        }
        let lines = serde_json::to_string(&e.lines)
            .map_err(|e| StoreError::unavailable("the search index: a document's lines", e))?;
        d.add_text(f.lines, &lines);
        Ok(d)
    }

    /// The documents it holds, with the record version each was made from.
    pub fn versions(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let searcher = self.reader.searcher();
        let mut out = Vec::new();
        for reader in searcher.segment_readers() {
            let store = reader
                .get_store_reader(16)
                .map_err(|e| StoreError::unavailable("the search index: reading", e))?;
            let alive = reader.alive_bitset();
            for doc in 0..reader.max_doc() {
                if alive.is_some_and(|a| !a.is_alive(doc)) {
                    continue;
                }
                let d: TantivyDocument = store.get(doc).map_err(err("reading"))?;
                let id = text_of(&d, self.fields.id).unwrap_or_default();
                let v = d
                    .get_first(self.fields.version)
                    .and_then(|v| v.as_u64())
                    .unwrap_or(0);
                out.push((id, v));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The best documents for a request, with their hits.
    pub fn search(&self, request: &SearchRequest) -> Result<Found, StoreError> {
        if request.patients.is_empty() {
            return Ok(Found::default());
        }
        let mut matcher = Matcher::new(&request.query);
        let query = self.query(&matcher, &request.patients, &request.filter);
        let searcher = self.reader.searcher();
        let limit = request.limit.clamp(1, MAX_RESULTS);
        let (top, total) = searcher
            .search(
                &query,
                &(TopDocs::with_limit(limit).order_by_score(), Count),
            )
            .map_err(err("searching"))?;
        let f = &self.fields;
        let mut matches = Vec::with_capacity(top.len());
        for (score, address) in top {
            let d: TantivyDocument = searcher.doc(address).map_err(err("reading"))?;
            let lines: Vec<IndexedLine> = text_of(&d, f.lines)
                .and_then(|l| serde_json::from_str(&l).ok())
                .unwrap_or_default();
            matches.push(Match {
                document_id: text_of(&d, f.id).unwrap_or_default(),
                patient_id: text_of(&d, f.patient).unwrap_or_default(),
                doc_type: text_of(&d, f.doc_type),
                document_date: text_of(&d, f.date),
                created_at: text_of(&d, f.created).unwrap_or_default(),
                score,
                hits: matcher.hits(&lines),
            });
        }
        Ok(Found { matches, total })
    }

    fn query(&self, m: &Matcher, patients: &[String], filter: &Filter) -> BooleanQuery {
        let f = &self.fields;
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for clause in m.clauses() {
            must.push((Occur::Must, self.clause_query(clause)));
        }
        // Filters narrow; they do not rank.
        let filter_q = |q: Box<dyn Query>| -> (Occur, Box<dyn Query>) {
            (Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0)))
        };
        must.push(filter_q(Box::new(TermSetQuery::new(
            patients.iter().map(|p| Term::from_field_text(f.patient, p)),
        ))));
        if let Some(t) = filter.doc_type {
            must.push(filter_q(Box::new(TermQuery::new(
                Term::from_field_text(f.doc_type, t.code()),
                IndexRecordOption::Basic,
            ))));
        }
        let from = filter.from.as_deref().and_then(day_number);
        let to = filter.to.as_deref().and_then(day_number);
        if from.is_some() || to.is_some() {
            let bound = |d: Option<i64>| match d {
                Some(d) => Bound::Included(Term::from_field_i64(f.day, d)),
                None => Bound::Unbounded,
            };
            must.push(filter_q(Box::new(RangeQuery::new(bound(from), bound(to)))));
        }
        BooleanQuery::new(must)
    }

    /// One clause: a word as written (BM25), by a stem (BM25), as a prefix, with one OCR
    /// error; the best of them counts. A phrase: its words in order, as written.
    fn clause_query(&self, clause: &hits::Term) -> Box<dyn Query> {
        let f = &self.fields;
        match clause {
            hits::Term::Phrase(words) => Box::new(PhraseQuery::new(
                words
                    .iter()
                    .map(|w| Term::from_field_text(f.plain, w))
                    .collect(),
            )),
            hits::Term::Word(w) => {
                let term = Term::from_field_text(f.plain, &w.plain);
                let mut ways: Vec<Box<dyn Query>> = vec![Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                    2.0,
                ))];
                for (field, stem) in f.stems.iter().zip(&w.stems) {
                    ways.push(Box::new(TermQuery::new(
                        Term::from_field_text(*field, stem),
                        IndexRecordOption::WithFreqs,
                    )));
                }
                if w.prefix {
                    ways.push(Box::new(BoostQuery::new(
                        Box::new(FuzzyTermQuery::new_prefix(term.clone(), 0, false)),
                        0.5,
                    )));
                }
                if w.fuzzy {
                    ways.push(Box::new(BoostQuery::new(
                        Box::new(FuzzyTermQuery::new(term, 1, true)),
                        0.3,
                    )));
                }
                Box::new(DisjunctionMaxQuery::with_tie_breaker(ways, 0.1))
            }
        }
    }
}

fn text_of(d: &TantivyDocument, field: Field) -> Option<String> {
    d.get_first(field)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// Whether a word of this many characters is also found as a prefix / with an error.
fn prefix_ok(chars: usize, explicit: bool) -> bool {
    explicit || chars >= PREFIX_MIN_CHARS
}

fn fuzzy_ok(chars: usize) -> bool {
    chars >= FUZZY_MIN_CHARS
}
