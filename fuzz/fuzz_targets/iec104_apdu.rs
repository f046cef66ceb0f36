//! Fuzz target `iec104_apdu`: `fxgate_fuzz::iec104::apdu`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fxgate_fuzz::iec104::apdu(data));
