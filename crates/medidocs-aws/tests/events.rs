//! The starter's view of upload events (samples/events): EventBridge and S3 notification
//! shapes, URL-encoded keys, and objects outside the upload layout ignored.

use medidocs_aws::events::{Upload, uploads};
use medidocs_core::inputs::SourceInput;
use serde_json::Value;

fn event(name: &str) -> Value {
    let p = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../samples/events")
    .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn an_eventbridge_object_created_event_starts_its_object_version() {
    let e = event("eventbridge-object-created.json");
    assert_eq!(
        uploads(&e, "medidocs-uploads-123456789012-eu-west-1"),
        vec![Upload::Start(SourceInput {
            bucket: "medidocs-uploads-123456789012-eu-west-1".into(),
            key: "uploads/p-1042/9f86d081884c7d659a2feaa0/original".into(),
            version: "IYV3p45BhZA5DWxLqTiCT4Su9kdWQwNR".into(),
            execution: None,
        })]
    );
    // Another bucket's event (a replica, or a misrouted rule) starts nothing.
    assert!(matches!(
        uploads(&e, "medidocs-uploads-123456789012-us-east-1")[..],
        [Upload::Ignore(_)]
    ));
}

#[test]
fn s3_notification_keys_are_decoded_and_stray_objects_ignored() {
    let e = event("s3-notification-two-records.json");
    let got = uploads(&e, "medidocs-uploads-123456789012-us-east-1");
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0],
        Upload::Start(SourceInput {
            bucket: "medidocs-uploads-123456789012-us-east-1".into(),
            key: "uploads/p-1042/9f86d081884c7d659a2feaa0/original".into(),
            version: "096fKKXTRTtl3on89fVO.nfljtsv6qko".into(),
            execution: None,
        })
    );
    assert_eq!(got[1], Upload::Ignore("not an upload key"));
    assert!(matches!(
        uploads(&serde_json::json!({ "hello": 1 }), "b")[..],
        [Upload::Ignore(_)]
    ));
}
