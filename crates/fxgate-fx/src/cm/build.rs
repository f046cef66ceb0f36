//! The nodes of the ConnectionManager (§6.7.2, the well-known `4:ConnectionManager` instance
//! of the CM NodeSet with its official NodeIds) and of each ConnectionConfigurationSet
//! (§6.8.2, in fxgate's instance namespace): the state machine, RollbackOnError, Lock, the
//! `<Connection>`s with their Endpoint1/Endpoint2 configurations, one
//! `<AutomationComponentConfiguration>` per target component and a `<ServerAddress>` for the
//! local server.

use crate::config::{ConnectionManagerConfig, ConnectionSetConfig, EndpointConfig};
use opcua::nodes::{EventNotifier, MethodBuilder, ObjectBuilder, VariableBuilder};
use opcua::server::address_space::AddressSpace;
use opcua::types::{
    DataTypeId, ExtensionObject, LocalizedText, MessageSecurityMode, NodeId,
    ObjectTypeId, PortableNodeId, QualifiedName, UAString, VariableTypeId, Variant,
};

use std::sync::Arc;

use super::edit_write::Field;
use super::remote::set::Which;
use super::state::{MachineNodes, State};
use super::{ConnectionManager, Runtime, Set};
use crate::model::Model;
use crate::variables::Kind;
use crate::namespaces::FX_INSTANCES;
use crate::types::def::TypeRef;
use crate::types::declared_arguments;
use crate::types::ids::{ac, cm};
use crate::types::{PortableNodeIdentifier, ServerAddressDataType};

/// Builds the ConnectionManager of `cfg` below FxRoot of `model`, with the changes kept in
/// `store` (CloseAndUpdate and Edit before the last restart) applied.
pub fn build(space: &mut AddressSpace, model: &Model, cfg: &ConnectionManagerConfig, store: Option<super::persist::Store>) -> ConnectionManager {
    let ns = model.ns;
    let mut b = Builder { space, model };
    let node = NodeId::new(ns.cm, cm::FX_ROOT_CONNECTION_MANAGER);
    ObjectBuilder::new(&node, QualifiedName::new(ns.cm, "ConnectionManager"), "ConnectionManager")
        .has_type_definition(NodeId::new(ns.cm, cm::CONNECTION_MANAGER_TYPE))
        .event_notifier(EventNotifier::SUBSCRIBE_TO_EVENTS)
        .organized_by(model.root.clone())
        .insert(b.space);
    let folder = NodeId::new(ns.cm, cm::FX_ROOT_CONNECTION_MANAGER_CONNECTION_CONFIGURATION_SETS);
    ObjectBuilder::new(&folder, QualifiedName::new(ns.cm, "ConnectionConfigurationSets"), "ConnectionConfigurationSets")
        .has_type_definition(ObjectTypeId::FolderType)
        .component_of(node.clone())
        .insert(b.space);
    let process = b.method(
        &node,
        "ProcessConnectionConfigurationSets",
        cm::CONNECTION_MANAGER_TYPE_PROCESS_CONNECTION_CONFIGURATION_SETS,
        [
            cm::FX_ROOT_CONNECTION_MANAGER_PROCESS_CONNECTION_CONFIGURATION_SETS,
            cm::FX_ROOT_CONNECTION_MANAGER_PROCESS_CONNECTION_CONFIGURATION_SETS_INPUT_ARGUMENTS,
            cm::FX_ROOT_CONNECTION_MANAGER_PROCESS_CONNECTION_CONFIGURATION_SETS_OUTPUT_ARGUMENTS,
        ],
    );
    let edit = b.method(
        &node,
        "EditConnectionConfigurationSets",
        cm::CONNECTION_MANAGER_TYPE_EDIT_CONNECTION_CONFIGURATION_SETS,
        [
            cm::FX_ROOT_CONNECTION_MANAGER_EDIT_CONNECTION_CONFIGURATION_SETS,
            cm::FX_ROOT_CONNECTION_MANAGER_EDIT_CONNECTION_CONFIGURATION_SETS_INPUT_ARGUMENTS,
            cm::FX_ROOT_CONNECTION_MANAGER_EDIT_CONNECTION_CONFIGURATION_SETS_OUTPUT_ARGUMENTS,
        ],
    );
    let aggregated_current_state = b.variable(
        &node,
        "ConnectionManager/AggregatedCurrentState",
        QualifiedName::new(ns.cm, "AggregatedCurrentState"),
        DataTypeId::Boolean.into(),
        false.into(),
    );
    let file = super::file::ConfigFile::build(b.space, model, &node);
    let changes = store.as_ref().map(|s| s.load()).unwrap_or_default();
    let sets = changes
        .apply(cfg)
        .iter()
        .map(|(s, version)| Arc::new(b.set(&folder, &node, s, &format!("ConnectionManager/{}", s.name), *version)))
        .collect();
    let persist = store.map(|s| (s, parking_lot::Mutex::new(changes)));
    ConnectionManager { node, process, edit, aggregated_current_state, folder, sets: parking_lot::RwLock::new(sets), file, persist,
        max_inactive_lock_time: std::time::Duration::from_millis(cfg.max_inactive_lock_time_ms),
    }
}

