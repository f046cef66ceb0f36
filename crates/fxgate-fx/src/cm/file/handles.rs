//! The open handles of the ConnectionManagerConfiguration file: the server's shared FileType
//! handles ([`FileHandles`]), each owned by the session that opened it and dropped once that
//! session has ended; and the session a handle or an edit belongs to ([`Owner`]).

use std::sync::Arc;
use std::time::Duration;

use fxgate_opcua_server::file_handles::{FileError, FileHandles, FileLimits, SessionAlive};
use opcua::server::node_manager::RequestContext;
use opcua::types::StatusCode;

use super::MAX_SIZE;

/// How a handle was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Read (0x01).
    Read,
    /// Write + EraseExisting (0x06).
    Write,
}

/// The session a handle (or an edit) belongs to.
#[derive(Clone)]
pub struct Owner {
    /// The session's id.
    pub id: u32,
    /// The client's ApplicationUri.
    pub client: String,
    /// The user (empty: anonymous).
    pub user: String,
    /// Whether the session still exists and is activated (async-opcua does not export its
    /// session type, so a weak reference to it lives in this closure).
    alive: SessionAlive,
}

impl std::fmt::Debug for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Owner").field("id", &self.id).field("client", &self.client).field("user", &self.user).finish()
    }
}

impl Owner {
    /// The session of a request.
    pub fn of(context: &RequestContext) -> Self {
        let caller = fxgate_opcua_server::tags::caller(context);
        let session = Arc::downgrade(&context.session);
        let alive = move || session.upgrade().is_some_and(|s| s.read().is_activated());
        Self { id: context.session_id, client: caller.client, user: caller.user, alive: Arc::new(alive) }
    }

    /// Whether the session still exists and is activated.
    pub fn alive(&self) -> bool {
        (self.alive)()
    }

    /// Whether `other` is the same session (session ids are unique while the server runs).
    pub fn same(&self, other: &Owner) -> bool {
        self.id == other.id
    }
}

/// At most this many handles are open at once (Bad_ResourceUnavailable beyond).
pub const MAX_HANDLES: usize = 32;

/// The file's handles: the server's shared FileType handles, owned by sessions.
pub struct Handles(FileHandles);

impl Default for Handles {
    fn default() -> Self {
        let limits = FileLimits { max_handles: MAX_HANDLES, max_size: MAX_SIZE, idle: Duration::from_secs(600) };
        Self(FileHandles::new(limits))
    }
}

impl std::fmt::Debug for Handles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handles").field("open", &self.0.count()).finish()
    }
}

/// The status of a file error: the modes' rules, else Bad_InvalidArgument (an unknown handle,
/// a negative length) or Bad_ResourceUnavailable (too many handles, too large).
fn status(e: FileError) -> StatusCode {
    e.mode_status().unwrap_or(match e {
        FileError::TooManyHandles | FileError::TooLarge => StatusCode::BadResourceUnavailable,
        _ => StatusCode::BadInvalidArgument,
    })
}

impl Handles {
    /// Opens the file for `owner` in `mode` with `data` as the content; returns the handle.
    pub fn open(&self, owner: Owner, mode: Mode, data: Vec<u8>) -> Result<u32, StatusCode> {
        self.0.open(owner.id, Some(owner.alive.clone()), mode == Mode::Write, data).map_err(status)
    }

    /// How many handles are open (OpenCount).
    pub fn count(&self) -> u16 {
        self.0.count()
    }

    /// The size of the newest handle's content.
    pub fn size(&self) -> u64 {
        self.0.newest_size()
    }

    /// Close: the handle goes, its content is discarded.
    pub fn close(&self, owner: &Owner, h: u32) -> Result<(), StatusCode> {
        self.0.close(owner.id, h).map_err(status)
    }

    /// Takes the content of a handle opened for writing, closing it (CloseAndUpdate).
    pub fn take_written(&self, owner: &Owner, h: u32) -> Result<Vec<u8>, StatusCode> {
        self.0.take_written(owner.id, h).map_err(status)
    }

    /// Read: up to `length` bytes from the position.
    pub fn read(&self, owner: &Owner, h: u32, length: i32) -> Result<Vec<u8>, StatusCode> {
        self.0.read(owner.id, h, length).map_err(status)
    }

    /// Write: `bytes` at the position.
    pub fn write(&self, owner: &Owner, h: u32, bytes: &[u8]) -> Result<(), StatusCode> {
        self.0.write(owner.id, h, bytes).map_err(status)
    }

    /// GetPosition.
    pub fn position(&self, owner: &Owner, h: u32) -> Result<u64, StatusCode> {
        self.0.position(owner.id, h).map_err(status)
    }

    /// SetPosition: beyond the end means the end.
    pub fn set_position(&self, owner: &Owner, h: u32, position: u64) -> Result<(), StatusCode> {
        self.0.set_position(owner.id, h, position).map_err(status)
    }
}
