//! Helpers for the end-to-end tests of the embedded runtime.

use std::collections::BTreeMap;
use std::path::PathBuf;

use medidocs_core::model::DocumentRecord;
use medidocs_core::ports::ObjectStore;
use serde_json::Value;

/// The stored plain text (`text.txt`) of a READY document.
pub async fn read_text(objects: &dyn ObjectStore, doc: &DocumentRecord) -> String {
    let key = doc.text_key.as_ref().expect("a READY document has text");
    String::from_utf8(objects.get(key).await.expect("text.txt")).expect("UTF-8 text")
}

pub fn repo_root() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .parent()
    .expect("workspace root")
    .to_path_buf()
}

pub fn samples_dir() -> PathBuf {
    repo_root().join("samples")
}

/// The public corpus copied into the repository (`tests/corpus`), or `MEDIDOCS_CORPUS`.
pub fn corpus_dir() -> PathBuf {
    std::env::var_os("MEDIDOCS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("tests/corpus"))
}

/// What a sample is expected to give, from `samples/expected/manifest.json`.
#[derive(Debug, Clone)]
pub struct Expected {
    pub status: String,
    pub mime: Option<String>,
    pub pages: Option<u32>,
    pub reason: Option<String>,
    pub text_source: Option<String>,
    pub text: Option<String>,
}

pub fn manifest() -> BTreeMap<String, Expected> {
    let dir = samples_dir().join("expected");
    let raw =
        std::fs::read_to_string(dir.join("manifest.json")).expect("samples/expected/manifest.json");
    let v: BTreeMap<String, Value> = serde_json::from_str(&raw).expect("manifest is JSON");
    v.into_iter()
        .map(|(name, e)| {
            let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
            let text = s("text")
                .map(|f| std::fs::read_to_string(dir.join(f)).expect("expected text file"));
            (
                name,
                Expected {
                    status: s("status").expect("status"),
                    mime: s("mime"),
                    pages: e.get("pages").and_then(Value::as_u64).map(|p| p as u32),
                    reason: s("reason"),
                    text_source: s("text_source"),
                    text,
                },
            )
        })
        .collect()
}

/// True if an encoded image carries an EXIF, XMP or GPS block (JPEG APP1, WebP EXIF/XMP
/// chunks, PNG eXIf/iTXt XMP chunks).
pub fn has_metadata_block(bytes: &[u8]) -> bool {
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    has(b"Exif\0\0")
        || has(b"EXIF")
        || has(b"eXIf")
        || has(b"XML:com.adobe.xmp")
        || has(b"http://ns.adobe.com/xap")
        || has(b"GPS")
}
