//! Execution conformance: each case's definition, input and expected output come from the
//! page cited beside it (AWS Step Functions Developer Guide, or the States Language
//! specification at states-language.net). Tasks are registered handlers; time is a
//! ManualClock, so Wait and Retry back-off are instant and recorded.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use medidocs_states::{Engine, Failure, ManualClock, handler};
use serde_json::{Value, json};

fn engine() -> (Engine, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(
        time::macros::datetime!(2026-11-27 12:00 UTC),
    ));
    let mut e = Engine::new(clock.clone());
    // The specification's example task: adds val1 and val2.
    e.register(
        "arn:aws:lambda:us-east-1:123456789012:function:Add",
        handler(|v: Value| async move {
            Ok(json!(
                v["val1"].as_i64().unwrap_or(0) + v["val2"].as_i64().unwrap_or(0)
            ))
        }),
    );
    e.register(
        "arn:aws:lambda:us-east-1:123456789012:function:echo",
        handler(|v: Value| async move { Ok(v) }),
    );
    (e, clock)
}

async fn run(def: Value, input: Value) -> Result<Value, Failure> {
    let (e, _) = engine();
    e.execute(&def, input, "case").await.output
}

fn pass_machine(state: Value) -> Value {
    json!({ "StartAt": "S", "States": { "S": state } })
}

/// One state evaluated on `input`; `expect` is the output (or `{"Error": …}`).
async fn check(source: &str, state: Value, input: Value, expect: Value) {
    let mut st = state;
    st["End"] = json!(true);
    let got = run(pass_machine(st), input).await;
    let got = got.unwrap_or_else(|f| json!({ "Error": f.error, "Cause": f.cause }));
    if expect.get("Error").is_some() && expect.get("Cause").is_none() {
        assert_eq!(got["Error"], expect["Error"], "{source}: got {got}");
    } else {
        assert_eq!(got, expect, "{source}");
    }
}

