//! Map states: items, ItemSelector and ItemBatcher, iterations under MaxConcurrency,
//! tolerated failures.

use std::sync::Arc;

use futures::stream::{self, StreamExt};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::data::{number_field, select, template};
use super::run::{Ctx, Run};
use super::{Failure, fmt_time};

/// One Map iteration (a child execution, for a DISTRIBUTED Map).
pub(super) struct Child {
    pub(super) index: usize,
    pub(super) input: Value,
    pub(super) started: OffsetDateTime,
    pub(super) stopped: OffsetDateTime,
    pub(super) result: Result<Value, Failure>,
}

impl Child {
    /// Its output, or `{Error, Cause}` for a tolerated failure.
    fn compact(self) -> Value {
        self.result
            .unwrap_or_else(|f| json!({ "Error": f.error, "Cause": f.cause }))
    }

    /// The child execution as ResultWriter's NONE transformation records it.
    pub(super) fn record(&self, map_run_arn: &str, map: &str) -> Value {
        let name = format!("{map}-{}", self.index);
        let mut r = json!({
            "ExecutionArn": format!("{map_run_arn}:{name}"),
            "Name": name,
            "StateMachineArn": "arn:aws:states:local:000000000000:stateMachine:medidocs",
            "Input": self.input.to_string(),
            "InputDetails": { "Included": true },
            "StartDate": fmt_time(self.started),
            "StopDate": fmt_time(self.stopped),
            "RedriveCount": 0,
        });
        match &self.result {
            Ok(v) => {
                r["Status"] = json!("SUCCEEDED");
                r["Output"] = json!(v.to_string());
                r["OutputDetails"] = json!({ "Included": true });
            }
            Err(f) => {
                r["Status"] = json!("FAILED");
                r["Error"] = json!(f.error);
                r["Cause"] = json!(f.cause);
            }
        }
        r
    }
}

