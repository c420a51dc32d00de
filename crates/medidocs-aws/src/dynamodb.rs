//! [`MetadataStore`] on one DynamoDB table, the single-table item model shared with the
//! embedded SQLite store:
//!
//! | item | pk | sk | gsi1pk / gsi1sk | gsi2pk / gsi2sk |
//! |---|---|---|---|---|
//! | a document | `DOC#{id}` | `META` | `PATIENT#{pid}` / `CREATED#{time}#{id}` | while in flight: `INFLIGHT#{region}` / `{deadline}#{id}` |
//! | first document with some content | `SHA#{sha256}` | `DOC` | | |
//!
//! `gsi2` is sparse: only documents in flight carry its keys, so the watchdog's query
//! reads what is in flight in its region and nothing else.
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
use medidocs_core::access::{AUDIT_MONTHS, AuditPage, AuditRecord, audit_month, previous_month};
use medidocs_core::keys;
use medidocs_core::model::{DocumentPage, DocumentRecord};
use medidocs_core::ports::{AccessStore, MetadataStore, StoreError};

use crate::error::{Kind, kind, store_error};

/// The table's keys: partition `pk`, sort `sk`.
pub const TABLE_KEYS: (&str, &str) = ("pk", "sk");
/// Its indexes (name, partition, sort), every attribute projected: `gsi1` lists a
/// patient's documents, care teams and the audit trail; `gsi2`, sparse, the documents in
/// flight of each region by deadline.
pub const INDEXES: [(&str, &str, &str); 2] =
    [("gsi1", "gsi1pk", "gsi1sk"), ("gsi2", "gsi2pk", "gsi2sk")];

#[derive(Clone)]
pub struct DynamoMetadataStore {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn doc_pk(id: &str) -> String {
    keys::document_item(id)
}

fn encode(doc: &DocumentRecord) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(doc)
        .map_err(|e| StoreError::unavailable(format!("document {}: encoding", doc.id), e))?;
    item.insert("pk".into(), s(doc_pk(&doc.id)));
    item.insert("sk".into(), s(keys::DOCUMENT_SORT));
    item.insert("gsi1pk".into(), s(keys::patient_partition(&doc.patient_id)));
    item.insert(
        "gsi1sk".into(),
        s(medidocs_core::keys::listing_key(&doc.created_at, &doc.id)),
    );
    if let Some((pk, sk)) = medidocs_core::keys::inflight_index(doc) {
        item.insert("gsi2pk".into(), s(pk));
        item.insert("gsi2sk".into(), s(sk));
    }
    Ok(item)
}

/// An item without its key attributes, as the record it stores.
fn from_item<T: serde::de::DeserializeOwned>(
    mut item: HashMap<String, AttributeValue>,
    what: &str,
) -> Result<T, StoreError> {
    for k in ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
        item.remove(k);
    }
    serde_dynamo::from_item(item)
        .map_err(|e| StoreError::unavailable(format!("dynamodb: an unreadable {what} item"), e))
}

fn decode(item: HashMap<String, AttributeValue>) -> Result<DocumentRecord, StoreError> {
    from_item(item, "document")
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
            .attribute_definitions(attr(sk)?);
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

#[async_trait]
impl MetadataStore for DynamoMetadataStore {
    async fn create_document(&self, doc: &DocumentRecord) -> Result<(), StoreError> {
        self.put_new(encode(doc)?, format!("document {}", doc.id))
            .await
    }

    async fn get_document(&self, id: &str) -> Result<DocumentRecord, StoreError> {
        match self.get_item(doc_pk(id), keys::DOCUMENT_SORT).await? {
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
                match self.get_item(doc_pk(&doc.id), keys::DOCUMENT_SORT).await? {
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

/// One key condition of a newest-first query: a partition, optionally below a sort key.
struct Newest<'a> {
    index: Option<&'a str>,
    partition: (&'a str, String),
    sort: &'a str,
    below: Option<&'a str>,
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
            req = match q.below {
                Some(c) => req
                    .key_condition_expression("#p = :p AND #s < :c")
                    .expression_attribute_names("#s", q.sort)
                    .expression_attribute_values(":c", s(c)),
                None => req.key_condition_expression("#p = :p"),
            };
            let out = req
                .send()
                .await
                .map_err(|e| store_error(format!("query of {}", q.partition.1), e))?;
            items.extend(out.items.unwrap_or_default());
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

fn text_of(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => String::new(),
    }
}

fn decode_audit(item: HashMap<String, AttributeValue>) -> Result<AuditRecord, StoreError> {
    from_item(item, "audit")
}

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
}

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
