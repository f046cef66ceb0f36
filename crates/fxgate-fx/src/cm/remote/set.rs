//! The endpoints of a ConnectionConfigurationSet that are on upstream servers, resolved for
//! one run: one session view per upstream (its NamespaceArray read once per run), one
//! resolution per component.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::cm::ConnectionSetConfig;
use fxgate_plugin::SharedUpstreamLinks;
use opcua::types::NodeId;

use super::resolve::{self, Depth};
use super::session::Remote;
use super::{RemoteAc, RemoteEndpoint, RemoteError};

/// Endpoint 1 or 2 of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Which {
    /// Endpoint1.
    One,
    /// Endpoint2.
    Two,
}

/// The resolved remote endpoints of a set, by connection index and endpoint.
#[derive(Default)]
pub struct RemoteEnds {
    ends: HashMap<(usize, Which), RemoteEndpoint>,
    sessions: HashMap<String, Remote>,
}

impl RemoteEnds {
    /// The remote endpoint `which` of connection `conn`, if that endpoint is remote.
    pub fn get(&self, conn: usize, which: Which) -> Option<&RemoteEndpoint> {
        self.ends.get(&(conn, which))
    }

    /// The upstream's view of `server` (opened while resolving).
    pub fn remote(&self, server: &str) -> Option<&Remote> {
        self.sessions.get(server)
    }
}

/// Resolves every endpoint of `set` that names a `server`, to `depth`.
pub async fn resolve(aggregator: Option<&SharedUpstreamLinks>, set: &ConnectionSetConfig, depth: Depth) -> Result<RemoteEnds, RemoteError> {
    resolve_located(aggregator, set, depth).await.map_err(|(e, _)| e)
}

/// As [`resolve`], with the connection index and end of the endpoint that failed.
pub async fn resolve_located(
    aggregator: Option<&SharedUpstreamLinks>,
    set: &ConnectionSetConfig,
    depth: Depth,
) -> Result<RemoteEnds, (RemoteError, (usize, Which))> {
    let mut out = RemoteEnds::default();
    let mut components: HashMap<(String, String), (Arc<RemoteAc>, NodeId)> = HashMap::new();
    for (j, conn) in set.connection.iter().enumerate() {
        let ends = [(Which::One, Some(&conn.endpoint1)), (Which::Two, conn.endpoint2.as_ref())];
        for (which, e) in ends {
            let Some(e) = e.filter(|e| !e.server.is_empty()) else { continue };
            let at = |err| (err, (j, which));
            if !out.sessions.contains_key(&e.server) {
                let remote = Remote::open(aggregator, &e.server).await.map_err(at)?;
                out.sessions.insert(e.server.clone(), remote);
            }
            let Some(remote) = out.sessions.get(&e.server) else { continue };
            let key = (e.server.clone(), e.automation_component.clone());
            let (ac, fx_root) = match components.get(&key) {
                Some(found) => found.clone(),
                None => {
                    let found = resolve::component(remote, &e.automation_component).await.map_err(at)?;
                    components.insert(key, found.clone());
                    found
                }
            };
            let ep = resolve::endpoint(remote, &ac, &fx_root, e, depth).await.map_err(at)?;
            out.ends.insert((j, which), ep);
        }
    }
    Ok(out)
}
