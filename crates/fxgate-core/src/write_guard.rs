//! Who may write which tag beyond the tag's own access mode: a guard an extension installs on
//! the store (OPC UA FX ControlGroups: ListToBlock and ListToRestrict), asked for every write
//! with the identity of the caller.

use opcua::types::StatusCode;

use crate::TagId;

/// Who asks for a write: the client application and user of an OPC UA session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The client's ApplicationUri (from CreateSession).
    pub client: String,
    /// The user the session authenticated as (empty: anonymous).
    pub user: String,
}

/// Decides whether a write may go to the source.
pub trait WriteGuard: Send + Sync {
    /// Why a write of `tag` by `caller` is refused (None: it may go on). `caller` is None for
    /// writes that come from no OPC UA session (other sinks: Modbus, IEC 104, the DA API…).
    fn refuse(&self, tag: TagId, caller: Option<&Caller>) -> Option<StatusCode>;
}
