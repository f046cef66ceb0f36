//! Fuzz target `opn_certificate`: `fxgate_fuzz::certificates::opn`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fxgate_fuzz::certificates::opn(data));
