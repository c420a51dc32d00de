//! Textract responses (DetectDocumentText / GetDocumentTextDetection JSON) into the OCR
//! model: any text, parsed and normalised.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::quiet_panics();
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(response) = medidocs_core::textract::parse(text)
    {
        let _ = medidocs_core::textract::normalize(&[response]);
    }
});
