//! Where the ConnectionManager's EstablishConnections and CloseConnections calls go: a local
//! AutomationComponent (run directly on [`ComponentHost`]) or one on an upstream server (called
//! over the upstream's session, [`super::remote::call`]).

use std::sync::Arc;

use opcua::server::address_space::AddressSpace;
use opcua::sync::RwLock;
use opcua::types::{NodeId, StatusCode};

use super::process::Failure;
use super::remote::{call, RemoteAc, RemoteError};
use crate::establish::{self, Outcome, Request};
use crate::host::ComponentHost;
use crate::node_manager::FxNodeManagerImpl;

/// A target AutomationComponent.
#[derive(Debug, Clone)]
pub enum Target {
    /// A local component (its index in the model).
    Local(usize),
    /// A component on an upstream server.
    Remote(Arc<RemoteAc>),
}

impl Target {
    /// The component's name for messages (`<upstream>:<component>` for a remote one).
    pub fn name(&self, nm: &FxNodeManagerImpl) -> String {
        match self {
            Target::Local(c) => nm.model().components.get(*c).map(|x| x.name.clone()).unwrap_or_default(),
            Target::Remote(ac) => format!("{}:{}", ac.server, ac.name),
        }
    }

    fn same(&self, other: &Target) -> bool {
        match (self, other) {
            (Target::Local(a), Target::Local(b)) => a == b,
            (Target::Remote(a), Target::Remote(b)) => a.server == b.server && a.object == b.object,
            _ => false,
        }
    }
}

/// An endpoint a set's run created (or found), on its component.
#[derive(Debug, Clone)]
pub struct Created {
    /// The component.
    pub target: Target,
    /// The endpoint (in the namespaces of the component's server).
    pub node: NodeId,
    /// Its FunctionalEntity (EnableCommunicationCmd names it).
    pub fe: NodeId,
}

/// EstablishConnections on `target`.
pub async fn establish(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, target: &Target, req: &Request) -> Result<Outcome, RemoteError> {
    match target {
        Target::Local(component) => {
            // The ConnectionManager of this server calls as itself.
            let caller = fxgate_core::Caller { client: nm.endpoint_url().to_string(), user: "CM".into() };
            let host = ComponentHost { nm, space, component: *component, caller };
            Ok(establish::establish(&host, req).await)
        }
        Target::Remote(ac) => call::establish(nm.aggregator(), ac, req).await,
    }
}

/// CloseConnections on `endpoints`, grouped per upstream component: with `remove` (Remove=TRUE)
/// they are deleted, else their communication is disabled and their locks released.
pub async fn close(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, endpoints: &[Created], remove: bool) -> Result<(), Failure> {
    let mut first = None;
    let mut groups: Vec<(Arc<RemoteAc>, Vec<NodeId>)> = Vec::new();
    for c in endpoints {
        match &c.target {
            Target::Local(_) if remove => nm.remove_endpoint(space, &c.node),
            Target::Local(_) => nm.disable_endpoint(space, &c.node),
            Target::Remote(ac) => match groups.iter_mut().find(|(g, _)| Target::Remote(g.clone()).same(&c.target)) {
                Some((_, nodes)) => nodes.push(c.node.clone()),
                None => groups.push((ac.clone(), vec![c.node.clone()])),
            },
        }
    }
    for (ac, nodes) in groups {
        let failure = match call::close(nm.aggregator(), &ac, &nodes, remove).await {
            Ok((status, _)) if status == StatusCode::Good => None,
            Ok((status, results)) => {
                tracing::warn!(component = %ac.name, server = %ac.server, %status, ?results, "FX CloseConnections on an upstream");
                Some(Failure::Close { component: format!("{}:{}", ac.server, ac.name), status })
            }
            Err(e) => Some(Failure::Remote(e)),
        };
        if first.is_none() {
            first = failure;
        }
    }
    first.map_or(Ok(()), Err)
}

/// EnableCommunicationCmd on each of `endpoints` (one call each: MaxConnectionsPerCall may be 1).
pub async fn enable(nm: &FxNodeManagerImpl, space: &RwLock<AddressSpace>, endpoints: &[Created]) -> Result<(), Failure> {
    for c in endpoints {
        let config = crate::types::ConnectionEndpointConfigurationDataType {
            functional_entity_node: c.fe.clone(),
            connection_endpoint: crate::types::ConnectionEndpointDefinitionDataType::Node(c.node.clone()),
            expected_verification_variables: None,
            control_groups: None,
            configuration_data: None,
            communication_links: opcua::types::ExtensionObject::null(),
        };
        let req = Request {
            mask: crate::types::FxCommandMask::EnableCommunicationCmd,
            assets: vec![],
            endpoints: vec![config],
            reserve: vec![],
            communication: vec![],
        };
        let out = establish(nm, space, &c.target, &req).await?;
        if out.status != StatusCode::Good {
            return Err(Failure::Establish { component: c.target.name(nm), status: out.status });
        }
    }
    Ok(())
}