/// Builds the nodes of a set added at run time (CloseAndUpdate): Version 1, state Ready, held by
/// the ConnectionManager.
/// `path` is the set's NodeId (string, instance namespace), the prefix of its nodes'.
pub fn add_set(space: &mut AddressSpace, model: &Model, cm: &ConnectionManager, cfg: &ConnectionSetConfig, path: &str) -> Set {
    Builder { space, model }.set(&cm.folder, &cm.node, cfg, path, 1)
}

struct Builder<'a> {
    space: &'a mut AddressSpace,
    model: &'a Model,
}

impl Builder<'_> {
    /// A method of the ConnectionManager with the CM NodeSet's instance ids `[method, inputs,
    /// outputs]` and the arguments of its declaration `declared`.
    fn method(&mut self, manager: &NodeId, name: &str, declared: u32, ids: [u32; 3]) -> NodeId {
        let ns = self.model.ns;
        let id = NodeId::new(ns.cm, ids[0]);
        let (inputs, outputs) = declared_arguments(TypeRef::cm(declared), &ns).unwrap_or_default();
        MethodBuilder::new(&id, QualifiedName::new(ns.cm, name), name)
            .executable(true)
            .user_executable(true)
            .component_of(manager.clone())
            .input_args(self.space, &NodeId::new(ns.cm, ids[1]), &inputs)
            .output_args(self.space, &NodeId::new(ns.cm, ids[2]), &outputs)
            .insert(self.space);
        id
    }

    fn id(&self, path: &str) -> NodeId {
        NodeId::new(self.model.ns.instances, path.to_string())
    }

    fn cm_name(&self, name: &str) -> QualifiedName {
        QualifiedName::new(self.model.ns.cm, name)
    }

    fn object(&mut self, parent: &NodeId, path: &str, name: QualifiedName, type_id: NodeId) -> NodeId {
        let id = self.id(path);
        let display = name.name.as_ref().to_string();
        ObjectBuilder::new(&id, name, display).has_type_definition(type_id).component_of(parent.clone()).insert(self.space);
        id
    }

    fn variable(&mut self, parent: &NodeId, path: &str, name: QualifiedName, data_type: NodeId, value: Variant) -> NodeId {
        self.typed_variable(parent, path, name, data_type, value, Kind::Component(VariableTypeId::BaseDataVariableType))
    }

    fn property(&mut self, parent: &NodeId, path: &str, name: QualifiedName, data_type: NodeId, value: Variant) -> NodeId {
        self.typed_variable(parent, path, name, data_type, value, Kind::Property)
    }

    fn typed_variable(&mut self, parent: &NodeId, path: &str, name: QualifiedName, data_type: NodeId, value: Variant, kind: Kind) -> NodeId {
        let id = self.id(path);
        crate::variables::insert(self.space, parent, &id, name, data_type, value, kind);
        id
    }

    fn set(&mut self, folder: &NodeId, manager: &NodeId, cfg: &ConnectionSetConfig, path: &str, version: u32) -> Set {
        let ns = self.model.ns;
        let path = path.to_string();
        let node = self.id(&path);
        let parent = self.folder(folder, &cfg.folder);
        ObjectBuilder::new(&node, QualifiedName::new(ns.instances, cfg.name.as_str()), cfg.name.as_str())
            .has_type_definition(NodeId::new(ns.cm, cm::CONNECTION_CONFIGURATION_SET_TYPE))
            .organized_by(parent)
            .insert(self.space);
        let machine = self.machine(&node, &path);
        let rollback = self.property(&node, &format!("{path}/RollbackOnError"), self.cm_name("RollbackOnError"), DataTypeId::Boolean.into(), cfg.rollback_on_error.into());
        let mut editable = vec![(rollback, Field::RollbackOnError)];
        let (lock, lock_methods) = self.lock(&node, &path, manager);
        let edit = self.property(&node, &format!("{path}/Edit"), self.cm_name("Edit"), DataTypeId::Boolean.into(), false.into());
        let version_node = self.property(&node, &format!("{path}/Version"), self.cm_name("Version"), DataTypeId::UInt32.into(), version.into());
        // <AutomationComponentConfiguration> per target component, <ServerAddress> for this server
        let mut components: Vec<(String, NodeId)> = Vec::new();
        let ends = cfg.connection.iter().flat_map(|c| std::iter::once(&c.endpoint1).chain(c.endpoint2.as_ref()));
        let acs = ends.map(|e| e.automation_component.clone()).chain(cfg.asset_verification.iter().map(|a| a.automation_component.clone()));
        for ac_name in acs {
            if components.iter().all(|(n, _)| n != &ac_name) {
                let id = self.component_configuration(&node, &path, &ac_name);
                components.push((ac_name, id));
            }
        }
        self.server_address(&node, &path, components.iter().map(|(_, id)| id));
        for (j, c) in cfg.connection.iter().enumerate() {
            let conn_path = format!("{path}/{}", c.name);
            let conn = self.id(&conn_path);
            ObjectBuilder::new(&conn, QualifiedName::new(ns.instances, c.name.as_str()), c.name.as_str())
                .has_type_definition(NodeId::new(ns.cm, cm::CONNECTION_CONFIGURATION_TYPE))
                .insert(self.space);
            self.space.insert_reference(&node, &conn, NodeId::new(ns.cm, cm::HAS_CONNECTION_CONFIGURATION));
            for (which, e) in std::iter::once(("Endpoint1", &c.endpoint1)).chain(c.endpoint2.as_ref().map(|e| ("Endpoint2", e))) {
                let (ep, name, cleanup) = self.endpoint(&conn, &format!("{conn_path}/{which}"), which, e);
                let end = if which == "Endpoint1" { Which::One } else { Which::Two };
                editable.push((name, Field::Name(j, end)));
                editable.push((cleanup, Field::CleanupTimeout(j, end)));
                if let Some((_, acc)) = components.iter().find(|(n, _)| n == &e.automation_component) {
                    self.space.insert_reference(acc, &ep, NodeId::new(ns.cm, cm::TO_CONNECTION_ENDPOINT_CONFIGURATION));
                }
            }
        }
        // ConnectionsDiagnostics (§6.8.2, §10.19): one element per connection, no activity yet
        let diagnostics = self.id(&format!("{path}/ConnectionsDiagnostics"));
        let initial: Vec<_> = cfg
            .connection
            .iter()
            .map(|c| super::diagnostics::initial(QualifiedName::new(ns.instances, c.name.as_str())))
            .collect();
        VariableBuilder::new(&diagnostics, self.cm_name("ConnectionsDiagnostics"), "ConnectionsDiagnostics")
            .data_type(NodeId::new(ns.instances, crate::types::ids::fxgate::CONNECTION_DIAGNOSTICS_DATA_TYPE))
            .value_rank(1)
            .value(super::diagnostics::value(initial))
            .has_type_definition(opcua::types::VariableTypeId::BaseDataVariableType)
            .component_of(node.clone())
            .insert(self.space);
        for (n, _) in &editable {
            if let Some(opcua::nodes::NodeType::Variable(v)) = self.space.find_mut(n) {
                let rw = opcua::nodes::AccessLevel::CURRENT_READ | opcua::nodes::AccessLevel::CURRENT_WRITE;
                v.set_access_level(rw);
                v.set_user_access_level(rw);
            }
        }
        let runtime = parking_lot::Mutex::new(Runtime { version, ..Runtime::default() });
        let values = machine.state_values(&ns, State::Ready);
        for (id, v) in values {
            if let Some(opcua::nodes::NodeType::Variable(var)) = self.space.find_mut(&id) {
                var.set_value_direct(v, opcua::types::StatusCode::Good, &opcua::types::DateTime::now(), &opcua::types::DateTime::now())
                    .ok();
            }
        }
        Set { name: cfg.name.clone(), node, config: cfg.clone(), machine, lock_methods, diagnostics, edit, version: version_node, lock, editable, runtime }
    }

    /// The folder `path` below ConnectionConfigurationSets (`root`), made where missing
    /// (NodeIds `ConnectionManager/Folders/<a>/<b>…`).
    fn folder(&mut self, root: &NodeId, path: &[String]) -> NodeId {
        let mut parent = root.clone();
        let mut p = String::from("ConnectionManager/Folders");
        for part in path {
            p = format!("{p}/{part}");
            let id = self.id(&p);
            if !self.space.node_exists(&id) {
                ObjectBuilder::new(&id, QualifiedName::new(self.model.ns.instances, part.as_str()), part.as_str())
                    .has_type_definition(ObjectTypeId::FolderType)
                    .organized_by(parent.clone())
                    .insert(self.space);
            }
            parent = id;
        }
        parent
    }

    fn machine(&mut self, set: &NodeId, path: &str) -> MachineNodes {
        let ns = self.model.ns;
        let m = self.object(
            set,
            &format!("{path}/ConnectionConfigurationSetStateMachine"),
            self.cm_name("ConnectionConfigurationSetStateMachine"),
            NodeId::new(ns.cm, cm::CONNECTION_CONFIGURATION_SET_STATE_MACHINE_TYPE),
        );
        let mp = format!("{path}/ConnectionConfigurationSetStateMachine");
        let lt = DataTypeId::LocalizedText.into();
        let current_state = self.typed_variable(&m, &format!("{mp}/CurrentState"), QualifiedName::new(0, "CurrentState"), lt, LocalizedText::null().into(), Kind::Component(VariableTypeId::FiniteStateVariableType));
        let current_state_id = self.property(&current_state, &format!("{mp}/CurrentState/Id"), QualifiedName::new(0, "Id"), DataTypeId::NodeId.into(), NodeId::null().into());
        let current_state_number = self.property(&current_state, &format!("{mp}/CurrentState/Number"), QualifiedName::new(0, "Number"), DataTypeId::UInt32.into(), 0u32.into());
        let lt = DataTypeId::LocalizedText.into();
        let last_transition = self.typed_variable(&m, &format!("{mp}/LastTransition"), QualifiedName::new(0, "LastTransition"), lt, LocalizedText::null().into(), Kind::Component(VariableTypeId::FiniteTransitionVariableType));
        let last_transition_id = self.property(&last_transition, &format!("{mp}/LastTransition/Id"), QualifiedName::new(0, "Id"), DataTypeId::NodeId.into(), NodeId::null().into());
        let last_transition_number = self.property(&last_transition, &format!("{mp}/LastTransition/Number"), QualifiedName::new(0, "Number"), DataTypeId::UInt32.into(), 0u32.into());
        let last_transition_time = self.property(&last_transition, &format!("{mp}/LastTransition/TransitionTime"), QualifiedName::new(0, "TransitionTime"), DataTypeId::UtcTime.into(), opcua::types::DateTime::null().into());
        MachineNodes { current_state, current_state_id, current_state_number, last_transition, last_transition_id, last_transition_number, last_transition_time }
    }

    /// 5:Lock (DI LockingServicesType), held by the ConnectionManager (user "CM") unless a
    /// client edits the set (EditConnectionConfigurationSets); its methods answer
    /// Bad_NotSupported.
    fn lock(&mut self, set: &NodeId, path: &str, manager: &NodeId) -> (crate::model::LockNodes, Vec<NodeId>) {
        let ns = self.model.ns;
        crate::lock_nodes::insert(self.space, &ns, set, path, Some((&manager.to_string(), "CM")))
    }

    fn component_configuration(&mut self, set: &NodeId, path: &str, ac_name: &str) -> NodeId {
        let ns = self.model.ns;
        let p = format!("{path}/AutomationComponents/{ac_name}");
        let id = self.id(&p);
        ObjectBuilder::new(&id, QualifiedName::new(ns.instances, ac_name), ac_name)
            .has_type_definition(NodeId::new(ns.cm, cm::AUTOMATION_COMPONENT_CONFIGURATION_TYPE))
            .insert(self.space);
        self.space.insert_reference(set, &id, NodeId::new(ns.cm, cm::HAS_AUTOMATION_COMPONENT_CONFIGURATION));
        let node = portable(FX_INSTANCES, ac_name);
        self.variable(&id, &format!("{p}/AutomationComponentNode"), self.cm_name("AutomationComponentNode"), NodeId::new(ns.cm, cm::PORTABLE_NODE_IDENTIFIER), node);
        let bundle = self.id(&format!("{p}/CommandBundleRequired"));
        VariableBuilder::new(&bundle, self.cm_name("CommandBundleRequired"), "CommandBundleRequired")
            .data_type(DataTypeId::Boolean)
            .value_rank(-1)
            .value(false)
            .has_type_definition(VariableTypeId::BaseDataVariableType)
            .insert(self.space);
        self.space.insert_reference(&id, &bundle, NodeId::new(ns.cm, cm::HAS_CHARACTERISTIC));
        id
    }

    /// `<ServerAddress>` `Local`: this server (empty Address: the ConnectionManager's own server).
    fn server_address<'n>(&mut self, set: &NodeId, path: &str, components: impl Iterator<Item = &'n NodeId>) {
        let ns = self.model.ns;
        let p = format!("{path}/Local");
        let id = self.id(&p);
        let value = ServerAddressDataType {
            address: UAString::from(""),
            security_mode: MessageSecurityMode::None,
            security_policy_uri: UAString::from(""),
            server_uri: UAString::from(""),
        };
        VariableBuilder::new(&id, QualifiedName::new(ns.instances, "Local"), "Local")
            .data_type(NodeId::new(ns.cm, cm::SERVER_ADDRESS_DATA_TYPE))
            .value_rank(-1)
            .value(ExtensionObject::from_message(value))
            .has_type_definition(NodeId::new(ns.cm, cm::SERVER_ADDRESS_TYPE))
            .insert(self.space);
        self.space.insert_reference(set, &id, NodeId::new(ns.cm, cm::HAS_SERVER_ADDRESS));
        let fields: [(&str, NodeId, Variant); 4] = [
            ("Address", DataTypeId::UriString.into(), UAString::from("").into()),
            ("SecurityMode", DataTypeId::MessageSecurityMode.into(), Variant::Int32(MessageSecurityMode::None as i32)),
            ("SecurityPolicyUri", DataTypeId::String.into(), UAString::from("").into()),
            ("ServerUri", DataTypeId::UriString.into(), UAString::from("").into()),
        ];
        for (name, dt, v) in fields {
            self.variable(&id, &format!("{p}/{name}"), self.cm_name(name), dt, v);
        }
        for c in components {
            self.space.insert_reference(&id, c, NodeId::new(ns.cm, cm::TO_AUTOMATION_COMPONENT_CONFIGURATION));
        }
    }

    /// Endpoint1/Endpoint2: FunctionalEntityNode and the ConnectionEndpoint parameters; returns
    /// its node and its Name and CleanupTimeout variables (written while the set is edited).
    fn endpoint(&mut self, conn: &NodeId, path: &str, which: &str, e: &EndpointConfig) -> (NodeId, NodeId, NodeId) {
        let ns = self.model.ns;
        let id = self.object(conn, path, self.cm_name(which), NodeId::new(ns.cm, cm::CONNECTION_ENDPOINT_CONFIGURATION_TYPE));
        let fe = super::resolve::configured_entity(e);
        self.variable(&id, &format!("{path}/FunctionalEntityNode"), self.cm_name("FunctionalEntityNode"), NodeId::new(ns.cm, cm::PORTABLE_NODE_IDENTIFIER), ExtensionObject::from_message(fe).into());
        let cp = format!("{path}/ConnectionEndpoint");
        let p = self.object(&id, &cp, self.cm_name("ConnectionEndpoint"), NodeId::new(ns.cm, cm::CONNECTION_ENDPOINT_PARAMETER_TYPE));
        let type_id = PortableNodeId {
            namespace_uri: crate::namespaces::FX_AC.into(),
            identifier: NodeId::new(0, ac::PUB_SUB_CONNECTION_ENDPOINT_TYPE),
        };
        let fields: [(&str, NodeId, Variant); 5] = [
            ("Name", DataTypeId::String.into(), UAString::from(e.name.as_str()).into()),
            ("ConnectionEndpointTypeId", DataTypeId::PortableNodeId.into(), ExtensionObject::from_message(type_id).into()),
            ("IsPersistent", DataTypeId::Boolean.into(), false.into()),
            ("CleanupTimeout", DataTypeId::Duration.into(), e.cleanup_timeout.into()),
            ("IsPreconfigured", DataTypeId::Boolean.into(), false.into()),
        ];
        for (name, dt, v) in fields {
            self.variable(&p, &format!("{cp}/{name}"), self.cm_name(name), dt, v);
        }
        (id, self.id(&format!("{cp}/Name")), self.id(&format!("{cp}/CleanupTimeout")))
    }
}

/// A PortableNodeIdentifier with a string NodeId in namespace `uri`.
fn portable(uri: &str, id: &str) -> Variant {
    let node = PortableNodeIdentifier::Node(PortableNodeId { namespace_uri: uri.into(), identifier: NodeId::new(0, id.to_string()) });
    ExtensionObject::from_message(node).into()
}
