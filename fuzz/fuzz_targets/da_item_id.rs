//! Fuzz target `da_item_id`: `fxgate_fuzz::da::item_id`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fxgate_fuzz::da::item_id(data));
