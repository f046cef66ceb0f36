//! Fuzz target `modbus_request`: `fxgate_fuzz::modbus::request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fxgate_fuzz::modbus::request(data));
