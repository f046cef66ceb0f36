//! How much of the store-and-forward buffer survives an unclean stop, beyond what the spill
//! segments hold: when written data is forced to the disk ([`Fsync`]), and the highest sequence
//! number handed out ([`SeqMark`]), so that a restart after a kill never numbers a new message
//! like one the server may already have.
//!
//! A `kill -9` loses nothing that was written (`write(2)` puts it in the page cache, which
//! outlives the process); a power loss or kernel crash loses what was not yet forced out. The
//! policy bounds that second window.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// When spilled data is forced to the disk (`fsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fsync {
    /// Never by fxgate: the kernel writes the page cache out (on Linux within about 30 s).
    /// Survives a killed process, not a power loss.
    #[default]
    Never,
    /// After every spilled message, before it is sent.
    Always,
    /// At most this long after a message was spilled.
    Every(Duration),
}

impl Fsync {
    /// From the config's `buffer_fsync_ms`: absent → [`Fsync::Never`], 0 → [`Fsync::Always`],
    /// N → every N ms.
    pub fn from_ms(ms: Option<u64>) -> Self {
        match ms {
            None => Fsync::Never,
            Some(0) => Fsync::Always,
            Some(n) => Fsync::Every(Duration::from_millis(n)),
        }
    }
}

/// Tracks unsynced writes against the policy: [`Pending::wrote`] after a write, [`Pending::due`]
/// says whether to sync now.
#[derive(Debug)]
pub(crate) struct Pending {
    policy: Fsync,
    since: Option<Instant>,
}

impl Pending {
    pub(crate) fn new(policy: Fsync) -> Self {
        Self {
            policy,
            since: None,
        }
    }

    /// Data was written and is not yet synced.
    pub(crate) fn wrote(&mut self) {
        if self.policy != Fsync::Never {
            self.since.get_or_insert_with(Instant::now);
        }
    }

    /// Whether the unsynced data must be synced now (and, if so, it counts as synced).
    pub(crate) fn due(&mut self) -> bool {
        let Some(since) = self.since else {
            return false;
        };
        let due = match self.policy {
            Fsync::Never => false,
            Fsync::Always => true,
            Fsync::Every(d) => since.elapsed() >= d,
        };
        if due {
            self.since = None;
        }
        due
    }
}

/// The highest sequence number handed out, in the file `<base>.seq` (8 bytes, little endian),
/// rewritten in place with every message.
pub(crate) struct SeqMark {
    path: PathBuf,
    file: Option<File>,
}

impl SeqMark {
    /// The mark of the buffer whose spill base is `base`.
    pub(crate) fn new(base: &Path) -> Self {
        let mut name = base
            .file_name()
            .map(|f| f.to_os_string())
            .unwrap_or_default();
        name.push(".seq");
        Self {
            path: base.with_file_name(name),
            file: None,
        }
    }

    /// Records `seq` as handed out.
    pub(crate) fn record(&mut self, seq: u64) -> std::io::Result<()> {
        if self.file.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            self.file = Some(
                OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .read(true)
                    .write(true)
                    .open(&self.path)?,
            );
        }
        match &self.file {
            Some(f) => f.write_all_at(&seq.to_le_bytes(), 0),
            None => Ok(()),
        }
    }

    /// Forces the mark to the disk.
    pub(crate) fn sync(&self) -> std::io::Result<()> {
        match &self.file {
            Some(f) => f.sync_data(),
            None => Ok(()),
        }
    }

    /// The mark a previous run left, if any (a file too short to hold one counts as none).
    pub(crate) fn read(&self) -> std::io::Result<Option<u64>> {
        match std::fs::read(&self.path) {
            Ok(raw) => Ok(raw
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_from_config() {
        assert_eq!(Fsync::from_ms(None), Fsync::Never);
        assert_eq!(Fsync::from_ms(Some(0)), Fsync::Always);
        assert_eq!(
            Fsync::from_ms(Some(50)),
            Fsync::Every(Duration::from_millis(50))
        );
    }

    #[test]
    fn pending_follows_the_policy() {
        let mut never = Pending::new(Fsync::Never);
        never.wrote();
        assert!(!never.due());
        let mut always = Pending::new(Fsync::Always);
        assert!(!always.due(), "nothing written, nothing to sync");
        always.wrote();
        assert!(always.due());
        assert!(!always.due(), "synced");
        let mut every = Pending::new(Fsync::Every(Duration::from_millis(30)));
        every.wrote();
        assert!(!every.due());
        std::thread::sleep(Duration::from_millis(40));
        every.wrote();
        assert!(
            every.due(),
            "the first unsynced write is older than the interval"
        );
    }

    #[test]
    fn the_mark_outlives_the_process() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("ws/spill.bin");
        let mut m = SeqMark::new(&base);
        assert_eq!(m.read().unwrap(), None);
        m.record(7).unwrap();
        m.record(300).unwrap();
        m.sync().unwrap();
        drop(m);
        assert_eq!(SeqMark::new(&base).read().unwrap(), Some(300));
        assert!(dir.path().join("ws/spill.bin.seq").exists());
    }
}
