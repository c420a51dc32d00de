//! The documents: [`MetadataStore`] on the table (records, the patient listing on `gsi1`,
//! content claims, the in-flight index `gsi2`, counts by status).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use medidocs_core::keys;
use medidocs_core::model::{DocumentPage, DocumentRecord, PatientSettings};
use medidocs_core::ports::{MetadataStore, StoreError};

use super::item::{decode, encode, from_item, s, text_of};
use super::{DynamoMetadataStore, INDEXES, Newest};
use crate::error::{Kind, kind, store_error};

#[async_trait]
impl MetadataStore for DynamoMetadataStore {
    async fn create_document(&self, doc: &DocumentRecord) -> Result<(), StoreError> {
        self.put_new(encode(doc)?, format!("document {}", doc.id))
            .await
    }

    async fn get_document(&self, id: &str) -> Result<DocumentRecord, StoreError> {
        match self
            .get_item(keys::document_item(id), keys::DOCUMENT_SORT)
            .await?
        {
            Some(item) => decode(item),
            None => Err(StoreError::not_found(format!("document {id}"))),
        }
    }

    async fn update_document(&self, doc: &DocumentRecord) -> Result<(), StoreError> {
        let what = format!("document {}", doc.id);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(encode(doc)?))
            .condition_expression("#v = :previous")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(
                ":previous",
                AttributeValue::N(doc.version.saturating_sub(1).to_string()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if kind(&e) == Kind::Condition => {
                // Absent, or at another version: say which.
                match self
                    .get_item(keys::document_item(&doc.id), keys::DOCUMENT_SORT)
                    .await?
                {
                    None => Err(StoreError::not_found(what)),
                    Some(item) => {
                        let v = decode(item).map(|d| d.version).unwrap_or_default();
                        Err(StoreError::Precondition {
                            what: format!(
                                "{what} is at version {v}, not {}",
                                doc.version.saturating_sub(1)
                            ),
                        })
                    }
                }
            }
            Err(e) => Err(store_error(what, e)),
        }
    }

    async fn list_patient_documents(
        &self,
        patient_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<DocumentPage, StoreError> {
        let limit = limit.clamp(1, 1000);
        let (index, gpk, gsk) = INDEXES[0];
        let (items, more) = self
            .newest(
                Newest {
                    index: Some(index),
                    partition: (gpk, keys::patient_partition(patient_id)),
                    sort: gsk,
                    below: cursor,
                    from: None,
                },
                limit,
            )
            .await?;
        // The cursor is the last document's index key: the next page continues below it.
        let next = if more {
            items.last().map(|i| text_of(i, gsk))
        } else {
            None
        };
        let documents = items.into_iter().map(decode).collect::<Result<_, _>>()?;
        Ok(DocumentPage { documents, next })
    }

    async fn list_patient_documents_by_date(
        &self,
        patient_id: &str,
        days: (Option<&str>, Option<&str>),
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<DocumentPage, StoreError> {
        let limit = limit.clamp(1, 1000);
        let (index, gpk, gsk) = INDEXES[2];
        let (low, high) = keys::dated_range(days.0, days.1);
        // Below the cursor and below the range's end, whichever is lower. The range's end
        // is no document's key, so dropping an item equal to it drops nothing.
        let below = match cursor {
            Some(c) if c < high.as_str() => c.to_string(),
            _ => high,
        };
        let (items, more) = self
            .newest(
                Newest {
                    index: Some(index),
                    partition: (gpk, keys::patient_partition(patient_id)),
                    sort: gsk,
                    below: Some(&below),
                    from: Some(&low),
                },
                limit,
            )
            .await?;
        let next = if more {
            items.last().map(|i| text_of(i, gsk))
        } else {
            None
        };
        let documents = items.into_iter().map(decode).collect::<Result<_, _>>()?;
        Ok(DocumentPage { documents, next })
    }

    async fn patient_settings(&self, patient_id: &str) -> Result<PatientSettings, StoreError> {
        match self
            .get_item(keys::patient_settings(patient_id), keys::SETTINGS_SORT)
            .await?
        {
            None => Ok(PatientSettings::default()),
            Some(item) => from_item(item, "settings"),
        }
    }

    async fn put_patient_settings(
        &self,
        patient_id: &str,
        settings: &PatientSettings,
    ) -> Result<(), StoreError> {
        let pk = keys::patient_settings(patient_id);
        let mut item: std::collections::HashMap<String, AttributeValue> =
            serde_dynamo::to_item(settings)
                .map_err(|e| StoreError::unavailable("settings: encoding", e))?;
        item.insert("pk".into(), s(pk.clone()));
        item.insert("sk".into(), s(keys::SETTINGS_SORT));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error(pk, e))
    }

    async fn claim_content(
        &self,
        patient_id: &str,
        sha256: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        let pk = keys::content_claim(patient_id, sha256);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(pk.clone()))
            .item("sk", s(keys::CLAIM_SORT))
            .item("document_id", s(id))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(None),
            Err(e) if kind(&e) == Kind::Condition => {
                let item = self
                    .get_item(pk.clone(), keys::CLAIM_SORT)
                    .await?
                    .ok_or_else(|| StoreError::not_found(format!("content claim {sha256}")))?;
                let first = match item.get("document_id") {
                    Some(AttributeValue::S(v)) => v.clone(),
                    _ => String::new(),
                };
                Ok(if first == id { None } else { Some(first) })
            }
            Err(e) => Err(store_error(format!("content claim {sha256}"), e)),
        }
    }

    /// A query of the sparse in-flight index (`gsi2`), oldest deadline first: it reads
    /// only documents in flight in this region, whatever else the table holds.
    async fn overdue_documents(
        &self,
        region: &str,
        now: &str,
        limit: usize,
    ) -> Result<Vec<DocumentRecord>, StoreError> {
        let (index, gpk, gsk) = INDEXES[1];
        let partition = medidocs_core::keys::inflight_partition(region);
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#p = :p AND #s < :now")
            .expression_attribute_names("#p", gpk)
            .expression_attribute_names("#s", gsk)
            .expression_attribute_values(":p", s(partition.clone()))
            .expression_attribute_values(":now", s(now))
            .scan_index_forward(true)
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(|e| store_error(format!("query of {partition}"), e))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(decode)
            .collect()
    }

    /// A scan of the document items' `status` only (one read unit per 4 KB scanned); for
    /// operators' counts, not for request paths.
    async fn count_by_status(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut counts = BTreeMap::new();
        let items = self
            .scan_all("status counts", |scan| {
                scan.filter_expression("sk = :meta")
                    .expression_attribute_values(":meta", s(keys::DOCUMENT_SORT))
                    .projection_expression("#st")
                    .expression_attribute_names("#st", "status")
            })
            .await?;
        for item in items {
            if let Some(AttributeValue::S(st)) = item.get("status") {
                *counts.entry(st.clone()).or_insert(0) += 1;
            }
        }
        Ok(counts)
    }
}
