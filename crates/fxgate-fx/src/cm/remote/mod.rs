//! Target AutomationComponents on upstream servers (`server = "<upstream name>"`): the
//! ConnectionManager reaches them over the upstream's live client session
//! (an [`fxgate_plugin::UpstreamLink`]), resolves their nodes there (§13.3) and calls their
//! EstablishConnections and CloseConnections methods with upstream-native NodeIds.
//!
//! - [`session`]: one run's view of an upstream: its NamespaceArray (read fresh per run),
//!   TranslateBrowsePathsToNodeIds, Browse and Read.
//! - [`resolve`]: the component, its methods, the FunctionalEntity and the variables of an
//!   endpoint configuration.
//! - [`call`]: the method calls, with the FX structures encoded and decoded against the
//!   upstream's namespaces.
//! - [`set`]: the remote endpoints of a set, resolved for one run.

pub mod call;
pub mod resolve;
pub mod session;
pub mod set;

use std::sync::Arc;

use opcua::types::{NamespaceMap, NodeId, PortableQualifiedName, StatusCode};

use crate::types::NodeIdValuePair;

/// Why working with an upstream server's AutomationComponent failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RemoteError {
    /// The gateway aggregates no upstream servers, or none of this name.
    #[error("no upstream server `{0}`")]
    UnknownServer(String),
    /// The upstream has no live session (FxErrorEnum TargetServerConnectionError).
    #[error("upstream `{0}` is not connected")]
    NotConnected(String),
    /// A service call failed as a whole.
    #[error("{service} on upstream `{server}` failed: {status}")]
    Service {
        /// The upstream.
        server: String,
        /// The service.
        service: &'static str,
        /// Why.
        status: StatusCode,
    },
    /// The upstream's NamespaceArray lacks a namespace (ResolvingNamespacesError).
    #[error("namespace `{uri}` is not in the NamespaceArray of upstream `{server}`")]
    UnknownNamespace {
        /// The upstream.
        server: String,
        /// The namespace URI.
        uri: String,
    },
    /// A browse path leads nowhere (ResolvingPathsError).
    #[error("browse path {path} leads to no node on upstream `{server}`")]
    NoMatch {
        /// The upstream.
        server: String,
        /// The path as text.
        path: String,
    },
    /// A browse path leads to more than one node.
    #[error("browse path {path} leads to more than one node on upstream `{server}`")]
    Ambiguous {
        /// The upstream.
        server: String,
        /// The path as text.
        path: String,
    },
    /// A configured node text is no valid portable NodeId.
    #[error("`{0}` is not a valid portable NodeId")]
    InvalidNodeId(String),
    /// An answer of the upstream is not what the service or method defines.
    #[error("upstream `{server}`: {what}")]
    Answer {
        /// The upstream.
        server: String,
        /// What is wrong.
        what: String,
    },
}

/// An AutomationComponent on an upstream server, with upstream-native NodeIds.
#[derive(Debug, Clone)]
pub struct RemoteAc {
    /// The upstream's name (`[[upstream]] name`).
    pub server: String,
    /// The upstream's endpoint URL (the RelatedEndpoint Address of its peers).
    pub url: String,
    /// The component as configured (for messages).
    pub name: String,
    /// The component's node.
    pub object: NodeId,
    /// Its BrowseName.
    pub browse_name: PortableQualifiedName,
    /// Its EstablishConnections method.
    pub establish: NodeId,
    /// Its CloseConnections method.
    pub close: NodeId,
    /// The index of the FX AC namespace on the upstream.
    pub ac_ns: u16,
    /// The upstream's namespaces (for encoding and decoding the FX structures).
    pub namespaces: Arc<NamespaceMap>,
}

/// An endpoint configuration resolved on an upstream server.
#[derive(Debug, Clone)]
pub struct RemoteEndpoint {
    /// The component.
    pub ac: Arc<RemoteAc>,
    /// The FunctionalEntity.
    pub fe: NodeId,
    /// BrowseNames from FxRoot to the FunctionalEntity.
    pub fe_path: Vec<PortableQualifiedName>,
    /// InputVariableIds.
    pub inputs: Vec<NodeId>,
    /// OutputVariableIds.
    pub outputs: Vec<NodeId>,
    /// ExpectedVerificationVariables.
    pub verify: Vec<NodeIdValuePair>,
    /// ConfigurationData.
    pub configuration: Vec<NodeIdValuePair>,
}
