//! Store-and-forward: outgoing messages wait here until sent (or, when the protocol
//! acknowledges messages, until acknowledged), in memory up to `memory_max` bytes and beyond
//! that in spill segments under the data dir ([`crate::spill`]), up to `max` bytes in all.
//! Beyond the bound the oldest messages are dropped and counted. At shutdown what is left is
//! saved to a file and loaded at the next start; after a kill what was spilled is recovered
//! ([`Buffer::load`]): a `kill -9` loses at most the messages held in memory
//! (`memory_max` bytes; 0 writes every message to disk first). With
//! [`Buffer::with_durability`] the disk writes follow an fsync policy (what a power loss may
//! lose) and the highest sequence number is kept, so that numbers never repeat after a kill.
//!
//! Not in TF6770: seed 001 has no store-and-forward (its `SendMessage`, §5.1.1.7, sends now
//! or returns FALSE). fxgate's own, so that no change is lost while a server is away.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use bytes::Bytes;

use crate::durability::{Fsync, Pending, SeqMark};
use crate::spill::{Loc, SpillLog};

enum Data {
    Memory(Bytes),
    Disk(Loc),
}

struct Entry {
    seq: u64,
    data: Data,
    len: usize,
}

/// The buffer of one client.
pub struct Buffer {
    entries: VecDeque<Entry>,
    /// Index of the first entry not yet sent on the current connection.
    cursor: usize,
    mem_bytes: usize,
    total_bytes: usize,
    memory_max: usize,
    max: usize,
    spill_path: PathBuf,
    spill: SpillLog,
    dropped: u64,
    pending: Pending,
    mark: Option<SeqMark>,
    /// A disk error was logged (once per buffer: the bound still holds, the log must not flood).
    disk_error_logged: bool,
}

impl Buffer {
    /// A buffer bounded by `max` bytes, `memory_max` of them in memory, spilling to segment
    /// files `<spill_path>.<n>`.
    pub fn new(max: usize, memory_max: usize, spill_path: PathBuf) -> Self {
        Self {
            entries: VecDeque::new(),
            cursor: 0,
            mem_bytes: 0,
            total_bytes: 0,
            memory_max,
            max,
            spill: SpillLog::new(spill_path.clone()),
            spill_path,
            dropped: 0,
            pending: Pending::new(Fsync::Never),
            mark: None,
            disk_error_logged: false,
        }
    }

    /// Spilled data forced to the disk as `fsync` says; with `keep_seq`, the highest sequence
    /// number pushed is kept in `<spill_path>.seq`, and [`Buffer::load`] continues after it.
    pub fn with_durability(mut self, fsync: Fsync, keep_seq: bool) -> Self {
        self.pending = Pending::new(fsync);
        self.mark = keep_seq.then(|| SeqMark::new(&self.spill_path));
        self
    }

    /// Forces the unsynced writes to the disk if the fsync policy says it is time (call it
    /// periodically: a policy with an interval is only checked here and in [`Buffer::push`]).
    pub fn sync_due(&mut self) {
        if !self.pending.due() {
            return;
        }
        let r = self.spill.sync().and_then(|()| self.mark.as_ref().map_or(Ok(()), SeqMark::sync));
        if let Err(e) = r {
            self.disk_error(&e, "cannot force the store-and-forward buffer to the disk");
        }
    }

    fn disk_error(&mut self, e: &std::io::Error, what: &'static str) {
        if !self.disk_error_logged {
            self.disk_error_logged = true;
            tracing::warn!(path = %self.spill_path.display(), error = %e, "{what} (logged once)");
        }
    }

