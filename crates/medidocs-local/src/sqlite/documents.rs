//! The documents: [`MetadataStore`] on the items table (records, the patient listing,
//! content claims, the in-flight index, counts by status).

use std::collections::BTreeMap;

use async_trait::async_trait;
use medidocs_core::keys;
use medidocs_core::model::{DocumentPage, DocumentRecord, PatientSettings};
use medidocs_core::ports::{MetadataStore, StoreError};
use rusqlite::{OptionalExtension, params};

use super::{SqliteMetadataStore, dated, db_err, decode, encode, inflight};

#[async_trait]
impl MetadataStore for SqliteMetadataStore {
    async fn create_document(&self, doc: &DocumentRecord) -> Result<(), StoreError> {
        let data = encode(doc)?;
        let doc = doc.clone();
        let (g2pk, g2sk) = inflight(&doc);
        let (g3pk, g3sk) = dated(&doc);
        self.with(move |c| {
            let n = c
                .execute(
                    "INSERT INTO items (pk, sk, gsi1pk, gsi1sk, status, version, data, gsi2pk, gsi2sk, gsi3pk, gsi3sk) VALUES (?1, ?9, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?10, ?11)
                     ON CONFLICT (pk, sk) DO NOTHING",
                    params![
                        keys::document_item(&doc.id),
                        keys::patient_partition(&doc.patient_id),
                        keys::listing_key(&doc.created_at, &doc.id),
                        doc.status.as_str(),
                        doc.version as i64,
                        data,
                        g2pk,
                        g2sk,
                        keys::DOCUMENT_SORT,
                        g3pk,
                        g3sk
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
                    "SELECT data FROM items WHERE pk = ?1 AND sk = ?2",
                    params![keys::document_item(&id), keys::DOCUMENT_SORT],
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
        let (g3pk, g3sk) = dated(&doc);
        self.with(move |c| {
            let tx = c.transaction().map_err(db_err)?;
            let n = tx
                .execute(
                    "UPDATE items SET status = ?2, version = ?3, data = ?4, gsi2pk = ?6, gsi2sk = ?7, gsi3pk = ?9, gsi3sk = ?10 WHERE pk = ?1 AND sk = ?8 AND version = ?5",
                    params![keys::document_item(&doc.id), doc.status.as_str(), doc.version as i64, data, doc.version as i64 - 1, g2pk, g2sk, keys::DOCUMENT_SORT, g3pk, g3sk],
                )
                .map_err(db_err)?;
            if n == 0 {
                let exists: Option<i64> = tx
                    .query_row(
                        "SELECT version FROM items WHERE pk = ?1 AND sk = ?2",
                        params![keys::document_item(&doc.id), keys::DOCUMENT_SORT],
                        |r| r.get(0),
                    )
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

    async fn list_patient_documents_by_date(
        &self,
        patient_id: &str,
        days: (Option<&str>, Option<&str>),
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<DocumentPage, StoreError> {
        let pk = keys::patient_partition(patient_id);
        let (low, high) = keys::dated_range(days.0, days.1);
        // Below the cursor and below the range's end: whichever is lower.
        let high = match cursor {
            Some(c) if c < high.as_str() => c.to_string(),
            _ => high,
        };
        let limit = limit.clamp(1, 1000);
        self.with(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT gsi3sk, data FROM items WHERE gsi3pk = ?1 AND gsi3sk >= ?2 AND gsi3sk < ?3
                     ORDER BY gsi3sk DESC LIMIT ?4",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![pk, low, high, (limit + 1) as i64], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
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

    async fn patient_settings(&self, patient_id: &str) -> Result<PatientSettings, StoreError> {
        let pk = keys::patient_settings(patient_id);
        self.with(move |c| {
            let data: Option<String> = c
                .query_row(
                    "SELECT data FROM items WHERE pk = ?1 AND sk = ?2",
                    params![pk, keys::SETTINGS_SORT],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            match data {
                None => Ok(PatientSettings::default()),
                Some(d) => serde_json::from_str(&d)
                    .map_err(|e| StoreError::unavailable("sqlite: unreadable settings", e)),
            }
        })
        .await
    }

    async fn put_patient_settings(
        &self,
        patient_id: &str,
        settings: &PatientSettings,
    ) -> Result<(), StoreError> {
        let pk = keys::patient_settings(patient_id);
        let data = serde_json::to_string(settings).map_err(|e| StoreError::InvalidInput {
            what: e.to_string(),
        })?;
        self.with(move |c| {
            c.execute(
                "INSERT INTO items (pk, sk, version, data) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (pk, sk) DO UPDATE SET data = excluded.data, version = version + 1",
                params![pk, keys::SETTINGS_SORT, data],
            )
            .map_err(db_err)?;
            Ok(())
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
                "INSERT INTO items (pk, sk, version, data) VALUES (?1, ?3, 1, ?2) ON CONFLICT (pk, sk) DO NOTHING",
                params![pk, serde_json::json!({ "document_id": id }).to_string(), keys::CLAIM_SORT],
            )
            .map_err(db_err)?;
            let data: String = tx
                .query_row("SELECT data FROM items WHERE pk = ?1 AND sk = ?2", params![pk, keys::CLAIM_SORT], |r| r.get(0))
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
        let (pk, now) = (keys::inflight_partition(region), now.to_string());
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
                .prepare("SELECT status, COUNT(*) FROM items WHERE sk = ?1 GROUP BY status")
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![keys::DOCUMENT_SORT], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            Ok(rows.into_iter().map(|(s, n)| (s, n as u64)).collect())
        })
        .await
    }
}
