//! Fuzz target `mqtt_packet`: `fxgate_fuzz::mqtt::packet`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fxgate_fuzz::mqtt::packet(data));
