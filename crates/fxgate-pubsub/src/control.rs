//! Enable and Disable of connections, writer groups and readers (the Status objects'
//! methods of OPC 10000-14 §9.1.10): one switch per item, shared by the runtime, which checks
//! them, and the information model, whose methods flip them. Everything configured starts
//! enabled; items OPC UA FX makes at run time are added with the Enabled flag they were given
//! and removed with them. The switches are not persisted (a restart enables everything again).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use tokio::sync::watch;

use crate::config::PubSubConfig;

/// The switches of every configured item, by model path: `<connection>`,
/// `<connection>/<writer group>`, `<connection>/Readers/<reader>`.
pub struct Controls {
    items: RwLock<HashMap<String, AtomicBool>>,
    /// Counts the flips, so the loops apply each at once. A watch, not a `Notify`: a loop
    /// busy with a datagram when a switch flips still sees the flip at its next wait.
    flips: watch::Sender<u64>,
}

/// Why a switch was not flipped (the method's status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SwitchError {
    /// No such item.
    #[error("no such PubSub item")]
    Unknown,
    /// Enable of an enabled item or Disable of a disabled one (Bad_InvalidState).
    #[error("already in that state")]
    AlreadySo,
}

impl Controls {
    /// One enabled switch per item of `list`.
    pub fn new(list: &[PubSubConfig]) -> Arc<Self> {
        let mut items = HashMap::new();
        for c in list {
            items.insert(c.name.clone(), AtomicBool::new(true));
            for g in &c.writer_group {
                items.insert(format!("{}/{}", c.name, g.name), AtomicBool::new(true));
            }
            for r in &c.reader {
                items.insert(format!("{}/Readers/{}", c.name, r.name), AtomicBool::new(true));
            }
        }
        Arc::new(Self { items: RwLock::new(items), flips: watch::Sender::new(0) })
    }

    /// A receiver that is told of every flip after this call (`changed().await`).
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.flips.subscribe()
    }

    fn flipped(&self) {
        self.flips.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Whether `path` and its connection are enabled (unknown paths are).
    pub fn enabled(&self, path: &str) -> bool {
        let conn = path.split('/').next().unwrap_or(path);
        let items = self.items.read();
        let on = |p: &str| items.get(p).is_none_or(|b| b.load(Ordering::Relaxed));
        on(conn) && on(path)
    }

    /// Whether the item's own switch is on (its connection aside).
    pub fn own(&self, path: &str) -> Option<bool> {
        self.items.read().get(path).map(|b| b.load(Ordering::Relaxed))
    }

    /// Sets the switch of `path` to `on`.
    pub fn set(&self, path: &str, on: bool) -> Result<(), SwitchError> {
        {
            let items = self.items.read();
            let b = items.get(path).ok_or(SwitchError::Unknown)?;
            if b.swap(on, Ordering::Relaxed) == on {
                return Err(SwitchError::AlreadySo);
            }
        }
        self.flipped();
        Ok(())
    }

    /// Sets the switch of `path` to `on` whatever it was (false when there is no such item).
    pub fn force(&self, path: &str, on: bool) -> bool {
        let known = self.items.read().get(path).map(|b| b.swap(on, Ordering::Relaxed));
        if known.is_some_and(|was| was != on) {
            self.flipped();
        }
        known.is_some()
    }

    /// Adds a switch for an item made at run time.
    pub fn add(&self, path: String, on: bool) {
        self.items.write().insert(path, AtomicBool::new(on));
        self.flipped();
    }

    /// Removes the switch of an item removed at run time.
    pub fn remove(&self, path: &str) {
        self.items.write().remove(path);
        self.flipped();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loop that was busy (not waiting) when a switch flipped still sees the flip.
    #[tokio::test]
    async fn a_flip_is_seen_by_a_loop_that_was_not_waiting() {
        let c = Controls::new(&[]);
        c.add("C/Readers/R".into(), true);
        let mut flips = c.watch();
        assert_eq!(c.set("C/Readers/R", false), Ok(()));
        let seen = tokio::time::timeout(std::time::Duration::from_secs(1), flips.changed()).await;
        assert!(matches!(seen, Ok(Ok(()))), "the flip was missed: {seen:?}");
        assert!(!c.enabled("C/Readers/R"));
        assert_eq!(c.set("C/Readers/R", false), Err(SwitchError::AlreadySo));
        assert_eq!(c.set("C/Readers/X", true), Err(SwitchError::Unknown));
    }
}
