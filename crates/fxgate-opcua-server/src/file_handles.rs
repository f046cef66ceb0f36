//! The open handles of a FileType object (OPC 10000-5 Annex C), for every file the server
//! offers (the GDS TrustList, the FX ConnectionManagerConfiguration): each handle with its own
//! content and position, owned by the session that opened it.
//!
//! - Read handles any number at once; a write handle alone (Bad_NotWritable / Bad_NotReadable
//!   otherwise).
//! - A handle goes when its session is known to have ended (when the opener gave a way to tell)
//!   or after `idle` unused: async-opcua does not tell node managers when a session ends, so the
//!   handles are swept at each Open and OpenCount.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use opcua::types::StatusCode;
use parking_lot::Mutex;

/// Tells whether a session still exists.
pub type SessionAlive = Arc<dyn Fn() -> bool + Send + Sync>;

/// Why a file operation failed; each file maps these to its status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// No such handle, or another session's.
    #[error("unknown file handle")]
    UnknownHandle,
    /// Read on a write handle, Write or CloseAndUpdate on a read handle (Bad_InvalidState).
    #[error("the handle is not open for this")]
    WrongMode,
    /// A negative Read length.
    #[error("a negative length")]
    BadLength,
    /// Open for reading while it is open for writing (Bad_NotReadable).
    #[error("the file is open for writing")]
    NotReadable,
    /// Open for writing while it is open (Bad_NotWritable).
    #[error("the file is open")]
    NotWritable,
    /// The limit of open handles.
    #[error("too many open handles")]
    TooManyHandles,
    /// Write beyond the largest content.
    #[error("the content would be too large")]
    TooLarge,
}

impl FileError {
    /// The status of the modes' rules (Bad_InvalidState, Bad_NotReadable, Bad_NotWritable);
    /// None for the errors each file answers in its own way.
    pub fn mode_status(self) -> Option<StatusCode> {
        match self {
            FileError::WrongMode => Some(StatusCode::BadInvalidState),
            FileError::NotReadable => Some(StatusCode::BadNotReadable),
            FileError::NotWritable => Some(StatusCode::BadNotWritable),
            _ => None,
        }
    }
}

/// The limits of one file.
#[derive(Debug, Clone, Copy)]
pub struct FileLimits {
    /// Open handles at most.
    pub max_handles: usize,
    /// The largest content written.
    pub max_size: usize,
    /// A handle unused this long goes.
    pub idle: Duration,
}

struct Handle {
    session: u32,
    alive: Option<SessionAlive>,
    write: bool,
    data: Vec<u8>,
    position: usize,
    used: Instant,
}

impl Handle {
    /// Whether its session may still exist.
    fn live(&self) -> bool {
        self.alive.as_ref().is_none_or(|a| a())
    }
}

/// The open handles of one file.
pub struct FileHandles {
    limits: FileLimits,
    inner: Mutex<(u32, BTreeMap<u32, Handle>)>,
}

impl FileHandles {
    /// No handles, with `limits`.
    pub fn new(limits: FileLimits) -> Self {
        Self { limits, inner: Mutex::new((0, BTreeMap::new())) }
    }

    fn sweep(&self, handles: &mut BTreeMap<u32, Handle>) {
        let idle = self.limits.idle;
        handles.retain(|_, h| h.used.elapsed() < idle && h.live());
    }

    /// Opens the file for `session` (`alive` tells whether it still exists), for writing or
    /// reading `data`; returns the handle.
    pub fn open(&self, session: u32, alive: Option<SessionAlive>, write: bool, data: Vec<u8>) -> Result<u32, FileError> {
        let mut g = self.inner.lock();
        self.sweep(&mut g.1);
        if g.1.values().any(|h| h.write) {
            return Err(if write { FileError::NotWritable } else { FileError::NotReadable });
        }
        if write && !g.1.is_empty() {
            return Err(FileError::NotWritable);
        }
        if g.1.len() >= self.limits.max_handles {
            return Err(FileError::TooManyHandles);
        }
        g.0 = g.0.wrapping_add(1).max(1);
        let h = g.0;
        g.1.insert(h, Handle { session, alive, write, data, position: 0, used: Instant::now() });
        Ok(h)
    }

    /// How many handles are open (OpenCount).
    pub fn count(&self) -> u16 {
        let mut g = self.inner.lock();
        self.sweep(&mut g.1);
        u16::try_from(g.1.len()).unwrap_or(u16::MAX)
    }

    /// The size of the newest handle's content (0 when none is open).
    pub fn newest_size(&self) -> u64 {
        self.inner.lock().1.values().last().map_or(0, |h| h.data.len() as u64)
    }

    /// Whether a handle is open for writing.
    pub fn writing(&self) -> bool {
        let mut g = self.inner.lock();
        self.sweep(&mut g.1);
        g.1.values().any(|h| h.write)
    }

