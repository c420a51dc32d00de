//! The OCR worker process (`medidocs_local::ocr_worker_main`): Tesseract in-process,
//! pages over standard input, answers on standard output.

fn main() {
    std::process::exit(medidocs_local::ocr_worker_main());
}
