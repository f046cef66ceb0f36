//! Fuzz target `websocket_command`: `fxgate_fuzz::websocket::command`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fxgate_fuzz::websocket::command(data));
