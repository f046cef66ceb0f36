//! The on-disk part of the store-and-forward buffer: a log of segment files `<base>.<n>`
//! (at most [`SEGMENT_BYTES`] each), records framed as sequence number (u64 LE), length
//! (u32 LE) and data. A segment file is deleted once none of its records is held any more,
//! so the disk holds what the buffer holds plus at most one segment.
//!
//! A record is written (`write(2)`, into the page cache) when it is spilled: a process that is
//! killed (`kill -9`) loses none of it, and at the next start [`SpillLog::recover`] reads every
//! whole record back (a record cut short by the kill is dropped). Records already sent and
//! acknowledged whose segment was still in use come back too: after a crash delivery is at
//! least once. A power loss can lose what the kernel had not yet written out, unless the
//! buffer's [`crate::durability::Fsync`] policy forces it out ([`SpillLog::sync`]).

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;

/// Largest segment file.
pub const SEGMENT_BYTES: u64 = 4 * 1024 * 1024;
/// Bytes of a record's frame.
const FRAME: usize = 12;

/// Where a spilled record's data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Loc {
    seg: u64,
    offset: u64,
    len: usize,
}

struct Segment {
    n: u64,
    file: File,
    end: u64,
    live: usize,
    /// Written since the last [`SpillLog::sync`].
    dirty: bool,
}

/// The segment files of one buffer.
pub(crate) struct SpillLog {
    base: PathBuf,
    segments: VecDeque<Segment>,
    next_n: u64,
}

impl SpillLog {
    /// Segments named `<base>.<n>`; none is created before the first record.
    pub(crate) fn new(base: PathBuf) -> Self {
        Self { base, segments: VecDeque::new(), next_n: 0 }
    }

    fn path(&self, n: u64) -> PathBuf {
        segment_path(&self.base, n)
    }

    /// Writes a record; returns where its data is.
    pub(crate) fn append(&mut self, seq: u64, data: &[u8]) -> std::io::Result<Loc> {
        let need = (FRAME + data.len()) as u64;
        let roll = self.segments.back().is_none_or(|s| s.end > 0 && s.end + need > SEGMENT_BYTES);
        if roll {
            if let Some(dir) = self.base.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let n = self.next_n;
            let file = OpenOptions::new().create(true).read(true).write(true).truncate(true).open(self.path(n))?;
            self.next_n += 1;
            self.segments.push_back(Segment { n, file, end: 0, live: 0, dirty: false });
        }
        let seg = self.segments.back_mut().ok_or_else(|| std::io::Error::other("no segment"))?;
        let mut rec = Vec::with_capacity(FRAME + data.len());
        rec.extend_from_slice(&seq.to_le_bytes());
        rec.extend_from_slice(&(data.len() as u32).to_le_bytes());
        rec.extend_from_slice(data);
        seg.file.write_all_at(&rec, seg.end)?;
        let loc = Loc { seg: seg.n, offset: seg.end + FRAME as u64, len: data.len() };
        seg.end += need;
        seg.live += 1;
        seg.dirty = true;
        Ok(loc)
    }

    /// Forces what was written since the last call to the disk.
    pub(crate) fn sync(&mut self) -> std::io::Result<()> {
        for seg in self.segments.iter_mut().filter(|s| s.dirty) {
            seg.file.sync_data()?;
            seg.dirty = false;
        }
        Ok(())
    }

    /// The data at `loc`.
    pub(crate) fn read(&self, loc: Loc) -> Option<Bytes> {
        let seg = self.segments.iter().find(|s| s.n == loc.seg)?;
        let mut buf = vec![0u8; loc.len];
        seg.file.read_exact_at(&mut buf, loc.offset).ok()?;
        Some(Bytes::from(buf))
    }

    /// The record at `loc` is no longer held; a segment with none left is deleted.
    pub(crate) fn release(&mut self, loc: Loc) {
        let Some(i) = self.segments.iter().position(|s| s.n == loc.seg) else { return };
        let seg = &mut self.segments[i];
        seg.live = seg.live.saturating_sub(1);
        if seg.live == 0 {
            let n = seg.n;
            self.segments.remove(i);
            let _ = std::fs::remove_file(self.path(n));
        }
    }

    /// Deletes every segment (what they held was saved elsewhere or is gone).
    pub(crate) fn clear(&mut self) {
        for s in std::mem::take(&mut self.segments) {
            let _ = std::fs::remove_file(self.path(s.n));
        }
        remove_all(&self.base);
    }

    /// The records a killed process left in the segments of `base`, in order, and removes the
    /// files. A record cut short ends its segment.
    pub(crate) fn recover(base: &Path) -> std::io::Result<Vec<(u64, Bytes)>> {
        let mut out = Vec::new();
        for (_, path) in segments_of(base)? {
            let raw = std::fs::read(&path)?;
            let mut at = 0;
            while at + FRAME <= raw.len() {
                let seq = u64::from_le_bytes(raw[at..at + 8].try_into().map_err(|_| std::io::ErrorKind::InvalidData)?);
                let len = u32::from_le_bytes(raw[at + 8..at + 12].try_into().map_err(|_| std::io::ErrorKind::InvalidData)?) as usize;
                let Some(data) = raw.get(at + FRAME..at + FRAME + len) else { break };
                out.push((seq, Bytes::copy_from_slice(data)));
                at += FRAME + len;
            }
        }
        remove_all(base);
        Ok(out)
    }
}

/// `<base>.<n>`.
fn segment_path(base: &Path, n: u64) -> PathBuf {
    let mut name = base.file_name().map(|f| f.to_os_string()).unwrap_or_default();
    name.push(format!(".{n}"));
    base.with_file_name(name)
}

/// The segment files of `base`, by number.
fn segments_of(base: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let (Some(dir), Some(stem)) = (base.parent(), base.file_name().and_then(|f| f.to_str())) else { return Ok(Vec::new()) };
    let rd = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(n) = name.to_str().and_then(|s| s.strip_prefix(stem)).and_then(|s| s.strip_prefix('.')).and_then(|s| s.parse::<u64>().ok()) else { continue };
        found.push((n, e.path()));
    }
    found.sort();
    Ok(found)
}

fn remove_all(base: &Path) {
    if let Ok(list) = segments_of(base) {
        for (_, p) in list {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn records_come_back_after_a_kill_and_empty_segments_go() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("q/spill.bin");
        let mut log = SpillLog::new(base.clone());
        let big = vec![7u8; (SEGMENT_BYTES / 2) as usize];
        let a = log.append(1, &big).unwrap();
        let b = log.append(2, &big).unwrap();
        let c = log.append(3, b"tail").unwrap();
        assert_eq!(segments_of(&base).unwrap().len(), 2, "a segment holds at most SEGMENT_BYTES");
        assert_eq!(log.read(c).as_deref(), Some(&b"tail"[..]));
        log.release(a);
        assert_eq!(segments_of(&base).unwrap().len(), 1, "a segment with nothing held is deleted");
        // The process dies here: the log is never dropped cleanly.
        std::mem::forget(log);
        // A record cut short by the kill is dropped.
        let last = segments_of(&base).unwrap().last().unwrap().1.clone();
        let mut f = OpenOptions::new().append(true).open(&last).unwrap();
        f.write_all(&9u64.to_le_bytes()).unwrap();
        let got = SpillLog::recover(&base).unwrap();
        assert_eq!(got.iter().map(|(s, d)| (*s, d.len())).collect::<Vec<_>>(), [(2, big.len()), (3, 4)]);
        assert!(segments_of(&base).unwrap().is_empty());
        let _ = b;
    }
}
