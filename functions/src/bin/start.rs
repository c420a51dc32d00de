//! Lambda function: starts the document pipeline for each upload (EventBridge "Object
//! Created" events from the upload bucket).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    medidocs_functions::serve_starter().await
}
