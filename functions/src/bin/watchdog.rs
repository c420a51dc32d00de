//! Lambda function: the watchdog, on a schedule (no document stays in PROCESSING).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    medidocs_functions::serve_watchdog().await
}
