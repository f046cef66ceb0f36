//! The gateway namespaces of upstream servers: `<upstream>/<namespace URI>` entries of the
//! persisted, append-only namespace table (seed 000 §4.8, OPC 10000-8 A.4.2.3). An entry's
//! index in the table is its namespace index in the gateway, so indexes never change across
//! restarts, reordered upstream namespace arrays, or added and removed upstreams.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// The table shared by everyone who appends to it (the DA API and the aggregation).
pub type SharedTable = fxgate_core::SharedNamespaceTable;

/// Why an upstream's namespaces could not be given gateway indexes.
#[derive(Debug, thiserror::Error)]
pub enum NamesError {
    /// Writing the table failed.
    #[error("{0}")]
    Table(#[from] fxgate_core::NamespaceError),
    /// Another user of the table panicked while holding it.
    #[error("namespace table lock poisoned")]
    Poisoned,
    /// A table index is already used by one of the gateway's own namespaces.
    #[error("namespace {key} has table index {index}, which the server uses for {other}")]
    Collision {
        /// The upstream key.
        key: String,
        /// Its index.
        index: u16,
        /// The server namespace at that index.
        other: String,
    },
}

/// The table key of an upstream namespace.
pub fn key(upstream: &str, uri: &str) -> String {
    format!("{upstream}/{uri}")
}

/// The upstream namespaces the gateway serves, by gateway index.
pub struct UpstreamNamespaces {
    table: SharedTable,
    /// Indexes the server assigned to its own namespaces (never given to upstreams).
    reserved: std::sync::RwLock<BTreeMap<u16, String>>,
    /// Gateway index → (upstream, key) of the namespaces currently served.
    served: std::sync::RwLock<BTreeMap<u16, (String, String)>>,
    /// The indexes of `served` as a bit set (bit `i % 64` of word `i / 64`), changed under
    /// its write lock: whether a namespace is an upstream's is asked for every node of every
    /// request, without a lock.
    served_bits: ServedBits,
}

/// A bit per namespace index.
struct ServedBits(Box<[AtomicU64]>);

impl Default for ServedBits {
    fn default() -> Self {
        Self((0..=u16::MAX as usize / 64).map(|_| AtomicU64::new(0)).collect())
    }
}

impl ServedBits {
    fn word(&self, index: u16) -> (&AtomicU64, u64) {
        (&self.0[usize::from(index) / 64], 1u64 << (index % 64))
    }

    fn set(&self, index: u16, on: bool) {
        let (w, bit) = self.word(index);
        if on {
            w.fetch_or(bit, Ordering::Release);
        } else {
            w.fetch_and(!bit, Ordering::Release);
        }
    }

    fn get(&self, index: u16) -> bool {
        let (w, bit) = self.word(index);
        w.load(Ordering::Acquire) & bit != 0
    }
}

impl UpstreamNamespaces {
    /// Over the shared `table`.
    pub fn new(table: SharedTable) -> Self {
        Self {
            table,
            reserved: Default::default(),
            served: Default::default(),
            served_bits: ServedBits::default(),
        }
    }

    /// Records the server's own namespaces (index → URI), which upstreams must not collide with.
    pub fn reserve(&self, own: impl IntoIterator<Item = (u16, String)>) {
        if let Ok(mut r) = self.reserved.write() {
            r.extend(own);
        }
    }

    /// Serves the namespaces the table already holds for `upstream`, so that its NodeIds
    /// resolve (to Bad_NoCommunication) before it first connects. Returns their indexes.
    pub fn serve_known(&self, upstream: &str) -> Vec<u16> {
        let prefix = format!("{upstream}/");
        let found: Vec<(u16, String)> = match self.table.lock() {
            Ok(t) => t
                .uris()
                .iter()
                .enumerate()
                .filter(|(_, u)| u.starts_with(&prefix))
                .map(|(i, u)| (i as u16, u.clone()))
                .collect(),
            Err(_) => return Vec::new(),
        };
        let reserved = self.reserved.read().map(|r| r.clone()).unwrap_or_default();
        let mut served = match self.served.write() {
            Ok(s) => s,
            Err(_) => return Vec::new(),
        };
        found
            .into_iter()
            .filter(|(i, _)| !reserved.contains_key(i))
            .map(|(i, k)| {
                served.insert(i, (upstream.to_string(), k));
                self.served_bits.set(i, true);
                i
            })
            .collect()
    }

