//! Fuzz target `trust_list`: `fxgate_fuzz::certificates::trust_list`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fxgate_fuzz::certificates::trust_list(data));
