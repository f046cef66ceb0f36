//! Fuzz target `da_value`: `fxgate_fuzz::da::value`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fxgate_fuzz::da::value(data));
