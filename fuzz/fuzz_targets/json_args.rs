//! Fuzz target `json_args`: see `wippy::fuzzing::json_arg`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        wippy::fuzzing::json_arg(text);
    }
});
