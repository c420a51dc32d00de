//! Metadata in one SQLite file, in the same single-table item model as DynamoDB:
//! `pk`/`sk` keys (`DOC#{id}`/`META`, `SHA#{sha256}`/`DOC`), a patient index
//! (`gsi1pk` = `PATIENT#{pid}`, `gsi1sk` = `CREATED#{time}#{id}`), the sparse in-flight
//! index the watchdog reads (`gsi2pk` = `INFLIGHT#{region}`, `gsi2sk` =
//! `{deadline}#{id}`, only while a document is in flight), the item as JSON, and a
//! `version` column for conditional writes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use medidocs_core::access::{AuditPage, AuditRecord, audit_month};
use medidocs_core::keys;
use medidocs_core::model::{DocumentPage, DocumentRecord};
use medidocs_core::ports::{AccessStore, MetadataStore, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk      TEXT NOT NULL,
    sk      TEXT NOT NULL,
    gsi1pk  TEXT,
    gsi1sk  TEXT,
    status  TEXT,
    version INTEGER NOT NULL,
    data    TEXT NOT NULL,
    gsi2pk  TEXT,
    gsi2sk  TEXT,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_status ON items (status) WHERE status IS NOT NULL;
";

/// The in-flight index, made after the columns exist (a file from before them gets them
/// first, in [`SqliteMetadataStore::init`]).
const INFLIGHT_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS items_gsi2 ON items (gsi2pk, gsi2sk) WHERE gsi2pk IS NOT NULL;";

/// A document's place in the in-flight index: (`gsi2pk`, `gsi2sk`), or none.
fn inflight(doc: &DocumentRecord) -> (Option<String>, Option<String>) {
    match medidocs_core::keys::inflight_index(doc) {
        Some((pk, sk)) => (Some(pk), Some(sk)),
        None => (None, None),
    }
}

pub struct SqliteMetadataStore {
    conn: Arc<Mutex<Connection>>,
}

fn db_err(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            StoreError::Throttled {
                source: Box::new(e),
            }
        }
        other => StoreError::unavailable("sqlite", other),
    }
}

fn doc_pk(id: &str) -> String {
    keys::document_item(id)
}

impl SqliteMetadataStore {
    /// Opens (creating it 0600) the database at `path`. SQLite gives its `-wal` and `-shm`
    /// files the database file's permissions; files an older version left readable by
    /// others are made private first.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(StoreError::unavailable(
                    format!("cannot create {}", path.display()),
                    e,
                ));
            }
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            crate::private::tighten_path(Path::new(&p))?;
        }
        let conn = Connection::open(path).map_err(db_err)?;
        Self::init(conn)
    }

    /// A private in-memory database (tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory().map_err(db_err)?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db_err)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        Self::add_inflight_index(&conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// A file written before the in-flight index gets its columns, and its documents in
    /// flight get the region and deadline the index needs (the embedded region, and the
    /// default deadline after their last write), so the watchdog finds them.
    fn add_inflight_index(conn: &Connection) -> Result<(), StoreError> {
        let has: bool = conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('items') WHERE name = 'gsi2pk'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(db_err)?
            > 0;
        if !has {
            // One transaction: the columns and their values together, or neither.
            conn.execute_batch("BEGIN IMMEDIATE").map_err(db_err)?;
            let migrated = Self::fill_inflight_columns(conn);
            conn.execute_batch(if migrated.is_ok() {
                "COMMIT"
            } else {
                "ROLLBACK"
            })
            .map_err(db_err)?;
            migrated?;
        }
        conn.execute_batch(INFLIGHT_INDEX).map_err(db_err)
    }

    fn fill_inflight_columns(conn: &Connection) -> Result<(), StoreError> {
        {
            conn.execute_batch(
                "ALTER TABLE items ADD COLUMN gsi2pk TEXT; ALTER TABLE items ADD COLUMN gsi2sk TEXT;",
            )
            .map_err(db_err)?;
            let rows: Vec<(String, String)> = {
                let mut stmt = conn
                    .prepare("SELECT pk, data FROM items WHERE sk = 'META' AND status IN ('RECEIVED', 'PROCESSING')")
                    .map_err(db_err)?;
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(db_err)?
                    .collect::<Result<_, _>>()
                    .map_err(db_err)?
            };
            for (pk, data) in rows {
                let mut doc = decode(&data)?;
                if doc.region.is_empty() {
                    doc.region = medidocs_core::model::LOCAL_REGION.into();
                }
                if doc.deadline.is_none() {
                    let last = time::OffsetDateTime::parse(
                        &doc.updated_at,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
                    doc.deadline = Some(medidocs_core::clock::rfc3339(
                        last + medidocs_core::watchdog::DEFAULT_DEADLINE,
                    ));
                }
                let (g2pk, g2sk) = inflight(&doc);
                conn.execute(
                    "UPDATE items SET data = ?2, gsi2pk = ?3, gsi2sk = ?4 WHERE pk = ?1 AND sk = 'META'",
                    params![pk, encode(&doc)?, g2pk, g2sk],
                )
                .map_err(db_err)?;
            }
        }
        Ok(())
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::unavailable("sqlite", "connection lock poisoned"))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::unavailable("sqlite worker", e))?
    }
}

