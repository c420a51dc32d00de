//! The API function: the same router as `medidocs serve`, behind API Gateway (HTTP API)
//! whose JWT authorizer has verified the caller's Cognito token. Bytes never pass through
//! the function: uploads go to presigned S3 PUTs, renditions are presigned-GET redirects.

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use lambda_http::request::RequestContext;
use medidocs_api::delivery::{DOWNLOAD_TTL, UPLOAD_TTL, rfc3339};
use medidocs_api::views::UploadTarget;
use medidocs_api::{App, Claims, Delivery, GatewayClaims, Problem, UploadGrant};
use medidocs_aws::{DynamoMetadataStore, S3ObjectStore, clients};

use medidocs_core::keys;

use crate::Config;

/// Presigned S3 URLs for uploads (SSE-KMS, exact type and length) and downloads.
pub struct S3Delivery {
    pub uploads: S3ObjectStore,
    pub artefacts: S3ObjectStore,
}

#[async_trait]
impl Delivery for S3Delivery {
    async fn upload_target(&self, grant: &UploadGrant) -> Result<UploadTarget, Problem> {
        let key = keys::upload_key(&grant.patient_id, &grant.upload_id);
        let expires = std::time::SystemTime::now() + UPLOAD_TTL;
        let p = self
            .uploads
            .presign_put(
                &key,
                &grant.content_type,
                grant.size,
                &grant.sha256,
                UPLOAD_TTL,
            )
            .await?;
        Ok(UploadTarget {
            upload_id: grant.upload_id.clone(),
            method: p.method,
            url: p.url,
            headers: p
                .headers
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            expires_at: rfc3339(expires),
            max_bytes: grant.size,
        })
    }

    async fn download_url(&self, key: &str) -> Result<Option<String>, Problem> {
        Ok(Some(
            self.artefacts.presign_get(key, DOWNLOAD_TTL).await?.url,
        ))
    }

    async fn download_file_url(
        &self,
        key: &str,
        content_type: &str,
        file_name: &str,
    ) -> Result<Option<String>, Problem> {
        let disposition = format!("attachment; filename=\"{file_name}\"");
        Ok(Some(
            self.artefacts
                .presign_get_as(key, DOWNLOAD_TTL, content_type, &disposition)
                .await?
                .url,
        ))
    }
}

/// The claims API Gateway's JWT authorizer verified, as a [`Claims`] extension.
pub async fn gateway_claims(mut req: Request, next: Next) -> Response {
    let claims = match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| Claims(jwt.claims.clone())),
        _ => None,
    };
    if let Some(c) = claims {
        req.extensions_mut().insert(c);
    }
    next.run(req).await
}

/// The router over S3 and DynamoDB, trusting API Gateway's verified claims; retries start
/// executions through `orchestrator` (the pipeline's Step Functions).
pub fn router(
    config: &Config,
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    orchestrator: Arc<dyn medidocs_core::ports::Orchestrator>,
) -> axum::Router {
    let kms = Some(config.kms_key_id.clone());
    let store = Arc::new(DynamoMetadataStore::new(dynamodb, &config.table));
    let artefacts = S3ObjectStore::new(s3.clone(), &config.artefact_bucket, kms.clone());
    let artefact_store: Arc<dyn medidocs_core::ports::ObjectStore> = Arc::new(artefacts.clone());
    let app = App {
        // Each patient's index object, written by the indexer (docs/deploy.md, "Search").
        search: Arc::new(medidocs_search::PatientIndexes::with_cache(
            store.clone(),
            artefact_store.clone(),
            search_cache_bytes(|k| std::env::var(k).ok()),
        )),
        meta: store.clone(),
        access: store,
        artefacts: artefact_store,
        auth: Arc::new(GatewayClaims),
        delivery: Arc::new(S3Delivery {
            uploads: S3ObjectStore::new(s3, &config.upload_bucket, kms),
            artefacts,
        }),
        orchestrator,
        max_upload_bytes: config.limits.max_bytes,
    };
    medidocs_api::router(Arc::new(app)).layer(axum::middleware::from_fn(gateway_claims))
}

/// How much of the function's memory keeps patients' search indexes between searches:
/// a sixth (an index in memory takes about twice its object's size, and a search holds
/// the indexes of the patients it reads besides), at most [`medidocs_search::CACHE_BYTES`].
pub fn search_cache_bytes(lookup: impl Fn(&str) -> Option<String>) -> usize {
    lookup("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .and_then(|mb| mb.trim().parse::<usize>().ok())
        .map_or(medidocs_search::CACHE_BYTES, |mb| {
            (mb * 1024 * 1024 / 6).min(medidocs_search::CACHE_BYTES)
        })
}

/// The main of the API function.
pub async fn serve_api() -> Result<(), lambda_runtime::Error> {
    crate::init_logging();
    let config = Config::from_env()?;
    let machine = std::env::var("STATE_MACHINE_ARN")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or(crate::ConfigError::Missing("STATE_MACHINE_ARN"))?;
    let sdk = clients::from_env().await;
    let orchestrator = Arc::new(medidocs_aws::ExecutionStarter::new(
        clients::sfn(&sdk),
        machine,
    ));
    let app = router(
        &config,
        clients::s3(&sdk, false),
        clients::dynamodb(&sdk),
        orchestrator,
    );
    lambda_http::run(app).await
}

#[cfg(test)]
mod tests {
    use super::search_cache_bytes;

    #[test]
    fn the_search_cache_is_a_share_of_the_functions_memory() {
        let with = |mb: Option<&'static str>| search_cache_bytes(move |_| mb.map(String::from));
        assert_eq!(with(Some("512")), 512 * 1024 * 1024 / 6);
        assert_eq!(with(Some("10240")), medidocs_search::CACHE_BYTES);
        assert_eq!(with(None), medidocs_search::CACHE_BYTES);
        assert_eq!(with(Some("lots")), medidocs_search::CACHE_BYTES);
    }
}
