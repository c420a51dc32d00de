//! Lambda function: the OCR worker, reading pages from the OCR queues and answering the
//! state machine's waiting tasks.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    medidocs_functions::ocr::serve_ocr_worker().await
}
