//! The replication journal: item and object changes in commit order, the cursors of the
//! regions applied, and applying another region's items by the conflict rule.

use medidocs_core::keys;
use medidocs_core::model::DocumentRecord;
use medidocs_core::ports::StoreError;
use rusqlite::{OptionalExtension, params};

use super::{SqliteMetadataStore, dated, db_err, decode, inflight};

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
                        // Settings: the later of the two copies.
                        (Some(l), false) if sk == keys::SETTINGS_SORT => {
                            let when = |d: &str| {
                                serde_json::from_str::<medidocs_core::model::PatientSettings>(d)
                                    .map(|s| s.updated_at)
                                    .unwrap_or_default()
                            };
                            when(&row.data) > when(l)
                        }
                        (Some(_), false) => false,
                    };
                    if write {
                        let ((g2pk, g2sk), (g3pk, g3sk)) = if sk == keys::DOCUMENT_SORT {
                            let doc = decode(&row.data)?;
                            (inflight(&doc), dated(&doc))
                        } else {
                            ((None, None), (None, None))
                        };
                        tx.execute(
                            "INSERT INTO items (pk, sk, gsi1pk, gsi1sk, status, version, data, gsi2pk, gsi2sk, gsi3pk, gsi3sk) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                             ON CONFLICT (pk, sk) DO UPDATE SET gsi1pk = excluded.gsi1pk, gsi1sk = excluded.gsi1sk,
                               status = excluded.status, version = excluded.version, data = excluded.data,
                               gsi2pk = excluded.gsi2pk, gsi2sk = excluded.gsi2sk, gsi3pk = excluded.gsi3pk, gsi3sk = excluded.gsi3sk",
                            params![row.pk, row.sk, row.gsi1pk, row.gsi1sk, row.status, row.version, row.data, g2pk, g2sk, g3pk, g3sk],
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
                .prepare(
                    "SELECT data FROM items WHERE sk = ?1 AND pk >= ?2 AND pk < ?3 ORDER BY pk",
                )
                .map_err(db_err)?;
            let prefix = keys::DOCUMENT_PREFIX;
            let rows = stmt
                .query_map(
                    params![keys::DOCUMENT_SORT, prefix, keys::prefix_end(prefix)],
                    |r| r.get::<_, String>(0),
                )
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            rows.iter().map(|d| decode(d)).collect()
        })
        .await
    }
}