fn encode(doc: &DocumentRecord) -> Result<String, StoreError> {
    serde_json::to_string(doc).map_err(|e| StoreError::InvalidInput {
        what: e.to_string(),
    })
}

fn decode(data: &str) -> Result<DocumentRecord, StoreError> {
    serde_json::from_str(data).map_err(|e| StoreError::unavailable("sqlite: unreadable item", e))
}

#[async_trait]
impl MetadataStore for SqliteMetadataStore {
    async fn create_document(&self, doc: &DocumentRecord) -> Result<(), StoreError> {
        let data = encode(doc)?;
        let doc = doc.clone();
        let (g2pk, g2sk) = inflight(&doc);
        self.with(move |c| {
            let n = c
                .execute(
                    "INSERT INTO items (pk, sk, gsi1pk, gsi1sk, status, version, data, gsi2pk, gsi2sk) VALUES (?1, 'META', ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (pk, sk) DO NOTHING",
                    params![
                        doc_pk(&doc.id),
                        keys::patient_partition(&doc.patient_id),
                        medidocs_core::keys::listing_key(&doc.created_at, &doc.id),
                        doc.status.as_str(),
                        doc.version as i64,
                        data,
                        g2pk,
                        g2sk
                    ],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(StoreError::AlreadyExists { what: format!("document {}", doc.id) });
            }
            Ok(())
        })
        .await
    }

