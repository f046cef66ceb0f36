//! fxgate's northbound kit: what every client that forwards tag changes to a remote system
//! needs whatever its protocol. The WebSocket client (seed 001, TF6770 `FB_IotWebSocketClient`)
//! and the MQTT client use it.
//!
//! - [`select`]: which tags a client publishes (browse-path globs) and the changes it collects;
//! - [`value`]: a tag's value, quality and timestamp as JSON or CBOR, and JSON back to a value;
//! - [`buffer`]: store-and-forward in memory and on disk (spill segments that survive a kill).
//!
//! The framing of a message (sequence numbers, commands, answers) belongs to each protocol's
//! crate.

#![warn(missing_docs)]

pub mod buffer;
pub mod select;
mod spill;
pub mod value;

pub use buffer::Buffer;
pub use select::{Collector, PatternError, Selection, TagFilter};
pub use value::{Encoding, Sample};

#[cfg(test)]
mod reference;
