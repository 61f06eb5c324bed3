//! Fuzz target `lua_values`: see `wippy::fuzzing::lua`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        wippy::fuzzing::lua(text);
    }
});
