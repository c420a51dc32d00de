//! Care teams and the audit trail: [`AccessStore`] on the same items table.

use async_trait::async_trait;
use medidocs_core::access::{AuditPage, AuditRecord, audit_month};
use medidocs_core::keys;
use medidocs_core::ports::{AccessStore, StoreError};
use rusqlite::{OptionalExtension, params};

use super::{SqliteMetadataStore, db_err};

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
                .prepare("SELECT sk FROM items WHERE pk = ?1 AND sk >= ?2 AND sk < ?3 ORDER BY sk")
                .map_err(db_err)?;
            let prefix = keys::MEMBER_PREFIX;
            let rows = stmt
                .query_map(params![pk, prefix, keys::prefix_end(prefix)], |r| {
                    r.get::<_, String>(0)
                })
                .map_err(db_err)?;
            let keys = rows.collect::<Result<Vec<String>, _>>().map_err(db_err)?;
            Ok(keys
                .iter()
                .filter_map(|k| keys::member_of(k))
                .map(str::to_string)
                .collect())
        })
        .await
    }

    async fn member_patients(&self, member: &str) -> Result<Vec<String>, StoreError> {
        let pk = keys::member_key(member);
        self.with(move |c| {
            let mut stmt = c
                .prepare("SELECT gsi1sk FROM items WHERE gsi1pk = ?1 ORDER BY gsi1sk")
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![pk], |r| r.get::<_, String>(0))
                .map_err(db_err)?;
            let keys = rows.collect::<Result<Vec<String>, _>>().map_err(db_err)?;
            Ok(keys
                .iter()
                .filter_map(|k| keys::patient_of(k))
                .map(str::to_string)
                .collect())
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
            let row = |r: &rusqlite::Row<'_>| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?));
            let limit_plus_one = (limit + 1) as i64;
            let rows = match patient {
                Some(pk) => c
                    .prepare("SELECT sk, data FROM items WHERE pk = ?1 AND (?2 IS NULL OR sk < ?2) ORDER BY sk DESC LIMIT ?3")
                    .and_then(|mut stmt| stmt.query_map(params![pk, cursor, limit_plus_one], row)?.collect::<Result<Vec<_>, _>>()),
                // Audit items are the only ones whose gsi1pk starts with keys::AUDIT_PREFIX.
                None => c
                    .prepare(
                        "SELECT gsi1sk, data FROM items WHERE gsi1pk >= ?1 AND gsi1pk < ?2
                         AND (?3 IS NULL OR gsi1sk < ?3) ORDER BY gsi1sk DESC LIMIT ?4",
                    )
                    .and_then(|mut stmt| {
                        let prefix = keys::AUDIT_PREFIX;
                        stmt.query_map(params![prefix, keys::prefix_end(prefix), cursor, limit_plus_one], row)?
                            .collect::<Result<Vec<_>, _>>()
                    }),
            }
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
