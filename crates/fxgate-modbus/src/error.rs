//! The typed errors of the Modbus client and server (Modbus Application Protocol V1.1b3).

/// A request that broke the connection (a Modbus exception is not an error: it is an
/// answer, mapped to a Bad status of the values it concerns).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// No response within the device's `timeout_ms`.
    #[error("no response within {0} ms")]
    Timeout(u128),
    /// The transport failed.
    #[error("{0}")]
    Transport(String),
    /// A response of another function than the request's.
    #[error("unexpected response {0}")]
    UnexpectedResponse(String),
    /// A read response with another number of values than asked for.
    #[error("response holds {got} values, {asked} were asked for")]
    WrongCount {
        /// Values in the response.
        got: usize,
        /// Values asked for.
        asked: u16,
    },
}

/// A Modbus component could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The store gave other tag ids than the devices declared (a defect).
    #[error("tag ids do not match the devices")]
    TagIds,
    /// A map entry names a tag the store does not have.
    #[error("modbus_server `{server}`: map[{index}]: no tag `{tag}`")]
    UnknownTag {
        /// The server.
        server: String,
        /// The map entry.
        index: usize,
        /// The tag path.
        tag: String,
    },
    /// A map entry's address does not parse.
    #[error("map[{index}]: {reason}")]
    Address {
        /// The map entry.
        index: usize,
        /// Why.
        reason: crate::config::address::AddressError,
    },
    /// The line could not be set up (TLS files, addresses).
    #[error("line `{line}`: {reason}")]
    Line {
        /// The line.
        line: String,
        /// Why.
        reason: String,
    },
}
