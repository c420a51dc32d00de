//! Records of earlier versions, for `medidocs migrate`: the [`LegacyRecords`] port.
//!
//! [`LegacyRecords`]: medidocs_core::migrate::LegacyRecords

use async_trait::async_trait;
use medidocs_core::keys;
use medidocs_core::ports::StoreError;
use rusqlite::params;

use super::{SqliteMetadataStore, db_err, decode};

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
