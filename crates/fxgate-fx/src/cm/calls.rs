//! The EstablishConnections calls of a set (asset verifications, then each connection's
//! Endpoint1 and Endpoint2, each told the other as its RelatedEndpoint) and the local endpoints
//! ActionRemoveConnections closes. Endpoints on upstream servers come resolved
//! ([`RemoteEnds`]); local ones are resolved here against the FX address space.

use crate::config::cm::EndpointConfig;
use opcua::server::address_space::AddressSpace;

use super::plan::{self, Call, Peer};
use super::process::Failure;
use super::remote::set::{RemoteEnds, Which};
use super::remote::RemoteEndpoint;
use super::resolve::Resolver;
use super::target::{Created, Target};
use crate::model::Entity;
use crate::node_manager::FxNodeManagerImpl;

/// One end of a connection, resolved.
enum End<'a> {
    /// On a local component (its index) and entity.
    Local(usize, &'a Entity),
    /// On an upstream server.
    Remote(&'a RemoteEndpoint),
}

impl End<'_> {
    /// This end as the peer of the other one; `remote_caller`: the other end is on an upstream
    /// server, so a local end is named with this server's URL.
    fn peer(&self, nm: &FxNodeManagerImpl, e: &EndpointConfig, remote_caller: bool) -> Peer {
        match self {
            End::Local(c, fe) => {
                let name = nm.model().components.get(*c).map(|x| x.name.clone()).unwrap_or_default();
                let mut peer = Peer::local(&name, fe, e);
                if remote_caller {
                    peer.address = nm.endpoint_url().to_string();
                }
                peer
            }
            End::Remote(ep) => Peer::remote(ep, e),
        }
    }

    fn is_remote(&self) -> bool {
        matches!(self, End::Remote(_))
    }

    /// The call creating endpoint `e` at this end, related to `peer`.
    fn call(&self, r: &Resolver<'_>, e: &EndpointConfig, peer: &Peer) -> Result<Call, Failure> {
        match self {
            End::Local(c, fe) => Ok(plan::endpoint(r, *c, fe, e, peer)?),
            End::Remote(ep) => Ok(plan::remote_endpoint(ep, e, peer)),
        }
    }
}

/// Resolves end `which` of connection `j` (configured as `e`).
fn end<'a>(r: &'a Resolver<'_>, remotes: &'a RemoteEnds, j: usize, which: Which, e: &EndpointConfig) -> Result<End<'a>, Failure> {
    if e.server.is_empty() {
        let (c, fe) = r.entity(e)?;
        return Ok(End::Local(c, fe));
    }
    remotes
        .get(j, which)
        .map(End::Remote)
        .ok_or_else(|| Failure::Unresolved(format!("endpoint `{}` on upstream `{}`", e.name, e.server)))
}

/// Which end of which connection a call or a failure concerns (None: an asset verification).
pub type At = Option<(usize, Which)>;

/// The EstablishConnections calls of `set`, in order, each with the end it creates; a failure
/// comes with the end whose resolution failed.
pub fn plan_set(
    nm: &FxNodeManagerImpl,
    space: &AddressSpace,
    set: &super::Set,
    remotes: &RemoteEnds,
) -> Result<Vec<(At, Call)>, (Failure, At)> {
    let Some(types) = nm.type_tree() else { return Ok(vec![]) };
    let types = types.read();
    let r = Resolver { nm, space, namespaces: types.namespaces(), types: &*types };
    let mut calls = Vec::new();
    for a in &set.config.asset_verification {
        calls.push((None, plan::asset(&r, a).map_err(|e| (Failure::from(e), None))?));
    }
    for (j, conn) in set.config.connection.iter().enumerate() {
        let (one, two) = (Some((j, Which::One)), Some((j, Which::Two)));
        let e1 = &conn.endpoint1;
        let end1 = end(&r, remotes, j, Which::One, e1).map_err(|f| (f, one))?;
        match &conn.endpoint2 {
            Some(e2) => {
                let end2 = end(&r, remotes, j, Which::Two, e2).map_err(|f| (f, two))?;
                let peer1 = end1.peer(nm, e1, end2.is_remote());
                let peer2 = end2.peer(nm, e2, end1.is_remote());
                calls.push((one, end1.call(&r, e1, &peer2).map_err(|f| (f, one))?));
                calls.push((two, end2.call(&r, e2, &peer1).map_err(|f| (f, two))?));
            }
            None => calls.push((one, end1.call(&r, e1, &Peer::configured(e1)).map_err(|f| (f, one))?)),
        }
    }
    Ok(calls)
}

/// The local endpoints of `set` that exist (found by FunctionalEntity and name).
pub fn local_endpoints(nm: &FxNodeManagerImpl, space: &AddressSpace, set: &super::Set) -> Result<Vec<Created>, Failure> {
    let Some(types) = nm.type_tree() else { return Ok(vec![]) };
    let types = types.read();
    let r = Resolver { nm, space, namespaces: types.namespaces(), types: &*types };
    let registry = nm.endpoints().lock();
    let mut out = Vec::new();
    for conn in &set.config.connection {
        for e in std::iter::once(&conn.endpoint1).chain(conn.endpoint2.as_ref()).filter(|e| e.server.is_empty()) {
            let (c, fe) = r.entity(e)?;
            out.extend(
                registry
                    .iter()
                    .filter(|x| x.entity == fe.node && x.name == e.name)
                    .map(|x| Created { target: Target::Local(c), node: x.node.clone(), fe: x.entity.clone() }),
            );
        }
    }
    Ok(out)
}
