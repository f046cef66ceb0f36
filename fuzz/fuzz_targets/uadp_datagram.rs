//! Fuzz target `uadp_datagram`: `fxgate_fuzz::pubsub::datagram`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fxgate_fuzz::pubsub::datagram(data));
