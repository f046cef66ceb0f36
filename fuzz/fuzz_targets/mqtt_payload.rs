//! Fuzz target `mqtt_payload`: `fxgate_fuzz::mqtt::payload`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fxgate_fuzz::mqtt::payload(data));