    /// Gives each of `uris` (an upstream's NamespaceArray, in its order) its gateway index,
    /// appending new keys to the table, and serves them.
    pub fn register(&self, upstream: &str, uris: &[String]) -> Result<Vec<u16>, NamesError> {
        let keys: Vec<String> = uris.iter().map(|u| key(upstream, u)).collect();
        let indexes: Vec<u16> = {
            let mut t = self.table.lock().map_err(|_| NamesError::Poisoned)?;
            if t.ensure(keys.iter().map(String::as_str))? {
                tracing::info!(upstream, namespaces = t.uris().len(), "namespace table extended");
            }
            keys.iter().map(|k| t.index_of(k).unwrap_or(u16::MAX)).collect()
        };
        let reserved = self.reserved.read().map_err(|_| NamesError::Poisoned)?;
        for (k, i) in keys.iter().zip(&indexes) {
            if let Some(other) = reserved.get(i) {
                return Err(NamesError::Collision {
                    key: k.clone(),
                    index: *i,
                    other: other.clone(),
                });
            }
        }
        let mut served = self.served.write().map_err(|_| NamesError::Poisoned)?;
        for (k, i) in keys.into_iter().zip(&indexes) {
            served.insert(*i, (upstream.to_string(), k));
            self.served_bits.set(*i, true);
        }
        Ok(indexes)
    }

    /// Stops serving the namespaces of `upstream` (their table entries stay).
    pub fn unserve(&self, upstream: &str) {
        if let Ok(mut s) = self.served.write() {
            s.retain(|i, (u, _)| {
                let keep = u != upstream;
                if !keep {
                    self.served_bits.set(*i, false);
                }
                keep
            });
        }
    }

    /// The upstream whose namespace has gateway index `index`.
    pub fn upstream_of(&self, index: u16) -> Option<String> {
        self.served.read().ok()?.get(&index).map(|(u, _)| u.clone())
    }

    /// Whether gateway namespace `index` is served for an upstream (lock-free).
    pub fn is_served(&self, index: u16) -> bool {
        self.served_bits.get(index)
    }

    /// `f` of the name of the upstream whose namespace has gateway index `index`, without
    /// copying the name (for the per-node checks of every request).
    pub fn with_upstream_of<R>(&self, index: u16, f: impl FnOnce(&str) -> R) -> Option<R> {
        self.served.read().ok()?.get(&index).map(|(u, _)| f(u))
    }

    /// (index, key) of every served namespace.
    pub fn served(&self) -> Vec<(u16, String)> {
        self.served
            .read()
            .map(|s| s.iter().map(|(i, (_, k))| (*i, k.clone())).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fxgate_core::NamespaceTable;
    use std::sync::{Arc, Mutex};

    #[test]
    fn indexes_are_stable_across_reordering_and_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("namespaces.toml");
        let open = || Arc::new(Mutex::new(NamespaceTable::open(&path).unwrap()));
        let names = UpstreamNamespaces::new(open());
        names.reserve([(0, "http://opcfoundation.org/UA/".to_string())]);
        let uris = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = names
            .register("plc1", &uris(&["http://opcfoundation.org/UA/", "urn:a", "urn:b"]))
            .unwrap();
        let b = names.register("plc2", &uris(&["http://opcfoundation.org/UA/", "urn:a"])).unwrap();
        assert_eq!(a, [1, 2, 3]);
        assert_eq!(b, [4, 5]);
        // plc1 comes back with its namespaces reordered: same gateway indexes
        let again = names
            .register("plc1", &uris(&["http://opcfoundation.org/UA/", "urn:b", "urn:a"]))
            .unwrap();
        assert_eq!(again, [1, 3, 2]);
        assert_eq!(names.upstream_of(5).as_deref(), Some("plc2"));
        // after a restart, before anything connects, the known namespaces are served
        let restarted = UpstreamNamespaces::new(open());
        assert_eq!(restarted.serve_known("plc1"), [1, 2, 3]);
        assert_eq!(restarted.upstream_of(2).as_deref(), Some("plc1"));
        assert_eq!(restarted.upstream_of(4), None);
        assert!(restarted.is_served(2) && !restarted.is_served(4) && !restarted.is_served(u16::MAX));
        restarted.unserve("plc1");
        assert_eq!(restarted.upstream_of(2), None);
        assert!(!restarted.is_served(2));
    }
}
