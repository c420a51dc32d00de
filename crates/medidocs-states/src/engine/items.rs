//! A Distributed Map's object store side: ItemReader (JSON or CSV) and ResultWriter.

use serde_json::{Value, json};

use super::Failure;
use super::data::{number_field, template};
use super::map::Child;
use super::run::{Ctx, Run};

impl Run<'_> {
    /// ResultWriter: the child executions' results, shaped by `WriterConfig`
    /// (`Transformation` NONE, COMPACT or FLATTEN; `OutputType` JSON or JSONL), returned as
    /// the state's result or, with `Resource` and `Parameters` (`Bucket`, `Prefix`), written
    /// as `{Prefix}/{map run id}/SUCCEEDED_0.json`, `FAILED_0.json` and `manifest.json`, with
    /// `{MapRunArn, ResultWriterDetails: {Bucket, Key}}` as the result.
    pub(super) async fn write_results(
        &self,
        name: &str,
        writer: &Value,
        children: Vec<Child>,
        eff: &Value,
        ctx: &Ctx,
    ) -> Result<Value, Failure> {
        let fail = |m: String| Failure::new("States.ResultWriterFailed", m);
        let config = writer.get("WriterConfig");
        let export = writer.get("Parameters").is_some();
        let transformation = config
            .and_then(|c| c["Transformation"].as_str())
            .unwrap_or(if export { "NONE" } else { "COMPACT" });
        let output_type = config
            .and_then(|c| c["OutputType"].as_str())
            .unwrap_or("JSON");
        let run_id = uuid::Uuid::new_v4().to_string();
        let map_run_arn =
            format!("arn:aws:states:local:000000000000:mapRun:medidocs/{name}:{run_id}");
        let (mut succeeded, mut failed) = (Vec::new(), Vec::new());
        for child in children {
            let ok = child.result.is_ok();
            let shaped: Vec<Value> = match (transformation, &child.result) {
                // A failed child keeps its full record, whatever the transformation.
                (_, Err(_)) | ("NONE", _) => vec![child.record(&map_run_arn, name)],
                ("COMPACT", Ok(v)) => vec![v.clone()],
                ("FLATTEN", Ok(Value::Array(a))) => a.clone(),
                ("FLATTEN", Ok(v)) => vec![v.clone()],
                (other, _) => return Err(fail(format!("Transformation {other} is not known"))),
            };
            if ok { &mut succeeded } else { &mut failed }.extend(shaped);
        }
        if !export {
            let mut all = succeeded;
            all.extend(failed);
            return Ok(Value::Array(all));
        }
        let params = template(&writer["Parameters"], eff, ctx)?;
        let bucket = params["Bucket"]
            .as_str()
            .ok_or_else(|| fail("ResultWriter needs Parameters.Bucket".into()))?
            .to_string();
        let prefix = params["Prefix"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches('/');
        let base = if prefix.is_empty() {
            run_id.clone()
        } else {
            format!("{prefix}/{run_id}")
        };
        let buckets = self
            .engine
            .buckets
            .as_ref()
            .ok_or_else(|| fail("no object store is configured for ResultWriter".into()))?;
        let encode = |items: &[Value]| -> Vec<u8> {
            match output_type {
                "JSONL" => items
                    .iter()
                    .map(|v| format!("{v}\n"))
                    .collect::<String>()
                    .into_bytes(),
                _ => Value::Array(items.to_vec()).to_string().into_bytes(),
            }
        };
        let ext = if output_type == "JSONL" {
            "jsonl"
        } else {
            "json"
        };
        let mut files = json!({ "FAILED": [], "PENDING": [], "SUCCEEDED": [] });
        for (status, items) in [("SUCCEEDED", &succeeded), ("FAILED", &failed)] {
            if items.is_empty() {
                continue;
            }
            let key = format!("{base}/{status}_0.{ext}");
            let bytes = encode(items);
            let size = bytes.len();
            buckets
                .put_object(&bucket, &key, bytes)
                .await
                .map_err(|e| fail(format!("{bucket}/{key}: {e}")))?;
            if let Some(list) = files[status].as_array_mut() {
                list.push(json!({ "Key": key, "Size": size }));
            }
        }
        let manifest_key = format!("{base}/manifest.json");
        let manifest =
            json!({ "DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": files });
        buckets
            .put_object(&bucket, &manifest_key, manifest.to_string().into_bytes())
            .await
            .map_err(|e| fail(format!("{bucket}/{manifest_key}: {e}")))?;
        Ok(
            json!({ "MapRunArn": map_run_arn, "ResultWriterDetails": { "Bucket": bucket, "Key": manifest_key } }),
        )
    }
}

impl Run<'_> {
    /// ItemReader: a JSON array or a CSV file from the object store
    /// (`arn:aws:states:::s3:getObject` with `Bucket` and `Key`).
    pub(super) async fn read_items(
        &self,
        reader: &Value,
        eff: &Value,
        ctx: &Ctx,
    ) -> Result<Value, Failure> {
        let fail = |m: String| Failure::new("States.ItemReaderFailed", m);
        let params = template(reader.get("Parameters").unwrap_or(&json!({})), eff, ctx)?;
        let (Some(bucket), Some(key)) = (params["Bucket"].as_str(), params["Key"].as_str()) else {
            return Err(fail(
                "ItemReader needs Parameters.Bucket and Parameters.Key".into(),
            ));
        };
        let buckets = self
            .engine
            .buckets
            .as_ref()
            .ok_or_else(|| fail("no object store is configured for ItemReader".into()))?;
        let bytes = buckets
            .get_object(bucket, key)
            .await
            .map_err(|e| fail(format!("{bucket}/{key}: {e}")))?;
        let config = reader.get("ReaderConfig").cloned().unwrap_or(json!({}));
        let text =
            String::from_utf8(bytes).map_err(|_| fail(format!("{key} is not UTF-8 text")))?;
        let mut items: Vec<Value> = match config["InputType"].as_str().unwrap_or("JSON") {
            "JSON" => match serde_json::from_str(&text) {
                Ok(Value::Array(a)) => a,
                Ok(_) => return Err(fail(format!("{key} does not hold a JSON array"))),
                Err(e) => return Err(fail(format!("{key} is not JSON: {e}"))),
            },
            "CSV" => csv_items(&text, &config).map_err(fail)?,
            other => return Err(fail(format!("InputType {other} is not supported"))),
        };
        if let Some(m) = number_field(&config, "MaxItems", eff, ctx)?.filter(|m| *m >= 1.0) {
            items.truncate(m as usize);
        }
        Ok(Value::Array(items))
    }
}

/// CSV rows as objects keyed by the header (the first row, or `CSVHeaders`); values are
/// strings, as Step Functions gives them. Quoted fields may hold commas and "" quotes.
fn csv_items(text: &str, config: &Value) -> Result<Vec<Value>, String> {
    let mut rows = text.lines().filter(|l| !l.trim().is_empty()).map(csv_row);
    let header: Vec<String> = match config["CSVHeaderLocation"].as_str().unwrap_or("FIRST_ROW") {
        "GIVEN" => config["CSVHeaders"]
            .as_array()
            .ok_or("CSVHeaders is required with CSVHeaderLocation GIVEN")?
            .iter()
            .map(|h| h.as_str().unwrap_or_default().to_string())
            .collect(),
        _ => rows.next().ok_or("the CSV file is empty")?,
    };
    Ok(rows
        .map(|r| {
            Value::Object(
                header
                    .iter()
                    .cloned()
                    .zip(r.into_iter().map(Value::String))
                    .collect(),
            )
        })
        .collect())
}

fn csv_row(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}
