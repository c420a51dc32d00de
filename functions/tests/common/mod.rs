//! What the API tests share: API Gateway's HTTP API events, as the function receives them,
//! and a call through the router.

use serde_json::{Value, json};
use tower::ServiceExt;

/// An HTTP API (v2) event for `method` and `path` (with its query), with the claims the
/// JWT authorizer verified (strings, as API Gateway passes them; issued now for an hour
/// unless given) or none, and a JSON body.
pub fn event(
    method: &str,
    path: &str,
    claims: Option<Value>,
    body: Option<Value>,
) -> lambda_http::Request {
    let file = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../samples/events/apigw-http-get-text.json");
    let mut e: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    e["rawPath"] = path.into();
    e["rawQueryString"] = query.into();
    if let Some((k, v)) = query.split_once('=') {
        e["queryStringParameters"] = json!({ k: v });
    }
    e["requestContext"]["http"]["path"] = path.into();
    e["requestContext"]["http"]["method"] = method.into();
    match claims {
        Some(mut c) => {
            // As Cognito issues them: issued now, for an hour (API Gateway passes the
            // claims as strings).
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let o = c.as_object_mut().unwrap();
            o.entry("iat").or_insert(now.to_string().into());
            o.entry("exp").or_insert((now + 3600).to_string().into());
            e["requestContext"]["authorizer"]["jwt"]["claims"] = c
        }
        None => {
            e["requestContext"]
                .as_object_mut()
                .unwrap()
                .remove("authorizer");
        }
    }
    if let Some(b) = body {
        e["body"] = b.to_string().into();
        e["headers"]["content-type"] = "application/json".into();
    }
    lambda_http::request::from_str(&e.to_string()).unwrap()
}

/// The router's answer: status, headers and body.
pub async fn call(
    app: &axum::Router,
    req: lambda_http::Request,
) -> (u16, axum::http::HeaderMap, Vec<u8>) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap();
    (status, headers, body.to_vec())
}
