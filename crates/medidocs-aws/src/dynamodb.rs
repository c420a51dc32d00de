//! [`MetadataStore`] on one DynamoDB table, the single-table item model shared with the
//! embedded SQLite store:
//!
//! | item | pk | sk | gsi1pk / gsi1sk |
//! |---|---|---|---|
//! | a document | `DOC#{id}` | `META` | `PATIENT#{pid}` / `CREATED#{time}#{id}` |
//! | first document with some content | `SHA#{sha256}` | `DOC` | |
//!
//! A document's fields are native attributes (readable in the console and by streams).
//! Every write is conditional: creation on the item's absence, updates on the previous
//! `version`. [`TABLE_SCHEMA`] is what `sam/template.yaml` declares.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use medidocs_core::model::{DocumentPage, DocumentRecord};
use medidocs_core::ports::{MetadataStore, StoreError};

use crate::error::{Kind, kind, store_error};

/// The table's keys: partition `pk`, sort `sk`; index `gsi1` on `gsi1pk`/`gsi1sk`.
pub const TABLE_SCHEMA: (&str, &str, &str, &str, &str) = ("pk", "sk", "gsi1", "gsi1pk", "gsi1sk");

#[derive(Clone)]
pub struct DynamoMetadataStore {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn doc_pk(id: &str) -> String {
    format!("DOC#{id}")
}

fn encode(doc: &DocumentRecord) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(doc)
        .map_err(|e| StoreError::unavailable(format!("document {}: encoding", doc.id), e))?;
    item.insert("pk".into(), s(doc_pk(&doc.id)));
    item.insert("sk".into(), s("META"));
    item.insert("gsi1pk".into(), s(format!("PATIENT#{}", doc.patient_id)));
    item.insert(
        "gsi1sk".into(),
        s(format!("CREATED#{}#{}", doc.created_at, doc.id)),
    );
    Ok(item)
}

fn decode(mut item: HashMap<String, AttributeValue>) -> Result<DocumentRecord, StoreError> {
    for k in ["pk", "sk", "gsi1pk", "gsi1sk"] {
        item.remove(k);
    }
    serde_dynamo::from_item(item)
        .map_err(|e| StoreError::unavailable("dynamodb: an unreadable document item", e))
}

impl DynamoMetadataStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Creates the table as the template declares it (for tests and local servers; in AWS
    /// the stack owns the table).
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let (pk, sk, index, gpk, gsk) = TABLE_SCHEMA;
        let key = |name: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(t)
                .build()
                .map_err(|e| StoreError::unavailable("table schema", e))
        };
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| StoreError::unavailable("table schema", e))
        };
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(index)
            .key_schema(key(gpk, KeyType::Hash)?)
            .key_schema(key(gsk, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(|e| StoreError::unavailable("table schema", e))?;
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(pk, KeyType::Hash)?)
            .key_schema(key(sk, KeyType::Range)?)
            .attribute_definitions(attr(pk)?)
            .attribute_definitions(attr(sk)?)
            .attribute_definitions(attr(gpk)?)
            .attribute_definitions(attr(gsk)?)
            .global_secondary_indexes(gsi)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error(format!("table {}", self.table), e))
    }

    async fn get_item(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk.clone()))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(pk, e))?;
        Ok(out.item)
    }
}

#[async_trait]
impl MetadataStore for DynamoMetadataStore {
    async fn create_document(&self, doc: &DocumentRecord) -> Result<(), StoreError> {
        let what = format!("document {}", doc.id);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(encode(doc)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match kind(&e) {
                Kind::Condition => StoreError::AlreadyExists { what: what.clone() },
                _ => store_error(what.clone(), e),
            })
    }

    async fn get_document(&self, id: &str) -> Result<DocumentRecord, StoreError> {
        match self.get_item(doc_pk(id), "META").await? {
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
                match self.get_item(doc_pk(&doc.id), "META").await? {
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
        let (_, _, index, gpk, gsk) = TABLE_SCHEMA;
        let mut documents = Vec::new();
        let mut last_sk: Option<String> = None;
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        // One extra item tells whether another page follows.
        while documents.len() <= limit {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .expression_attribute_names("#p", gpk)
                .expression_attribute_values(":p", s(format!("PATIENT#{patient_id}")))
                .scan_index_forward(false)
                .limit((limit + 1 - documents.len()) as i32)
                .set_exclusive_start_key(start.take());
            q = match cursor {
                Some(c) => q
                    .key_condition_expression("#p = :p AND #s < :c")
                    .expression_attribute_names("#s", gsk)
                    .expression_attribute_values(":c", s(c)),
                None => q.key_condition_expression("#p = :p"),
            };
            let out = q
                .send()
                .await
                .map_err(|e| store_error(format!("patient listing ({index})"), e))?;
            for item in out.items.unwrap_or_default() {
                if documents.len() == limit {
                    // The extra item: more follow.
                    return Ok(DocumentPage {
                        documents,
                        next: last_sk,
                    });
                }
                last_sk = match item.get(gsk) {
                    Some(AttributeValue::S(v)) => Some(v.clone()),
                    _ => None,
                };
                documents.push(decode(item)?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(DocumentPage {
            documents,
            next: None,
        })
    }

    async fn claim_content(&self, sha256: &str, id: &str) -> Result<Option<String>, StoreError> {
        let pk = format!("SHA#{sha256}");
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(pk.clone()))
            .item("sk", s("DOC"))
            .item("document_id", s(id))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(None),
            Err(e) if kind(&e) == Kind::Condition => {
                let item = self
                    .get_item(pk.clone(), "DOC")
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

    /// A scan of the document items' `status` only (one read unit per 4 KB scanned); for
    /// operators' counts, not for request paths.
    async fn count_by_status(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut counts = BTreeMap::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("sk = :meta")
                .expression_attribute_values(":meta", s("META"))
                .projection_expression("#st")
                .expression_attribute_names("#st", "status")
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error("status counts", e))?;
            for item in out.items.unwrap_or_default() {
                if let Some(AttributeValue::S(st)) = item.get("status") {
                    *counts.entry(st.clone()).or_insert(0) += 1;
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(counts)
    }
}
