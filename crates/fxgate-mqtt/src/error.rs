//! The MQTT client's errors, one enum per operation.

use std::time::Duration;

use crate::wire::{Refusal, WireError};

/// Why a broker connection ended (shown in the line's `LastError`).
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// The broker's CONNACK refused the connection.
    #[error("broker refused the connection: {0}")]
    Refused(Refusal),
    /// No CONNACK in time.
    #[error("no CONNACK within {} ms", .0.as_millis())]
    NoConnAck(Duration),
    /// No PINGRESP within the keep-alive.
    #[error("no PINGRESP within the keep-alive of {} s", .0.as_secs())]
    NoPingResp(Duration),
    /// The broker refused a subscription.
    #[error("broker refused the subscription to `{0}`")]
    SubscriptionRefused(String),
    /// The broker sent DISCONNECT.
    #[error("broker sent DISCONNECT")]
    BrokerDisconnect,
    /// The broker closed the connection.
    #[error("connection closed by the broker")]
    Closed,
    /// A packet that could not be decoded or encoded.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// Something a broker must not send.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Socket error.
    #[error("{0}")]
    Io(std::io::Error),
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The line (TLS material).
    #[error("line `{line}`: {source}")]
    Line {
        /// The line.
        line: String,
        /// Why.
        source: fxgate_lines::LineError,
    },
    /// Fewer tag ids than tags.
    #[error("the store gave fewer tag ids than tags were declared")]
    TagIds,
    /// A `[[mqtt.publish]]` glob.
    #[error("publish tags: {0}")]
    Pattern(#[from] fxgate_forward::PatternError),
}
