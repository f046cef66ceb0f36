//! The states of the readers OPC UA FX made, as the receive loop reports them, and a counter
//! that moves whenever one may have changed (FX derives endpoint Status from them).

use std::collections::HashMap;

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::reader::ReaderState;

/// Reader states by object, and the change counter.
pub struct StateBoard {
    states: Mutex<HashMap<u32, ReaderState>>,
    tx: watch::Sender<u64>,
}

impl Default for StateBoard {
    fn default() -> Self {
        Self { states: Mutex::new(HashMap::new()), tx: watch::channel(0).0 }
    }
}

impl StateBoard {
    /// Records the state of reader `object`.
    pub fn set(&self, object: u32, state: ReaderState) {
        let changed = self.states.lock().insert(object, state) != Some(state);
        if changed {
            self.bump();
        }
    }

    /// Forgets a removed reader.
    pub fn forget(&self, object: u32) {
        self.states.lock().remove(&object);
        self.bump();
    }

    /// The last reported state of reader `object`.
    pub fn get(&self, object: u32) -> Option<ReaderState> {
        self.states.lock().get(&object).copied()
    }

    /// Moves the change counter (a switch flipped, an object came or went).
    pub fn bump(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver of the change counter.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.tx.subscribe()
    }
}
