//! The errors of IEC 104: the link layer ([`LinkError`], which closes a connection), setting
//! a component up ([`SetupError`]) and a command's outcome ([`CommandError`]).

use opcua::types::StatusCode;

/// Why a connection was closed by the link layer (IEC 60870-5-104 §5).
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The socket failed.
    #[error("connection failed: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the connection.
    #[error("the peer closed the connection")]
    Closed,
    /// An APDU broke the framing or could not be decoded.
    #[error("malformed APDU: {0}")]
    Malformed(String),
    /// An ASDU of a type fxgate does not know (type id).
    #[error("unknown type id {0}")]
    UnknownType(u8),
    /// A received I-frame's send sequence number was not the expected one.
    #[error("sequence error: I-frame N(S) {got}, expected {expected}")]
    Sequence {
        /// What arrived.
        got: u16,
        /// What was due.
        expected: u16,
    },
    /// The peer acknowledged frames that were never sent.
    #[error("sequence error: N(R) {got} acknowledges frames not sent (unacknowledged {oldest}..{next})")]
    Ack {
        /// The N(R) received.
        got: u16,
        /// Oldest unacknowledged N(S).
        oldest: u16,
        /// The next N(S).
        next: u16,
    },
    /// t1 ran out before the peer confirmed a frame.
    #[error("t1 expired: no confirmation of {what} within {ms} ms")]
    T1 {
        /// What was not confirmed.
        what: &'static str,
        /// t1 in ms.
        ms: u128,
    },
    /// An ASDU could not be encoded (e.g. more than 253 octets).
    #[error("cannot encode the ASDU: {0}")]
    Encode(String),
}

impl LinkError {
    /// A t1 expiry of `what`.
    pub fn t1(what: &'static str, t1: std::time::Duration) -> Self {
        LinkError::T1 { what, ms: t1.as_millis() }
    }
}

/// The text of an error and its causes: the codec's errors carry their detail in `source`.
pub fn describe(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string().trim().to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        let t = t.lines().next().unwrap_or("").trim();
        if !t.is_empty() && !out.contains(t) {
            out.push_str(": ");
            out.push_str(t);
        }
        cur = s.source();
    }
    out
}

/// Why an IEC 104 component could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The store did not hand out the ids the component declared.
    #[error("the tag store returned fewer tag ids than were declared")]
    TagIds,
    /// The line could not be prepared (TLS material, listen address).
    #[error("line `{line}`: {reason}")]
    Line {
        /// The line.
        line: String,
        /// What failed.
        reason: String,
    },
    /// A server maps a tag the store does not have.
    #[error("IEC 104 server `{server}`: map[{index}] names tag `{tag}`, which no source declared")]
    UnknownTag {
        /// The server.
        server: String,
        /// The map entry.
        index: usize,
        /// The tag path.
        tag: String,
    },
}

/// Why a command (an OPC UA write sent as C_…) did not succeed.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum CommandError {
    /// The value cannot be sent as this command.
    #[error("the value does not fit the command: {0}")]
    Value(&'static str),
    /// No connection is active.
    #[error("no active connection to the station")]
    NotConnected,
    /// The station answered with a negative confirmation.
    #[error("the station refused the command (negative ACT_CON)")]
    Refused,
    /// The station does not know the IOA (COT 47).
    #[error("the station does not know IOA {0} (COT 47)")]
    UnknownIoa(u32),
    /// The station rejected the type or cause (COT 44/45/46).
    #[error("the station rejected the command (COT {0})")]
    Rejected(u8),
    /// No confirmation within t1; the connection is closed.
    #[error("no confirmation within t1")]
    Timeout,
    /// The connection was lost before the confirmation.
    #[error("the connection was lost before the confirmation")]
    Lost,
}

impl CommandError {
    /// The OPC UA status a write gets for this outcome.
    pub fn status(&self) -> StatusCode {
        match self {
            CommandError::Value(_) => StatusCode::BadTypeMismatch,
            CommandError::NotConnected | CommandError::Lost => StatusCode::BadNoCommunication,
            CommandError::Refused => StatusCode::BadRequestNotAllowed,
            CommandError::UnknownIoa(_) => StatusCode::BadNodeIdUnknown,
            CommandError::Rejected(_) => StatusCode::BadNotSupported,
            CommandError::Timeout => StatusCode::BadTimeout,
        }
    }
}