impl Run<'_> {
    pub(super) async fn map(
        &self,
        name: &str,
        st: &Value,
        eff: Value,
        ctx: &Ctx,
    ) -> Result<Value, Failure> {
        let items = match (
            st.get("ItemReader"),
            st.get("ItemsPath").and_then(Value::as_str),
        ) {
            (Some(reader), _) => self.read_items(reader, &eff, ctx).await?,
            (None, Some(p)) => select(p, &eff, ctx)?,
            (None, None) => eff.clone(),
        };
        let Value::Array(items) = items else {
            return Err(Failure::runtime("the Map state's items are not an array"));
        };
        let mut selector = st
            .get("ItemSelector")
            .or_else(|| st.get("Parameters"))
            .cloned();
        let items = match st.get("ItemBatcher") {
            None => items,
            Some(batcher) => {
                // Items are shaped by ItemSelector first, then grouped into batches:
                // each iteration receives {"Items": [...], "BatchInput": ...}.
                let mut shaped = Vec::with_capacity(items.len());
                for (index, value) in items.into_iter().enumerate() {
                    let mut item_ctx = ctx.clone();
                    item_ctx.object["Map"] = json!({ "Item": { "Index": index, "Value": value } });
                    shaped.push(match &selector {
                        Some(t) => template(t, &eff, &item_ctx)?,
                        None => value,
                    });
                }
                selector = None;
                batch(batcher, shaped, &eff, ctx)?
            }
        };
        self.event(
            "MapStateStarted",
            "mapStateStartedEventDetails",
            json!({ "length": items.len() }),
        );
        let processor = st
            .get("ItemProcessor")
            .or_else(|| st.get("Iterator"))
            .cloned()
            .unwrap_or(Value::Null);
        let concurrency = match number_field(st, "MaxConcurrency", &eff, ctx)? {
            Some(n) if n >= 1.0 => n as usize,
            _ => items.len().max(1),
        };
        let tolerated_count =
            number_field(st, "ToleratedFailureCount", &eff, ctx)?.map(|n| n as u64);
        let tolerated_pct = number_field(st, "ToleratedFailurePercentage", &eff, ctx)?;
        let total = items.len();
        let distributed = processor["ProcessorConfig"]["Mode"] == "DISTRIBUTED";
        let outer = if distributed {
            Arc::new(Map::new())
        } else {
            ctx.vars.clone()
        };
        let outer = &outer;
        let processor = &processor;
        let selector = &selector;
        let eff = &eff;
        let mut results: Vec<Child> = stream::iter(items.into_iter().enumerate())
            .map(|(index, value)| async move {
                let item = json!({ "Index": index, "Value": value });
                let mut item_ctx = ctx.clone();
                item_ctx.object["Map"] = json!({ "Item": item });
                let input = match selector {
                    Some(t) => template(t, eff, &item_ctx)?,
                    None => item["Value"].clone(),
                };
                self.event(
                    "MapIterationStarted",
                    "mapIterationStartedEventDetails",
                    json!({ "name": name, "index": index }),
                );
                let started = self.engine.clock.now();
                let r = self
                    .machine(processor, input.clone(), Some(item), outer.clone())
                    .await;
                match &r {
                    Ok(_) => self.event(
                        "MapIterationSucceeded",
                        "mapIterationSucceededEventDetails",
                        json!({ "name": name, "index": index }),
                    ),
                    Err(_) => self.event(
                        "MapIterationFailed",
                        "mapIterationFailedEventDetails",
                        json!({ "name": name, "index": index }),
                    ),
                }
                Ok::<_, Failure>(Child {
                    index,
                    input,
                    started,
                    stopped: self.engine.clock.now(),
                    result: r,
                })
            })
            // Unordered: a slow item does not hold the others' places, so MaxConcurrency
            // items run at once as in Step Functions; results are put back in item order.
            .buffer_unordered(concurrency)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<Vec<Child>, Failure>>()?;
        results.sort_by_key(|c| c.index);
        let failures: Vec<&Failure> = results
            .iter()
            .filter_map(|c| c.result.as_ref().err())
            .collect();
        if !failures.is_empty() {
            let within_count = tolerated_count.is_some_and(|n| failures.len() as u64 <= n);
            let within_pct =
                tolerated_pct.is_some_and(|p| failures.len() as f64 * 100.0 / total as f64 <= p);
            if !(within_count || within_pct) {
                let f = if tolerated_count.is_some() || tolerated_pct.is_some() {
                    Failure::new(
                        "States.ExceedToleratedFailureThreshold",
                        format!("{} of {total} items failed", failures.len()),
                    )
                } else {
                    failures[0].clone()
                };
                self.event("MapStateFailed", "mapStateFailedEventDetails", json!({}));
                return Err(f);
            }
        }
        let out = match st.get("ResultWriter") {
            Some(writer) => self.write_results(name, writer, results, eff, ctx).await?,
            None => Value::Array(results.into_iter().map(Child::compact).collect()),
        };
        self.event(
            "MapStateSucceeded",
            "mapStateSucceededEventDetails",
            json!({}),
        );
        Ok(out)
    }
}

/// ItemBatcher: groups items by `MaxItemsPerBatch` (and `MaxInputBytesPerBatch`).
fn batch(
    batcher: &Value,
    items: Vec<Value>,
    eff: &Value,
    ctx: &Ctx,
) -> Result<Vec<Value>, Failure> {
    let per = number_field(batcher, "MaxItemsPerBatch", eff, ctx)?
        .map_or(usize::MAX, |n| n.max(1.0) as usize);
    let max_bytes = batcher
        .get("MaxInputBytesPerBatch")
        .and_then(Value::as_u64)
        .unwrap_or(256 * 1024) as usize;
    let batch_input = match batcher.get("BatchInput") {
        Some(t) => Some(template(t, eff, ctx)?),
        None => None,
    };
    let mut batches = Vec::new();
    let mut cur: Vec<Value> = Vec::new();
    let mut bytes = 0;
    for item in items {
        let size = item.to_string().len();
        if !cur.is_empty() && (cur.len() >= per || bytes + size > max_bytes) {
            batches.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        bytes += size;
        cur.push(item);
    }
    if !cur.is_empty() {
        batches.push(cur);
    }
    Ok(batches
        .into_iter()
        .map(|b| {
            let mut v = json!({ "Items": b });
            if let Some(bi) = &batch_input {
                v["BatchInput"] = bi.clone();
            }
            v
        })
        .collect())
}
