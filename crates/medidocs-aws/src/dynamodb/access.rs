//! Care teams and the audit trail: [`AccessStore`] on the same table.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use medidocs_core::access::{AUDIT_MONTHS, AuditPage, AuditRecord, audit_month, previous_month};
use medidocs_core::keys;
use medidocs_core::ports::{AccessStore, StoreError};

use super::item::{decode_audit, s, text_of};
use super::{DynamoMetadataStore, INDEXES, Newest};
use crate::error::{Kind, kind, store_error};

#[async_trait]
impl AccessStore for DynamoMetadataStore {
    async fn add_care_team_member(&self, patient_id: &str, member: &str) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(keys::patient_partition(patient_id)))
            .item("sk", s(keys::member_key(member)))
            .item("gsi1pk", s(keys::member_key(member)))
            .item("gsi1sk", s(keys::patient_partition(patient_id)))
            .item("patient_id", s(patient_id))
            .item("member", s(member))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error(format!("care team of {patient_id}"), e))
    }

    async fn remove_care_team_member(
        &self,
        patient_id: &str,
        member: &str,
    ) -> Result<(), StoreError> {
        let what = format!("{member} on the care team of {patient_id}");
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(keys::patient_partition(patient_id)))
            .key("sk", s(keys::member_key(member)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match kind(&e) {
                Kind::Condition => StoreError::not_found(what.clone()),
                _ => store_error(what.clone(), e),
            })
    }

    async fn is_care_team_member(
        &self,
        patient_id: &str,
        member: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .get_item(
                keys::patient_partition(patient_id),
                &keys::member_key(member),
            )
            .await?
            .is_some())
    }

    async fn care_team(&self, patient_id: &str) -> Result<Vec<String>, StoreError> {
        let items = self
            .all_with_prefix(
                None,
                ("pk", "sk"),
                keys::patient_partition(patient_id),
                keys::MEMBER_PREFIX,
            )
            .await?;
        Ok(items.iter().map(|i| text_of(i, "member")).collect())
    }

    async fn member_patients(&self, member: &str) -> Result<Vec<String>, StoreError> {
        let (index, gpk, gsk) = INDEXES[0];
        let items = self
            .all_with_prefix(
                Some(index),
                (gpk, gsk),
                keys::member_key(member),
                keys::PATIENT_PREFIX,
            )
            .await?;
        Ok(items.iter().map(|i| text_of(i, "patient_id")).collect())
    }

    async fn append_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let what = format!("audit record {}", record.id);
        let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(record)
            .map_err(|e| StoreError::unavailable(format!("{what}: encoding"), e))?;
        item.insert(
            "pk".into(),
            s(keys::audit_partition(record.patient_id.as_deref())),
        );
        item.insert("sk".into(), s(record.id.clone()));
        item.insert(
            "gsi1pk".into(),
            s(keys::audit_month_partition(audit_month(&record.at))),
        );
        item.insert("gsi1sk".into(), s(record.id.clone()));
        self.put_new(item, what).await
    }

    /// One patient's records come from their partition. Everyone's come from the monthly
    /// index partitions, newest month first, looking back [`AUDIT_MONTHS`] months.
    async fn list_audit(
        &self,
        patient_id: Option<&str>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<AuditPage, StoreError> {
        let limit = limit.clamp(1, 1000);
        let page = |items: Vec<HashMap<String, AttributeValue>>, more: bool| {
            let records = items
                .into_iter()
                .map(decode_audit)
                .collect::<Result<Vec<_>, _>>()?;
            let next = if more {
                records.last().map(|r| r.id.clone())
            } else {
                None
            };
            Ok(AuditPage { records, next })
        };
        if let Some(p) = patient_id {
            let (items, more) = self
                .newest(
                    Newest {
                        index: None,
                        partition: ("pk", keys::audit_partition(Some(p))),
                        sort: "sk",
                        below: cursor,
                        from: None,
                    },
                    limit,
                )
                .await?;
            return page(items, more);
        }
        let (index, gpk, gsk) = INDEXES[0];
        let now = medidocs_core::clock::now_rfc3339();
        let mut month = audit_month(cursor.unwrap_or(&now)).to_string();
        let mut items = Vec::new();
        for _ in 0..AUDIT_MONTHS {
            let (got, more) = self
                .newest(
                    Newest {
                        index: Some(index),
                        partition: (gpk, keys::audit_month_partition(&month)),
                        sort: gsk,
                        below: cursor.filter(|c| audit_month(c) == month),
                        from: None,
                    },
                    limit - items.len(),
                )
                .await?;
            items.extend(got);
            if more || items.len() == limit {
                // Full: another record may follow in this month or an earlier one.
                return page(items, true);
            }
            match previous_month(&month) {
                Some(m) => month = m,
                None => break,
            }
        }
        page(items, false)
    }
}
