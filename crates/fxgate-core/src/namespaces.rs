//! The gateway's persisted namespace table: namespace URIs in a fixed order that is only
//! ever appended to, so that indexes clients store (DA ItemIDs `ns-3;…`, NodeIds in
//! configurations) keep their meaning across restarts and changes of the servers behind
//! it (OPC 10000-8 A.4.2.3: the Proxy "has to persist its Namespace Table and only append
//! entries").

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Index 0 is always the OPC UA namespace.
pub const UA_NAMESPACE: &str = "http://opcfoundation.org/UA/";

/// Why the table could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    /// Reading or writing the file failed.
    #[error("namespace table {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a valid table.
    #[error("namespace table {path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// More than 65535 namespaces.
    #[error("namespace table {0}: full (65535 namespaces)")]
    Full(PathBuf),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    namespaces: Vec<String>,
}

/// The table shared by everyone who appends to it (the DA item API, the aggregation of
/// upstream servers): one writer of the file at a time.
pub type SharedNamespaceTable = std::sync::Arc<std::sync::Mutex<NamespaceTable>>;

/// The persisted, append-only table.
#[derive(Debug, Clone)]
pub struct NamespaceTable {
    path: PathBuf,
    uris: Vec<String>,
}

impl NamespaceTable {
    /// Loads the table from `path`; a missing file is a table holding only the UA namespace.
    pub fn open(path: &Path) -> Result<Self, NamespaceError> {
        let uris = match std::fs::read_to_string(path) {
            Ok(text) => {
                let invalid = |reason: String| NamespaceError::Invalid {
                    path: path.to_path_buf(),
                    reason,
                };
                let file: File = toml::from_str(&text).map_err(|e| invalid(e.message().to_string()))?;
                if file.namespaces.first().map(String::as_str) != Some(UA_NAMESPACE) {
                    return Err(invalid(format!("entry 0 must be {UA_NAMESPACE}")));
                }
                let mut seen = std::collections::HashSet::new();
                if let Some(dup) = file.namespaces.iter().find(|u| !seen.insert(u.as_str())) {
                    return Err(invalid(format!("`{dup}` appears twice")));
                }
                file.namespaces
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![UA_NAMESPACE.to_string()],
            Err(source) => {
                return Err(NamespaceError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            uris,
        })
    }

    /// The URIs in index order.
    pub fn uris(&self) -> &[String] {
        &self.uris
    }

    /// The index of `uri`, if it is in the table.
    pub fn index_of(&self, uri: &str) -> Option<u16> {
        self.uris.iter().position(|u| u == uri).map(|i| i as u16)
    }

    /// The URI at `index`.
    pub fn uri(&self, index: u16) -> Option<&str> {
        self.uris.get(usize::from(index)).map(String::as_str)
    }

    /// Appends the URIs not yet in the table, in the order given, and writes the file
    /// (atomically: a temporary file renamed over it) if anything was added. Returns
    /// whether the table grew.
    pub fn ensure<'a>(&mut self, uris: impl IntoIterator<Item = &'a str>) -> Result<bool, NamespaceError> {
        let mut grew = false;
        for uri in uris {
            if self.index_of(uri).is_none() {
                if self.uris.len() > usize::from(u16::MAX) {
                    return Err(NamespaceError::Full(self.path.clone()));
                }
                self.uris.push(uri.to_string());
                grew = true;
            }
        }
        if grew {
            self.save()?;
        }
        Ok(grew)
    }

    fn save(&self) -> Result<(), NamespaceError> {
        let io = |source| NamespaceError::Io {
            path: self.path.clone(),
            source,
        };
        let text = toml::to_string_pretty(&File {
            namespaces: self.uris.clone(),
        })
        .map_err(|e| NamespaceError::Invalid {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        let header = "# fxgate's namespace table: indexes clients rely on. Entries are only ever appended;\n# do not reorder or remove them.\n";
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = self.path.with_extension("toml.tmp");
        std::fs::write(&tmp, format!("{header}{text}")).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_persists_and_never_reorders() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("namespaces.toml");
        let mut t = NamespaceTable::open(&path).unwrap();
        assert_eq!(t.uris(), [UA_NAMESPACE]);
        assert!(t.ensure(["urn:a", "urn:b"]).unwrap());
        assert!(!t.ensure(["urn:b", "urn:a"]).unwrap());
        // a server that now lists its namespaces in another order changes nothing
        assert!(t.ensure(["urn:c", "urn:a"]).unwrap());
        let again = NamespaceTable::open(&path).unwrap();
        assert_eq!(again.uris(), [UA_NAMESPACE, "urn:a", "urn:b", "urn:c"]);
        assert_eq!(again.index_of("urn:c"), Some(3));
        assert_eq!(again.uri(1), Some("urn:a"));
        assert_eq!(again.uri(9), None);
    }

    #[test]
    fn broken_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("namespaces.toml");
        std::fs::write(&path, "namespaces = [\"urn:x\"]\n").unwrap();
        assert!(matches!(NamespaceTable::open(&path), Err(NamespaceError::Invalid { .. })));
        std::fs::write(&path, format!("namespaces = [\"{UA_NAMESPACE}\", \"urn:x\", \"urn:x\"]\n")).unwrap();
        assert!(matches!(NamespaceTable::open(&path), Err(NamespaceError::Invalid { .. })));
        std::fs::write(&path, "garbage = ").unwrap();
        assert!(matches!(NamespaceTable::open(&path), Err(NamespaceError::Invalid { .. })));
    }
}
