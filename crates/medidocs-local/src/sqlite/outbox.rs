//! The search outbox: every write of a document's record leaves its id here (a trigger,
//! in the write's own transaction), so the search index follows every change, whoever
//! made it (pipeline, API, watchdog, reread, migrate, a replicator) — as DynamoDB Streams
//! do in AWS. The index drains it ([`crate::search::LocalSearch`]).

use medidocs_core::keys;
use medidocs_core::ports::StoreError;
use rusqlite::params;

use super::{SqliteMetadataStore, db_err};

pub(super) fn schema() -> String {
    let prefix = keys::DOCUMENT_PREFIX;
    let sort = keys::DOCUMENT_SORT;
    let from = prefix.len() + 1;
    let mut s = String::from(
        "CREATE TABLE IF NOT EXISTS search_outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id  TEXT NOT NULL
        );",
    );
    for (event, row) in [("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")] {
        s.push_str(&format!(
            "CREATE TRIGGER IF NOT EXISTS search_outbox_{e} AFTER {event} ON items
             WHEN {row}.sk = '{sort}' AND substr({row}.pk, 1, {len}) = '{prefix}'
             BEGIN INSERT INTO search_outbox (id) VALUES (substr({row}.pk, {from})); END;",
            e = event.to_lowercase(),
            len = prefix.len(),
        ));
    }
    s
}

impl SqliteMetadataStore {
    /// The oldest entries of the search outbox: (sequence, document id).
    pub async fn search_outbox(&self, limit: usize) -> Result<Vec<(i64, String)>, StoreError> {
        self.with(move |c| {
            let mut stmt = c
                .prepare("SELECT seq, id FROM search_outbox ORDER BY seq LIMIT ?1")
                .map_err(db_err)?;
            stmt.query_map(params![limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db_err)?
                .collect::<Result<_, _>>()
                .map_err(db_err)
        })
        .await
    }

    /// Forgets the outbox up to `seq` (inclusive): those changes are in the index. A
    /// change written since has a later sequence and stays.
    pub async fn clear_search_outbox(&self, seq: i64) -> Result<(), StoreError> {
        self.with(move |c| {
            c.execute("DELETE FROM search_outbox WHERE seq <= ?1", params![seq])
                .map(|_| ())
                .map_err(db_err)
        })
        .await
    }

    /// The outbox's last sequence (0 if it was never written).
    pub async fn last_search_change(&self) -> Result<i64, StoreError> {
        self.with(|c| {
            c.query_row("SELECT COALESCE(MAX(seq), 0) FROM search_outbox", [], |r| {
                r.get(0)
            })
            .map_err(db_err)
        })
        .await
    }
}
