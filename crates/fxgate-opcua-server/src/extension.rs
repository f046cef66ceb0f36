//! The extension point of the OPC UA server: what aggregation, OPC UA FX and any later
//! address-space feature hand to the server (after async-opcua's own node manager and type
//! loader hooks). The server crate knows none of them; the topology passes the extensions in.

use std::sync::Arc;

use fxgate_config::Role;
use fxgate_core::TagStore;
use opcua::server::node_manager::{NodeManagerBuilder, ServerContext};
use opcua::types::{NodeId, TypeLoader};
use tokio_util::sync::CancellationToken;

/// A node manager builder an extension hands to the server.
pub type BoxedNodeManagerBuilder = Box<dyn NodeManagerBuilder + Send>;

/// What an extension's node managers may use when the server is built.
pub struct ExtensionContext {
    /// The finished tag store.
    pub store: Arc<TagStore>,
    /// The namespace URI of the tag store's variables.
    pub tags_namespace: &'static str,
    /// The endpoint URL clients are told to use.
    pub endpoint_url: String,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
}

/// An extension of the server's address space.
pub trait ServerExtension: Send + Sync {
    /// The extension's name, for logs.
    fn name(&self) -> &str;

    /// Namespace URIs the extension serves, in the order they are added to the persisted
    /// namespace table (so that their indexes stay stable across restarts).
    fn namespaces(&self) -> Vec<String> {
        Vec::new()
    }

    /// A diverter of calls and reads that async-opcua gives the core (namespace 0) node
    /// manager ([`crate::core_calls`]), e.g. standard methods called on the extension's objects.
    fn core_diverter(&self) -> Option<crate::DiverterBuilder> {
        None
    }

    /// The extension's node managers, added after the tag node manager in extension order.
    fn node_managers(&self, cx: &ExtensionContext) -> Vec<BoxedNodeManagerBuilder>;

    /// Type loaders for the structures the extension's namespaces define.
    fn type_loaders(&self) -> Vec<Arc<dyn TypeLoader>> {
        Vec::new()
    }

    /// The roles of which a user needs one to call `method`, if the extension owns that
    /// method and it needs other roles than `write` (the default for methods).
    fn method_roles(&self, _method: &NodeId) -> Option<&'static [Role]> {
        None
    }
}

/// The extensions of one server, in order.
pub type Extensions = Arc<Vec<Arc<dyn ServerExtension>>>;

/// Lets a boxed builder be passed where async-opcua takes `impl NodeManagerBuilder`.
pub(crate) struct Boxed(pub BoxedNodeManagerBuilder);

impl NodeManagerBuilder for Boxed {
    fn build(self: Box<Self>, context: ServerContext) -> Arc<opcua::server::node_manager::DynNodeManager> {
        self.0.build(context)
    }
}
