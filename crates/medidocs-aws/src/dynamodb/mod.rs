//! [`MetadataStore`] on one DynamoDB table, the single-table item model shared with the
//! embedded SQLite store:
//!
//! | item | pk | sk | gsi1pk / gsi1sk | gsi2pk / gsi2sk |
//! |---|---|---|---|---|
//! | a document | `DOC#{id}` | `META` | `PATIENT#{pid}` / `CREATED#{time}#{id}` | while in flight: `INFLIGHT#{region}` / `{deadline}#{id}` |
//! | first document of a patient with some content | `SHA#{pid}#{sha256}` (before claims were per patient: `SHA#{sha256}`, removed by `medidocs migrate`) | `DOC` | | |
//! | a care-team member | `PATIENT#{pid}` | `MEMBER#{member}` | `MEMBER#{member}` / `PATIENT#{pid}` | |
//! | an audit record | `AUDIT#{pid}` (`AUDIT#-`: no patient) | `{at}#{random}` | `AUDIT#{yyyy-mm}` / `{at}#{random}` | |
//! | the OCR pacer of a region | `PACER#{name}` | `SLOT` | | |
//!
//! Every key is built, and read back, in `medidocs_core::keys`.
//!
//! `gsi2` is sparse: only documents in flight carry its keys, so the watchdog's query
//! reads what is in flight in its region and nothing else.
//!
//! A document's fields are native attributes (readable in the console and by streams).
//! Every write is conditional: creation on the item's absence, updates on the previous
//! `version`. [`TABLE_KEYS`] and [`INDEXES`] are what `sam/template.yaml` declares.
//!
//! [`MetadataStore`]: medidocs_core::ports::MetadataStore

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
};
use medidocs_core::ports::StoreError;

use crate::error::{Kind, kind, store_error};

mod access;
mod documents;
mod item;
mod legacy;

use item::s;

/// The table's keys: partition `pk`, sort `sk`.
pub const TABLE_KEYS: (&str, &str) = ("pk", "sk");
/// Its indexes (name, partition, sort), every attribute projected: `gsi1` lists a
/// patient's documents, care teams and the audit trail; `gsi2`, sparse, the documents in
/// flight of each region by deadline; `gsi3` a patient's documents by the day each is
/// about (the timeline).
pub const INDEXES: [(&str, &str, &str); 3] = [
    ("gsi1", "gsi1pk", "gsi1sk"),
    ("gsi2", "gsi2pk", "gsi2sk"),
    ("gsi3", "gsi3pk", "gsi3sk"),
];

#[derive(Clone)]
pub struct DynamoMetadataStore {
    client: Client,
    table: String,
}

impl DynamoMetadataStore {
    /// Every item a filtered scan returns, page after page (`what` names it in errors).
    async fn scan_all(
        &self,
        what: &str,
        filter: impl Fn(
            aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder,
        ) -> aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = filter(self.client.scan().table_name(&self.table))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error(what, e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Creates the table as the template declares it (for tests and local servers; in AWS
    /// the stack owns the table).
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let (pk, sk) = TABLE_KEYS;
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
        let mut req = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(pk, KeyType::Hash)?)
            .key_schema(key(sk, KeyType::Range)?)
            .attribute_definitions(attr(pk)?)
            .attribute_definitions(attr(sk)?)
            // The global table's replication and the search indexer read it.
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build()
                    .map_err(|e| StoreError::unavailable("table schema", e))?,
            );
        for (index, gpk, gsk) in INDEXES {
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
            req = req
                .attribute_definitions(attr(gpk)?)
                .attribute_definitions(attr(gsk)?)
                .global_secondary_indexes(gsi);
        }
        req.send()
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

/// One key condition of a newest-first query: a partition, optionally below a sort key.
struct Newest<'a> {
    index: Option<&'a str>,
    partition: (&'a str, String),
    sort: &'a str,
    below: Option<&'a str>,
    /// The lowest sort key wanted, if any (with `below`, which it then needs).
    from: Option<&'a str>,
}

impl DynamoMetadataStore {
    /// Writes an item whose key is not yet taken; [`StoreError::AlreadyExists`] if it is.
    async fn put_new(
        &self,
        item: HashMap<String, AttributeValue>,
        what: String,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match kind(&e) {
                Kind::Condition => StoreError::AlreadyExists { what: what.clone() },
                _ => store_error(what.clone(), e),
            })
    }

    /// Up to `limit` items of one partition, newest (highest sort key) first, following
    /// LastEvaluatedKey; the flag says whether more items follow.
    async fn newest(
        &self,
        q: Newest<'_>,
        limit: usize,
    ) -> Result<(Vec<HashMap<String, AttributeValue>>, bool), StoreError> {
        let mut items = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(q.index.map(str::to_string))
                .expression_attribute_names("#p", q.partition.0)
                .expression_attribute_values(":p", s(q.partition.1.clone()))
                .scan_index_forward(false)
                .limit((limit + 1 - items.len()) as i32)
                .set_exclusive_start_key(start.take());
            req = match (q.from, q.below) {
                // A key condition has one comparison of the sort key: BETWEEN is inclusive,
                // so the item at `below` itself, if any, is dropped here.
                (Some(lo), Some(c)) => req
                    .key_condition_expression("#p = :p AND #s BETWEEN :lo AND :c")
                    .expression_attribute_names("#s", q.sort)
                    .expression_attribute_values(":lo", s(lo))
                    .expression_attribute_values(":c", s(c)),
                (None, Some(c)) => req
                    .key_condition_expression("#p = :p AND #s < :c")
                    .expression_attribute_names("#s", q.sort)
                    .expression_attribute_values(":c", s(c)),
                (Some(lo), None) => req
                    .key_condition_expression("#p = :p AND #s >= :lo")
                    .expression_attribute_names("#s", q.sort)
                    .expression_attribute_values(":lo", s(lo)),
                (None, None) => req.key_condition_expression("#p = :p"),
            };
            let out = req
                .send()
                .await
                .map_err(|e| store_error(format!("query of {}", q.partition.1), e))?;
            items.extend(
                out.items
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|i| q.below.is_none_or(|c| item::text_of(i, q.sort) != c)),
            );
            if items.len() > limit {
                items.truncate(limit);
                return Ok((items, true));
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok((items, false)),
            }
        }
    }

    /// Every item of one partition whose sort key starts with `prefix`, in order.
    async fn all_with_prefix(
        &self,
        index: Option<&str>,
        keys: (&str, &str),
        partition: String,
        prefix: &str,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_string))
                .key_condition_expression("#p = :p AND begins_with(#s, :prefix)")
                .expression_attribute_names("#p", keys.0)
                .expression_attribute_names("#s", keys.1)
                .expression_attribute_values(":p", s(partition.clone()))
                .expression_attribute_values(":prefix", s(prefix))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error(format!("query of {partition}"), e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }
}
