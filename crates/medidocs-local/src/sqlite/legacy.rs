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
                    "SELECT data FROM items WHERE sk = ?1 AND json_extract(data, '$.duplicate_of') IS NOT NULL ORDER BY pk",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![keys::DOCUMENT_SORT], |r| r.get::<_, String>(0))
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            rows.iter().map(|d| decode(d).map(|doc| doc.id)).collect()
        })
        .await
    }

    async fn legacy_content_claims(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.with(|c| {
            let mut stmt = c
                .prepare(
                    "SELECT pk, json_extract(data, '$.document_id') FROM items WHERE sk = ?1 AND pk >= ?2 AND pk < ?3 ORDER BY pk",
                )
                .map_err(db_err)?;
            let prefix = keys::CLAIM_PREFIX;
            let claims = stmt
                .query_map(params![keys::CLAIM_SORT, prefix, keys::prefix_end(prefix)], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?.unwrap_or_default()))
                })
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            Ok(claims
                .into_iter()
                .filter_map(|(pk, id)| keys::legacy_claim_sha256(&pk).map(|sha| (sha.to_string(), id)))
                .collect())
        })
        .await
    }

    async fn delete_legacy_content_claim(&self, sha256: &str) -> Result<(), StoreError> {
        let pk = keys::legacy_content_claim(sha256);
        self.with(move |c| {
            c.execute(
                "DELETE FROM items WHERE pk = ?1 AND sk = ?2",
                params![pk, keys::CLAIM_SORT],
            )
            .map(|_| ())
            .map_err(db_err)
        })
        .await
    }

    async fn undated_documents(&self) -> Result<Vec<(String, bool)>, StoreError> {
        self.with(|c| {
            let mut stmt = c
                .prepare(
                    "SELECT data, gsi3pk IS NOT NULL FROM items WHERE sk = ?1
                       AND (gsi3pk IS NULL OR (status = ?2 AND json_extract(data, '$.understanding') IS NULL))
                     ORDER BY pk",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(
                    params![keys::DOCUMENT_SORT, medidocs_core::model::Status::Ready.as_str()],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)),
                )
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            rows.iter()
                .map(|(d, indexed)| decode(d).map(|doc| (doc.id, *indexed)))
                .collect()
        })
        .await
    }

    async fn documents_without_pdf(&self) -> Result<Vec<String>, StoreError> {
        self.with(|c| {
            let mut stmt = c
                .prepare(
                    "SELECT pk FROM items WHERE sk = ?1 AND status = ?2
                       AND json_extract(data, '$.pdf') IS NULL
                     ORDER BY pk",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(
                    params![
                        keys::DOCUMENT_SORT,
                        medidocs_core::model::Status::Ready.as_str()
                    ],
                    |r| r.get::<_, String>(0),
                )
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            Ok(rows
                .iter()
                .filter_map(|pk| pk.strip_prefix(keys::DOCUMENT_PREFIX).map(str::to_string))
                .collect())
        })
        .await
    }
}
