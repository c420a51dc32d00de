//! The API function as API Gateway invokes it: real HTTP API v2 events (with the claims
//! the JWT authorizer verified) through lambda_http into the router, over S3 and DynamoDB
//! on moto. Uploads get presigned PUTs that S3 accepts; renditions redirect to presigned
//! GETs; the rule and the audit trail are the embedded runtime's.

use std::sync::Arc;

use common::{call, event};
use medidocs_aws::{DynamoMetadataStore, clients};
use medidocs_core::model::{DocumentRecord, RenditionRef, SourceRef, Status};
use medidocs_core::ports::{AccessStore, MetadataStore};
use medidocs_functions::Config;
use medidocs_testkit::moto::Moto;
use serde_json::{Value, json};

mod common;

/// The OCR model of a one-line page, as the pipeline writes it.
fn ocr_model() -> Vec<u8> {
    use medidocs_core::ocr::{BoundingBox, Line, OcrDocument, OcrPage, Word};
    let word = |text: &str, left: f32| Word {
        text: text.into(),
        confidence: 95.0,
        bbox: BoundingBox {
            left,
            top: 0.2,
            width: 0.3,
            height: 0.05,
        },
    };
    let model = OcrDocument {
        pages: vec![OcrPage {
            page: 1,
            text_source: medidocs_core::model::TextSource::Ocr,
            rotation: 0,
            language: None,
            lines: vec![Line::from_words(vec![
                word("Levothyroxine", 0.1),
                word("100", 0.45),
                word("micrograms", 0.55),
            ])],
        }],
    };
    serde_json::to_vec(&model).unwrap()
}

const REGION: &str = "eu-west-1";
const KMS: &str = "arn:aws:kms:eu-west-1:123456789012:key/0d7e4d6a-8f0c-4c39-9d5d-2f1a0c9e7b11";

fn doctor(sub: &str) -> Option<Value> {
    Some(json!({ "sub": sub, "cognito:groups": "[doctor]", "token_use": "access" }))
}

