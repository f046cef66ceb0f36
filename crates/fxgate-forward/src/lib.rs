//! fxgate's northbound kit: what every client that forwards tag changes to a remote system
//! needs whatever its protocol. The WebSocket client (seed 001, TF6770 `FB_IotWebSocketClient`)
//! and the MQTT client use it.
//!
//! - [`select`]: which tags a client publishes (browse-path globs) and the changes it collects;
//! - [`value`]: a tag's value, quality and timestamp as JSON or CBOR, and JSON back to a value;
//! - [`message`]: the data message `{"seq","ts","values"}` and a sample alone, JSON written
//!   directly (the hot path at 100,000 values/s) or CBOR;
//! - [`buffer`]: store-and-forward in memory and on disk (spill segments that survive a kill);
//! - [`durability`]: the fsync policy of the buffer's disk part and the kept sequence number.
//!
//! The rest of the framing (commands, answers, acknowledgements) belongs to each protocol's
//! crate.

#![warn(missing_docs)]

pub mod buffer;
pub mod durability;
pub mod message;
pub mod select;
mod spill;
pub mod value;

pub use buffer::Buffer;
pub use durability::Fsync;
pub use select::{Collector, PatternError, Selection, TagFilter};
pub use value::{Encoding, Sample};

#[cfg(test)]
mod reference;
