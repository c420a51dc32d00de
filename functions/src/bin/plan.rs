//! Lambda function: the `plan` step of the document pipeline.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    medidocs_functions::serve_step("plan").await
}
