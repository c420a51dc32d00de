//! The item encoding: records as native attributes, with the table's and indexes' keys.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use medidocs_core::access::AuditRecord;
use medidocs_core::keys;
use medidocs_core::model::DocumentRecord;
use medidocs_core::ports::StoreError;

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn encode(doc: &DocumentRecord) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(doc)
        .map_err(|e| StoreError::unavailable(format!("document {}: encoding", doc.id), e))?;
    item.insert("pk".into(), s(keys::document_item(&doc.id)));
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
    let (pk, sk) = keys::dated_index(doc);
    item.insert("gsi3pk".into(), s(pk));
    item.insert("gsi3sk".into(), s(sk));
    Ok(item)
}

/// An item without its key attributes, as the record it stores.
pub(super) fn from_item<T: serde::de::DeserializeOwned>(
    mut item: HashMap<String, AttributeValue>,
    what: &str,
) -> Result<T, StoreError> {
    for k in [
        "pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk",
    ] {
        item.remove(k);
    }
    serde_dynamo::from_item(item)
        .map_err(|e| StoreError::unavailable(format!("dynamodb: an unreadable {what} item"), e))
}

pub(super) fn decode(item: HashMap<String, AttributeValue>) -> Result<DocumentRecord, StoreError> {
    from_item(item, "document")
}

pub(super) fn text_of(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => String::new(),
    }
}

pub(super) fn decode_audit(
    item: HashMap<String, AttributeValue>,
) -> Result<AuditRecord, StoreError> {
    from_item(item, "audit")
}