    /// Messages waiting (unsent or unacknowledged).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Messages dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.total_bytes
    }

    fn pop_front(&mut self) {
        if let Some(e) = self.entries.pop_front() {
            self.total_bytes -= e.len;
            match e.data {
                Data::Memory(_) => self.mem_bytes -= e.len,
                Data::Disk(loc) => self.spill.release(loc),
            }
            self.cursor = self.cursor.saturating_sub(1);
        }
    }

    /// Adds message `seq`; returns how many old messages were dropped to make room.
    pub fn push(&mut self, seq: u64, data: Bytes) -> u64 {
        let len = data.len();
        let mut dropped = 0;
        while !self.entries.is_empty() && self.total_bytes + len > self.max {
            self.pop_front();
            dropped += 1;
        }
        if len > self.max {
            self.dropped += dropped + 1;
            return dropped + 1;
        }
        if let Some(mark) = self.mark.as_mut() {
            match mark.record(seq) {
                Ok(()) => self.pending.wrote(),
                Err(e) => self.disk_error(&e, "cannot keep the sequence number on disk"),
            }
        }
        let data = if self.mem_bytes + len <= self.memory_max {
            self.mem_bytes += len;
            Data::Memory(data)
        } else {
            match self.spill.append(seq, &data) {
                Ok(loc) => {
                    self.pending.wrote();
                    Data::Disk(loc)
                }
                Err(e) => {
                    // No disk: keep it in memory rather than lose it (the bound still holds).
                    tracing::warn!(path = %self.spill_path.display(), error = %e, "cannot spill to disk; keeping the message in memory");
                    self.mem_bytes += len;
                    Data::Memory(data)
                }
            }
        };
        self.total_bytes += len;
        self.entries.push_back(Entry { seq, data, len });
        self.dropped += dropped;
        self.sync_due();
        dropped
    }

    /// The next message to send on this connection, if any.
    pub fn next_unsent(&self) -> Option<(u64, Bytes)> {
        let e = self.entries.get(self.cursor)?;
        let data = match &e.data {
            Data::Memory(b) => b.clone(),
            Data::Disk(loc) => self.spill.read(*loc)?,
        };
        Some((e.seq, data))
    }

    /// Marks the message at the cursor sent; without acknowledgements it is released.
    pub fn sent(&mut self, require_ack: bool) {
        if require_ack {
            self.cursor = (self.cursor + 1).min(self.entries.len());
        } else {
            self.pop_front();
        }
    }

    /// Releases every message up to and including `seq`.
    pub fn ack(&mut self, seq: u64) {
        while self.entries.front().is_some_and(|e| e.seq <= seq) {
            self.pop_front();
        }
    }

    /// A new connection: everything still held goes out again.
    pub fn rewind(&mut self) {
        self.cursor = 0;
    }
}

/// The first bytes of a saved buffer, version 1. The name is the WebSocket client's, where the
/// format began: files kept by an earlier fxgate still load.
const MAGIC: &[u8; 8] = b"FXWSBUF1";

