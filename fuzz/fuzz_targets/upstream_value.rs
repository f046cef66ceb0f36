//! Fuzz target `upstream_value`: `fxgate_fuzz::upstream::value`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fxgate_fuzz::upstream::value(data));
