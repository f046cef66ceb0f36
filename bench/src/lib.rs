//! `fxgate_bench` — the code the bench binaries (`src/bin/`) share: one module per concern.
//!
//! * [`clock`]: wall-clock time as µs since the epoch, RFC 3339 UTC parse and format;
//! * [`procfs`]: CPU ticks and VmRSS of a process from /proc, and a process watched over a window;
//! * [`summary`]: percentiles, latency lists, CPU use and the rounding of the figures in the JSON
//!   lines;
//! * [`ticks`]: how many ticks of a periodic source a step between two source timestamps skipped;
//! * [`window`]: the sinks' measurement window (warm-up after the first data message, the
//!   processes watched over it) and the keys of their JSON lines that describe it;
//! * [`wire`]: fxgate's JSON tag-change values as the push tools write and the sinks read them;
//! * [`sim`]: the push tools' simulated tags and the load tools' random pauses;
//! * [`json`]: the minimal one-line JSON writer of `fxgate-load` and `modbus-poll`;
//! * [`mqtt`]: MQTT settings shared by `mqtt-push` and `mqtt-sink`;
//! * [`runtime`]: the tokio runtime every tool starts, and how a tool's run ends.

#![warn(missing_docs)]

pub mod clock;
pub mod json;
pub mod mqtt;
pub mod procfs;
pub mod runtime;
pub mod sim;
pub mod summary;
pub mod ticks;
pub mod window;
pub mod wire;
