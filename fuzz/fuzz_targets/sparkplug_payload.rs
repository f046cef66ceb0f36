//! Fuzz target `sparkplug_payload`: `fxgate_fuzz::mqtt::sparkplug`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fxgate_fuzz::mqtt::sparkplug(data));
