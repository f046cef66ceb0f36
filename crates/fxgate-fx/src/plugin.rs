//! `[fx]` as a protocol of the registry: its section validates itself (see
//! [`crate::config`]) and builds an extension of the OPC UA server (OPC 10000-81: the FX
//! namespaces, their type loaders, the FX node manager and the ConnectionAdmin role of §5.9).

use std::sync::Arc;

use fxgate_config::Role;
use fxgate_core::{BuildError, SharedNamespaceTable};
use fxgate_opcua_server::extension::{BoxedNodeManagerBuilder, ExtensionContext, ServerExtension};
use fxgate_plugin::{BuildContext, Protocol, SharedUpstreamLinks};
use opcua::types::{NodeId, TypeLoader};

use crate::config::FxConfig;
use crate::namespaces::{self as ns, FxNamespaces};
use crate::node_manager::{fx_node_manager, AdminMethods};

/// The roles that may call the ConnectionAdmin methods.
const ADMIN_ROLES: &[Role] = &[Role::ConnectionAdmin, Role::Configure];

impl Protocol for FxConfig {
    /// The FX model is always served (an empty `[fx]` still has `FxRoot`); it reaches
    /// upstream servers through the links an earlier protocol offers, if any.
    fn build(&self, _key: &str, cx: &mut BuildContext<'_>) -> Result<(), BuildError> {
        let ext = FxExtension {
            cfg: self.clone(),
            table: cx.namespaces.clone(),
            links: cx.service::<SharedUpstreamLinks>(),
            pubsub_ids: {
                // Filled by the PubSub plug-in, built after FX, when a connection has `fx = true`.
                let slot = fxgate_plugin::FxPubSubSlot::default();
                cx.provide(slot.clone());
                slot
            },
            admin: Arc::new(AdminMethods::default()),
            state_dir: cx.data_dir.join("fx"),
        };
        cx.add_extension(Arc::new(ext));
        Ok(())
    }
}

/// The FX model as an extension of the OPC UA server.
struct FxExtension {
    cfg: FxConfig,
    table: SharedNamespaceTable,
    links: Option<SharedUpstreamLinks>,
    pubsub_ids: fxgate_plugin::FxPubSubSlot,
    admin: Arc<AdminMethods>,
    state_dir: std::path::PathBuf,
}

impl FxExtension {
    /// The table indexes of the FX namespaces (the topology added them in
    /// [`ServerExtension::namespaces`] order).
    fn indexes(&self) -> Option<FxNamespaces> {
        let t = self.table.lock().ok()?;
        Some(FxNamespaces {
            data: t.index_of(ns::FX_DATA)?,
            ac: t.index_of(ns::FX_AC)?,
            cm: t.index_of(ns::FX_CM)?,
            di: t.index_of(ns::DI)?,
            instances: t.index_of(ns::FX_INSTANCES)?,
        })
    }
}

impl ServerExtension for FxExtension {
    fn name(&self) -> &str {
        "OPC UA FX"
    }

    fn namespaces(&self) -> Vec<String> {
        ns::ALL.iter().map(|u| u.to_string()).collect()
    }

    fn node_managers(&self, cx: &ExtensionContext) -> Vec<BoxedNodeManagerBuilder> {
        let Some(wanted) = self.indexes() else {
            tracing::error!("the FX namespaces are missing from the namespace table; FX is not served");
            return Vec::new();
        };
        vec![Box::new(fx_node_manager(
            self.cfg.clone(),
            cx.store.clone(),
            crate::node_manager::FxServices {
                aggregator: self.links.clone(),
                pubsub_ids: self.pubsub_ids.clone(),
                state_dir: self.state_dir.clone(),
            },
            wanted,
            cx.tags_namespace,
            cx.endpoint_url.clone(),
            self.admin.clone(),
        ))]
    }

    fn type_loaders(&self) -> Vec<Arc<dyn TypeLoader>> {
        crate::types::type_loaders()
    }

    fn method_roles(&self, method: &NodeId) -> Option<&'static [Role]> {
        self.admin.needs_connection_admin(method).then_some(ADMIN_ROLES)
    }
}