// https://states-language.net/spec.html#filters (InputPath, ResultPath, OutputPath example)
#[tokio::test]
async fn input_result_and_output_paths_from_the_specification() {
    let task = json!({ "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Add", "InputPath": "$.numbers", "ResultPath": "$.sum" });
    let input = json!({ "title": "Numbers to add", "numbers": { "val1": 3, "val2": 4 } });
    check(
        "spec: filters",
        task.clone(),
        input.clone(),
        json!({ "title": "Numbers to add", "numbers": { "val1": 3, "val2": 4 }, "sum": 7 }),
    )
    .await;
    let mut with_output = task;
    with_output["OutputPath"] = json!("$.sum");
    check("spec: filters, OutputPath", with_output, input, json!(7)).await;
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html
#[tokio::test]
async fn result_path_variants_from_the_developer_guide() {
    let input = json!({ "comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions" });
    let result = json!("Hello, AWS Step Functions!");
    let pass = |rp: Value| json!({ "Type": "Pass", "Result": result, "ResultPath": rp });
    // ResultPath "$": the result replaces the input.
    check(
        "resultpath: $",
        pass(json!("$")),
        input.clone(),
        result.clone(),
    )
    .await;
    // ResultPath "$.taskresult": the result is added to the input.
    let mut with = input.clone();
    with["taskresult"] = result.clone();
    check(
        "resultpath: $.taskresult",
        pass(json!("$.taskresult")),
        input.clone(),
        with,
    )
    .await;
    // ResultPath null: the result is discarded, the input passes through.
    check(
        "resultpath: null",
        pass(Value::Null),
        input.clone(),
        input.clone(),
    )
    .await;
    // Overwriting a field of the input.
    let mut over = input.clone();
    over["details"] = result.clone();
    check(
        "resultpath: $.details",
        pass(json!("$.details")),
        input,
        over,
    )
    .await;
}

// https://states-language.net/spec.html#parameters
#[tokio::test]
async fn parameters_with_paths_and_slices() {
    let st = json!({ "Type": "Pass", "Parameters": { "flagged": true, "parts": { "first.$": "$.vals[0]", "last3.$": "$.vals[3:]" } } });
    check(
        "spec: parameters",
        st,
        json!({ "flagged": 7, "vals": [0, 10, 20, 30, 40, 50] }),
        json!({ "flagged": true, "parts": { "first": 0, "last3": [30, 40, 50] } }),
    )
    .await;
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html#input-output-resultselector
#[tokio::test]
async fn result_selector_from_the_developer_guide() {
    let result = json!({ "resourceType": "elasticmapreduce", "resource": "createCluster.sync", "output": { "SdkHttpMetadata": { "HttpHeaders": { "Content-Length": "1112" } }, "ClusterId": "AKIAIOSFODNN7EXAMPLE" } });
    let (mut e, _) = engine();
    e.register(
        "arn:aws:lambda:us-east-1:123456789012:function:emr",
        handler(move |_| {
            let r = result.clone();
            async move { Ok(r) }
        }),
    );
    let def = pass_machine(
        json!({ "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:emr",
        "ResultSelector": { "ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType" }, "ResultPath": "$.EMROutput", "End": true }),
    );
    let out = e.execute(&def, json!({}), "rs").await.output.unwrap();
    assert_eq!(
        out,
        json!({ "EMROutput": { "ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce" } })
    );
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html
#[tokio::test]
async fn context_object_paths() {
    let st = json!({ "Type": "Pass", "Parameters": { "Comment": "Now", "Execution.$": "$$.Execution.Name", "State.$": "$$.State.Name", "Input.$": "$$.Execution.Input.x" } });
    check(
        "context object",
        st,
        json!({ "x": 1 }),
        json!({ "Comment": "Now", "Execution": "case", "State": "S", "Input": 1 }),
    )
    .await;
}

// https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
#[tokio::test]
async fn every_intrinsic_function_as_documented() {
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "States.Format('Hello, my name is {}.', $.name)",
            json!({ "name": "Arnav" }),
            json!("Hello, my name is Arnav."),
        ),
        (
            "States.StringToJson($.someString)",
            json!({ "someString": "{\"number\": 20}" }),
            json!({ "number": 20 }),
        ),
        (
            "States.JsonToString($.someJson)",
            json!({ "someJson": { "name": "Foo", "year": 2020 } }),
            json!("{\"name\":\"Foo\",\"year\":2020}"),
        ),
        (
            "States.Array('Foo', 2020, $.someJson, null)",
            json!({ "someJson": { "random": "abcdefg" } }),
            json!(["Foo", 2020, { "random": "abcdefg" }, null]),
        ),
        (
            "States.ArrayPartition($.inputArray, 4)",
            json!({ "inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9] }),
            json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
        ),
        (
            "States.ArrayContains($.inputArray, $.lookingFor)",
            json!({ "inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5 }),
            json!(true),
        ),
        (
            "States.ArrayRange(1, 9, 2)",
            json!({}),
            json!([1, 3, 5, 7, 9]),
        ),
        (
            "States.ArrayGetItem($.inputArray, $.index)",
            json!({ "inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5 }),
            json!(6),
        ),
        (
            "States.ArrayLength($.inputArray)",
            json!({ "inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9] }),
            json!(9),
        ),
        (
            "States.ArrayUnique($.inputArray)",
            json!({ "inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4] }),
            json!([1, 2, 3, 4]),
        ),
        (
            "States.Base64Encode($.input)",
            json!({ "input": "Data to encode" }),
            json!("RGF0YSB0byBlbmNvZGU="),
        ),
        (
            "States.Base64Decode($.base64)",
            json!({ "base64": "RGF0YSB0byBlbmNvZGU=" }),
            json!("Data to encode"),
        ),
        (
            "States.Hash($.Data, $.Algorithm)",
            json!({ "Data": "input data", "Algorithm": "SHA-1" }),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ),
        (
            "States.JsonMerge($.json1, $.json2, false)",
            json!({ "json1": { "a": { "a1": 1, "a2": 2 }, "b": 2 }, "json2": { "a": { "a3": 1, "a4": 2 }, "c": 3 } }),
            json!({ "a": { "a3": 1, "a4": 2 }, "b": 2, "c": 3 }),
        ),
        (
            "States.MathAdd($.value1, $.step)",
            json!({ "value1": 111, "step": -1 }),
            json!(110),
        ),
        (
            "States.StringSplit($.inputString, $.splitter)",
            json!({ "inputString": "1,2,3,4,5", "splitter": "," }),
            json!(["1", "2", "3", "4", "5"]),
        ),
        (
            "States.StringSplit($.inputString, $.splitter)",
            json!({ "inputString": "This.is+a,test=string", "splitter": ".+,=" }),
            json!(["This", "is", "a", "test", "string"]),
        ),
    ];
    for (expr, input, expect) in cases {
        check(
            expr,
            json!({ "Type": "Pass", "Parameters": { "r.$": expr }, "OutputPath": "$.r" }),
            input,
            expect,
        )
        .await;
    }
    // Random values: checked by shape and range.
    let out = run(pass_machine(json!({ "Type": "Pass", "Parameters": { "n.$": "States.MathRandom($.start, $.end)", "u.$": "States.UUID()" }, "End": true })), json!({ "start": 1, "end": 999 })).await.unwrap();
    let n = out["n"].as_i64().unwrap();
    assert!((1..999).contains(&n), "{n}");
    assert_eq!(out["u"].as_str().unwrap().len(), 36);
    // A failing intrinsic is States.IntrinsicFailure.
    check(
        "intrinsic failure",
        json!({ "Type": "Pass", "Parameters": { "r.$": "States.ArrayGetItem($.a, 5)" } }),
        json!({ "a": [1] }),
        json!({ "Error": "States.IntrinsicFailure" }),
    )
    .await;
}

// https://states-language.net/spec.html#choice-state and
// https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html (comparison operators)
#[tokio::test]
async fn every_choice_operator() {
    let input = json!({ "s": "abc", "n": 5, "b": true, "t": "2026-11-27T12:00:00Z", "nul": null, "other": "abc", "m": 5, "later": "2026-11-28T00:00:00Z" });
    let cases: Vec<(Value, bool)> = vec![
        (json!({ "Variable": "$.s", "StringEquals": "abc" }), true),
        (
            json!({ "Variable": "$.s", "StringEqualsPath": "$.other" }),
            true,
        ),
        (json!({ "Variable": "$.s", "StringLessThan": "abd" }), true),
        (
            json!({ "Variable": "$.s", "StringGreaterThan": "abd" }),
            false,
        ),
        (
            json!({ "Variable": "$.s", "StringLessThanEquals": "abc" }),
            true,
        ),
        (
            json!({ "Variable": "$.s", "StringGreaterThanEquals": "abc" }),
            true,
        ),
        (json!({ "Variable": "$.s", "StringMatches": "a*" }), true),
        (json!({ "Variable": "$.s", "StringMatches": "b*" }), false),
        (json!({ "Variable": "$.n", "NumericEquals": 5 }), true),
        (
            json!({ "Variable": "$.n", "NumericEqualsPath": "$.m" }),
            true,
        ),
        (json!({ "Variable": "$.n", "NumericLessThan": 5 }), false),
        (
            json!({ "Variable": "$.n", "NumericGreaterThan": 4.5 }),
            true,
        ),
        (
            json!({ "Variable": "$.n", "NumericLessThanEquals": 5 }),
            true,
        ),
        (
            json!({ "Variable": "$.n", "NumericGreaterThanEqualsPath": "$.m" }),
            true,
        ),
        (json!({ "Variable": "$.s", "NumericEquals": 5 }), false),
        (json!({ "Variable": "$.b", "BooleanEquals": true }), true),
        (
            json!({ "Variable": "$.t", "TimestampEquals": "2026-11-27T12:00:00Z" }),
            true,
        ),
        (
            json!({ "Variable": "$.t", "TimestampLessThanPath": "$.later" }),
            true,
        ),
        (
            json!({ "Variable": "$.t", "TimestampGreaterThan": "2026-11-28T00:00:00Z" }),
            false,
        ),
        (json!({ "Variable": "$.nul", "IsNull": true }), true),
        (json!({ "Variable": "$.missing", "IsPresent": false }), true),
        (json!({ "Variable": "$.s", "IsPresent": true }), true),
        (json!({ "Variable": "$.n", "IsNumeric": true }), true),
        (json!({ "Variable": "$.s", "IsString": true }), true),
        (json!({ "Variable": "$.b", "IsBoolean": false }), false),
        (json!({ "Variable": "$.t", "IsTimestamp": true }), true),
        (
            json!({ "And": [{ "Variable": "$.n", "NumericGreaterThan": 1 }, { "Variable": "$.b", "BooleanEquals": true }] }),
            true,
        ),
        (
            json!({ "Or": [{ "Variable": "$.n", "NumericGreaterThan": 10 }, { "Variable": "$.s", "StringEquals": "x" }] }),
            false,
        ),
        (
            json!({ "Not": { "Variable": "$.s", "StringEquals": "Private" } }),
            true,
        ),
    ];
    for (rule, expect) in cases {
        let mut r = rule.clone();
        r["Next"] = json!("Yes");
        let def = json!({ "StartAt": "C", "States": {
            "C": { "Type": "Choice", "Choices": [r], "Default": "No" },
            "Yes": { "Type": "Pass", "Result": "yes", "End": true },
            "No": { "Type": "Pass", "Result": "no", "End": true } } });
        let out = run(def, input.clone()).await.unwrap();
        assert_eq!(out, json!(if expect { "yes" } else { "no" }), "{rule}");
    }
    // No match and no Default: States.NoChoiceMatched.
    let def = json!({ "StartAt": "C", "States": { "C": { "Type": "Choice", "Choices": [{ "Variable": "$.n", "NumericEquals": 1, "Next": "E" }] }, "E": { "Type": "Succeed" } } });
    assert_eq!(
        run(def, input).await.unwrap_err().error,
        "States.NoChoiceMatched"
    );
}

// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
#[tokio::test]
async fn retry_back_off_and_catch() {
    let (mut e, clock) = engine();
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    e.register(
        "arn:aws:lambda:us-east-1:123456789012:function:flaky",
        handler(move |_| {
            let c = c.clone();
            async move {
                if c.fetch_add(1, Ordering::SeqCst) < 3 {
                    Err(Failure::new("Medidocs.Throttled", "slow down"))
                } else {
                    Ok(json!("done"))
                }
            }
        }),
    );
    let def = json!({ "StartAt": "T", "States": { "T": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
        "Retry": [{ "ErrorEquals": ["Medidocs.Throttled"], "IntervalSeconds": 3, "MaxAttempts": 3, "BackoffRate": 1.5, "MaxDelaySeconds": 5 }], "End": true } } });
    let ex = e.execute(&def, json!({}), "retry").await;
    assert_eq!(ex.output.unwrap(), json!("done"));
    // 3 s, 4.5 s, then 6.75 s capped at MaxDelaySeconds = 5.
    assert_eq!(
        *clock.slept.lock().unwrap(),
        vec![
            Duration::from_secs(3),
            Duration::from_secs_f64(4.5),
            Duration::from_secs(5)
        ]
    );
    let kinds: Vec<&str> = ex
        .history
        .iter()
        .map(|h| h["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "TaskFailed").count(), 3);
    assert_eq!(kinds.first(), Some(&"ExecutionStarted"));
    assert_eq!(kinds.last(), Some(&"ExecutionSucceeded"));
    assert_eq!(ex.history[1]["stateEnteredEventDetails"]["name"], "T");

    // Catch with ResultPath keeps the input and adds the error (spec: "Catch").
    e.register(
        "arn:aws:lambda:us-east-1:123456789012:function:broken",
        handler(|_| async {
            Err(Failure::new(
                "Medidocs.InvalidDocument",
                "{\"code\":\"corrupt\"}",
            ))
        }),
    );
    let def = json!({ "StartAt": "T", "States": {
        "T": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:broken", "Retry": [{ "ErrorEquals": ["Medidocs.Throttled"] }],
               "Catch": [{ "ErrorEquals": ["Medidocs.InvalidDocument"], "ResultPath": "$.error", "Next": "Rejected" }], "End": true },
        "Rejected": { "Type": "Pass", "End": true } } });
    let out = e
        .execute(&def, json!({ "key": "k" }), "catch")
        .await
        .output
        .unwrap();
    assert_eq!(
        out,
        json!({ "key": "k", "error": { "Error": "Medidocs.InvalidDocument", "Cause": "{\"code\":\"corrupt\"}" } })
    );

    // States.ALL catches everything but States.Runtime; an uncaught error fails the execution.
    let def = json!({ "StartAt": "T", "States": { "T": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:broken", "End": true } } });
    let ex = e.execute(&def, json!({}), "fail").await;
    assert_eq!(
        ex.output.unwrap_err(),
        Failure::new("Medidocs.InvalidDocument", "{\"code\":\"corrupt\"}")
    );
    assert_eq!(
        ex.history.last().unwrap()["executionFailedEventDetails"]["error"],
        "Medidocs.InvalidDocument"
    );
}

// https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html (TimeoutSeconds)
#[tokio::test]
async fn task_time_out() {
    let (mut e, clock) = engine();
    // A task that takes 60 s (of the manual clock) against a 30 s time-out.
    let c = clock.clone();
    e.register(
        "arn:aws:lambda:us-east-1:123456789012:function:hang",
        handler(move |_| {
            let c = c.clone();
            async move {
                medidocs_states::Clock::sleep(c.as_ref(), Duration::from_secs(60)).await;
                std::future::pending::<()>().await;
                Ok(json!(null))
            }
        }),
    );
    let def = json!({ "StartAt": "T", "States": { "T": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:hang", "TimeoutSeconds": 30, "End": true } } });
    let ex = e.execute(&def, json!({}), "timeout").await;
    assert_eq!(ex.output.unwrap_err().error, "States.Timeout");
    assert!(ex.history.iter().any(|h| h["type"] == "TaskTimedOut"));
    // TimeoutSecondsPath: the same 30 s limit, read from the input.
    let by_path = json!({ "StartAt": "T", "States": { "T": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:hang", "TimeoutSecondsPath": "$.limit", "End": true } } });
    let ex = e
        .execute(&by_path, json!({ "limit": 30 }), "timeout-path")
        .await;
    assert_eq!(ex.output.unwrap_err().error, "States.Timeout");
}

// https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html (ItemsPath,
// ItemSelector with $$.Map.Item.Value; the shipping example)
#[tokio::test]
async fn map_with_items_path_and_item_selector() {
    let input = json!({ "ship-date": "2016-03-14T01:59:00Z", "detail": { "delivery-partner": "UQS", "shipped": [
        { "prod": "R31", "dest-code": 9511, "quantity": 1344 }, { "prod": "S39", "dest-code": 9511, "quantity": 40 } ] } });
    let def = json!({ "StartAt": "Validate-All", "States": { "Validate-All": { "Type": "Map",
        "ItemsPath": "$.detail.shipped", "MaxConcurrency": 0,
        "ItemSelector": { "parcel.$": "$$.Map.Item.Value", "courier.$": "$.detail.delivery-partner" },
        "ItemProcessor": { "StartAt": "Validate", "States": { "Validate": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo", "End": true } } },
        "ResultPath": "$.detail.shipped", "End": true } } });
    let out = run(def, input).await.unwrap();
    assert_eq!(
        out["detail"]["shipped"],
        json!([
        { "parcel": { "prod": "R31", "dest-code": 9511, "quantity": 1344 }, "courier": "UQS" },
        { "parcel": { "prod": "S39", "dest-code": 9511, "quantity": 40 }, "courier": "UQS" } ])
    );
    assert_eq!(out["ship-date"], "2016-03-14T01:59:00Z");
}

// https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html#maprun-fail-threshold
#[tokio::test]
async fn map_tolerated_failures() {
    let (mut e, _) = engine();
    e.register(
        "arn:aws:lambda:us-east-1:123456789012:function:odd-fails",
        handler(|v: Value| async move {
            if v.as_i64().unwrap_or(0) % 2 == 1 {
                Err(Failure::new("Odd", "odd item"))
            } else {
                Ok(v)
            }
        }),
    );
    let map = |tolerated: Value| {
        json!({ "StartAt": "M", "States": { "M": { "Type": "Map", "ToleratedFailurePercentage": tolerated,
        "ItemProcessor": { "StartAt": "T", "States": { "T": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:odd-fails", "End": true } } }, "End": true } } })
    };
    let ok = e
        .execute(&map(json!(50)), json!([0, 1, 2, 3]), "m1")
        .await
        .output
        .unwrap();
    assert_eq!(ok[0], json!(0));
    assert_eq!(ok[1]["Error"], "Odd");
    let err = e
        .execute(&map(json!(25)), json!([0, 1, 2, 3]), "m2")
        .await
        .output
        .unwrap_err();
    assert_eq!(err.error, "States.ExceedToleratedFailureThreshold");
    // The same threshold read from the input (ToleratedFailurePercentagePath), items from
    // ItemsPath, concurrency from MaxConcurrencyPath.
    let by_path = json!({ "StartAt": "M", "States": { "M": { "Type": "Map", "ItemsPath": "$.items",
        "ToleratedFailurePercentagePath": "$.pct", "MaxConcurrencyPath": "$.workers",
        "ItemProcessor": { "StartAt": "T", "States": { "T": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:odd-fails", "End": true } } }, "End": true } } });
    let ok = e
        .execute(
            &by_path,
            json!({ "items": [0, 1, 2, 3], "pct": 50, "workers": 2 }),
            "m3",
        )
        .await
        .output
        .unwrap();
    assert_eq!(ok[2], json!(2));
    let err = e
        .execute(
            &by_path,
            json!({ "items": [0, 1, 2, 3], "pct": 25, "workers": 2 }),
            "m4",
        )
        .await
        .output
        .unwrap_err();
    assert_eq!(err.error, "States.ExceedToleratedFailureThreshold");
}

// https://docs.aws.amazon.com/step-functions/latest/dg/state-parallel.html
#[tokio::test]
async fn parallel_branches_give_an_array_in_branch_order() {
    let def = json!({ "StartAt": "P", "States": { "P": { "Type": "Parallel", "End": true, "Branches": [
        { "StartAt": "A", "States": { "A": { "Type": "Pass", "Result": "first", "End": true } } },
        { "StartAt": "B", "States": { "B": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Add", "End": true } } } ] } } });
    assert_eq!(
        run(def, json!({ "val1": 1, "val2": 2 })).await.unwrap(),
        json!(["first", 3])
    );
}

// https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html and state-fail.html
#[tokio::test]
async fn wait_uses_the_clock_and_fail_reports_error_and_cause() {
    let (e, clock) = engine();
    let def = json!({ "StartAt": "W", "States": {
        "W": { "Type": "Wait", "SecondsPath": "$.delay", "Next": "T" },
        "T": { "Type": "Wait", "Timestamp": "2026-11-27T12:01:00Z", "Next": "F" },
        "F": { "Type": "Fail", "Error": "ErrorA", "CausePath": "States.Format('took {}', $.delay)" } } });
    let ex = e.execute(&def, json!({ "delay": 10 }), "w").await;
    assert_eq!(ex.output.unwrap_err(), Failure::new("ErrorA", "took 10"));
    assert_eq!(
        *clock.slept.lock().unwrap(),
        vec![Duration::from_secs(10), Duration::from_secs(50)]
    );
}

#[tokio::test]
async fn substitutions_resolve_resources_and_jsonata_is_refused_clearly() {
    let (mut e, _) = engine();
    e.substitute(
        "InspectFunction",
        "arn:aws:lambda:eu-west-1:1:function:inspect",
    );
    e.register(
        "arn:aws:lambda:eu-west-1:1:function:inspect",
        handler(|_| async { Ok(json!("inspected")) }),
    );
    let def = json!({ "StartAt": "T", "States": { "T": { "Type": "Task", "Resource": "${InspectFunction}", "End": true } } });
    assert_eq!(
        e.execute(&def, json!({}), "s").await.output.unwrap(),
        json!("inspected")
    );
    let jsonata = json!({ "QueryLanguage": "JSONata", "StartAt": "X", "States": { "X": { "Type": "Pass", "Output": "{% 1+2 %}", "End": true } } });
    let err = e
        .execute(&jsonata, json!({}), "j")
        .await
        .output
        .unwrap_err();
    assert!(err.cause.contains("JSONata"), "{err:?}");
}

/// In-memory buckets: "bucket/key" → bytes.
struct Objects(std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>);

impl Objects {
    fn new(files: std::collections::HashMap<String, Vec<u8>>) -> Arc<Self> {
        Arc::new(Self(std::sync::Mutex::new(files)))
    }
    fn json(&self, path: &str) -> Value {
        let files = self.0.lock().unwrap();
        serde_json::from_slice(files.get(path).unwrap_or_else(|| panic!("no {path}"))).unwrap()
    }
}

#[async_trait::async_trait]
impl medidocs_states::Buckets for Objects {
    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Vec<u8>, medidocs_states::BucketError> {
        self.0
            .lock()
            .unwrap()
            .get(&format!("{bucket}/{key}"))
            .cloned()
            .ok_or_else(|| "no such object".into())
    }
    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
    ) -> Result<(), medidocs_states::BucketError> {
        self.0
            .lock()
            .unwrap()
            .insert(format!("{bucket}/{key}"), bytes);
        Ok(())
    }
}

fn distributed_map(reader: Value, batcher: Option<Value>) -> Value {
    let mut m = json!({ "Type": "Map", "ItemReader": reader,
        "ItemProcessor": { "ProcessorConfig": { "Mode": "DISTRIBUTED", "ExecutionType": "STANDARD" },
            "StartAt": "Echo", "States": { "Echo": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo", "End": true } } },
        "End": true });
    if let Some(b) = batcher {
        m["ItemBatcher"] = b;
    }
    json!({ "StartAt": "Map", "States": { "Map": m } })
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html (CSV
// with a header row: each row an object of strings; JSON: the array's elements)
#[tokio::test]
async fn item_reader_reads_csv_and_json_from_the_object_store() {
    let mut files = std::collections::HashMap::new();
    files.insert("data/ratings.csv".to_string(), b"userId,movieId,rating,timestamp\n1,307,3.5,1256677221\n1,481,3.5,1256677456\n1,1091,1.5,1256677471\n".to_vec());
    files.insert(
        "data/items.json".to_string(),
        br#"[{"id": 1}, {"id": 2}, {"id": 3}]"#.to_vec(),
    );
    let (e, _) = engine();
    let e = e.with_buckets(Objects::new(files));
    let csv = distributed_map(
        json!({ "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": { "InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 2 },
        "Parameters": { "Bucket": "data", "Key.$": "$.key" } }),
        None,
    );
    let out = e
        .execute(&csv, json!({ "key": "ratings.csv" }), "csv")
        .await
        .output
        .unwrap();
    assert_eq!(
        out,
        json!([
        { "userId": "1", "movieId": "307", "rating": "3.5", "timestamp": "1256677221" },
        { "userId": "1", "movieId": "481", "rating": "3.5", "timestamp": "1256677456" } ])
    );
    let js = distributed_map(
        json!({ "Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": { "InputType": "JSON" },
        "Parameters": { "Bucket": "data", "Key": "items.json" } }),
        None,
    );
    assert_eq!(
        e.execute(&js, json!({}), "json").await.output.unwrap(),
        json!([{ "id": 1 }, { "id": 2 }, { "id": 3 }])
    );
    let missing = distributed_map(
        json!({ "Resource": "arn:aws:states:::s3:getObject", "Parameters": { "Bucket": "data", "Key": "nope.json" } }),
        None,
    );
    assert_eq!(
        e.execute(&missing, json!({}), "m")
            .await
            .output
            .unwrap_err()
            .error,
        "States.ItemReaderFailed"
    );
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html
// (each child execution receives {"Items": [...], "BatchInput": ...})
#[tokio::test]
async fn item_batcher_groups_items_with_batch_input() {
    let mut files = std::collections::HashMap::new();
    files.insert(
        "data/items.json".to_string(),
        br#"[1, 2, 3, 4, 5]"#.to_vec(),
    );
    let (e, _) = engine();
    let e = e.with_buckets(Objects::new(files));
    let def = distributed_map(
        json!({ "Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": { "InputType": "JSON" }, "Parameters": { "Bucket": "data", "Key": "items.json" } }),
        Some(json!({ "MaxItemsPerBatch": 2, "BatchInput": { "factCheck": "December 2022" } })),
    );
    let out = e.execute(&def, json!({}), "b").await.output.unwrap();
    assert_eq!(
        out,
        json!([
        { "Items": [1, 2], "BatchInput": { "factCheck": "December 2022" } },
        { "Items": [3, 4], "BatchInput": { "factCheck": "December 2022" } },
        { "Items": [5], "BatchInput": { "factCheck": "December 2022" } } ])
    );
}

// https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html ("Assign"
// in Pass, Task, Map, Parallel, Choice and Wait; `$name` reads a variable in later states;
// every expression of one Assign reads the values as they were when the state was entered;
// in JSONPath states a Task's Assign sees its result and a Catcher's Assign the error output)
#[tokio::test]
async fn workflow_variables_assign_and_read() {
    let def = json!({ "StartAt": "Set", "States": {
        "Set": { "Type": "Pass", "Assign": { "productName": "product1", "count": 42, "available": true }, "Next": "Again" },
        // `before.$` reads $count as it was on entry (42), though this state sets it to 43.
        "Again": { "Type": "Pass", "Result": { "n": 43 }, "Assign": { "count.$": "$.n", "before.$": "$count" }, "Next": "Add" },
        "Add": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Add",
                 "Parameters": { "val1.$": "$count", "val2.$": "$before" },
                 "Assign": { "sum.$": "$" }, "ResultSelector": { "ignored": true }, "ResultPath": null, "Next": "Route" },
        "Route": { "Type": "Choice", "Choices": [
                     { "Variable": "$sum", "NumericGreaterThan": 80, "Assign": { "size": "large" }, "Next": "Done" } ],
                   "Default": "Done", "Assign": { "size": "small" } },
        "Done": { "Type": "Pass", "Parameters": {
            "name.$": "$productName", "available.$": "$available", "sum.$": "$sum", "size.$": "$size",
            "text.$": "States.Format('{} x {}', $productName, $count)" }, "End": true } } });
    let (e, _) = engine();
    let ex = e.execute(&def, json!({}), "vars").await;
    assert_eq!(
        ex.output.unwrap(),
        json!({ "name": "product1", "available": true, "sum": 85, "size": "large", "text": "product1 x 43" })
    );
    // The history shows each assignment as JSON text, as GetExecutionHistory does.
    let exited = ex
        .history
        .iter()
        .find(|e| e["stateExitedEventDetails"]["name"] == "Again")
        .unwrap();
    assert_eq!(
        exited["stateExitedEventDetails"]["assignedVariables"],
        json!({ "count": "43", "before": "42" })
    );
}

// https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html (a Catcher's
// Assign, and undefined variables)
#[tokio::test]
async fn catcher_assigns_from_the_error_output_and_unknown_variables_fail() {
    let def = json!({ "StartAt": "T", "States": {
        "T": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fail",
               "Assign": { "never": "set" },
               "Catch": [ { "ErrorEquals": ["States.ALL"], "Assign": { "why.$": "$.Cause" }, "Next": "Report" } ], "Next": "Report" },
        "Report": { "Type": "Pass", "Parameters": { "why.$": "$why" }, "Next": "Missing" },
        "Missing": { "Type": "Pass", "Parameters": { "x.$": "$never" }, "End": true } } });
    let (mut e, _) = engine();
    e.register(
        "arn:aws:lambda:us-east-1:123456789012:function:fail",
        handler(|_| async { Err(Failure::new("Boom", "the disk is full")) }),
    );
    let ex = e.execute(&def, json!({}), "catch").await;
    let err = ex.output.unwrap_err();
    assert_eq!(err.error, "States.Runtime");
    assert!(err.cause.contains("$never"), "{err:?}");
    let report = ex
        .history
        .iter()
        .find(|e| e["stateExitedEventDetails"]["name"] == "Report")
        .unwrap();
    assert_eq!(
        report["stateExitedEventDetails"]["output"],
        json!(json!({ "why": "the disk is full" }).to_string())
    );
}

// https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html (variable
// scope: Map iterations and Parallel branches read the outer variables but cannot assign
// them; a Distributed Map's iterations cannot read them; inner variables stay inside)
#[tokio::test]
async fn variable_scopes_of_map_and_parallel() {
    let inner_reads = json!({ "StartAt": "Set", "States": {
        "Set": { "Type": "Pass", "Assign": { "factor": 10 }, "Next": "M" },
        "M": { "Type": "Map", "ItemsPath": "$.xs", "End": true, "ItemProcessor": { "StartAt": "Mul", "States": {
            "Mul": { "Type": "Pass", "Assign": { "mine.$": "$" }, "Parameters": { "x.$": "$", "factor.$": "$factor" }, "End": true } } } } } });
    assert_eq!(
        run(inner_reads, json!({ "xs": [1, 2] })).await.unwrap(),
        json!([{ "x": 1, "factor": 10 }, { "x": 2, "factor": 10 }])
    );

    let inner_writes_outer = json!({ "StartAt": "Set", "States": {
        "Set": { "Type": "Pass", "Assign": { "total": 0 }, "Next": "P" },
        "P": { "Type": "Parallel", "End": true, "Branches": [ { "StartAt": "W", "States": {
            "W": { "Type": "Pass", "Assign": { "total": 1 }, "End": true } } } ] } } });
    let err = run(inner_writes_outer, json!({})).await.unwrap_err();
    assert_eq!(err.error, "States.Runtime");
    assert!(err.cause.contains("outer scope"), "{err:?}");

    let inner_stays_inside = json!({ "StartAt": "P", "States": {
        "P": { "Type": "Parallel", "Next": "After", "Branches": [ { "StartAt": "W", "States": {
            "W": { "Type": "Pass", "Assign": { "inner": 1 }, "End": true } } } ] },
        "After": { "Type": "Pass", "Parameters": { "x.$": "$inner" }, "End": true } } });
    assert!(
        run(inner_stays_inside, json!({}))
            .await
            .unwrap_err()
            .cause
            .contains("$inner")
    );

    let distributed = json!({ "StartAt": "Set", "States": {
        "Set": { "Type": "Pass", "Assign": { "factor": 10 }, "Next": "M" },
        "M": { "Type": "Map", "ItemsPath": "$.xs", "End": true, "ItemProcessor": {
            "ProcessorConfig": { "Mode": "DISTRIBUTED", "ExecutionType": "STANDARD" }, "StartAt": "Mul", "States": {
            "Mul": { "Type": "Pass", "Parameters": { "factor.$": "$factor" }, "End": true } } } } } });
    let err = run(distributed, json!({ "xs": [1] })).await.unwrap_err();
    assert!(err.cause.contains("$factor"), "{err:?}");
}

// https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html (HeartbeatSeconds:
// "If more time than the specified seconds elapses between heartbeats from the task, this
// state fails with a States.Timeout error"; States.HeartbeatTimeout in
// concepts-error-handling.html)
#[tokio::test]
async fn heartbeat_seconds() {
    let (mut e, clock) = engine();
    for (name, beats) in [("beating", true), ("silent", false)] {
        let c = clock.clone();
        e.register(
            format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
            medidocs_states::handler_with_heartbeat(move |_, hb| {
                let c = c.clone();
                async move {
                    // 100 s of work in 20 s steps, against a 30 s heartbeat.
                    for _ in 0..5 {
                        medidocs_states::Clock::sleep(c.as_ref(), Duration::from_secs(20)).await;
                        if beats {
                            hb.beat();
                        }
                    }
                    Ok(json!("done"))
                }
            }),
        );
    }
    let def = |name: &str| {
        json!({ "StartAt": "T", "States": {
            "T": { "Type": "Task", "Resource": format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
                   "TimeoutSeconds": 300, "HeartbeatSeconds": 30,
                   "Catch": [ { "ErrorEquals": ["States.Timeout"], "Next": "TimedOut" } ], "End": true },
            "TimedOut": { "Type": "Pass", "End": true } } })
    };
    let ok = e.execute(&def("beating"), json!({}), "hb-ok").await;
    assert_eq!(ok.output.unwrap(), json!("done"));
    let silent = e.execute(&def("silent"), json!({}), "hb-silent").await;
    // Caught by States.Timeout; the error output names the heartbeat time-out.
    assert_eq!(silent.output.unwrap()["Error"], "States.HeartbeatTimeout");
    assert!(silent.history.iter().any(|h| h["type"] == "TaskTimedOut"));
    // A heartbeat must be shorter than the time-out.
    let bad = json!({ "StartAt": "T", "States": { "T": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:beating", "TimeoutSeconds": 30, "HeartbeatSeconds": 30, "End": true } } });
    let errs = medidocs_states::validate(&bad).unwrap_err();
    assert!(
        errs.iter()
            .any(|e| e.to_string().contains("HeartbeatSeconds")),
        "{errs:?}"
    );
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html
// (Resource and Parameters alone export with the NONE transformation: each child
// execution's record in SUCCEEDED_0.json / FAILED_0.json, listed by manifest.json, and the
// state's result is {MapRunArn, ResultWriterDetails}; WriterConfig alone shapes the result:
// COMPACT gives the outputs, FLATTEN flattens arrays; failed children keep their record)
#[tokio::test]
async fn result_writer_exports_and_shapes_child_results() {
    let files = std::collections::HashMap::from([(
        "data/items.json".to_string(),
        br#"[{"n": 1}, {"n": 2}, {"n": -1}]"#.to_vec(),
    )]);
    let objects = Objects::new(files);
    let (e, _) = engine();
    let e = e.with_buckets(objects.clone());
    let def = |writer: Value| {
        json!({ "StartAt": "Map", "States": { "Map": { "Type": "Map", "End": true, "ToleratedFailureCount": 1,
            "ItemReader": { "Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": { "InputType": "JSON" }, "Parameters": { "Bucket": "data", "Key": "items.json" } },
            "ItemProcessor": { "ProcessorConfig": { "Mode": "DISTRIBUTED", "ExecutionType": "STANDARD" }, "StartAt": "Check", "States": {
                "Check": { "Type": "Choice", "Choices": [ { "Variable": "$.n", "NumericLessThan": 0, "Next": "Bad" } ], "Default": "Twice" },
                "Bad": { "Type": "Fail", "Error": "Negative", "Cause": "n < 0" },
                "Twice": { "Type": "Pass", "Parameters": { "pair.$": "States.Array($.n, $.n)" }, "OutputPath": "$.pair", "End": true } } },
            "ResultWriter": writer } } })
    };
    let out = e
        .execute(
            &def(json!({ "Resource": "arn:aws:states:::s3:putObject", "Parameters": { "Bucket": "results", "Prefix": "runs/" } })),
            json!({}),
            "export",
        )
        .await
        .output
        .unwrap();
    let manifest_key = out["ResultWriterDetails"]["Key"].as_str().unwrap();
    assert_eq!(out["ResultWriterDetails"]["Bucket"], "results");
    assert!(manifest_key.starts_with("runs/") && manifest_key.ends_with("/manifest.json"));
    let manifest = objects.json(&format!("results/{manifest_key}"));
    assert_eq!(manifest["MapRunArn"], out["MapRunArn"]);
    let ok_key = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
        .as_str()
        .unwrap();
    let succeeded = objects.json(&format!("results/{ok_key}"));
    assert_eq!(succeeded.as_array().unwrap().len(), 2);
    assert_eq!(succeeded[0]["Status"], "SUCCEEDED");
    assert_eq!(succeeded[0]["Input"], r#"{"n":1}"#);
    assert_eq!(succeeded[0]["Output"], "[1,1]");
    let bad_key = manifest["ResultFiles"]["FAILED"][0]["Key"]
        .as_str()
        .unwrap();
    let failed = objects.json(&format!("results/{bad_key}"));
    assert_eq!(failed[0]["Error"], "Negative");
    assert_eq!(failed[0]["Cause"], "n < 0");

    let flatten = e
        .execute(
            &def(json!({ "WriterConfig": { "Transformation": "FLATTEN", "OutputType": "JSON" } })),
            json!({}),
            "flatten",
        )
        .await
        .output
        .unwrap();
    assert_eq!(
        flatten.as_array().unwrap()[..4],
        [json!(1), json!(1), json!(2), json!(2)]
    );
    assert_eq!(flatten[4]["Status"], "FAILED");
    let compact = e
        .execute(
            &def(json!({ "WriterConfig": { "Transformation": "COMPACT", "OutputType": "JSON" } })),
            json!({}),
            "compact",
        )
        .await
        .output
        .unwrap();
    assert_eq!(
        compact.as_array().unwrap()[..2],
        [json!([1, 1]), json!([2, 2])]
    );
}

// https://states-language.net/spec.html#succeed-state (InputPath and OutputPath apply)
#[tokio::test]
async fn succeed_filters_its_input() {
    let def = pass_machine(json!({ "Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b" }));
    assert_eq!(
        run(def, json!({ "a": { "b": 1 } })).await.unwrap(),
        json!(1)
    );
}

// https://docs.aws.amazon.com/step-functions/latest/dg/limits-overview.html (256 KiB per
// payload) and concepts-error-handling.html (States.DataLimitExceeded; States.ALL does not
// catch it)
#[tokio::test]
async fn payloads_over_256_kib_fail_with_data_limit_exceeded() {
    let (mut e, _) = engine();
    e.register(
        "arn:aws:lambda:us-east-1:123456789012:function:big",
        handler(|_| async { Ok(json!("x".repeat(300 * 1024))) }),
    );
    let def = json!({ "StartAt": "T", "States": {
        "T": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:big",
               "Catch": [ { "ErrorEquals": ["States.ALL"], "Next": "Caught" } ], "End": true },
        "Caught": { "Type": "Pass", "End": true } } });
    let err = e.execute(&def, json!({}), "big").await.output.unwrap_err();
    assert_eq!(err.error, "States.DataLimitExceeded");
    assert!(err.cause.contains("task result"), "{err:?}");
    let pass = json!({ "StartAt": "P", "States": { "P": { "Type": "Pass", "End": true } } });
    let err = e
        .execute(&pass, json!({ "blob": "y".repeat(257 * 1024) }), "input")
        .await
        .output
        .unwrap_err();
    assert_eq!(err.error, "States.DataLimitExceeded");
    // Just under the quota is fine.
    let ok = e
        .execute(&pass, json!({ "blob": "y".repeat(255 * 1024) }), "ok")
        .await;
    assert!(ok.output.is_ok());
}

// https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token
// A callback task gets `$$.Task.Token`; each try of it a new one.
#[tokio::test]
async fn a_callback_task_gets_a_new_task_token_on_every_try() {
    let (mut e, _) = engine();
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let s = seen.clone();
    e.register(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        handler(move |v: Value| {
            let s = s.clone();
            async move {
                let token = v["MessageBody"]["token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let mut seen = s.lock().unwrap();
                seen.push(token);
                if seen.len() < 3 {
                    Err(Failure::new("Medidocs.Throttled", "again"))
                } else {
                    Ok(json!({ "answered": true }))
                }
            }
        }),
    );
    let def = pass_machine(json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": { "QueueUrl": "q", "MessageBody": { "token.$": "$$.Task.Token" } },
        "Retry": [{ "ErrorEquals": ["Medidocs.Throttled"], "MaxAttempts": 5 }],
        "End": true
    }));
    let out = e.execute(&def, json!({}), "x").await.output.unwrap();
    assert_eq!(out, json!({ "answered": true }));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|t| t.len() >= 16), "{seen:?}");
    let distinct: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), 3, "{seen:?}");
}

// https://docs.aws.amazon.com/step-functions/latest/dg/state-map.html (MaxConcurrency): up to
// MaxConcurrency iterations run at once, whatever order they finish in; the output keeps
// the items' order.
#[tokio::test]
async fn a_slow_map_item_does_not_hold_back_the_others() {
    let (mut e, clock) = engine();
    let running = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let (r, p, c) = (running.clone(), peak.clone(), clock.clone());
    e.register(
        "arn:aws:lambda:us-east-1:123456789012:function:work",
        handler(move |v: Value| {
            let (r, p, c) = (r.clone(), p.clone(), c.clone());
            async move {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                // Item 0 takes long; the others finish at once. Its handler waits until
                // every other item has run, which only happens if they are not held
                // behind it.
                if v == json!(0) {
                    for _ in 0..200 {
                        if r.load(Ordering::SeqCst) == 1 && c.slept.lock().unwrap().len() >= 9 {
                            break;
                        }
                        tokio::task::yield_now().await;
                    }
                } else {
                    medidocs_states::Clock::sleep(c.as_ref(), Duration::from_secs(1)).await;
                }
                r.fetch_sub(1, Ordering::SeqCst);
                Ok(json!(v.as_i64().unwrap_or(0) * 10))
            }
        }),
    );
    let def = pass_machine(json!({
        "Type": "Map",
        "MaxConcurrency": 2,
        "ItemProcessor": {
            "StartAt": "W",
            "States": { "W": { "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work", "End": true } }
        },
        "End": true
    }));
    let items: Vec<i64> = (0..10).collect();
    let out = e.execute(&def, json!(items), "x").await.output.unwrap();
    assert_eq!(out, json!((0..10).map(|i| i * 10).collect::<Vec<_>>()));
    assert_eq!(
        peak.load(Ordering::SeqCst),
        2,
        "never more than MaxConcurrency"
    );
    assert_eq!(
        clock.slept.lock().unwrap().len(),
        9,
        "the other nine ran while item 0 waited"
    );
}
