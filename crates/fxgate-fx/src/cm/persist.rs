//! What CloseAndUpdate and Edit changed, kept across restarts in
//! `<data dir>/fx/connection_manager.toml`: the sets written (in the configuration's own form,
//! with their Version) and the names removed. At start the configured sets are taken, the
//! removed ones dropped and the written ones put in place (replacing a configured set of the
//! same name), so a set the configuration file still holds unchanged stays as it is there.
//! Written atomically (a temporary file, then a rename); an unreadable file is set aside as
//! `connection_manager.toml.bad` with an error logged, and the configured sets are used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::cm::{ConnectionManagerConfig, ConnectionSetConfig};

/// The file's name in the FX state directory.
pub const FILE: &str = "connection_manager.toml";

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file is not what this module writes.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: toml::de::Error,
    },
    /// The state could not be serialised.
    #[error("serialising the ConnectionManager state: {0}")]
    Serialize(#[from] toml::ser::Error),
}

/// The changes made at run time.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Changes {
    /// Names of sets removed (configured or written before).
    pub removed: Vec<String>,
    /// The Version of each written set.
    pub versions: BTreeMap<String, u32>,
    /// The sets written (added, replaced or edited), in the order they were written.
    pub set: Vec<ConnectionSetConfig>,
}

impl Changes {
    /// A set was added, replaced or committed with `version`.
    pub fn written(&mut self, cfg: &ConnectionSetConfig, version: u32) {
        self.set.retain(|s| s.name != cfg.name);
        self.set.push(cfg.clone());
        self.versions.insert(cfg.name.clone(), version);
    }

    /// A set was removed.
    pub fn removed(&mut self, name: &str) {
        self.set.retain(|s| s.name != name);
        self.versions.remove(name);
        if !self.removed.iter().any(|n| n == name) {
            self.removed.push(name.to_string());
        }
    }

    /// The configured sets with these changes applied, each with its Version.
    pub fn apply(&self, configured: &ConnectionManagerConfig) -> Vec<(ConnectionSetConfig, u32)> {
        let mut out: Vec<(ConnectionSetConfig, u32)> =
            configured.set.iter().filter(|s| !self.removed.contains(&s.name)).map(|s| (s.clone(), 1)).collect();
        for s in &self.set {
            let v = self.versions.get(&s.name).copied().unwrap_or(1);
            match out.iter_mut().find(|(o, _)| o.name == s.name) {
                Some(slot) => *slot = (s.clone(), v),
                None => out.push((s.clone(), v)),
            }
        }
        out
    }
}

/// Where the changes are kept.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    /// The store in directory `dir`.
    pub fn new(dir: &Path) -> Self {
        Self { path: dir.join(FILE) }
    }

    /// The changes kept (none if there is no file). An unreadable file is set aside.
    pub fn load(&self) -> Changes {
        match self.read() {
            Ok(c) => c,
            Err(e) => {
                let bad = self.path.with_extension("toml.bad");
                tracing::error!(error = %e, set_aside = %bad.display(), "FX ConnectionManager state unreadable; the configured sets are used");
                if let Err(e) = std::fs::rename(&self.path, &bad) {
                    tracing::error!(error = %e, "FX ConnectionManager state could not be set aside");
                }
                Changes::default()
            }
        }
    }

    fn read(&self) -> Result<Changes, PersistError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Changes::default()),
            Err(source) => return Err(PersistError::Io { path: self.path.clone(), source }),
        };
        toml::from_str(&text).map_err(|source| PersistError::Parse { path: self.path.clone(), source })
    }

    /// Writes `changes` (atomically).
    pub fn save(&self, changes: &Changes) -> Result<(), PersistError> {
        let text = toml::to_string(changes)?;
        let io = |source| PersistError::Io { path: self.path.clone(), source };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = self.path.with_extension("toml.tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, rollback: bool) -> ConnectionSetConfig {
        ConnectionSetConfig { name: name.into(), rollback_on_error: rollback, ..Default::default() }
    }

    #[test]
    fn changes_apply_over_the_configured_sets_and_survive_a_round_trip() {
        let configured = ConnectionManagerConfig { set: vec![set("A", false), set("B", false), set("C", false)], ..Default::default() };
        let mut c = Changes::default();
        c.written(&set("B", true), 3); // replaced (or edited)
        c.removed("C");
        c.written(&set("D", false), 1); // added
        c.removed("D");
        c.written(&set("D", true), 1); // added again
        let out = c.apply(&configured);
        let names: Vec<(&str, bool, u32)> = out.iter().map(|(s, v)| (s.name.as_str(), s.rollback_on_error, *v)).collect();
        assert_eq!(names, [("A", false, 1), ("B", true, 3), ("D", true, 1)]);
        let dir = std::env::temp_dir().join(format!("fxgate-cm-persist-{}", std::process::id()));
        let store = Store::new(&dir);
        assert_eq!(store.load(), Changes::default(), "no file: no changes");
        store.save(&c).expect("save");
        assert_eq!(store.load(), c);
        std::fs::write(dir.join(FILE), "not = [toml").expect("write");
        assert_eq!(store.load(), Changes::default(), "unreadable: the configured sets");
        assert!(dir.join("connection_manager.toml.bad").exists(), "set aside");
        std::fs::remove_dir_all(&dir).ok();
    }
}
