//! Records of earlier versions, for `medidocs migrate`: the [`LegacyRecords`] port.
//!
//! [`LegacyRecords`]: medidocs_core::migrate::LegacyRecords

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use medidocs_core::keys;
use medidocs_core::ports::StoreError;

use super::DynamoMetadataStore;
use super::item::{decode, s, text_of};
use crate::error::store_error;

/// A scan each: the migration reads the whole table once (its read units are the table's
/// size in 4 KB units, halved for eventually consistent reads).
#[async_trait]
impl medidocs_core::migrate::LegacyRecords for DynamoMetadataStore {
    async fn linked_documents(&self) -> Result<Vec<String>, StoreError> {
        let items = self
            .scan_all("linked documents", |scan| {
                scan.filter_expression("sk = :meta AND attribute_type(duplicate_of, :s)")
                    .expression_attribute_values(":meta", s(keys::DOCUMENT_SORT))
                    .expression_attribute_values(":s", s("S"))
            })
            .await?;
        let mut ids: Vec<String> = items
            .into_iter()
            .map(decode)
            .filter_map(|d| {
                d.map(|d| d.duplicate_of.is_some().then_some(d.id))
                    .transpose()
            })
            .collect::<Result<_, _>>()?;
        ids.sort();
        Ok(ids)
    }

    async fn legacy_content_claims(&self) -> Result<Vec<(String, String)>, StoreError> {
        let items = self
            .scan_all("content claims", |scan| {
                scan.filter_expression("sk = :doc AND begins_with(pk, :sha)")
                    .expression_attribute_values(":doc", s(keys::CLAIM_SORT))
                    .expression_attribute_values(":sha", s(keys::CLAIM_PREFIX))
            })
            .await?;
        let text = |i: &HashMap<String, AttributeValue>, k: &str| match i.get(k) {
            Some(AttributeValue::S(v)) => v.clone(),
            _ => String::new(),
        };
        let mut claims: Vec<(String, String)> = items
            .iter()
            .filter_map(|i| {
                let pk = text(i, "pk");
                let sha = keys::legacy_claim_sha256(&pk)?;
                Some((sha.to_string(), text(i, "document_id")))
            })
            .collect();
        claims.sort();
        Ok(claims)
    }

    async fn delete_legacy_content_claim(&self, sha256: &str) -> Result<(), StoreError> {
        let pk = keys::legacy_content_claim(sha256);
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk.clone()))
            .key("sk", s(keys::CLAIM_SORT))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error(pk, e))
    }

    async fn undated_documents(&self) -> Result<Vec<(String, bool)>, StoreError> {
        let items = self
            .scan_all("undated documents", |scan| {
                scan.filter_expression(
                    "sk = :meta AND (attribute_not_exists(gsi3pk) \
                     OR (#st = :ready AND attribute_not_exists(understanding)))",
                )
                .projection_expression("id, gsi3pk")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":meta", s(keys::DOCUMENT_SORT))
                .expression_attribute_values(
                    ":ready",
                    s(medidocs_core::model::Status::Ready.as_str()),
                )
            })
            .await?;
        let mut ids: Vec<(String, bool)> = items
            .iter()
            .map(|i| (text_of(i, "id"), i.contains_key("gsi3pk")))
            .filter(|(id, _)| !id.is_empty())
            .collect();
        ids.sort();
        Ok(ids)
    }

    async fn documents_without_pdf(&self) -> Result<Vec<String>, StoreError> {
        let items = self
            .scan_all("documents without a PDF", |scan| {
                scan.filter_expression(
                    "sk = :meta AND #st = :ready AND (attribute_not_exists(pdf) OR attribute_type(pdf, :null))",
                )
                .projection_expression("id")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":meta", s(keys::DOCUMENT_SORT))
                .expression_attribute_values(
                    ":ready",
                    s(medidocs_core::model::Status::Ready.as_str()),
                )
                .expression_attribute_values(":null", s("NULL"))
            })
            .await?;
        let mut ids: Vec<String> = items
            .iter()
            .map(|i| text_of(i, "id"))
            .filter(|id| !id.is_empty())
            .collect();
        ids.sort();
        Ok(ids)
    }
}
