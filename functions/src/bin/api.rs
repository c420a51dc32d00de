//! Lambda function: the HTTP API behind API Gateway (uploads, listing, text, renditions,
//! search, the doctors' page), with the caller's verified Cognito claims.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    medidocs_functions::api::serve_api().await
}
