//! The HTTP API as its users meet it: `medidocs serve` on a real socket, tokens from
//! `medidocs token`, care teams from `medidocs care-team`, the trail from `medidocs audit`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use medidocs_api::DevTokens;
use medidocs_core::access::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn samples() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../samples/documents")
}

fn medidocs(data: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_medidocs"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("medidocs runs");
    assert!(
        out.status.success(),
        "medidocs {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A data dir with documents for two patients, care teams, and `medidocs serve` on it.
struct Server {
    data: tempfile::TempDir,
    child: Child,
    base: String,
    http: reqwest::Client,
    /// Document ids of patient p-1.
    docs: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        Server::start_with(
            &[
                ("medication-box.heic", "p-1"),
                ("insurance-card.webp", "p-1"),
                ("prescription-photo.jpg", "p-2"),
            ],
            extra,
        )
    }

    /// A server over `files` (sample, patient) run in that order; `docs` holds p-1's.
    fn start_with(files: &[(&str, &str)], extra: &[&str]) -> Server {
        let data = tempfile::tempdir().unwrap();
        let d = data.path();
        let run = |file: &str, patient: &str| -> String {
            let out = medidocs(
                d,
                &[
                    "run",
                    samples().join(file).to_str().unwrap(),
                    "--json",
                    "--patient",
                    patient,
                ],
            );
            let v: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
            assert_eq!(v["status"], "READY", "{v}");
            v["id"].as_str().unwrap().to_string()
        };
        let mut docs = Vec::new();
        for (file, patient) in files {
            let id = run(file, patient);
            if *patient == "p-1" {
                docs.push(id);
            }
        }
        medidocs(
            d,
            &["care-team", "add", "--doctor", "d-1", "--patient", "p-1"],
        );
        medidocs(
            d,
            &["care-team", "add", "--doctor", "s-2", "--patient", "p-1"],
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_medidocs"))
            .arg("--data-dir")
            .arg(d)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut first).unwrap();
        // Keep reading what the server prints, so it never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let base = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .trim_end_matches('/')
            .to_string();
        Server {
            data,
            child,
            base,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            docs,
        }
    }

    fn token(&self, role: &str, sub: &str) -> String {
        medidocs(self.data.path(), &["token", "--role", role, "--sub", sub])
            .trim()
            .to_string()
    }

    fn key(&self) -> Vec<u8> {
        std::fs::read(self.data.path().join("token.key")).unwrap()
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, String, Vec<u8>) {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut req = self.http.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, ct, resp.bytes().await.unwrap().to_vec())
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, String, Vec<u8>) {
        self.call(reqwest::Method::GET, path, token, None).await
    }

    fn audit(&self) -> Vec<Value> {
        medidocs(self.data.path(), &["audit", "--json", "--limit", "1000"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    medidocs_core::keys::sha256_hex(bytes)
}

/// The problem's code, after checking it is `application/problem+json` with `status`.
fn problem(status: StatusCode, ct: &str, body: &[u8]) -> String {
    assert_eq!(ct, "application/problem+json", "{status}");
    let v: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["status"], status.as_u16());
    assert!(
        v["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:medidocs:problem:")
    );
    v["code"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_authorisation_matrix() {
    let s = Server::start(&[]);
    let doc = &s.docs[0];
    let resources: Vec<(&str, reqwest::Method, String, Option<Value>, bool)> = vec![
        // (name, method, path, body, reads content)
        (
            "list",
            reqwest::Method::GET,
            "/v1/patients/p-1/documents".into(),
            None,
            false,
        ),
        (
            "metadata",
            reqwest::Method::GET,
            format!("/v1/documents/{doc}"),
            None,
            false,
        ),
        (
            "text",
            reqwest::Method::GET,
            format!("/v1/documents/{doc}/text"),
            None,
            true,
        ),
        (
            "pages",
            reqwest::Method::GET,
            format!("/v1/documents/{doc}/pages"),
            None,
            true,
        ),
        (
            "rendition",
            reqwest::Method::GET,
            format!("/v1/documents/{doc}/pages/1/thumb"),
            None,
            true,
        ),
        (
            "search",
            reqwest::Method::GET,
            "/v1/patients/p-1/search?q=levothyroxine".into(),
            None,
            true,
        ),
        (
            "upload",
            reqwest::Method::POST,
            "/v1/patients/p-1/uploads".into(),
            Some(json!({"content_type": "image/jpeg", "size": 1000, "sha256": "ab".repeat(32)})),
            false,
        ),
    ];
    // (role, subject, expected outcome for non-content and content resources)
    let principals = [
        ("patient", "p-1", None, None),
        (
            "patient",
            "p-2",
            Some("not_own_records"),
            Some("not_own_records"),
        ),
        ("doctor", "d-1", None, None),
        (
            "doctor",
            "d-9",
            Some("not_on_care_team"),
            Some("not_on_care_team"),
        ),
        ("staff", "s-1", None, Some("not_on_care_team")),
        ("staff", "s-2", None, None),
    ];
    // A document the caller may not open answers exactly as an id nobody holds.
    let unknown = s
        .get(
            "/v1/documents/0123456789abcdef01234567",
            Some(&s.token("doctor", "d-1")),
        )
        .await;
    assert_eq!(unknown.0, StatusCode::NOT_FOUND);
    let mut wrong = Vec::new();
    let mut denied = 0;
    for (role, sub, plain, content) in principals {
        let token = s.token(role, sub);
        for (name, method, path, body, reads) in &resources {
            let want = if *reads { content } else { plain };
            let (status, ct, bytes) = s
                .call(method.clone(), path, Some(&token), body.clone())
                .await;
            let got = if status.is_success() {
                None
            } else if status == StatusCode::NOT_FOUND && want.is_some() {
                // Refused by id: the reason is in the audit trail, not in the answer.
                problem(status, &ct, &bytes);
                want.map(String::from)
            } else {
                Some(problem(status, &ct, &bytes))
            };
            if got.as_deref() != want {
                wrong.push(format!(
                    "{role} {sub} {name}: {status} {got:?}, expected {want:?}"
                ));
            }
            if want.is_some() {
                denied += 1;
                let by_id = path.starts_with("/v1/documents/");
                if by_id && (status, &bytes) != (unknown.0, &unknown.2) {
                    wrong.push(format!(
                        "{role} {sub} {name}: {status} {}, expected the unknown id's answer",
                        String::from_utf8_lossy(&bytes)
                    ));
                }
                if !by_id && status != StatusCode::FORBIDDEN {
                    wrong.push(format!("{role} {sub} {name}: {status}, expected 403"));
                }
            }
            if *name == "text" && want.is_none() {
                let text = String::from_utf8_lossy(&bytes);
                if !text.contains("Levothyroxine") {
                    wrong.push(format!("{role} {sub} text: {text:?}"));
                }
            }
            if *name == "search" && want.is_none() {
                let v: Value = serde_json::from_slice(&bytes).unwrap();
                let hits: Vec<&str> = v["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["document_id"].as_str().unwrap())
                    .collect();
                if hits != vec![doc.as_str()] {
                    wrong.push(format!("{role} {sub} search found {hits:?}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Every refusal and every content read is in the trail, with who, what and why.
    let trail = s.audit();
    // The probe of an id nobody holds is on record as such, with who asked.
    let probes: Vec<&Value> = trail
        .iter()
        .filter(|r| r["reason"] == "unknown_document")
        .collect();
    assert_eq!(probes.len(), 1, "{probes:#?}");
    assert_eq!(probes[0]["actor"], "d-1");
    assert_eq!(probes[0]["action"], "read_metadata");
    assert_eq!(probes[0]["document_id"], "0123456789abcdef01234567");
    assert_eq!(probes[0]["outcome"], "denied");
    assert!(probes[0]["patient_id"].is_null());
    let refused: Vec<&Value> = trail
        .iter()
        .filter(|r| r["outcome"] == "denied" && r["reason"] != "unknown_document")
        .collect();
    assert_eq!(refused.len(), denied, "{refused:#?}");
    assert!(
        refused
            .iter()
            .all(|r| r["patient_id"] == "p-1" && r["reason"].is_string())
    );
    assert!(refused.iter().any(|r| r["actor"] == "s-1"
        && r["action"] == "read_text"
        && r["reason"] == "not_on_care_team"
        && r["document_id"] == doc.as_str()));
    // 3 principals allowed (p-1, d-1, s-2) × (text, pages, rendition, search).
    let reads = trail
        .iter()
        .filter(|r| r["outcome"] == "allowed" && r["action"] != "create_upload")
        .count();
    assert_eq!(reads, 3 * 4, "{trail:#?}");
    assert!(
        trail
            .iter()
            .all(|r| r["at"].as_str().unwrap().ends_with('Z'))
    );
    // Nothing of the documents' content is in the trail.
    let all = serde_json::to_string(&trail).unwrap();
    assert!(!all.contains("Levothyroxine") && !all.contains("levothyroxine"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_and_bad_ids_get_specific_problems() {
    let s = Server::start(&[]);
    let doc = &s.docs[0];
    let good = s.token("doctor", "d-1");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expired = DevTokens::new(&s.key())
        .mint_between("d-1", Role::Doctor, now - 7200, now - 3600)
        .unwrap();
    let other_key = DevTokens::new(b"another key, not this data dir's, 32+ bytes")
        .mint("d-1", Role::Doctor, Duration::from_secs(600))
        .unwrap();
    // alg "none": a signature-less token claiming to be a doctor.
    let unsigned = {
        let b64 = |v: &Value| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT"})),
            b64(
                &json!({"sub": "d-1", "role": "doctor", "iss": "medidocs-local",
                "aud": "medidocs-api", "exp": now + 600})
            )
        )
    };
    let text = format!("/v1/documents/{doc}/text");
    for (token, want) in [
        (None, "missing_token"),
        (Some("not-a-jwt"), "malformed_token"),
        (Some(expired.as_str()), "expired_token"),
        (Some(other_key.as_str()), "bad_signature"),
    ] {
        let (status, ct, body) = s.get(&text, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{want}");
        assert_eq!(problem(status, &ct, &body), want);
    }
    let (status, ct, body) = s.get(&text, Some(&unsigned)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    problem(status, &ct, &body);
    // A Basic header is not a bearer token.
    let resp = s
        .http
        .get(format!("{}{text}", s.base))
        .header("authorization", "Basic ZDoxOjE=")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );

    for (path, status_want, code) in [
        (
            "/v1/documents/NOT-AN-ID",
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        (
            "/v1/documents/abcdef0123",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/v1/documents/abcdef0123/text",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/v1/patients/..%2Fetc/documents",
            StatusCode::BAD_REQUEST,
            "invalid_patient_id",
        ),
        (
            "/v1/patients/p-1/documents?limit=0",
            StatusCode::BAD_REQUEST,
            "invalid_limit",
        ),
        (
            "/v1/patients/p-1/documents?status=DONE",
            StatusCode::BAD_REQUEST,
            "invalid_status",
        ),
        (
            "/v1/patients/p-1/documents?cursor=x",
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
        ),
        (
            "/v1/patients/p-1/search?q=%20",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            &format!("/v1/documents/{doc}/pages/0/thumb"),
            StatusCode::BAD_REQUEST,
            "invalid_page",
        ),
        (
            &format!("/v1/documents/{doc}/pages/9/thumb"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            &format!("/v1/documents/{doc}/pages/1/original"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        ("/v1/no-such-thing", StatusCode::NOT_FOUND, "not_found"),
    ] {
        let (status, ct, body) = s.get(path, Some(&good)).await;
        assert_eq!(status, status_want, "{path}");
        assert_eq!(problem(status, &ct, &body), code, "{path}");
    }

    // Every refused token is in the trail, without a subject.
    let trail = s.audit();
    let anonymous = trail.iter().filter(|r| r["actor"].is_null()).count();
    assert_eq!(anonymous, 6, "{trail:#?}");

    // Health and the OpenAPI document need no token; the document lists every route.
    let (status, _, _) = s.get("/v1/health", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = s.get("/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let spec: Value = serde_json::from_slice(&body).unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let paths: Vec<&String> = spec["paths"].as_object().unwrap().keys().collect();
    for p in [
        "/v1/patients/{patient_id}/uploads",
        "/v1/uploads/{capability}",
        "/v1/patients/{patient_id}/documents",
        "/v1/patients/{patient_id}/search",
        "/v1/documents/{id}",
        "/v1/documents/{id}/text",
        "/v1/documents/{id}/pages",
        "/v1/documents/{id}/pages/{page}/{rendition}",
        "/v1/documents/{id}/pdf",
        "/v1/documents/{id}/fhir",
        "/v1/patients/{patient_id}/fhir/DocumentReference",
        "/v1/me",
        "/v1/health",
    ] {
        assert!(
            paths.iter().any(|x| x.as_str() == p),
            "{p} not in {paths:?}"
        );
    }
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_checked_then_processed() {
    let s = Server::start(&["--max-mb", "1"]);
    let patient = s.token("patient", "p-1");
    let create = |body: Value| {
        let s = &s;
        let patient = patient.clone();
        async move {
            s.call(
                reqwest::Method::POST,
                "/v1/patients/p-1/uploads",
                Some(&patient),
                Some(body),
            )
            .await
        }
    };
    for (body, status_want, code) in [
        (
            json!({"content_type": "image/png", "size": 2 * 1024 * 1024, "sha256": "ab".repeat(32)}),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            json!({"content_type": "application/x-msdownload", "size": 100, "sha256": "ab".repeat(32)}),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_type",
        ),
        // An image type the pipeline never reads: refused now, not after the upload.
        (
            json!({"content_type": "image/gif", "size": 100, "sha256": "ab".repeat(32)}),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_type",
        ),
        (
            json!({"content_type": "image/png", "size": 0, "sha256": "ab".repeat(32)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty",
        ),
        (
            json!({"content_type": "image/png"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"content_type": "image/png", "size": 100}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"content_type": "image/png", "size": 100, "sha256": "not a digest"}),
            StatusCode::BAD_REQUEST,
            "invalid_sha256",
        ),
    ] {
        let (status, ct, b) = create(body.clone()).await;
        assert_eq!(status, status_want, "{body}");
        assert_eq!(problem(status, &ct, &b), code, "{body}");
    }

    let file = std::fs::read(samples().join("insurance-card.webp")).unwrap();
    let (status, _, b) = create(json!({
        "content_type": "image/webp",
        "size": file.len(),
        "sha256": sha256_hex(&file),
    }))
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let target: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(target["method"], "PUT");
    let url = format!("{}{}", s.base, target["url"].as_str().unwrap());
    let put = |ct: &'static str, body: Vec<u8>, url: String| {
        let http = s.http.clone();
        async move {
            let r = http
                .put(url)
                .header("content-type", ct)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let ct = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string());
            (
                status,
                ct.unwrap_or_default(),
                r.bytes().await.unwrap().to_vec(),
            )
        }
    };
    let (status, ct, b) = put("image/png", file.clone(), url.clone()).await;
    assert_eq!(problem(status, &ct, &b), "content_type_mismatch");
    let (status, ct, b) = put("image/webp", file[..100].to_vec(), url.clone()).await;
    assert_eq!(problem(status, &ct, &b), "size_mismatch");
    // Other bytes of the same length: refused, and nothing is stored.
    let mut other = file.clone();
    let last = other.len() - 1;
    other[last] ^= 0x01;
    let (status, ct, b) = put("image/webp", other, url.clone()).await;
    assert_eq!(problem(status, &ct, &b), "checksum_mismatch");
    let tampered = format!("{}x", url);
    let (status, ct, b) = put("image/webp", file.clone(), tampered).await;
    assert_eq!(problem(status, &ct, &b), "bad_upload_url");
    let (status, _, b) = put("image/webp", file.clone(), url.clone()).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&b)
    );
    let received: Value = serde_json::from_slice(&b).unwrap();
    let (status, ct, b) = put("image/webp", file.clone(), url.clone()).await;
    assert_eq!(problem(status, &ct, &b), "already_uploaded");

    // The pipeline processes it; the patient sees it READY with its text.
    let href = received["href"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let doc = loop {
        let (status, _, b) = s.get(href, Some(&patient)).await;
        if status == StatusCode::OK {
            let v: Value = serde_json::from_slice(&b).unwrap();
            if v["status"] == "READY" || v["status"] == "REJECTED" || v["status"] == "FAILED" {
                break v;
            }
        }
        assert!(Instant::now() < deadline, "not processed in time");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(doc["status"], "READY", "{doc}");
    let (_, _, text) = s
        .get(doc["text_href"].as_str().unwrap(), Some(&patient))
        .await;
    assert!(String::from_utf8_lossy(&text).contains("INSURANCE"));

    // A file whose declared type lies is judged by its bytes: kept, and REJECTED.
    let exe = b"MZ\x90\x00 this is not a picture".repeat(20);
    let (_, _, b) = create(json!({
        "content_type": "image/png",
        "size": exe.len(),
        "sha256": sha256_hex(&exe),
    }))
    .await;
    let t: Value = serde_json::from_slice(&b).unwrap();
    let (status, _, b) = put(
        "image/png",
        exe,
        format!("{}{}", s.base, t["url"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let href = serde_json::from_slice::<Value>(&b).unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, _, b) = s.get(&href, Some(&patient)).await;
        if status == StatusCode::OK {
            let v: Value = serde_json::from_slice(&b).unwrap();
            if v["status"] == "REJECTED" {
                assert_eq!(v["reason"]["code"], "unsupported_type");
                let (status, ct, b) = s.get(&format!("{href}/text"), Some(&patient)).await;
                assert_eq!(problem(status, &ct, &b), "not_ready");
                break;
            }
        }
        assert!(Instant::now() < deadline, "not rejected in time");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Listing: newest first, filtered by status, paginated.
    let (_, _, b) = s
        .get(
            "/v1/patients/p-1/documents?status=READY&limit=2",
            Some(&patient),
        )
        .await;
    let page: Value = serde_json::from_slice(&b).unwrap();
    let docs = page["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 2);
    assert!(docs.iter().all(|d| d["status"] == "READY"));
    assert!(docs[0]["created_at"].as_str() >= docs[1]["created_at"].as_str());
    let next = page["next"].as_str().unwrap();
    let (_, _, b) = s
        .get(
            &format!(
                "/v1/patients/p-1/documents?status=READY&limit=2&cursor={}",
                urlencode(next)
            ),
            Some(&patient),
        )
        .await;
    let rest: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(rest["documents"].as_array().unwrap().len(), 1, "{rest}");
    assert!(rest["next"].is_null());
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_document_is_retried_by_staff_and_audited_and_nothing_else_is() {
    let s = Server::start(&[]);
    // A document that failed: its OCR worker answered its checks but broke on the page
    // (each time it was started).
    let broken = s.data.path().join("broken-ocr-worker");
    std::fs::write(
        &broken,
        concat!(
            "#!/bin/sh\necho '{\"hello\":{\"version\":\"5\"}}'\nread request\n",
            "case \"$request\" in *check*) echo '{\"checked\":{\"version\":\"5\"}}'; read request;; esac\n",
            "exit 3\n",
        ),
    )
    .unwrap();
    std::fs::set_permissions(&broken, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_medidocs"))
        .env("MEDIDOCS_OCR_WORKER", &broken)
        .arg("--data-dir")
        .arg(s.data.path())
        .args([
            "run",
            samples().join("pharmacy-fax-g3.tif").to_str().unwrap(),
            "--json",
            "--patient",
            "p-1",
        ])
        .output()
        .unwrap();
    let v: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(v["status"], "FAILED", "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let staff = s.token("staff", "s-9");
    let post = |path: String, token: String| {
        let s = &s;
        async move {
            s.call(reqwest::Method::POST, &path, Some(&token), None)
                .await
        }
    };
    // A patient may not retry another patient's document (it answers as an unknown id);
    // a READY one is not retried.
    let (status, ct, body) = post(
        format!("/v1/documents/{id}/retry"),
        s.token("patient", "p-2"),
    )
    .await;
    assert_eq!(problem(status, &ct, &body), "not_found");
    let (status, ct, body) =
        post(format!("/v1/documents/{}/retry", s.docs[0]), staff.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem(status, &ct, &body), "not_failed");
    // Staff run it again: accepted at once, and the document ends READY as attempt 2.
    let (status, _, body) = post(format!("/v1/documents/{id}/retry"), staff.clone()).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["attempt"], 2);
    assert_eq!(v["href"], format!("/v1/documents/{id}"));
    let mut doc = Value::Null;
    for _ in 0..300 {
        let (_, _, body) = s.get(&format!("/v1/documents/{id}"), Some(&staff)).await;
        doc = serde_json::from_slice(&body).unwrap();
        if doc["status"] == "READY" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(doc["status"], "READY", "{doc}");
    let trail = s.audit();
    let retries: Vec<&Value> = trail
        .iter()
        .filter(|r| r["action"] == "retry_document")
        .collect();
    assert!(
        retries.iter().any(|r| r["outcome"] == "allowed"
            && r["actor"] == "s-9"
            && r["document_id"] == id.as_str()),
        "{retries:#?}"
    );
    assert!(
        retries
            .iter()
            .any(|r| r["outcome"] == "denied" && r["actor"] == "p-2"),
        "{retries:#?}"
    );
}

/// Uploads `file` for `patient` through the API (create, then PUT) and waits until the
/// document is final; returns its view.
async fn upload_and_wait(s: &Server, patient: &str, file: &[u8], content_type: &str) -> Value {
    let token = s.token("patient", patient);
    let (status, _, b) = s
        .call(
            reqwest::Method::POST,
            &format!("/v1/patients/{patient}/uploads"),
            Some(&token),
            Some(json!({
                "content_type": content_type,
                "size": file.len(),
                "sha256": sha256_hex(file),
            })),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&b)
    );
    let target: Value = serde_json::from_slice(&b).unwrap();
    let r = s
        .http
        .put(format!("{}{}", s.base, target["url"].as_str().unwrap()))
        .header("content-type", content_type)
        .body(file.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let received: Value = r.json().await.unwrap();
    let href = received["href"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, _, b) = s.get(&href, Some(&token)).await;
        if status == StatusCode::OK {
            let v: Value = serde_json::from_slice(&b).unwrap();
            if ["READY", "REJECTED", "FAILED"].contains(&v["status"].as_str().unwrap()) {
                return v;
            }
        }
        assert!(Instant::now() < deadline, "not processed in time");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_file_from_two_patients_is_two_documents_that_know_nothing_of_each_other() {
    let s = Server::start(&[]);
    // p-1's document, processed by `medidocs run` when the server was set up.
    let theirs = s.docs[0].clone();
    let file = std::fs::read(samples().join("medication-box.heic")).unwrap();
    let mine = upload_and_wait(&s, "p-2", &file, "image/heic").await;
    assert_eq!(mine["status"], "READY", "{mine}");
    let id = mine["id"].as_str().unwrap();
    assert_ne!(id, theirs);
    let p2 = s.token("patient", "p-2");
    // Nothing p-2 can read names p-1's document: not the record, the text, the pages or
    // the listing.
    for path in [
        format!("/v1/documents/{id}"),
        format!("/v1/documents/{id}/text"),
        format!("/v1/documents/{id}/pages"),
        "/v1/patients/p-2/documents".to_string(),
    ] {
        let (status, _, b) = s.get(&path, Some(&p2)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let body = String::from_utf8_lossy(&b);
        assert!(
            !body.contains(&theirs),
            "{path} names p-1's document: {body}"
        );
    }
    assert!(mine["duplicate_of"].is_null(), "{mine}");
    // Its own renditions, with the same text as p-1's.
    let (_, _, text) = s.get(&format!("/v1/documents/{id}/text"), Some(&p2)).await;
    let p1 = s.token("patient", "p-1");
    let (_, _, text1) = s
        .get(&format!("/v1/documents/{theirs}/text"), Some(&p1))
        .await;
    assert_eq!(text, text1);
    // Each page says the language it is written in, and the document lists its pages'.
    let (_, _, pages) = s.get(&format!("/v1/documents/{id}/pages"), Some(&p2)).await;
    let pages: Value = serde_json::from_slice(&pages).unwrap();
    assert_eq!(pages["pages"][0]["language"], "en", "{pages}");
    let (_, _, doc) = s.get(&format!("/v1/documents/{id}"), Some(&p2)).await;
    let doc: Value = serde_json::from_slice(&doc).unwrap();
    assert_eq!(doc["languages"], json!(["en"]), "{doc}");
    let (status, ct, thumb) = s
        .get(&format!("/v1/documents/{id}/pages/1/thumb"), Some(&p2))
        .await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "image/webp"));
    assert!(!thumb.is_empty());
    // p-1's id answers p-2 exactly as an id nobody holds, on every route.
    for suffix in ["", "/text", "/pages", "/pages/1/thumb"] {
        let known = s
            .get(&format!("/v1/documents/{theirs}{suffix}"), Some(&p2))
            .await;
        let unknown = s
            .get(
                &format!("/v1/documents/{}{suffix}", "0".repeat(24)),
                Some(&p2),
            )
            .await;
        assert_eq!(known, unknown, "{suffix}");
        assert_eq!(known.0, StatusCode::NOT_FOUND);
    }
    // The records on disk agree: neither names the other.
    let show = |id: &str| -> Value {
        serde_json::from_str(&medidocs(s.data.path(), &["show", id, "--json"])).unwrap()
    };
    let (a, b) = (show(&theirs), show(id));
    assert!(!a.to_string().contains(id) && !b.to_string().contains(&theirs));
}

/// One raw HTTP/1.1 exchange from 127.0.0.1: `head` (request line and headers, no blank
/// line) and as much of a body as given; returns what arrived before `wait` ran out (the
/// answer's head and body, see [`exchange`]).
async fn raw(base: &str, head: &str, body: &[u8], wait: Duration) -> String {
    let addr = base.trim_start_matches("http://");
    let mut request = format!("{head}\r\nHost: {addr}\r\n\r\n").into_bytes();
    request.extend_from_slice(body);
    let mut conn = connect_from(base, "127.0.0.1").await;
    exchange(&mut conn, &request, wait).await
}

impl Server {
    /// The URL of a new upload for patient p-1 of `size` bytes whose SHA-256 is `sha256`.
    async fn upload_url(&self, content_type: &str, size: usize, sha256: &str) -> String {
        let (_, _, b) = self
            .call(
                reqwest::Method::POST,
                "/v1/patients/p-1/uploads",
                Some(&self.token("patient", "p-1")),
                Some(json!({"content_type": content_type, "size": size, "sha256": sha256})),
            )
            .await;
        serde_json::from_slice::<Value>(&b).unwrap()["url"]
            .as_str()
            .unwrap_or_else(|| panic!("no upload URL: {}", String::from_utf8_lossy(&b)))
            .to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_problem_json_and_every_refusal_is_on_record() {
    let s = Server::start(&[]);
    let headers_of = |resp: &reqwest::Response| {
        let h = resp.headers();
        for (name, want) in [
            ("cache-control", "no-store"),
            ("x-content-type-options", "nosniff"),
            ("content-type", "application/problem+json"),
        ] {
            assert_eq!(
                h.get(name).and_then(|v| v.to_str().ok()),
                Some(want),
                "{name} on {}",
                resp.status()
            );
        }
    };
    let code_of = |v: &[u8]| -> String {
        serde_json::from_slice::<Value>(v).unwrap()["code"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // An unknown route, and a method a route does not take.
    let resp = s
        .http
        .get(format!("{}/v1/nothing-here", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    headers_of(&resp);
    assert_eq!(code_of(&resp.bytes().await.unwrap()), "not_found");
    let resp = s
        .http
        .post(format!("{}/v1/health", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    headers_of(&resp);
    assert!(resp.headers().get("allow").is_some());
    assert_eq!(code_of(&resp.bytes().await.unwrap()), "method_not_allowed");
    // Who asks is checked before the body is read: no token, 3 MB announced, nothing
    // sent after the headers, and the answer is already there.
    let answer = raw(
        &s.base,
        "POST /v1/patients/p-1/uploads HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 3145728",
        b"",
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer:?}");
    // A 3 MB JSON body is too large, not malformed.
    let big = json!({"content_type": "image/png", "size": 10, "sha256": "ab".repeat(32), "pad": "x".repeat(3 << 20)});
    let resp = s
        .http
        .post(format!("{}/v1/patients/p-1/uploads", s.base))
        .bearer_auth(s.token("patient", "p-1"))
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    headers_of(&resp);
    assert_eq!(code_of(&resp.bytes().await.unwrap()), "too_large");

    // Token times are bounded by the server, whatever the token says.
    let tokens = DevTokens::new(&s.key());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (iat, nbf, exp, code) in [
        (
            now,
            None,
            now + 100 * 365 * 86_400,
            "token_lifetime_too_long",
        ),
        (now + 3600, None, now + 7200, "token_not_yet_valid"),
        (now, Some(now + 3600), now + 7200, "token_not_yet_valid"),
    ] {
        let t = tokens
            .mint_with("d-1", Role::Doctor, Some(iat), nbf, exp)
            .unwrap();
        let (status, ct, b) = s.get("/v1/me", Some(&t)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(problem(status, &ct, &b), code);
    }

    // A search of another patient's records is refused before its query is read: the
    // attempt is on record even when the query is invalid.
    let (status, ct, b) = s
        .get(
            "/v1/patients/p-1/search?q=",
            Some(&s.token("patient", "p-2")),
        )
        .await;
    assert_eq!(problem(status, &ct, &b), "not_own_records");

    // An upload URL is checked before its body is read: a made-up URL announcing 50 MiB
    // is refused at once, with nothing sent after the headers.
    let answer = raw(
        &s.base,
        "PUT /v1/uploads/not.a.capability HTTP/1.1\r\nContent-Type: image/png\r\nContent-Length: 52428800",
        b"",
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer:?}");
    // A real URL with a declared length other than the upload's: refused before the body.
    let file = std::fs::read(samples().join("insurance-card.webp")).unwrap();
    let url = s
        .upload_url("image/webp", file.len(), &sha256_hex(&file))
        .await;
    let answer = raw(
        &s.base,
        &format!(
            "PUT {url} HTTP/1.1\r\nContent-Type: image/webp\r\nContent-Length: {}",
            file.len() + 1_000_000
        ),
        b"",
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    let (status, _, b) = s
        .http
        .put(format!("{}{url}", s.base))
        .header("content-type", "image/webp")
        .body(file.clone())
        .send()
        .await
        .map(|r| (r.status(), (), r))
        .unwrap();
    assert_eq!(status, StatusCode::CREATED);
    let received: Value = b.json().await.unwrap();
    // The URL is spent: a second PUT is refused from its headers, before its body.
    let answer = raw(
        &s.base,
        &format!(
            "PUT {url} HTTP/1.1\r\nContent-Type: image/webp\r\nContent-Length: {}",
            file.len()
        ),
        b"",
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 409"), "{answer:?}");
    // A URL whose bytes are arriving on one connection is refused on another.
    let url2 = s
        .upload_url("image/webp", file.len() + 1, &"cd".repeat(32))
        .await;
    let first = {
        use tokio::io::AsyncWriteExt;
        let addr = s.base.trim_start_matches("http://");
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(
            format!(
                "PUT {url2} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: image/webp\r\nContent-Length: {}\r\n\r\nRIFF",
                file.len() + 1
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        c
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answer = raw(
        &s.base,
        &format!(
            "PUT {url2} HTTP/1.1\r\nContent-Type: image/webp\r\nContent-Length: {}",
            file.len() + 1
        ),
        b"",
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 409"), "{answer:?}");
    assert!(answer.contains("upload_in_progress"), "{answer:?}");
    drop(first);
    // An upload request refused after its authorisation: on record with its reason.
    let (status, ct, b) = s
        .call(
            reqwest::Method::POST,
            "/v1/patients/p-1/uploads",
            Some(&s.token("patient", "p-1")),
            Some(json!({"content_type": "image/gif", "size": 10, "sha256": "ab".repeat(32)})),
        )
        .await;
    assert_eq!(problem(status, &ct, &b), "unsupported_type");

    // The trail: the bad token on /v1/me under its own action; every upload step; the
    // refused search.
    let trail = s.audit();
    let has = |f: &dyn Fn(&Value) -> bool| trail.iter().any(f);
    assert!(has(&|r| r["action"] == "read_identity"
        && r["outcome"] == "denied"
        && r["reason"] == "token_lifetime_too_long"));
    assert!(!has(
        &|r| r["action"] == "list_documents" && r["reason"] == "token_not_yet_valid"
    ));
    assert!(has(&|r| r["action"] == "search"
        && r["actor"] == "p-2"
        && r["reason"] == "not_own_records"));
    assert!(has(&|r| r["action"] == "receive_upload"
        && r["outcome"] == "denied"
        && r["reason"] == "bad_upload_url"));
    assert!(has(&|r| r["action"] == "receive_upload"
        && r["outcome"] == "denied"
        && r["patient_id"] == "p-1"
        && r["reason"] == "too_large"));
    assert!(has(&|r| r["action"] == "receive_upload"
        && r["outcome"] == "allowed"
        && r["patient_id"] == "p-1"
        && r["document_id"] == received["document_id"]));
    assert!(has(&|r| r["action"] == "create_upload"
        && r["outcome"] == "allowed"
        && r["actor"] == "p-1"));
    assert!(has(&|r| r["action"] == "create_upload"
        && r["outcome"] == "denied"
        && r["reason"] == "unsupported_type"));
    assert!(has(&|r| r["action"] == "receive_upload"
        && r["outcome"] == "denied"
        && r["reason"] == "upload_in_progress"));
}

/// A connection from `source` (any 127.0.0.0/8 address) to the server.
async fn connect_from(base: &str, source: &str) -> tokio::net::TcpStream {
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(format!("{source}:0").parse().unwrap()).unwrap();
    sock.connect(addr).await.unwrap()
}

/// Sends `request` on `conn` and reads until the head of the answer (or `wait`).
async fn exchange(conn: &mut tokio::net::TcpStream, request: &[u8], wait: Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = conn.write_all(request).await;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(wait, async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got);
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length: ")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if body.len() >= len {
                            break;
                        }
                    }
                }
            }
        }
    })
    .await;
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_greedy_and_crowding_clients_are_cut_off_with_problem_json() {
    let s = Server::start(&[
        "--header-timeout",
        "1",
        "--body-idle-timeout",
        "1",
        "--request-timeout",
        "1",
        "--max-connections",
        "8",
        "--max-connections-per-address",
        "6",
        "--rate-per-token",
        "5",
        "--burst-per-token",
        "5",
    ]);
    let host = s.base.trim_start_matches("http://").to_string();
    let get = |path: &str, extra: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n").into_bytes()
    };
    let assert_problem = |answer: &str, status: u16, code: &str| {
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer:?}"
        );
        let lower = answer.to_ascii_lowercase();
        assert!(
            lower.contains("content-type: application/problem+json"),
            "{answer:?}"
        );
        assert!(lower.contains("cache-control: no-store"), "{answer:?}");
        assert!(
            lower.contains("x-content-type-options: nosniff"),
            "{answer:?}"
        );
        assert!(
            answer.contains(&format!("\"code\":\"{code}\"")),
            "{answer:?}"
        );
    };
    // A URI or a head too large: 414 and 431, as problems.
    let mut c = connect_from(&s.base, "127.0.0.1").await;
    let long = format!("/v1/{}", "a".repeat(9000));
    assert_problem(
        &exchange(&mut c, &get(&long, ""), Duration::from_secs(5)).await,
        414,
        "uri_too_long",
    );
    let mut c = connect_from(&s.base, "127.0.0.1").await;
    let big = format!("X-Padding: {}\r\n", "b".repeat(20_000));
    assert_problem(
        &exchange(&mut c, &get("/v1/health", &big), Duration::from_secs(5)).await,
        431,
        "headers_too_large",
    );

    // One token, many requests: 429 with Retry-After once its burst is spent.
    let token = s.token("doctor", "d-1");
    let mut limited = None;
    for _ in 0..12 {
        let (status, ct, b) = s.get("/v1/me", Some(&token)).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((status, ct, b));
            break;
        }
    }
    let (status, ct, b) = limited.expect("never rate limited");
    assert_eq!(problem(status, &ct, &b), "rate_limited");
    let resp = s
        .http
        .get(format!("{}/v1/me", s.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().get("retry-after").is_some());

    // Half a head, then nothing: the connection is closed after the header timeout.
    let mut slow = connect_from(&s.base, "127.0.0.1").await;
    let started = Instant::now();
    let answer = exchange(
        &mut slow,
        format!("GET /v1/health HTTP/1.1\r\nHost: {host}\r\n").as_bytes(),
        Duration::from_secs(10),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "held {:?}: {answer:?}",
        started.elapsed()
    );

    // An upload body that stops: 408 after the body's idle timeout.
    let file = std::fs::read(samples().join("insurance-card.webp")).unwrap();
    let url = s
        .upload_url("image/webp", file.len(), &sha256_hex(&file))
        .await;
    let mut c = connect_from(&s.base, "127.0.0.1").await;
    let mut req = format!(
        "PUT {url} HTTP/1.1\r\nHost: {host}\r\nContent-Type: image/webp\r\nContent-Length: {}\r\n\r\n",
        file.len()
    )
    .into_bytes();
    req.extend_from_slice(&file[..100]);
    assert_problem(
        &exchange(&mut c, &req, Duration::from_secs(10)).await,
        408,
        "body_timeout",
    );

    // A request body (not an upload's) that stalls: 408 once the request's time is up.
    let mut c = connect_from(&s.base, "127.0.0.1").await;
    let stalled = format!(
        "POST /v1/patients/p-1/uploads HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"content_type\"",
        s.token("patient", "p-1")
    );
    assert_problem(
        &exchange(&mut c, stalled.as_bytes(), Duration::from_secs(10)).await,
        408,
        "request_timeout",
    );

    // Crowding: one address may hold 6 connections; the 7th is refused as a problem.
    let mut crowd = Vec::new();
    for _ in 0..6 {
        crowd.push(connect_from(&s.base, "127.0.0.2").await);
    }
    let mut seventh = connect_from(&s.base, "127.0.0.2").await;
    assert_problem(
        &exchange(&mut seventh, b"", Duration::from_secs(5)).await,
        503,
        "too_many_connections",
    );
    // Two more addresses fill the server (8); a newcomer still gets in: an idle
    // connection of the busiest address makes room.
    crowd.push(connect_from(&s.base, "127.0.0.3").await);
    crowd.push(connect_from(&s.base, "127.0.0.3").await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut newcomer = connect_from(&s.base, "127.0.0.4").await;
    let answer = exchange(
        &mut newcomer,
        &get("/v1/health", ""),
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    drop(crowd);
}

/// Reads every page of a listing, following `next`; the ids in order.
async fn list_all(s: &Server, query: &str, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let mut path = format!("/v1/patients/p-1/documents?{query}");
        if let Some(c) = &cursor {
            path += &format!("&cursor={}", urlencode(c));
        }
        let (status, _, b) = s.get(&path, Some(token)).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{path}: {}",
            String::from_utf8_lossy(&b)
        );
        let page: Value = serde_json::from_slice(&b).unwrap();
        out.extend(page["documents"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => return out,
        }
    }
    panic!("{query}: pagination does not end")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patients_documents_as_a_timeline_filtered_by_type_and_days_and_filed_by_staff() {
    // Uploaded in this order; each dated by what it says (the card by the day it came in).
    let s = Server::start_with(
        &[
            ("lab-report-scan.png", "p-1"),
            ("discharge-summary.pdf", "p-1"),
            ("insurance-card.webp", "p-1"),
            ("consent-form-cmyk.jpg", "p-1"),
        ],
        &[],
    );
    let (lab, discharge, card, consent) = (
        s.docs[0].as_str(),
        s.docs[1].as_str(),
        s.docs[2].as_str(),
        s.docs[3].as_str(),
    );
    let doctor = s.token("doctor", "d-1");
    let ids = |docs: &[Value]| -> Vec<String> {
        docs.iter()
            .map(|d| d["id"].as_str().unwrap().to_string())
            .collect()
    };

    // The timeline by default, newest first, a page at a time: the same at any page size.
    let timeline = list_all(&s, "limit=1", &doctor).await;
    assert_eq!(
        ids(&timeline),
        [card, lab, consent, discharge],
        "{timeline:#?}"
    );
    assert_eq!(
        ids(&list_all(&s, "sort=date&limit=3", &doctor).await),
        ids(&timeline)
    );
    // By upload, newest first.
    assert_eq!(
        ids(&list_all(&s, "sort=uploaded&limit=2", &doctor).await),
        [consent, card, discharge, lab]
    );

    // What each is and when, with the words that decided it.
    let by_id = |id: &str| timeline.iter().find(|d| d["id"] == id).unwrap().clone();
    let l = by_id(lab);
    assert_eq!(l["type"]["code"], "lab_report");
    assert_eq!(l["type"]["loinc"], "11502-2");
    assert_eq!(l["type"]["source"], "read");
    assert!(!l["type"]["evidence"].as_array().unwrap().is_empty(), "{l}");
    assert_eq!(l["document_date"], "2026-11-21");
    assert_eq!(l["sort_date"], "2026-11-21");
    assert!(
        l["dates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["role"] == "service"
                && d["date"] == "2026-11-21"
                && d["text"].as_str().is_some_and(|t| !t.is_empty())),
        "{l}"
    );
    let c = by_id(card);
    assert_eq!(c["type"]["code"], "insurance_card");
    assert!(c["document_date"].is_null(), "{c}");
    assert_eq!(c["sort_date"], c["created_at"].as_str().unwrap()[..10]);
    assert_eq!(by_id(discharge)["document_date"], "2026-11-09");

    // Filters: a type, days (both ends included), both.
    assert_eq!(ids(&list_all(&s, "type=lab_report", &doctor).await), [lab]);
    assert_eq!(
        ids(&list_all(&s, "from=2026-11-09&to=2026-11-21&limit=1", &doctor).await),
        [lab, consent, discharge]
    );
    assert_eq!(
        ids(&list_all(&s, "from=2026-11-10&to=2026-11-20", &doctor).await),
        [consent]
    );
    assert_eq!(
        ids(&list_all(&s, "to=2026-11-08", &doctor).await),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&list_all(
            &s,
            "type=discharge_summary&from=2026-11-01&to=2026-11-30",
            &doctor
        )
        .await),
        [discharge]
    );
    assert_eq!(
        ids(&list_all(&s, "type=lab_report&status=READY&sort=uploaded", &doctor).await),
        [lab]
    );

    // What is wrong with a query is named.
    for (query, code) in [
        ("type=xray", "invalid_type"),
        ("from=2026-02-30", "invalid_date"),
        ("to=26-11-01", "invalid_date"),
        ("from=2026-11-21&to=2026-11-01", "invalid_date"),
        ("sort=uploaded&from=2026-11-01", "invalid_sort"),
        ("sort=oldest", "invalid_sort"),
    ] {
        let (status, ct, b) = s
            .get(
                &format!("/v1/patients/p-1/documents?{query}"),
                Some(&doctor),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            problem(status, &ct, &b).contains(code),
            "{query}: {}",
            String::from_utf8_lossy(&b)
        );
    }
    // A cursor of one order is not one of the other.
    let (_, _, b) = s
        .get(
            "/v1/patients/p-1/documents?sort=uploaded&limit=1",
            Some(&doctor),
        )
        .await;
    let next = serde_json::from_slice::<Value>(&b).unwrap()["next"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _, _) = s
        .get(
            &format!("/v1/patients/p-1/documents?cursor={}", urlencode(&next)),
            Some(&doctor),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Staff file the card as a lab report in words of their own: it wins, the type read
    // stays, and the filters follow. Back to the type read with null.
    let staff = s.token("staff", "s-9");
    let file = |body: Value| {
        let (s, staff) = (&s, staff.clone());
        async move {
            s.call(
                reqwest::Method::PUT,
                &format!("/v1/documents/{card}/type"),
                Some(&staff),
                Some(body),
            )
            .await
        }
    };
    let (status, _, b) = file(json!({"document_type": "Bloods"})).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let filed: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(filed["type"]["code"], "lab_report");
    assert_eq!(filed["type"]["source"], "given");
    assert_eq!(filed["document_type"], "lab_report");
    let labs = ids(&list_all(&s, "type=lab_report", &doctor).await);
    assert_eq!(labs, [card, lab]);
    let (status, ct, b) = file(json!({"document_type": "scans from 2019"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(problem(status, &ct, &b).contains("invalid_type"));
    let (status, _, b) = file(json!({"document_type": null})).await;
    assert_eq!(status, StatusCode::OK);
    let back: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(
        (
            back["type"]["code"].as_str(),
            back["type"]["source"].as_str()
        ),
        (Some("insurance_card"), Some("read"))
    );
    assert_eq!(ids(&list_all(&s, "type=lab_report", &doctor).await), [lab]);
    // Another patient cannot file it; the filing is on record.
    let (status, _, _) = s
        .call(
            reqwest::Method::PUT,
            &format!("/v1/documents/{card}/type"),
            Some(&s.token("patient", "p-2")),
            Some(json!({"document_type": "other"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let filings: Vec<Value> = s
        .audit()
        .into_iter()
        .filter(|a| a["action"] == "file_document" && a["document_id"] == card)
        .collect();
    assert_eq!(
        filings.iter().filter(|a| a["outcome"] == "allowed").count(),
        3,
        "{filings:#?}"
    );
    assert_eq!(
        filings.iter().filter(|a| a["outcome"] == "denied").count(),
        1,
        "{filings:#?}"
    );
}

/// Words of `text`, as a reader compares them.
fn words_of(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// The longest common subsequence's length: the words found in the same order.
fn in_order(a: &[String], b: &[String]) -> usize {
    let mut row = vec![0usize; b.len() + 1];
    for x in a {
        let mut prev = 0;
        for (j, y) in b.iter().enumerate() {
            let keep = row[j + 1];
            row[j + 1] = if x == y {
                prev + 1
            } else {
                row[j + 1].max(row[j])
            };
            prev = keep;
        }
    }
    row[b.len()]
}

/// A tool's output, failing loudly when it is missing or fails.
fn tool(cmd: &str, args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} (scripts/install-deps.sh --test installs it): {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn repo() -> PathBuf {
    samples().join("../..")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ready_document_is_a_searchable_pdf_and_a_fhir_document_reference() {
    // A scanned A4 lab report (OCR by Tesseract) and a born-digital discharge summary
    // (its own text layer), processed by `medidocs run`.
    let s = Server::start_with(
        &[
            ("lab-report-scan.png", "p-1"),
            ("discharge-summary.pdf", "p-1"),
            ("prescription-photo.jpg", "p-2"),
        ],
        &[],
    );
    let (lab, discharge) = (s.docs[0].as_str(), s.docs[1].as_str());
    let doctor = s.token("doctor", "d-1");
    let dir = tempfile::tempdir().unwrap();
    let os = |p: &Path| p.as_os_str().to_owned();

    let mut fetched = Vec::new();
    for (id, title, date, name) in [
        (
            lab,
            "Laboratory report",
            "2026-11-21",
            "lab-report-2026-11-21.pdf",
        ),
        (
            discharge,
            "Discharge summary",
            "2026-11-09",
            "discharge-summary-2026-11-09.pdf",
        ),
    ] {
        let resp = s
            .http
            .get(format!("{}/v1/documents/{id}/pdf", s.base))
            .bearer_auth(&doctor)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let h = resp.headers().clone();
        assert_eq!(h["content-type"], "application/pdf");
        // The file's name says what it is and when, nothing of the patient's.
        assert_eq!(
            h["content-disposition"],
            format!("attachment; filename=\"{name}\"").as_str()
        );
        let pdf = resp.bytes().await.unwrap().to_vec();
        let file = dir.path().join(name);
        std::fs::write(&file, &pdf).unwrap();
        tool("qpdf", &["--check".as_ref(), file.as_os_str()]);
        // Its information holds the type and the date, and no patient id.
        let info = tool("pdfinfo", &[file.as_os_str()]);
        assert!(
            info.lines()
                .any(|l| l.starts_with("Title:") && l.ends_with(title)),
            "{info}"
        );
        assert!(info.contains("LOINC "), "{info}");
        assert!(!info.contains("p-1") && !info.contains(id), "{info}");
        let pages: usize = info
            .lines()
            .find_map(|l| l.strip_prefix("Pages:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let created = info
            .lines()
            .find_map(|l| l.strip_prefix("CreationDate:"))
            .unwrap_or_else(|| panic!("no date in {info}"));
        assert!(created.contains(&date[..4]), "{created} is not {date}");
        // pdftotext reads the document's words in reading order: in its physical layout
        // (`-layout`, rows as the page has them, so a table reads row by row) and in the
        // order they are drawn (`-raw`). Its default mode reads a table's columns one after
        // another, as it does for any PDF; that share is printed, not asserted.
        let (_, _, text) = s
            .get(&format!("/v1/documents/{id}/text"), Some(&doctor))
            .await;
        let want = words_of(&String::from_utf8_lossy(&text));
        let recall = |mode: &str| {
            let mut args: Vec<&std::ffi::OsStr> = vec!["-enc".as_ref(), "UTF-8".as_ref()];
            if !mode.is_empty() {
                args.push(mode.as_ref());
            }
            args.extend([file.as_os_str(), "-".as_ref()]);
            let got = words_of(&tool("pdftotext", &args));
            in_order(&want, &got)
        };
        let (found, raw, default) = (recall("-layout"), recall("-raw"), recall(""));
        println!(
            "{name}: {pages} page(s), {} bytes ({} per page); pdftotext words in order of {}: \
             -layout {found}, -raw {raw}, default {default}",
            pdf.len(),
            pdf.len() / pages,
            want.len()
        );
        assert!(
            raw * 100 >= want.len() * 98,
            "-raw: {raw} of {} words in order",
            want.len()
        );
        assert!(want.len() > 50, "{want:?}");
        assert!(
            found * 100 >= want.len() * 98,
            "-layout: {found} of {} words in order",
            want.len()
        );
        // It opens in Chromium's own PDF viewer, titled as its information says.
        let shot = dir.path().join(format!("{name}.png"));
        let node = Command::new("node")
            .env(
                "NODE_PATH",
                std::env::var_os("MEDIDOCS_NODE")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| {
                        PathBuf::from(std::env::var_os("HOME").unwrap())
                            .join(".cache/medidocs/node")
                    })
                    .join("node_modules"),
            )
            .arg(repo().join("scripts/pdf-chromium.cjs"))
            .arg(&file)
            .arg(pages.to_string())
            .arg(&shot)
            .arg(title)
            .output()
            .expect("node (scripts/install-deps.sh --test installs it with playwright-core)");
        assert!(
            node.status.success(),
            "Chromium: {}{}",
            String::from_utf8_lossy(&node.stdout),
            String::from_utf8_lossy(&node.stderr)
        );
        fetched.push((id, pdf));
    }
    // A scanned A4 page is small enough to send by e-mail.
    assert!(
        fetched[0].1.len() < 150 * 1024,
        "{} bytes",
        fetched[0].1.len()
    );

    // As FHIR: the DocumentReference names the type, patient, period and the PDF as it is.
    let (status, ct, body) = s
        .get(&format!("/v1/documents/{lab}/fhir"), Some(&doctor))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "application/fhir+json");
    let reference: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(reference["resourceType"], "DocumentReference");
    assert_eq!(reference["id"], lab);
    assert_eq!(reference["status"], "current");
    assert_eq!(reference["type"]["coding"][0]["system"], "http://loinc.org");
    assert_eq!(reference["type"]["coding"][0]["code"], "11502-2");
    assert_eq!(reference["subject"]["reference"], "Patient/p-1");
    assert_eq!(reference["context"]["period"]["start"], "2026-11-21");
    let attachment = &reference["content"][0]["attachment"];
    assert_eq!(attachment["contentType"], "application/pdf");
    assert_eq!(attachment["size"], fetched[0].1.len());
    use base64::Engine as _;
    use sha1::Digest as _;
    assert_eq!(
        attachment["hash"],
        base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(&fetched[0].1))
    );
    assert_eq!(
        attachment["url"],
        format!("{}/v1/documents/{lab}/pdf", s.base)
    );

    // A patient's as a searchset Bundle, by FHIR's search parameters.
    let search = |q: &str| format!("/v1/patients/p-1/fhir/DocumentReference{q}");
    let bundle = |body: &[u8]| -> Value { serde_json::from_slice(body).unwrap() };
    // (A page with no entries has no `entry`: FHIR allows no empty arrays.)
    let ids = |b: &Value| -> Vec<String> {
        b["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["resource"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, ct, all) = s.get(&search(""), Some(&doctor)).await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::OK, "application/fhir+json")
    );
    let all = bundle(&all);
    assert_eq!(all["type"], "searchset");
    assert_eq!(all["total"], 2);
    assert_eq!(ids(&all), [discharge, lab]);
    for (q, want) in [
        ("?type=http://loinc.org%7C11502-2", vec![lab]),
        ("?type=18842-5", vec![discharge]),
        ("?type=http://snomed.info/sct%7C11502-2", vec![]),
        ("?period=ge2026-11-10&period=lt2027-01-01", vec![lab]),
        ("?period=2026-11", vec![discharge, lab]),
        ("?period=le2026-11-09&type=18842-5,11502-2", vec![discharge]),
        ("?date=lt2020", vec![]),
    ] {
        let (status, _, b) = s.get(&search(q), Some(&doctor)).await;
        assert_eq!(status, StatusCode::OK, "{q}");
        let b = bundle(&b);
        assert_eq!(ids(&b), want, "{q}");
        assert_eq!(b["total"], want.len(), "{q}");
        let self_url = b["link"][0]["url"].as_str().unwrap();
        assert!(self_url.contains(q), "{q}: {self_url}");
    }
    // A page at a time: one entry, then the next link's page, whose link goes back.
    let (_, _, first) = s.get(&search("?_count=1"), Some(&doctor)).await;
    let first = bundle(&first);
    assert_eq!(first["total"], 2);
    assert_eq!(ids(&first), [discharge]);
    let next = first["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .strip_prefix(s.base.as_str())
        .unwrap()
        .to_string();
    let (status, _, second) = s.get(&next, Some(&doctor)).await;
    assert_eq!(status, StatusCode::OK, "{next}");
    let second = bundle(&second);
    assert_eq!(ids(&second), [lab]);
    assert!(
        second["link"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["relation"] == "previous")
    );
    assert!(
        !second["link"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["relation"] == "next")
    );
    for q in ["?patient=p-2", "?period=sa2026", "?date=yesterday"] {
        let (status, ct, b) = s.get(&search(q), Some(&doctor)).await;
        assert_eq!(
            (status, ct.as_str()),
            (StatusCode::BAD_REQUEST, "application/fhir+json"),
            "{q}"
        );
        assert_eq!(bundle(&b)["resourceType"], "OperationOutcome", "{q}");
    }

    // Both validate against FHIR R4 with a real validator; and the validator refuses a
    // broken one (it is not a formality).
    let good = [
        ("reference.json", &reference),
        ("bundle.json", &all),
        ("page.json", &first),
    ];
    let mut files = Vec::new();
    for (name, v) in good {
        let f = dir.path().join(name);
        std::fs::write(&f, serde_json::to_vec_pretty(v).unwrap()).unwrap();
        files.push(os(&f));
    }
    let validator = repo().join("scripts/validate-fhir.py");
    let run = |files: &[std::ffi::OsString]| {
        Command::new("python3")
            .arg(&validator)
            .args(files)
            .output()
            .expect("python3 runs")
    };
    let out = run(&files);
    assert!(
        out.status.success(),
        "FHIR validation: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut broken = reference.clone();
    broken["content"][0]["attachment"]["size"] = json!("large");
    let f = dir.path().join("broken.json");
    std::fs::write(&f, serde_json::to_vec(&broken).unwrap()).unwrap();
    let out = run(&[os(&f)]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // The same rule and trail as the text: a doctor off the care team and another patient
    // learn nothing (404, as an unknown id), and every read and refusal is on record.
    let outsider = s.token("doctor", "d-9");
    let other = s.token("patient", "p-2");
    for path in [
        format!("/v1/documents/{lab}/pdf"),
        format!("/v1/documents/{lab}/fhir"),
    ] {
        for t in [&outsider, &other] {
            let (status, ct, body) = s.get(&path, Some(t)).await;
            assert_eq!(problem(status, &ct, &body), "not_found", "{path}");
        }
    }
    let (status, ct, body) = s.get(&search(""), Some(&outsider)).await;
    assert_eq!(problem(status, &ct, &body), "not_on_care_team");
    let (status, ct, body) = s.get(&format!("/v1/documents/{lab}/pdf"), None).await;
    assert_eq!(problem(status, &ct, &body), "missing_token");
    let trail = s.audit();
    let count = |action: &str, outcome: &str, actor: &str| {
        trail
            .iter()
            .filter(|r| r["action"] == action && r["outcome"] == outcome && r["actor"] == actor)
            .count()
    };
    assert_eq!(count("read_pdf", "allowed", "d-1"), 2, "{trail:#?}");
    assert_eq!(count("read_pdf", "denied", "d-9"), 1);
    assert_eq!(count("read_pdf", "denied", "p-2"), 1);
    assert_eq!(count("read_fhir", "allowed", "d-1"), 1 + 1 + 7 + 2 + 3);
    assert_eq!(count("read_fhir", "denied", "d-9"), 2);
    assert!(
        trail
            .iter()
            .any(|r| r["action"] == "read_pdf" && r["outcome"] == "denied" && r["actor"].is_null())
    );
}
