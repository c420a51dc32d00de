//! Against asl-validator's definitions (../shared/corpus/asl/validator): every `valid-*`
//! is accepted, every `invalid-*` rejected.

use std::path::PathBuf;

fn corpus() -> PathBuf {
    std::env::var_os("MEDIDOCS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"))
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
