//! Lambda function: the `render-page` step of the document pipeline.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    medidocs_functions::serve_step("render-page").await
}
