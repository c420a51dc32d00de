//! The deployment template, the Lambda binary and the pipeline's steps agree: every
//! function in `sam/template.yaml` runs the one binary with a `MEDIDOCS_FUNCTION` that
//! names it, every function of the deployment is there once, and every step resource the
//! pipeline's definition uses is substituted with its own function.

use std::collections::BTreeSet;
use std::path::PathBuf;

use medidocs_functions::{FUNCTION_SETTING, Function};
use medidocs_pipeline::Step;
use serde_yaml_ng::Value as Yaml;

fn root() -> PathBuf {
    PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("..")
}

fn template() -> Yaml {
    let text = std::fs::read_to_string(root().join("sam/template.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

#[test]
fn every_template_function_runs_the_one_binary_as_a_function_it_names() {
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    let mut seen = BTreeSet::new();
    for (id, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let id = id.as_str().unwrap();
        assert_eq!(
            resource["Metadata"]["BuildProperties"]["Binary"].as_str(),
            Some("medidocs-lambda"),
            "{id} builds another binary"
        );
        let name = resource["Properties"]["Environment"]["Variables"][FUNCTION_SETTING]
            .as_str()
            .unwrap_or_else(|| panic!("{id} has no {FUNCTION_SETTING}"));
        let function: Function = name.parse().unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(function.logical_id(), id, "{id} says it is {name}");
        assert!(seen.insert(id.to_string()), "{id} twice");
    }
    let all: BTreeSet<String> = Function::all()
        .into_iter()
        .map(|f| f.logical_id().to_string())
        .collect();
    assert_eq!(seen, all, "the template's functions and the deployment's");
}

#[test]
fn the_functions_folder_builds_one_binary() {
    let bins: Vec<String> = std::fs::read_dir(root().join("functions/src/bin"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(bins, ["medidocs-lambda.rs"]);
    let manifest = std::fs::read_to_string(root().join("functions/Cargo.toml")).unwrap();
    assert_eq!(manifest.matches("[[bin]]").count(), 1, "{manifest}");
}

#[test]
fn every_step_resource_of_the_pipeline_is_its_own_function() {
    let template = template();
    let subs = template["Resources"]["DocumentPipeline"]["Properties"]["DefinitionSubstitutions"]
        .as_mapping()
        .unwrap();
    let definition =
        std::fs::read_to_string(root().join("statemachines/document-pipeline.asl.json")).unwrap();
    for step in Step::ALL {
        let used = definition.contains(&format!("${{{}}}", step.resource()));
        if !used {
            continue;
        }
        assert!(step.has_function(), "{step} is a Task but has no function");
        let value = serde_yaml_ng::to_string(&subs[step.resource()]).unwrap();
        assert!(
            value.contains(&format!("{}.Arn", step.resource())),
            "${{{}}} is substituted with {value}",
            step.resource()
        );
    }
    // Every substitution a step function gets is one the definition uses.
    for (name, _) in subs {
        let name = name.as_str().unwrap();
        if name.ends_with("Function") {
            assert!(
                Step::ALL.iter().any(|s| s.resource() == name),
                "{name} is not a step"
            );
            assert!(
                definition.contains(&format!("${{{name}}}")),
                "{name} unused"
            );
        }
    }
}