    async fn get_document(&self, id: &str) -> Result<DocumentRecord, StoreError> {
        let id = id.to_string();
        self.with(move |c| {
            let data: Option<String> = c
                .query_row(
                    "SELECT data FROM items WHERE pk = ?1 AND sk = 'META'",
                    params![doc_pk(&id)],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            decode(&data.ok_or_else(|| StoreError::not_found(format!("document {id}")))?)
        })
        .await
    }

    async fn update_document(&self, doc: &DocumentRecord) -> Result<(), StoreError> {
        let data = encode(doc)?;
        let doc = doc.clone();
        let (g2pk, g2sk) = inflight(&doc);
        self.with(move |c| {
            let tx = c.transaction().map_err(db_err)?;
            let n = tx
                .execute(
                    "UPDATE items SET status = ?2, version = ?3, data = ?4, gsi2pk = ?6, gsi2sk = ?7 WHERE pk = ?1 AND sk = 'META' AND version = ?5",
                    params![doc_pk(&doc.id), doc.status.as_str(), doc.version as i64, data, doc.version as i64 - 1, g2pk, g2sk],
                )
                .map_err(db_err)?;
            if n == 0 {
                let exists: Option<i64> = tx
                    .query_row("SELECT version FROM items WHERE pk = ?1 AND sk = 'META'", params![doc_pk(&doc.id)], |r| r.get(0))
                    .optional()
                    .map_err(db_err)?;
                return Err(match exists {
                    None => StoreError::not_found(format!("document {}", doc.id)),
                    Some(v) => StoreError::Precondition {
                        what: format!("document {} is at version {v}, not {}", doc.id, doc.version - 1),
                    },
                });
            }
            tx.commit().map_err(db_err)
        })
        .await
    }

    async fn list_patient_documents(
        &self,
        patient_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<DocumentPage, StoreError> {
        let pk = keys::patient_partition(patient_id);
        let cursor = cursor.map(str::to_string);
        let limit = limit.clamp(1, 1000);
        self.with(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT gsi1sk, data FROM items WHERE gsi1pk = ?1 AND (?2 IS NULL OR gsi1sk < ?2)
                     ORDER BY gsi1sk DESC LIMIT ?3",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![pk, cursor, (limit + 1) as i64], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            let more = rows.len() > limit;
            let rows = &rows[..rows.len().min(limit)];
            let next = if more { rows.last().map(|(sk, _)| sk.clone()) } else { None };
            let documents = rows.iter().map(|(_, d)| decode(d)).collect::<Result<Vec<_>, _>>()?;
            Ok(DocumentPage { documents, next })
        })
        .await
    }

    async fn claim_content(
        &self,
        patient_id: &str,
        sha256: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        let (pk, id) = (keys::content_claim(patient_id, sha256), id.to_string());
        self.with(move |c| {
            let tx = c.transaction().map_err(db_err)?;
            tx.execute(
                "INSERT INTO items (pk, sk, version, data) VALUES (?1, 'DOC', 1, ?2) ON CONFLICT (pk, sk) DO NOTHING",
                params![pk, serde_json::json!({ "document_id": id }).to_string()],
            )
            .map_err(db_err)?;
            let data: String = tx
                .query_row("SELECT data FROM items WHERE pk = ?1 AND sk = 'DOC'", params![pk], |r| r.get(0))
                .map_err(db_err)?;
            tx.commit().map_err(db_err)?;
            let v: serde_json::Value = serde_json::from_str(&data).map_err(|e| StoreError::unavailable("sqlite: unreadable item", e))?;
            let first = v["document_id"].as_str().unwrap_or_default().to_string();
            Ok(if first == id { None } else { Some(first) })
        })
        .await
    }

    async fn overdue_documents(
        &self,
        region: &str,
        now: &str,
        limit: usize,
    ) -> Result<Vec<DocumentRecord>, StoreError> {
        let (pk, now) = (
            medidocs_core::keys::inflight_partition(region),
            now.to_string(),
        );
        self.with(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT data FROM items WHERE gsi2pk = ?1 AND gsi2sk < ?2
                     ORDER BY gsi2sk LIMIT ?3",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![pk, now, limit as i64], |r| r.get::<_, String>(0))
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            rows.iter().map(|d| decode(d)).collect()
        })
        .await
    }

    async fn count_by_status(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        self.with(|c| {
            let mut stmt = c
                .prepare("SELECT status, COUNT(*) FROM items WHERE sk = 'META' GROUP BY status")
                .map_err(db_err)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            Ok(rows.into_iter().map(|(s, n)| (s, n as u64)).collect())
        })
        .await
    }
}