impl Buffer {
    /// Writes every held message and the last sequence number to `path` (at shutdown);
    /// returns how many messages were kept. The buffer is empty afterwards (its spill
    /// segments are deleted).
    pub fn save(&mut self, path: &std::path::Path, seq: u64) -> std::io::Result<usize> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        let mut f = std::io::BufWriter::new(File::create(&tmp)?);
        f.write_all(MAGIC)?;
        f.write_all(&seq.to_le_bytes())?;
        self.cursor = 0;
        let mut n = 0;
        for i in 0..self.entries.len() {
            self.cursor = i;
            let Some((s, data)) = self.next_unsent() else { continue };
            f.write_all(&s.to_le_bytes())?;
            f.write_all(&(data.len() as u32).to_le_bytes())?;
            f.write_all(&data)?;
            n += 1;
        }
        f.flush()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        self.entries.clear();
        self.cursor = 0;
        self.mem_bytes = 0;
        self.total_bytes = 0;
        self.spill.clear();
        Ok(n)
    }

    /// Loads what [`Buffer::save`] kept and removes the file, or, when there is none (the
    /// process was killed), what its spill segments held; returns the sequence number to
    /// continue from, or `None` if there was nothing.
    ///
    /// With a kept sequence number ([`Buffer::with_durability`]) the number returned is at
    /// least that one: messages that were sent (or lost in memory) before a kill are never
    /// numbered again.
    pub fn load(&mut self, path: &std::path::Path) -> std::io::Result<Option<u64>> {
        let seq = self.load_kept(path)?;
        let mark = match self.mark.as_ref().map(SeqMark::read) {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                self.disk_error(&e, "cannot read the kept sequence number");
                None
            }
            None => None,
        };
        Ok(seq.max(mark))
    }

    fn load_kept(&mut self, path: &std::path::Path) -> std::io::Result<Option<u64>> {
        let raw = match std::fs::read(path) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return self.recover(),
            Err(e) => return Err(e),
        };
        // A saved buffer is newer than any segment left by a kill during an earlier load.
        SpillLog::recover(&self.spill_path)?;
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not a buffer file of this version");
        if raw.len() < 16 || &raw[..8] != MAGIC {
            return Err(bad());
        }
        let seq = u64::from_le_bytes(raw[8..16].try_into().map_err(|_| bad())?);
        let mut at = 16;
        while at + 12 <= raw.len() {
            let s = u64::from_le_bytes(raw[at..at + 8].try_into().map_err(|_| bad())?);
            let len = u32::from_le_bytes(raw[at + 8..at + 12].try_into().map_err(|_| bad())?) as usize;
            let data = raw.get(at + 12..at + 12 + len).ok_or_else(bad)?;
            self.push(s, Bytes::copy_from_slice(data));
            at += 12 + len;
        }
        std::fs::remove_file(path)?;
        Ok(Some(seq))
    }

    /// What a killed process had spilled, in order.
    fn recover(&mut self) -> std::io::Result<Option<u64>> {
        let records = SpillLog::recover(&self.spill_path)?;
        let last = records.iter().map(|(s, _)| *s).max();
        if !records.is_empty() {
            tracing::warn!(path = %self.spill_path.display(), messages = records.len(), "store-and-forward: recovered the messages spilled before an unclean stop (some may have been delivered already)");
        }
        for (s, d) in records {
            self.push(s, d);
        }
        Ok(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(n: usize) -> Bytes {
        Bytes::from(vec![b'x'; n])
    }

    #[test]
    fn spills_resends_acks_and_drops_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = Buffer::new(100, 30, dir.path().join("ws/spill.bin"));
        for seq in 1..=5 {
            assert_eq!(b.push(seq, msg(20)), 0);
        }
        assert_eq!((b.len(), b.bytes()), (5, 100));
        assert!(dir.path().join("ws/spill.bin.0").exists());
        // Sent with acknowledgements pending, then a reconnect resends from the start.
        for _ in 0..3 {
            assert!(b.next_unsent().is_some());
            b.sent(true);
        }
        assert_eq!(b.next_unsent().unwrap().0, 4);
        b.rewind();
        assert_eq!(b.next_unsent().unwrap().0, 1);
        b.ack(2);
        assert_eq!(b.next_unsent().unwrap().0, 3);
        assert_eq!(b.next_unsent().unwrap().1.len(), 20);
        // Full: the oldest goes.
        assert_eq!(b.push(6, msg(20)), 0);
        assert_eq!(b.push(7, msg(40)), 1);
        assert_eq!(b.dropped(), 1);
        assert_eq!(b.next_unsent().unwrap().0, 4);
        // Without acknowledgements a sent message is released at once; the spill file empties.
        while b.next_unsent().is_some() {
            b.sent(false);
        }
        assert!(b.is_empty());
        assert!(!dir.path().join("ws/spill.bin.0").exists(), "an empty segment is deleted");
    }

    #[test]
    fn kept_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = Buffer::new(1000, 30, dir.path().join("spill.bin"));
        for seq in 1..=4 {
            b.push(seq, msg(20));
        }
        b.sent(true);
        b.ack(1);
        let path = dir.path().join("pending.bin");
        assert_eq!(b.save(&path, 9).unwrap(), 3);
        let mut c = Buffer::new(1000, 30, dir.path().join("spill2.bin"));
        assert_eq!(c.load(&path).unwrap(), Some(9));
        assert!(!path.exists());
        let seqs: Vec<u64> = std::iter::from_fn(|| {
            let s = c.next_unsent()?.0;
            c.sent(false);
            Some(s)
        })
        .collect();
        assert_eq!(seqs, [2, 3, 4]);
        assert_eq!(c.load(&path).unwrap(), None);
    }

    #[test]
    fn a_kill_loses_only_what_was_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let spill = dir.path().join("spill.bin");
        let mut b = Buffer::new(1000, 40, spill.clone());
        for seq in 1..=6 {
            b.push(seq, msg(20));
        }
        // Killed: no save. Messages 1 and 2 were in memory, 3..6 on disk.
        std::mem::forget(b);
        let mut c = Buffer::new(1000, 40, spill);
        assert_eq!(c.load(&dir.path().join("pending.bin")).unwrap(), Some(6));
        let seqs: Vec<u64> = std::iter::from_fn(|| {
            let s = c.next_unsent()?.0;
            c.sent(false);
            Some(s)
        })
        .collect();
        assert_eq!(seqs, [3, 4, 5, 6]);
    }

    #[test]
    fn after_a_kill_numbers_go_on_even_with_nothing_left_to_resend() {
        let dir = tempfile::tempdir().unwrap();
        let spill = dir.path().join("spill.bin");
        let pending = dir.path().join("pending.bin");
        let mut b = Buffer::new(1000, 0, spill.clone()).with_durability(Fsync::Always, true);
        for seq in 1..=5 {
            b.push(seq, msg(20));
            b.sent(false);
        }
        assert!(b.is_empty());
        std::mem::forget(b); // killed with every message delivered: no segment is left
        let mut c = Buffer::new(1000, 0, spill.clone()).with_durability(Fsync::Always, true);
        assert_eq!(c.load(&pending).unwrap(), Some(5), "the next message is 6, not 1 again");
        // Without the kept number, a buffer starts again at 1 (the MQTT outbox's numbers are
        // internal).
        let mut d = Buffer::new(1000, 0, dir.path().join("other.bin"));
        d.push(1, msg(20));
        d.sent(false);
        assert_eq!(d.load(&pending).unwrap(), None);
    }

    #[test]
    fn the_kept_number_is_at_least_the_saved_one() {
        let dir = tempfile::tempdir().unwrap();
        let spill = dir.path().join("spill.bin");
        let pending = dir.path().join("pending.bin");
        let mut b = Buffer::new(1000, 1000, spill.clone()).with_durability(Fsync::Never, true);
        for seq in 1..=3 {
            b.push(seq, msg(20));
        }
        assert_eq!(b.save(&pending, 3).unwrap(), 3);
        let mut c = Buffer::new(1000, 1000, spill).with_durability(Fsync::Never, true);
        assert_eq!(c.load(&pending).unwrap(), Some(3));
        assert_eq!(c.len(), 3);
    }
}
