//! The Amazon States Language parser and validator on any text.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::quiet_panics();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = medidocs_states::validate_text(text);
    }
});
