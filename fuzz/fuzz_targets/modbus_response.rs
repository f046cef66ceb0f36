//! Fuzz target `modbus_response`: `fxgate_fuzz::modbus::response`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fxgate_fuzz::modbus::response(data));