fn curl(args: &[&str]) -> (u16, Vec<u8>) {
    let out = std::process::Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .unwrap();
    let mut body = out.stdout;
    let nl = body.iter().rposition(|b| *b == b'\n').unwrap();
    let code = String::from_utf8_lossy(&body[nl + 1..]).parse().unwrap();
    body.truncate(nl);
    (code, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_function_over_s3_and_dynamodb() {
    let moto = Moto::start().unwrap();
    let sdk = clients::compatible_server(moto.endpoint(), REGION).await;
    let s3 = clients::s3(&sdk, true);
    let run = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
    let (uploads, artefacts, table) = (
        format!("up-{run}"),
        format!("art-{run}"),
        format!("t-{run}"),
    );
    for b in [&uploads, &artefacts] {
        s3.create_bucket()
            .bucket(b)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let store = DynamoMetadataStore::new(clients::dynamodb(&sdk), &table);
    store.create_table().await.unwrap();
    let config = Config::from_lookup(|k| {
        Some(match k {
            "UPLOAD_BUCKET" => uploads.clone(),
            "ARTEFACT_BUCKET" => artefacts.clone(),
            "TABLE_NAME" => table.clone(),
            "KMS_KEY_ID" => KMS.to_string(),
            "AWS_REGION" => REGION.to_string(),
            _ => return None,
        })
    })
    .unwrap();

    // A READY document of patient p-1, its text and thumbnail in the artefact bucket.
    let id = format!("{run}00");
    let mut doc = DocumentRecord::new(
        id.clone(),
        "p-1".into(),
        SourceRef {
            bucket: uploads.clone(),
            key: format!("uploads/p-1/{run}/original"),
            version: "v1".into(),
        },
        "0".repeat(64),
        1000,
        "2026-11-28T03:00:00.000Z".into(),
    );
    doc.status = Status::Ready;
    doc.pages = 1;
    doc.mime = Some("image/png".into());
    doc.text_key = Some(format!("artefacts/{id}/text.txt"));
    doc.ocr_key = Some(format!("artefacts/{id}/ocr.json"));
    doc.document_type = Some("prescription".into());
    doc.renditions = vec![RenditionRef {
        name: "thumb".into(),
        page: 1,
        mime: "image/webp".into(),
        width: 10,
        height: 10,
        bytes: 4,
        key: format!("artefacts/{id}/pages/1/thumb.webp"),
    }];
    // Its searchable PDF, as finalize records it.
    let pdf_bytes = b"%PDF-1.7 the searchable PDF".to_vec();
    doc.pdf = Some(medidocs_core::model::PdfRef {
        key: format!("artefacts/{id}/document.pdf"),
        bytes: pdf_bytes.len() as u64,
        sha1_base64: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
        sha256: medidocs_core::keys::sha256_hex(&pdf_bytes),
        created_at: "2026-11-28T03:00:05.000Z".into(),
    });
    store.create_document(&doc).await.unwrap();
    for (key, body) in [
        (doc.pdf.clone().unwrap().key, pdf_bytes.clone()),
        (
            doc.text_key.clone().unwrap(),
            b"Levothyroxine 100 micrograms\n".to_vec(),
        ),
        (doc.renditions[0].key.clone(), b"RIFF".to_vec()),
        (doc.ocr_key.clone().unwrap(), ocr_model()),
    ] {
        s3.put_object()
            .bucket(&artefacts)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    }
    store.add_care_team_member("p-1", "d-1").await.unwrap();

    // The pipeline's state machine, for the retries staff start.
    let sfn = clients::sfn(&sdk);
    let machine = sfn
        .create_state_machine()
        .name(format!("medidocs-{run}"))
        .definition(r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}"#)
        .role_arn("arn:aws:iam::123456789012:role/medidocs-pipeline")
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_string();
    let orchestrator = Arc::new(medidocs_aws::ExecutionStarter::new(sfn.clone(), &machine));
    let app = medidocs_functions::api::router(
        &config,
        s3.clone(),
        clients::dynamodb(&sdk),
        orchestrator.clone(),
    );

    // The text, for a doctor on the care team.
    let (status, _, body) = call(
        &app,
        event(
            "GET",
            &format!("/v1/documents/{id}/text"),
            doctor("d-1"),
            None,
        ),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(body, b"Levothyroxine 100 micrograms\n");

    // Search, from the OCR models in S3: one OCR error, on its page, with the word's box;
    // across the doctor's care teams too; nothing for a doctor on none.
    for path in [
        "/v1/patients/p-1/search?q=levothyroxlne",
        "/v1/search?q=levothyroxlne&type=prescription",
    ] {
        let (status, _, body) = call(&app, event("GET", path, doctor("d-1"), None)).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["total"], 1, "{v}");
        let hit = &v["results"][0]["hits"][0];
        assert_eq!(v["results"][0]["document_id"], id.as_str());
        assert_eq!(hit["page"], 1);
        assert_eq!(hit["highlights"], json!([[0, 13]]));
        assert_eq!(hit["boxes"][0]["left"].as_f64().unwrap() as f32, 0.1);
    }
    let (_, _, body) = call(
        &app,
        event("GET", "/v1/search?q=levothyroxine", doctor("d-2"), None),
    )
    .await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["total"], 0, "{v}");

    // A rendition: a redirect to a presigned GET that S3 serves.
    let (status, headers, _) = call(
        &app,
        event(
            "GET",
            &format!("/v1/documents/{id}/pages/1/thumb"),
            doctor("d-1"),
            None,
        ),
    )
    .await;
    assert_eq!(status, 302);
    let location = headers["location"].to_str().unwrap().to_string();
    assert!(location.contains("X-Amz-Expires=300"), "{location}");
    assert_eq!(curl(&[&location]), (200, b"RIFF".to_vec()));
    // The page asks for the link itself (an image needs no token).
    let (status, _, body) = call(
        &app,
        event(
            "GET",
            &format!("/v1/documents/{id}/pages/1/thumb?as=link"),
            doctor("d-1"),
            None,
        ),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let link: Value = serde_json::from_slice(&body).unwrap();
    let href = link["href"].as_str().unwrap();
    assert_eq!(curl(&[href]), (200, b"RIFF".to_vec()));

    // The searchable PDF: a redirect to a presigned GET that names the file, which S3
    // serves; the FHIR DocumentReference points at it.
    let (status, headers, _) = call(
        &app,
        event(
            "GET",
            &format!("/v1/documents/{id}/pdf"),
            doctor("d-1"),
            None,
        ),
    )
    .await;
    assert_eq!(status, 302);
    let location = headers["location"].to_str().unwrap().to_string();
    assert!(
        location.contains("response-content-disposition=attachment")
            && location.contains("response-content-type=application%2Fpdf"),
        "{location}"
    );
    assert_eq!(curl(&[&location]), (200, pdf_bytes.clone()));
    let (status, _, body) = call(
        &app,
        event(
            "GET",
            &format!("/v1/documents/{id}/fhir"),
            doctor("d-1"),
            None,
        ),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let reference: Value = serde_json::from_slice(&body).unwrap();
    let attachment = &reference["content"][0]["attachment"];
    assert_eq!(attachment["size"], pdf_bytes.len());
    assert!(
        attachment["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v1/documents/{id}/pdf")),
        "{attachment}"
    );
    let (status, _, _) = call(
        &app,
        event(
            "GET",
            &format!("/v1/documents/{id}/pdf"),
            doctor("d-9"),
            None,
        ),
    )
    .await;
    assert_eq!(status, 404);

    // Not on the care team, no verified claims, or no role: refused, specifically.
    let (status, _, body) = call(
        &app,
        event(
            "GET",
            &format!("/v1/documents/{id}/text"),
            doctor("d-9"),
            None,
        ),
    )
    .await;
    // Refused by id: answered as an unknown id; the reason is in the audit trail.
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["code"],
        "not_found"
    );
    let (status, _, body) = call(
        &app,
        event("GET", &format!("/v1/documents/{id}/text"), None, None),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["code"],
        "missing_token"
    );
    let (status, _, body) = call(
        &app,
        event(
            "GET",
            &format!("/v1/documents/{id}/text"),
            Some(json!({"sub": "d-1", "cognito:groups": "[admins]"})),
            None,
        ),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["code"],
        "no_role"
    );

    // An upload by the patient: a presigned PUT for exactly this type and length, which S3
    // accepts with the headers given, encrypting with the stack's key.
    let file = b"%PDF-1.4 a small test document".to_vec();
    let patient = Some(json!({ "sub": "p-1", "custom:role": "patient" }));
    let (status, _, body) = call(
        &app,
        event(
            "POST",
            "/v1/patients/p-1/uploads",
            patient,
            Some(json!({
                "content_type": "application/pdf",
                "size": file.len(),
                "sha256": medidocs_core::keys::sha256_hex(&file),
            })),
        ),
    )
    .await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let target: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(target["method"], "PUT");
    let url = target["url"].as_str().unwrap();
    let body_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(body_file.path(), &file).unwrap();
    let mut args: Vec<String> = vec![
        "-X".into(),
        "PUT".into(),
        "--data-binary".into(),
        format!("@{}", body_file.path().display()),
    ];
    for (k, v) in target["headers"].as_object().unwrap() {
        args.push("-H".into());
        args.push(format!("{k}: {}", v.as_str().unwrap()));
    }
    args.push(url.to_string());
    let (code, resp) = curl(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&resp));
    // The URL is spent: a second PUT is refused (If-None-Match: * is among its signed
    // headers, with the file's SHA-256).
    let (code, _) = curl(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 412);
    assert!(
        target["headers"]["x-amz-checksum-sha256"].is_string(),
        "{target}"
    );
    let key = format!(
        "uploads/p-1/{}/original",
        target["upload_id"].as_str().unwrap()
    );
    let head = s3
        .head_object()
        .bucket(&uploads)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(file.len() as i64));
    assert_eq!(head.ssekms_key_id(), Some(KMS));

    // The trail has the reads, the refusals and the upload.
    let trail = store
        .list_audit(Some("p-1"), 100, None)
        .await
        .unwrap()
        .records;
    let summary: Vec<(String, String)> = trail
        .iter()
        .map(|r| (r.action.clone(), r.outcome.as_str().to_string()))
        .collect();
    for want in [
        ("read_text", "allowed"),
        ("read_rendition", "allowed"),
        ("read_text", "denied"),
        ("create_upload", "allowed"),
    ] {
        assert!(
            summary.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} not in {summary:?}"
        );
    }

    // Staff run a FAILED document again: the pipeline starts as its next attempt, under a
    // name of its own; a READY document is refused.
    let failed_id = format!("{run}01");
    let mut failed = doc.clone();
    failed.id = failed_id.clone();
    failed.status = Status::Failed;
    failed.source.key = format!("uploads/p-1/{run}01/original");
    store.create_document(&failed).await.unwrap();
    let staff = Some(json!({ "sub": "s-9", "cognito:groups": "[staff]", "token_use": "access" }));
    let (status, _, body) = call(
        &app,
        event(
            "POST",
            &format!("/v1/documents/{failed_id}/retry"),
            staff.clone(),
            None,
        ),
    )
    .await;
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["attempt"], 2);
    let names: Vec<String> = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap()
        .executions()
        .iter()
        .map(|e| e.name().to_string())
        .collect();
    assert_eq!(names, vec![format!("{failed_id}-r2")]);
    let (status, _, body) = call(
        &app,
        event("POST", &format!("/v1/documents/{id}/retry"), staff, None),
    )
    .await;
    assert_eq!(status, 409, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("not_failed"));

    // Route 53's health check: healthy while the table answers; a region whose table
    // does not answer is unhealthy (503), so traffic fails over.
    let (status, _, body) = call(&app, event("GET", "/v1/health", None, None)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let mut broken = config.clone();
    broken.table = "medidocs-no-such-table".into();
    let down =
        medidocs_functions::api::router(&broken, s3.clone(), clients::dynamodb(&sdk), orchestrator);
    let (status, _, body) = call(&down, event("GET", "/v1/health", None, None)).await;
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("dependency_unavailable"));
}
