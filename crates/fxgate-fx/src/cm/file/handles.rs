//! The open handles of the ConnectionManagerConfiguration file (OPC 10000-20 FileType): each
//! with its own buffer and position, owned by the session that opened it. The file opens for
//! reading any number of times, or once for writing (Bad_NotReadable / Bad_NotWritable
//! otherwise); handles of sessions that ended are dropped before each Open.

use std::collections::BTreeMap;
use std::sync::Arc;

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
    alive: Arc<dyn Fn() -> bool + Send + Sync>,
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

/// One open handle.
#[derive(Debug)]
struct Handle {
    owner: Owner,
    mode: Mode,
    data: Vec<u8>,
    position: usize,
}

/// The open handles and the next handle number.
#[derive(Debug, Default)]
pub struct Handles {
    inner: parking_lot::Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    open: BTreeMap<u32, Handle>,
    next: u32,
}

/// At most this many handles are open at once (Bad_ResourceUnavailable beyond).
pub const MAX_HANDLES: usize = 32;

impl Handles {
    /// Opens the file for `owner` in `mode` with `data` as the content; returns the handle.
    pub fn open(&self, owner: Owner, mode: Mode, data: Vec<u8>) -> Result<u32, StatusCode> {
        let mut g = self.inner.lock();
        g.open.retain(|_, h| h.owner.alive());
        let writing = g.open.values().any(|h| h.mode == Mode::Write);
        match mode {
            Mode::Write if !g.open.is_empty() => return Err(StatusCode::BadNotWritable),
            Mode::Read if writing => return Err(StatusCode::BadNotReadable),
            _ => {}
        }
        if g.open.len() >= MAX_HANDLES {
            return Err(StatusCode::BadResourceUnavailable);
        }
        g.next = g.next.wrapping_add(1).max(1);
        let h = g.next;
        g.open.insert(h, Handle { owner, mode, data, position: 0 });
        Ok(h)
    }

    /// How many handles are open (OpenCount).
    pub fn count(&self) -> u16 {
        u16::try_from(self.inner.lock().open.len()).unwrap_or(u16::MAX)
    }

    /// The size of the content of the handle being written, else of the last opened one.
    pub fn size(&self) -> u64 {
        let g = self.inner.lock();
        g.open.values().last().map(|h| h.data.len() as u64).unwrap_or(0)
    }

    fn with<R>(&self, owner: &Owner, h: u32, f: impl FnOnce(&mut Handle) -> Result<R, StatusCode>) -> Result<R, StatusCode> {
        let mut g = self.inner.lock();
        match g.open.get_mut(&h) {
            Some(handle) if handle.owner.same(owner) => f(handle),
            _ => Err(StatusCode::BadInvalidArgument),
        }
    }

    /// Close: the handle goes, its content is discarded.
    pub fn close(&self, owner: &Owner, h: u32) -> Result<(), StatusCode> {
        self.with(owner, h, |_| Ok(()))?;
        self.inner.lock().open.remove(&h);
        Ok(())
    }

    /// Takes the content of a handle opened for writing, closing it (CloseAndUpdate).
    pub fn take_written(&self, owner: &Owner, h: u32) -> Result<Vec<u8>, StatusCode> {
        let mode = self.with(owner, h, |handle| Ok(handle.mode))?;
        if mode != Mode::Write {
            return Err(StatusCode::BadInvalidState);
        }
        let mut g = self.inner.lock();
        Ok(g.open.remove(&h).map(|handle| handle.data).unwrap_or_default())
    }

    /// Read: up to `length` bytes from the position.
    pub fn read(&self, owner: &Owner, h: u32, length: i32) -> Result<Vec<u8>, StatusCode> {
        let length = usize::try_from(length).map_err(|_| StatusCode::BadInvalidArgument)?;
        self.with(owner, h, |handle| {
            if handle.mode != Mode::Read {
                return Err(StatusCode::BadInvalidState);
            }
            let start = handle.position.min(handle.data.len());
            let end = start.saturating_add(length).min(handle.data.len());
            handle.position = end;
            Ok(handle.data[start..end].to_vec())
        })
    }

    /// Write: `bytes` at the position (overwriting, then extending).
    pub fn write(&self, owner: &Owner, h: u32, bytes: &[u8]) -> Result<(), StatusCode> {
        self.with(owner, h, |handle| {
            if handle.mode != Mode::Write {
                return Err(StatusCode::BadInvalidState);
            }
            let start = handle.position.min(handle.data.len());
            let end = start.saturating_add(bytes.len());
            if end > MAX_SIZE {
                return Err(StatusCode::BadResourceUnavailable);
            }
            if end > handle.data.len() {
                handle.data.resize(end, 0);
            }
            handle.data[start..end].copy_from_slice(bytes);
            handle.position = end;
            Ok(())
        })
    }

    /// GetPosition.
    pub fn position(&self, owner: &Owner, h: u32) -> Result<u64, StatusCode> {
        self.with(owner, h, |handle| Ok(handle.position as u64))
    }

    /// SetPosition: beyond the end means the end.
    pub fn set_position(&self, owner: &Owner, h: u32, position: u64) -> Result<(), StatusCode> {
        self.with(owner, h, |handle| {
            handle.position = usize::try_from(position).unwrap_or(usize::MAX).min(handle.data.len());
            Ok(())
        })
    }
}
