//! The state and diagnostics of an upstream, as shown under
//! `Objects/fxgate/Upstreams/<name>` and on `/healthz`, and how a failed service call to an
//! upstream is reported to the client (OPC 10000-4 §7.39 StatusCode).

use opcua::types::StatusCode;

/// Connection state of an upstream, as shown in `fxgate/Upstreams/<name>/State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Trying to connect.
    Connecting,
    /// Session active.
    Connected,
    /// Not connected (waiting before the next attempt, or disabled).
    Disconnected,
}

impl State {
    /// Name shown to clients.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Connecting => "Connecting",
            State::Connected => "Connected",
            State::Disconnected => "Disconnected",
        }
    }
}

/// Diagnostics of an upstream.
#[derive(Debug, Clone)]
pub struct Status {
    /// Connection state.
    pub state: State,
    /// Last error, empty if none yet.
    pub last_error: String,
    /// Number of times a session was lost or could not be made after the first attempt.
    pub reconnects: u64,
}

/// Statuses that mean the upstream could not be reached.
pub fn is_comm_error(s: StatusCode) -> bool {
    matches!(
        s,
        StatusCode::BadConnectionClosed
            | StatusCode::BadNotConnected
            | StatusCode::BadTimeout
            | StatusCode::BadRequestTimeout
            | StatusCode::BadSecureChannelClosed
            | StatusCode::BadServerNotConnected
            | StatusCode::BadCommunicationError
            | StatusCode::BadSessionClosed
            | StatusCode::BadSessionIdInvalid
            | StatusCode::BadTcpInternalError
            | StatusCode::BadDisconnect
            | StatusCode::BadNoCommunication
            | StatusCode::BadConnectionRejected
            | StatusCode::BadShutdown
            | StatusCode::BadServerHalted
    )
}

/// The status an operation gets when its request to the upstream failed as a whole.
pub fn service_failure(s: StatusCode) -> StatusCode {
    if is_comm_error(s) {
        StatusCode::BadNoCommunication
    } else {
        s
    }
}
