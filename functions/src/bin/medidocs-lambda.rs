//! The Lambda binary every function of the deployment runs: its `MEDIDOCS_FUNCTION`
//! setting says which function it is (a step of the pipeline, the OCR worker, the API,
//! the starter, the watchdog or the identity sync). One build serves them all.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Lambda runs `AWS_LAMBDA_EXEC_WRAPPER` for its managed runtimes only: this one
    // starts itself through it (the fault-injection extension's wrapper on a game day).
    if let Some(wrapper) = medidocs_functions::wrapper::to_run(|k| std::env::var(k).ok()) {
        return Err(medidocs_functions::wrapper::exec(&wrapper).into());
    }
    medidocs_functions::serve_from_env().await
}
