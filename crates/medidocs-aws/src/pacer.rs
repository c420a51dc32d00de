//! The OCR pacer on DynamoDB ([`medidocs_core::pacing`]): one item per service and region
//! (`PACER#{name}` / `SLOT`) holding the first free start time. A claim reads it
//! (strongly consistent) and moves it on with a write conditional on the value read, so
//! two workers never take the same slot; a lost race reads again. Each claim costs a read
//! and a write unit, next to Textract's price per page a rounding error.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use medidocs_core::keys;
use medidocs_core::pacing::{Claim, Pacer, interval_ms, next_slot};
use medidocs_core::ports::StoreError;
use time::OffsetDateTime;

use crate::error::{Kind, kind, store_error};

/// How many lost races a claim takes before it gives up as throttled.
const RACES: usize = 25;

#[derive(Clone)]
pub struct DynamoPacer {
    client: Client,
    table: String,
    key: String,
    interval: i64,
}

impl DynamoPacer {
    /// A pacer of `per_second` calls a second for `name` (e.g. `textract#eu-west-1`).
    pub fn new(client: Client, table: impl Into<String>, name: &str, per_second: f64) -> Self {
        Self {
            client,
            table: table.into(),
            key: keys::pacer_item(name),
            interval: interval_ms(per_second),
        }
    }
}

fn millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[async_trait]
impl Pacer for DynamoPacer {
    async fn claim(
        &self,
        now: OffsetDateTime,
        horizon: Option<Duration>,
    ) -> Result<Claim, StoreError> {
        let now_ms = millis(now);
        let horizon = horizon.map(|h| h.as_millis() as i64);
        for _ in 0..RACES {
            let item = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(self.key.clone()))
                .key("sk", AttributeValue::S(keys::PACER_SORT.into()))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| store_error(self.key.clone(), e))?
                .item;
            let first_free = item
                .as_ref()
                .and_then(|i| i.get("first_free"))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok());
            let (slot, next) = match next_slot(first_free, now_ms, self.interval, horizon) {
                Ok(s) => s,
                Err(retry) => return Ok(Claim::NotBefore(at(retry))),
            };
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", AttributeValue::S(self.key.clone()))
                .item("sk", AttributeValue::S(keys::PACER_SORT.into()))
                .item("first_free", AttributeValue::N(next.to_string()));
            let put = match first_free {
                None => put.condition_expression("attribute_not_exists(pk)"),
                Some(old) => put
                    .condition_expression("first_free = :old")
                    .expression_attribute_values(":old", AttributeValue::N(old.to_string())),
            };
            match put.send().await {
                Ok(_) => return Ok(Claim::Slot(at(slot))),
                // Another worker took this slot first: read again.
                Err(e) if kind(&e) == Kind::Condition => continue,
                Err(e) => return Err(store_error(self.key.clone(), e)),
            }
        }
        Err(StoreError::Throttled {
            source: format!("{}: {RACES} claims lost in a row", self.key).into(),
        })
    }
}
