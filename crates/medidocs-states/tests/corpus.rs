//! Against asl-validator's definitions (tests/corpus/asl/validator): every `valid-*`
//! is accepted, every `invalid-*` rejected.

use std::path::PathBuf;

fn corpus() -> PathBuf {
    std::env::var_os("MEDIDOCS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR")
                    .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../tests/corpus")
        })
        .join("asl/validator")
}

#[test]
fn valid_definitions_pass_and_invalid_ones_fail() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("the ASL corpus")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut wrong = Vec::new();
    let (mut valid, mut invalid) = (0, 0);
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".json") {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let result = medidocs_states::validate_text(&text);
        if name.starts_with("valid-") {
            valid += 1;
            if let Err(errors) = result {
                wrong.push(format!(
                    "{name} was rejected: {}",
                    errors
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
        } else if name.starts_with("invalid-") {
            invalid += 1;
            if result.is_ok() {
                wrong.push(format!("{name} was accepted"));
            }
        }
    }
    assert!(
        valid >= 40 && invalid >= 40,
        "{valid} valid and {invalid} invalid definitions found"
    );
    assert!(
        wrong.is_empty(),
        "{} of {} wrong:\n{}",
        wrong.len(),
        valid + invalid,
        wrong.join("\n")
    );
}

#[test]
fn errors_name_the_state_and_the_field() {
    let def = r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:eu-west-1:1:function:f","TimeoutSeconds":5,"TimeoutSecondsPath":"$.t","End":true}}}"#;
    let errors = medidocs_states::validate_text(def).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].state, "A");
    assert_eq!(errors[0].field, "TimeoutSecondsPath");
    let nested = r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"In","States":{"In":{"Type":"Pass","Next":"Out"}}},"End":true},"Out":{"Type":"Succeed"}}}"#;
    let errors = medidocs_states::validate_text(nested).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.state == "M/In" && e.field == "Next" && e.message.contains("'Out'")),
        "{errors:?}"
    );
}

fn resources(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(o) => {
            if let Some(r) = o.get("Resource").and_then(|r| r.as_str()) {
                out.push(r.to_string());
            }
            o.values().for_each(|v| resources(v, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| resources(v, out)),
        _ => {}
    }
}

struct AnyObject;

#[async_trait::async_trait]
impl medidocs_states::Buckets for AnyObject {
    async fn get_object(&self, _: &str, _: &str) -> Result<Vec<u8>, medidocs_states::BucketError> {
        Ok(b"[]".to_vec())
    }
    async fn put_object(
        &self,
        _: &str,
        _: &str,
        _: Vec<u8>,
    ) -> Result<(), medidocs_states::BucketError> {
        Ok(())
    }
}

/// Every valid definition is executed (each Task echoing its input, time on a manual
/// clock, an empty input). A run may fail because `{}` lacks a field the definition reads;
/// it must never fail because the engine lacks a feature, except for the JSONata ones,
/// which are refused with a clear message.
#[tokio::test]
async fn every_valid_jsonpath_definition_runs() {
    let mut refused = Vec::new();
    let mut unsupported = Vec::new();
    let mut ran = 0;
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("valid-") {
            continue;
        }
        let def = medidocs_states::validate_text(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let clock = std::sync::Arc::new(medidocs_states::ManualClock::new(
            time::OffsetDateTime::UNIX_EPOCH,
        ));
        let mut engine =
            medidocs_states::Engine::new(clock).with_buckets(std::sync::Arc::new(AnyObject));
        let mut rs = Vec::new();
        resources(&def, &mut rs);
        for r in rs {
            engine.register(
                r,
                medidocs_states::handler(|v: serde_json::Value| async move { Ok(v) }),
            );
        }
        let ex = engine.execute(&def, serde_json::json!({}), "corpus").await;
        ran += 1;
        if let Err(f) = ex.output {
            if f.cause.contains("JSONata") || f.cause.contains("CloudFormation intrinsic") {
                refused.push(name);
            } else if f.cause.contains("not supported")
                || f.cause.contains("not run")
                || f.cause.contains("no handler")
            {
                unsupported.push(format!("{name}: {}: {}", f.error, f.cause));
            }
        }
    }
    assert!(ran >= 40, "{ran}");
    assert!(unsupported.is_empty(), "{unsupported:#?}");
    // Only definitions in the JSONata query language, or whose Task resources are
    // CloudFormation intrinsics (resolved at deployment), are refused, with a clear cause.
    for name in &refused {
        let text = std::fs::read_to_string(corpus().join(name)).unwrap();
        assert!(
            text.contains("JSONata") || text.contains("\"Fn::GetAtt\""),
            "{name} refused"
        );
    }
    eprintln!(
        "{ran} valid definitions executed; refused: {}",
        refused.join(", ")
    );
}
