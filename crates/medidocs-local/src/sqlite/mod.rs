//! Metadata in one SQLite file, in the same single-table item model as DynamoDB:
//! `pk`/`sk` keys (`DOC#{id}`/`META`, `SHA#{pid}#{sha256}`/`DOC`), a patient index
//! (`gsi1pk` = `PATIENT#{pid}`, `gsi1sk` = `CREATED#{time}#{id}`), the sparse in-flight
//! index the watchdog reads (`gsi2pk` = `INFLIGHT#{region}`, `gsi2sk` =
//! `{deadline}#{id}`, only while a document is in flight), the patient's timeline
//! (`gsi3pk` = `PATIENT#{pid}`, `gsi3sk` = `DATED#{day}#{time}#{id}`), the item as JSON,
//! and a `version` column for conditional writes.

use std::path::Path;
use std::sync::{Arc, Mutex};

use medidocs_core::keys;
use medidocs_core::model::{DocumentRecord, Status};
use medidocs_core::ports::StoreError;
use rusqlite::{Connection, params};

mod access;
mod documents;
mod journal;
mod legacy;
mod outbox;

pub use journal::{Applied, Change, ItemRow};

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
    gsi3pk  TEXT,
    gsi3sk  TEXT,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_status ON items (status) WHERE status IS NOT NULL;
";

/// The in-flight index, made after the columns exist (a file from before them gets them
/// first, in [`SqliteMetadataStore::init`]).
const INFLIGHT_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS items_gsi2 ON items (gsi2pk, gsi2sk) WHERE gsi2pk IS NOT NULL;";

/// The timeline index, made after its columns exist (see [`INFLIGHT_INDEX`]).
const DATED_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS items_gsi3 ON items (gsi3pk, gsi3sk) WHERE gsi3pk IS NOT NULL;";

/// A document's place in its patient's timeline: (`gsi3pk`, `gsi3sk`).
fn dated(doc: &DocumentRecord) -> (Option<String>, Option<String>) {
    let (pk, sk) = keys::dated_index(doc);
    (Some(pk), Some(sk))
}

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

/// Runs `f` again while SQLite answers busy or locked without having waited (up to about
/// ten seconds, as the busy timeout would).
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> Result<T, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        match f() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(200));
            }
            r => return r.map_err(db_err),
        }
    }
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
        // Two processes opening a new file at once (an import and a `status` beside it):
        // the switch to WAL can answer "locked" without waiting on the busy timeout, so it
        // is tried again for a while; the schema and its migrations are then made in one
        // write transaction, which waits its turn, so one process makes them and the
        // other finds them made.
        retry_busy(|| conn.pragma_update(None, "journal_mode", "WAL"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db_err)?;
        retry_busy(|| conn.execute_batch("BEGIN IMMEDIATE"))?;
        let made = Self::make_schema(&conn);
        conn.execute_batch(if made.is_ok() { "COMMIT" } else { "ROLLBACK" })
            .map_err(db_err)?;
        made?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The tables and indexes, and a file written by an older version brought up to date;
    /// inside the caller's write transaction.
    fn make_schema(conn: &Connection) -> Result<(), StoreError> {
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        if !Self::has_column(conn, "gsi2pk")? {
            Self::fill_inflight_columns(conn)?;
        }
        conn.execute_batch(INFLIGHT_INDEX).map_err(db_err)?;
        if !Self::has_column(conn, "gsi3pk")? {
            Self::fill_dated_columns(conn)?;
        }
        conn.execute_batch(DATED_INDEX).map_err(db_err)?;
        conn.execute_batch(&outbox::schema()).map_err(db_err)
    }

    fn has_column(conn: &Connection, name: &str) -> Result<bool, StoreError> {
        conn.query_row(
            "SELECT COUNT(*) FROM pragma_table_info('items') WHERE name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(db_err)
    }

    fn fill_dated_columns(conn: &Connection) -> Result<(), StoreError> {
        conn.execute_batch(
            "ALTER TABLE items ADD COLUMN gsi3pk TEXT; ALTER TABLE items ADD COLUMN gsi3sk TEXT;",
        )
        .map_err(db_err)?;
        let rows: Vec<(String, String)> = {
            let mut stmt = conn
                .prepare("SELECT pk, data FROM items WHERE sk = ?1")
                .map_err(db_err)?;
            stmt.query_map(params![keys::DOCUMENT_SORT], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db_err)?
                .collect::<Result<_, _>>()
                .map_err(db_err)?
        };
        for (pk, data) in rows {
            let (g3pk, g3sk) = dated(&decode(&data)?);
            conn.execute(
                "UPDATE items SET gsi3pk = ?2, gsi3sk = ?3 WHERE pk = ?1 AND sk = ?4",
                params![pk, g3pk, g3sk, keys::DOCUMENT_SORT],
            )
            .map_err(db_err)?;
        }
        Ok(())
    }

    fn fill_inflight_columns(conn: &Connection) -> Result<(), StoreError> {
        {
            conn.execute_batch(
                "ALTER TABLE items ADD COLUMN gsi2pk TEXT; ALTER TABLE items ADD COLUMN gsi2sk TEXT;",
            )
            .map_err(db_err)?;
            let rows: Vec<(String, String)> = {
                let mut stmt = conn
                    .prepare("SELECT pk, data FROM items WHERE sk = ?1 AND status IN (?2, ?3)")
                    .map_err(db_err)?;
                let in_flight = [Status::Received.as_str(), Status::Processing.as_str()];
                stmt.query_map(
                    params![keys::DOCUMENT_SORT, in_flight[0], in_flight[1]],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
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
                    "UPDATE items SET data = ?2, gsi2pk = ?3, gsi2sk = ?4 WHERE pk = ?1 AND sk = ?5",
                    params![pk, encode(&doc)?, g2pk, g2sk, keys::DOCUMENT_SORT],
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
