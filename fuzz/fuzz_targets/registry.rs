//! Fuzz target `registry`: see `wippy::fuzzing::registry`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        wippy::fuzzing::registry(text);
    }
});
