//! The Lambda binary every function of the deployment runs: its `MEDIDOCS_FUNCTION`
//! setting says which function it is (a step of the pipeline, the OCR worker, the API,
//! the starter, the watchdog or the identity sync). One build serves them all.

fn main() -> Result<(), lambda_runtime::Error> {
    // Lambda runs `AWS_LAMBDA_EXEC_WRAPPER` for its managed runtimes only: this one starts
    // itself through it (the fault-injection extension's wrapper on a game day), before
    // any thread is started. If that fails, it runs as it is, and says so.
    if let Some(wrapper) = medidocs_functions::wrapper::to_run(|k| std::env::var(k).ok()) {
        let err = medidocs_functions::wrapper::exec(&wrapper);
        eprintln!("{err}; starting without it");
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(medidocs_functions::serve_from_env())
}