    fn with<R>(&self, session: u32, h: u32, f: impl FnOnce(&mut Handle) -> Result<R, FileError>) -> Result<R, FileError> {
        let mut g = self.inner.lock();
        match g.1.get_mut(&h) {
            Some(handle) if handle.session == session => {
                handle.used = Instant::now();
                f(handle)
            }
            _ => Err(FileError::UnknownHandle),
        }
    }

    /// Read: up to `length` bytes from the position (none at the end).
    pub fn read(&self, session: u32, h: u32, length: i32) -> Result<Vec<u8>, FileError> {
        self.with(session, h, |handle| {
            if handle.write {
                return Err(FileError::WrongMode);
            }
            let length = usize::try_from(length).map_err(|_| FileError::BadLength)?;
            let start = handle.position.min(handle.data.len());
            let end = start.saturating_add(length).min(handle.data.len());
            handle.position = end;
            Ok(handle.data[start..end].to_vec())
        })
    }

    /// Write: `bytes` at the position (overwriting, then extending).
    pub fn write(&self, session: u32, h: u32, bytes: &[u8]) -> Result<(), FileError> {
        let max = self.limits.max_size;
        self.with(session, h, |handle| {
            if !handle.write {
                return Err(FileError::WrongMode);
            }
            let start = handle.position.min(handle.data.len());
            let end = start.saturating_add(bytes.len());
            if end > max {
                return Err(FileError::TooLarge);
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
    pub fn position(&self, session: u32, h: u32) -> Result<u64, FileError> {
        self.with(session, h, |handle| Ok(handle.position as u64))
    }

    /// SetPosition: beyond the end means the end.
    pub fn set_position(&self, session: u32, h: u32, position: u64) -> Result<(), FileError> {
        self.with(session, h, |handle| {
            handle.position = usize::try_from(position).unwrap_or(usize::MAX).min(handle.data.len());
            Ok(())
        })
    }

    /// Close: the handle goes, what was written is dropped.
    pub fn close(&self, session: u32, h: u32) -> Result<(), FileError> {
        self.with(session, h, |_| Ok(()))?;
        self.inner.lock().1.remove(&h);
        Ok(())
    }

    /// CloseAndUpdate's first step: closes a write handle and gives its content (a read handle
    /// stays open: WrongMode).
    pub fn take_written(&self, session: u32, h: u32) -> Result<Vec<u8>, FileError> {
        let write = self.with(session, h, |handle| Ok(handle.write))?;
        if !write {
            return Err(FileError::WrongMode);
        }
        Ok(self.inner.lock().1.remove(&h).map(|handle| handle.data).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn file() -> FileHandles {
        FileHandles::new(FileLimits { max_handles: 3, max_size: 8, idle: Duration::from_secs(60) })
    }

    #[test]
    fn modes_positions_owners_and_limits() {
        let f = file();
        let r = f.open(1, None, false, b"abcdef".to_vec()).expect("read");
        assert_eq!(f.read(1, r, 4), Ok(b"abcd".to_vec()));
        assert_eq!(f.read(1, r, 4), Ok(b"ef".to_vec()));
        assert_eq!(f.read(1, r, 4), Ok(vec![]), "at the end");
        assert_eq!(f.read(2, r, 1), Err(FileError::UnknownHandle), "another session's handle");
        assert_eq!(f.read(1, r, -1), Err(FileError::BadLength));
        assert_eq!(f.write(1, r, b"x"), Err(FileError::WrongMode));
        assert_eq!(f.take_written(1, r), Err(FileError::WrongMode));
        assert_eq!(f.open(1, None, true, vec![]), Err(FileError::NotWritable), "a reader is open");
        f.set_position(1, r, 100).expect("set");
        assert_eq!(f.position(1, r), Ok(6), "beyond the end: the end");
        f.close(1, r).expect("close");
        let w = f.open(1, None, true, vec![]).expect("write");
        assert_eq!(f.open(2, None, false, vec![]), Err(FileError::NotReadable));
        f.write(1, w, b"abc").expect("write");
        f.set_position(1, w, 1).expect("set");
        f.write(1, w, b"XY").expect("overwrite");
        assert_eq!(f.write(1, w, b"123456789"), Err(FileError::TooLarge));
        assert_eq!(f.take_written(1, w), Ok(b"aXY".to_vec()));
        assert_eq!(f.count(), 0);
        for _ in 0..3 {
            f.open(1, None, false, vec![]).expect("read");
        }
        assert_eq!(f.open(1, None, false, vec![]), Err(FileError::TooManyHandles));
    }

    #[test]
    fn a_handle_goes_with_its_session() {
        let f = file();
        let alive = Arc::new(AtomicBool::new(true));
        let a = alive.clone();
        f.open(7, Some(Arc::new(move || a.load(Ordering::Relaxed))), true, vec![]).expect("write");
        assert_eq!(f.count(), 1);
        alive.store(false, Ordering::Relaxed);
        assert_eq!(f.count(), 0, "the session ended");
        f.open(8, None, true, vec![]).expect("free to write again");
    }
}
