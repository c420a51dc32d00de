//! Upload events as they reach the starter function: EventBridge "Object Created" events
//! from S3, or S3 event notifications (`Records`). Keys in S3 notifications are
//! URL-encoded (`+` for a space); they are decoded here. Only objects in the upload layout
//! (`uploads/{patient}/{upload}/original`) start the pipeline: anything else in the bucket
//! is reported as ignored, with no key in the log.

use medidocs_core::inputs::SourceInput;
use medidocs_core::keys;
use serde_json::Value;

/// What an event asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Upload {
    Start(SourceInput),
    /// An object outside the upload layout, or in another bucket: why.
    Ignore(&'static str),
}

/// Decodes `application/x-www-form-urlencoded` text as S3 writes keys in notifications.
pub fn decode_key(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a key is `uploads/{patient}/{upload}/original` with a valid patient id and a
/// system upload id.
pub fn is_upload_key(key: &str) -> bool {
    keys::parse_original(key).is_some_and(|original| original.arrival == keys::Arrival::Upload)
}

fn upload(bucket: &str, key: &str, version: Option<&str>, expected_bucket: &str) -> Upload {
    if bucket != expected_bucket {
        return Upload::Ignore("not the upload bucket");
    }
    if !is_upload_key(key) {
        return Upload::Ignore("not an upload key");
    }
    Upload::Start(SourceInput {
        bucket: bucket.to_string(),
        key: key.to_string(),
        version: version.unwrap_or("null").to_string(),
        execution: None,
    })
}

/// The uploads an event announces (one for EventBridge, any number for notifications).
pub fn uploads(event: &Value, upload_bucket: &str) -> Vec<Upload> {
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        return records
            .iter()
            .map(|r| {
                let s3 = &r["s3"];
                match (s3["bucket"]["name"].as_str(), s3["object"]["key"].as_str()) {
                    (Some(b), Some(k)) => upload(
                        b,
                        &decode_key(k),
                        s3["object"]["versionId"].as_str(),
                        upload_bucket,
                    ),
                    _ => Upload::Ignore("not an S3 object record"),
                }
            })
            .collect();
    }
    if event["source"] == "aws.s3" && event["detail-type"] == "Object Created" {
        let d = &event["detail"];
        return match (d["bucket"]["name"].as_str(), d["object"]["key"].as_str()) {
            (Some(b), Some(k)) => vec![upload(
                b,
                &decode_key(k),
                d["object"]["version-id"].as_str(),
                upload_bucket,
            )],
            _ => vec![Upload::Ignore(
                "an Object Created event without bucket or key",
            )],
        };
    }
    vec![Upload::Ignore("not an S3 Object Created event")]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_url_decoded() {
        assert_eq!(decode_key("uploads/a+b/c%2Bd%20e"), "uploads/a b/c+d e");
        assert_eq!(decode_key("100%"), "100%");
        assert_eq!(decode_key("%zz"), "%zz");
        assert_eq!(decode_key("%C3%BC"), "ü");
    }

    #[test]
    fn only_the_upload_layout_starts_the_pipeline() {
        assert!(is_upload_key("uploads/p-1/0a1b2c/original"));
        assert!(!is_upload_key("uploads/p-1/0a1b2c/original/x"));
        assert!(!is_upload_key("uploads/p 1/0a1b2c/original"));
        // Bulk imports are paced by the bulk-import machine, not started one by one.
        assert!(!is_upload_key("bulk/p-1/0a1b2c/original"));
        assert!(!is_upload_key("uploads/p-1/not-hex/original"));
        assert!(!is_upload_key("artefacts/x/text.txt"));
    }
}
