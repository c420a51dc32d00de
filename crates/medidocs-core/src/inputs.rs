//! What starts a run of the pipeline: an uploaded object version ([`SourceInput`], the
//! execution input an upload event or the API gives), and a bulk import's manifest
//! ([`BulkInput`], [`MANIFEST_COLUMNS`]) its Distributed Map reads.

use serde::{Deserialize, Serialize};

use crate::keys;

/// The source object: what an S3 event names. `version` is the object's version id
/// (`"null"` in an unversioned bucket; the content hash in the embedded store).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInput {
    pub bucket: String,
    pub key: String,
    #[serde(default = "null_version")]
    pub version: String,
    /// The name of the execution running the step (`$$.Execution.Name`), which carries
    /// the attempt ([`keys::execution_name`]). Absent in an execution's own input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
}

fn null_version() -> String {
    "null".into()
}

impl SourceInput {
    pub fn new(
        bucket: impl Into<String>,
        key: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        Self {
            bucket: bucket.into(),
            key: key.into(),
            version: version.into(),
            execution: None,
        }
    }

    pub fn document_id(&self) -> String {
        keys::document_id(&self.bucket, &self.key, &self.version)
    }
}

/// A bulk manifest's columns (the bulk import's Distributed Map reads them by name).
/// `bucket` is the bucket the original was uploaded to, part of its document id: a
/// reconcile in the other region runs originals that arrived there by replication.
pub const MANIFEST_COLUMNS: [&str; 5] =
    ["document_id", "bucket", "key", "version", "execution_name"];

/// A bulk manifest row: the source, and the execution that runs attempt `attempt` of it.
pub fn manifest_row(bucket: &str, key: &str, version: &str, attempt: u32) -> [String; 5] {
    let id = keys::document_id(bucket, key, version);
    let name = keys::execution_name(&id, attempt);
    [
        id,
        bucket.to_string(),
        key.to_string(),
        version.to_string(),
        name,
    ]
}

/// Where a bulk import's manifest is and how fast to go.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BulkInput {
    pub manifest_bucket: String,
    /// A CSV object with the [`MANIFEST_COLUMNS`].
    pub manifest_key: String,
    pub upload_bucket: String,
    pub max_concurrency: u32,
    /// Where the per-document results go (`{prefix}/{run}/SUCCEEDED_0.json`, …).
    pub results_prefix: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_input_defaults_to_the_null_version() {
        let s: SourceInput = serde_json::from_str(r#"{"bucket":"b","key":"k"}"#).unwrap();
        assert_eq!(s.version, "null");
    }
}
