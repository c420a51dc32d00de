//! The Lambda binary every function of the deployment runs: its `MEDIDOCS_FUNCTION`
//! setting says which function it is (a step of the pipeline, the OCR worker, the API,
//! the starter or the watchdog). One build serves them all.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    medidocs_functions::serve_from_env().await
}