#[async_trait]
impl AccessStore for SqliteMetadataStore {
    async fn add_care_team_member(&self, patient_id: &str, member: &str) -> Result<(), StoreError> {
        let (pid, member) = (patient_id.to_string(), member.to_string());
        self.with(move |c| {
            c.execute(
                "INSERT INTO items (pk, sk, gsi1pk, gsi1sk, version, data) VALUES (?1, ?2, ?3, ?4, 1, ?5)
                 ON CONFLICT (pk, sk) DO NOTHING",
                params![
                    keys::patient_partition(&pid),
                    keys::member_key(&member),
                    keys::member_key(&member),
                    keys::patient_partition(&pid),
                    serde_json::json!({ "patient_id": pid, "member": member }).to_string()
                ],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn remove_care_team_member(
        &self,
        patient_id: &str,
        member: &str,
    ) -> Result<(), StoreError> {
        let (pid, member) = (patient_id.to_string(), member.to_string());
        self.with(move |c| {
            let n = c
                .execute(
                    "DELETE FROM items WHERE pk = ?1 AND sk = ?2",
                    params![keys::patient_partition(&pid), keys::member_key(&member)],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(StoreError::not_found(format!(
                    "{member} on the care team of {pid}"
                )));
            }
            Ok(())
        })
        .await
    }

    async fn is_care_team_member(
        &self,
        patient_id: &str,
        member: &str,
    ) -> Result<bool, StoreError> {
        let (pk, sk) = (
            keys::patient_partition(patient_id),
            keys::member_key(member),
        );
        self.with(move |c| {
            c.query_row(
                "SELECT 1 FROM items WHERE pk = ?1 AND sk = ?2",
                params![pk, sk],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(db_err)
        })
        .await
    }

    async fn care_team(&self, patient_id: &str) -> Result<Vec<String>, StoreError> {
        let pk = keys::patient_partition(patient_id);
        self.with(move |c| {
            let mut stmt = c
                .prepare("SELECT substr(sk, 8) FROM items WHERE pk = ?1 AND sk >= 'MEMBER#' AND sk < 'MEMBER$' ORDER BY sk")
                .map_err(db_err)?;
            let rows = stmt.query_map(params![pk], |r| r.get(0)).map_err(db_err)?;
            rows.collect::<Result<Vec<String>, _>>().map_err(db_err)
        })
        .await
    }

    async fn member_patients(&self, member: &str) -> Result<Vec<String>, StoreError> {
        let pk = keys::member_key(member);
        self.with(move |c| {
            let mut stmt = c
                .prepare("SELECT substr(gsi1sk, 9) FROM items WHERE gsi1pk = ?1 ORDER BY gsi1sk")
                .map_err(db_err)?;
            let rows = stmt.query_map(params![pk], |r| r.get(0)).map_err(db_err)?;
            rows.collect::<Result<Vec<String>, _>>().map_err(db_err)
        })
        .await
    }

    async fn append_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let data = serde_json::to_string(record).map_err(|e| StoreError::InvalidInput {
            what: e.to_string(),
        })?;
        let record = record.clone();
        self.with(move |c| {
            let n = c
                .execute(
                    "INSERT INTO items (pk, sk, gsi1pk, gsi1sk, version, data) VALUES (?1, ?2, ?3, ?2, 1, ?4)
                     ON CONFLICT (pk, sk) DO NOTHING",
                    params![
                        keys::audit_partition(record.patient_id.as_deref()),
                        record.id,
                        keys::audit_month_partition(audit_month(&record.at)),
                        data
                    ],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(StoreError::AlreadyExists { what: format!("audit record {}", record.id) });
            }
            Ok(())
        })
        .await
    }

    async fn list_audit(
        &self,
        patient_id: Option<&str>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<AuditPage, StoreError> {
        let patient = patient_id.map(|p| keys::audit_partition(Some(p)));
        let cursor = cursor.map(str::to_string);
        let limit = limit.clamp(1, 1000);
        self.with(move |c| {
            // Audit items are the only ones whose gsi1pk starts with AUDIT#.
            let sql = if patient.is_some() {
                "SELECT sk, data FROM items WHERE pk = ?1 AND (?2 IS NULL OR sk < ?2) ORDER BY sk DESC LIMIT ?3"
            } else {
                "SELECT gsi1sk, data FROM items WHERE gsi1pk >= 'AUDIT#' AND gsi1pk < 'AUDIT$' AND ?1 IS NULL
                 AND (?2 IS NULL OR gsi1sk < ?2) ORDER BY gsi1sk DESC LIMIT ?3"
            };
            let mut stmt = c.prepare(sql).map_err(db_err)?;
            let rows = stmt
                .query_map(params![patient, cursor, (limit + 1) as i64], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            let more = rows.len() > limit;
            let rows = &rows[..rows.len().min(limit)];
            let next = if more { rows.last().map(|(k, _)| k.clone()) } else { None };
            let records = rows
                .iter()
                .map(|(_, d)| serde_json::from_str(d).map_err(|e| StoreError::unavailable("sqlite: unreadable audit record", e)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(AuditPage { records, next })
        })
        .await
    }
}

/// The change journal of a replicated region: one row per item written or deleted and per
/// object written, in commit order, with the time it was written (for the lag). Kept only
/// once [`SqliteMetadataStore::enable_journal`] is called: a single-region install writes
/// no journal.
const JOURNAL: &str = "
CREATE TABLE IF NOT EXISTS changes (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    k1   TEXT NOT NULL,
    k2   TEXT NOT NULL DEFAULT '',
    at   INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
);
CREATE TABLE IF NOT EXISTS replication_cursor (
    source TEXT PRIMARY KEY,
    seq    INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS items_journal_insert AFTER INSERT ON items
BEGIN INSERT INTO changes (kind, k1, k2) VALUES ('item', NEW.pk, NEW.sk); END;
CREATE TRIGGER IF NOT EXISTS items_journal_update AFTER UPDATE ON items
BEGIN INSERT INTO changes (kind, k1, k2) VALUES ('item', NEW.pk, NEW.sk); END;
CREATE TRIGGER IF NOT EXISTS items_journal_delete AFTER DELETE ON items
BEGIN INSERT INTO changes (kind, k1, k2) VALUES ('item', OLD.pk, OLD.sk); END;
";

/// One journal row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Item {
        seq: i64,
        at_ms: i64,
        pk: String,
        sk: String,
    },
    Object {
        seq: i64,
        at_ms: i64,
        key: String,
    },
}

impl Change {
    pub fn seq(&self) -> i64 {
        match self {
            Change::Item { seq, .. } | Change::Object { seq, .. } => *seq,
        }
    }
    pub fn at_ms(&self) -> i64 {
        match self {
            Change::Item { at_ms, .. } | Change::Object { at_ms, .. } => *at_ms,
        }
    }
}

/// An item as stored: every column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    pub pk: String,
    pub sk: String,
    pub gsi1pk: Option<String>,
    pub gsi1sk: Option<String>,
    pub status: Option<String>,
    pub version: i64,
    pub data: String,
}

/// What applying a replicated item did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Written,
    Deleted,
    /// This region's copy wins by the conflict rule: kept.
    Kept,
    /// This region already has this very copy.
    Same,
}

impl SqliteMetadataStore {
    /// Starts journaling every item change (idempotent).
    pub fn enable_journal(&self) -> Result<(), StoreError> {
        self.conn
            .lock()
            .map_err(|_| StoreError::unavailable("sqlite", "connection lock poisoned"))?
            .execute_batch(JOURNAL)
            .map_err(db_err)
    }

    /// Journals an object written (or deleted) under `key`.
    pub async fn journal_object(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_string();
        self.with(move |c| {
            c.execute(
                "INSERT INTO changes (kind, k1) VALUES ('object', ?1)",
                params![key],
            )
            .map(|_| ())
            .map_err(db_err)
        })
        .await
    }

    /// Up to `limit` journal rows after `seq`, oldest first.
    pub async fn changes_after(&self, seq: i64, limit: usize) -> Result<Vec<Change>, StoreError> {
        self.with(move |c| {
            let mut stmt = c
                .prepare("SELECT seq, kind, k1, k2, at FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2")
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![seq, limit as i64], |r| {
                    let (seq, kind, k1, k2, at_ms): (i64, String, String, String, i64) =
                        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
                    Ok(if kind == "object" {
                        Change::Object { seq, at_ms, key: k1 }
                    } else {
                        Change::Item { seq, at_ms, pk: k1, sk: k2 }
                    })
                })
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            Ok(rows)
        })
        .await
    }

    /// The last journal row (0 when there is none).
    pub async fn last_change(&self) -> Result<i64, StoreError> {
        self.with(|c| {
            c.query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| {
                r.get(0)
            })
            .map_err(db_err)
        })
        .await
    }

    /// Forgets journal rows up to `seq` (every peer has applied them).
    pub async fn trim_journal(&self, seq: i64) -> Result<(), StoreError> {
        self.with(move |c| {
            c.execute("DELETE FROM changes WHERE seq <= ?1", params![seq])
                .map(|_| ())
                .map_err(db_err)
        })
        .await
    }

    pub async fn read_item(&self, pk: &str, sk: &str) -> Result<Option<ItemRow>, StoreError> {
        let (pk, sk) = (pk.to_string(), sk.to_string());
        self.with(move |c| {
            c.query_row(
                "SELECT pk, sk, gsi1pk, gsi1sk, status, version, data FROM items WHERE pk = ?1 AND sk = ?2",
                params![pk, sk],
                |r| {
                    Ok(ItemRow {
                        pk: r.get(0)?,
                        sk: r.get(1)?,
                        gsi1pk: r.get(2)?,
                        gsi1sk: r.get(3)?,
                        status: r.get(4)?,
                        version: r.get(5)?,
                        data: r.get(6)?,
                    })
                },
            )
            .optional()
            .map_err(db_err)
        })
        .await
    }

    /// How far this region has applied `source`'s journal.
    pub async fn cursor(&self, source: &str) -> Result<i64, StoreError> {
        let source = source.to_string();
        self.with(move |c| {
            c.query_row(
                "SELECT seq FROM replication_cursor WHERE source = ?1",
                params![source],
                |r| r.get(0),
            )
            .optional()
            .map(|s| s.unwrap_or(0))
            .map_err(db_err)
        })
        .await
    }

    pub async fn set_cursor(&self, source: &str, seq: i64) -> Result<(), StoreError> {
        let source = source.to_string();
        self.with(move |c| {
            c.execute(
                "INSERT INTO replication_cursor (source, seq) VALUES (?1, ?2)
                 ON CONFLICT (source) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                params![source, seq],
            )
            .map(|_| ())
            .map_err(db_err)
        })
        .await
    }

    /// Applies `source`'s item `(pk, sk)` as it is there now (`None`: deleted there), and
    /// moves the cursor to `seq`, in one transaction. Documents follow the conflict rule
    /// ([`medidocs_core::replication`]); other items are written once (content claims,
    /// audit records, care-team members are the same wherever written) and deleted when
    /// deleted at the source. A replicated write is not journaled again here, so it does
    /// not travel back.
    pub async fn apply_replicated(
        &self,
        source: &str,
        seq: i64,
        pk: &str,
        sk: &str,
        incoming: Option<ItemRow>,
    ) -> Result<Applied, StoreError> {
        let (source, pk, sk) = (source.to_string(), pk.to_string(), sk.to_string());
        self.with(move |c| {
            let tx = c.transaction().map_err(db_err)?;
            let before: i64 = tx
                .query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| r.get(0))
                .map_err(db_err)?;
            let local: Option<String> = tx
                .query_row("SELECT data FROM items WHERE pk = ?1 AND sk = ?2", params![pk, sk], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            let same = matches!((&incoming, &local), (Some(i), Some(l)) if i.data == *l);
            let applied = match (incoming, local) {
                _ if same => Applied::Same,
                (None, None) => Applied::Same,
                (None, Some(_)) if sk == keys::DOCUMENT_SORT => Applied::Kept,
                (None, Some(_)) => {
                    tx.execute("DELETE FROM items WHERE pk = ?1 AND sk = ?2", params![pk, sk]).map_err(db_err)?;
                    Applied::Deleted
                }
                (Some(row), local) => {
                    let write = match (&local, sk == keys::DOCUMENT_SORT) {
                        (None, _) => true,
                        (Some(l), true) => {
                            let l = decode(l)?;
                            let i = decode(&row.data)?;
                            medidocs_core::replication::takes(Some(&l), &i)
                        }
                        (Some(_), false) => false,
                    };
                    if write {
                        let (g2pk, g2sk) = if sk == keys::DOCUMENT_SORT { inflight(&decode(&row.data)?) } else { (None, None) };
                        tx.execute(
                            "INSERT INTO items (pk, sk, gsi1pk, gsi1sk, status, version, data, gsi2pk, gsi2sk) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                             ON CONFLICT (pk, sk) DO UPDATE SET gsi1pk = excluded.gsi1pk, gsi1sk = excluded.gsi1sk,
                               status = excluded.status, version = excluded.version, data = excluded.data,
                               gsi2pk = excluded.gsi2pk, gsi2sk = excluded.gsi2sk",
                            params![row.pk, row.sk, row.gsi1pk, row.gsi1sk, row.status, row.version, row.data, g2pk, g2sk],
                        )
                        .map_err(db_err)?;
                        Applied::Written
                    } else {
                        Applied::Kept
                    }
                }
            };
            tx.execute("DELETE FROM changes WHERE seq > ?1", params![before]).map_err(db_err)?;
            tx.execute(
                "INSERT INTO replication_cursor (source, seq) VALUES (?1, ?2)
                 ON CONFLICT (source) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                params![source, seq],
            )
            .map_err(db_err)?;
            tx.commit().map_err(db_err)?;
            Ok(applied)
        })
        .await
    }

    /// Every document record (the drill's and reconciliation's view of a region).
    pub async fn all_documents(&self) -> Result<Vec<DocumentRecord>, StoreError> {
        self.with(|c| {
            let mut stmt = c
                .prepare("SELECT data FROM items WHERE sk = 'META' AND pk LIKE 'DOC#%' ORDER BY pk")
                .map_err(db_err)?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            rows.iter().map(|d| decode(d)).collect()
        })
        .await
    }
}

#[async_trait]
impl medidocs_core::migrate::LegacyRecords for SqliteMetadataStore {
    async fn linked_documents(&self) -> Result<Vec<String>, StoreError> {
        self.with(|c| {
            let mut stmt = c
                .prepare(
                    "SELECT data FROM items WHERE sk = 'META' AND json_extract(data, '$.duplicate_of') IS NOT NULL ORDER BY pk",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            rows.iter().map(|d| decode(d).map(|doc| doc.id)).collect()
        })
        .await
    }

    async fn legacy_content_claims(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.with(|c| {
            // Claims of today are `SHA#{patient}#{sha256}`; those without a patient have
            // one `#` (a SHA-256 has none).
            let mut stmt = c
                .prepare(
                    "SELECT substr(pk, 5), json_extract(data, '$.document_id') FROM items WHERE sk = 'DOC' AND pk LIKE 'SHA#%' AND instr(substr(pk, 5), '#') = 0 ORDER BY pk",
                )
                .map_err(db_err)?;
            stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?.unwrap_or_default()))
            })
            .map_err(db_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_err)
        })
        .await
    }

    async fn delete_legacy_content_claim(&self, sha256: &str) -> Result<(), StoreError> {
        let pk = keys::legacy_content_claim(sha256);
        self.with(move |c| {
            c.execute(
                "DELETE FROM items WHERE pk = ?1 AND sk = 'DOC'",
                params![pk],
            )
            .map(|_| ())
            .map_err(db_err)
        })
        .await
    }
}
