//! Fuzz target `config`: `fxgate_fuzz::config::config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fxgate_fuzz::config::config(data));
