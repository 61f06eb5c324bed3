//! Fuzz target `yaml`: see `wippy::fuzzing::yaml`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        wippy::fuzzing::yaml(text);
    }
});
