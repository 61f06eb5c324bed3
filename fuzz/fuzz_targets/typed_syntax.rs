//! Fuzz target `typed_syntax`: see `wippy::fuzzing::typed_syntax`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        wippy::fuzzing::typed_syntax(text);
    }
});
