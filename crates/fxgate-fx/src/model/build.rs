//! Inserting the FX instances into the address space from `[fx]`.

use crate::config::{parse_fx_version, AssetConfig, AutomationComponentConfig, FunctionalEntityConfig, FxConfig};
use fxgate_core::TagStore;
use opcua::nodes::{MethodBuilder, ObjectBuilder, VariableBuilder};
use opcua::server::address_space::AddressSpace;
use opcua::types::{
    Argument, DataTypeId, LocalizedText, NodeId, ObjectId, ObjectTypeId, QualifiedName, ReferenceTypeId, UAString,
    Variant, VariableTypeId,
};

use crate::types::def::TypeRef;
use crate::types::declared_arguments;
use crate::types::ids::{ac, data, di};
use super::{Asset, Component, Entity, Model, TagRef};
use crate::namespaces::FxNamespaces;
use crate::variables::Kind;
use crate::verify_asset::NameplateNames;

/// Builds the FX model of `cfg` into `space`. Tags are found in `store`; their nodes are in
/// namespace `tags_ns` with the tag path as string identifier.
pub fn build(space: &mut AddressSpace, ns: FxNamespaces, cfg: &FxConfig, store: &TagStore, tags_ns: u16) -> Model {
    let root = NodeId::new(ns.data, data::FX_ROOT);
    ObjectBuilder::new(&root, QualifiedName::new(ns.data, "FxRoot"), "FxRoot")
        .is_folder()
        .organized_by(ObjectId::ObjectsFolder)
        .insert(space);
    let mut b = Builder { ns, space, store, tags_ns };
    let components = cfg.automation_component.iter().map(|c| b.component(&root, c)).collect();
    Model { ns, names: NameplateNames::new(&ns), root, components }
}

pub(super) struct Builder<'a> {
    pub(super) ns: FxNamespaces,
    pub(super) space: &'a mut AddressSpace,
    pub(super) store: &'a TagStore,
    pub(super) tags_ns: u16,
}

impl Builder<'_> {
    pub(super) fn id(&self, path: &str) -> NodeId {
        NodeId::new(self.ns.instances, path.to_string())
    }

    pub(super) fn ac(&self, id: u32) -> NodeId {
        NodeId::new(self.ns.ac, id)
    }

    /// A folder (FolderType or `type_id`) as component `name` (in the AC namespace) of `parent`.
    pub(super) fn child_object(&mut self, parent: &NodeId, path: &str, name: &str, type_id: NodeId) -> NodeId {
        let id = self.id(path);
        ObjectBuilder::new(&id, QualifiedName::new(self.ns.ac, name), name)
            .has_type_definition(type_id)
            .component_of(parent.clone())
            .insert(self.space);
        id
    }

    /// A property (PropertyType) of `parent`.
    pub(super) fn property(&mut self, parent: &NodeId, path: &str, name: QualifiedName, data_type: NodeId, value: Variant) -> NodeId {
        self.value_node(parent, path, name, data_type, value, true)
    }

    /// A BaseDataVariable component of `parent`.
    pub(super) fn variable(&mut self, parent: &NodeId, path: &str, name: QualifiedName, data_type: NodeId, value: Variant) -> NodeId {
        self.value_node(parent, path, name, data_type, value, false)
    }

    fn value_node(
        &mut self,
        parent: &NodeId,
        path: &str,
        name: QualifiedName,
        data_type: NodeId,
        value: Variant,
        property: bool,
    ) -> NodeId {
        let id = self.id(path);
        let kind = if property { Kind::Property } else { Kind::Component(VariableTypeId::BaseDataVariableType) };
        crate::variables::insert(self.space, parent, &id, name, data_type, value, kind);
        id
    }

    /// A method component `name` of `parent`, with the arguments of its declaration
    /// `declaration` in the type model.
    fn method(&mut self, parent: &NodeId, path: &str, name: &str, declaration: u32) -> NodeId {
        let id = self.id(path);
        let (inputs, outputs) = declared_arguments(TypeRef::ac(declaration), &self.ns).unwrap_or_default();
        let mut m = MethodBuilder::new(&id, QualifiedName::new(self.ns.ac, name), name)
            .executable(true)
            .user_executable(true)
            .component_of(parent.clone());
        if !inputs.is_empty() {
            m = m.input_args(self.space, &self.id(&format!("{path}/InputArguments")), &inputs);
        }
        if !outputs.is_empty() {
            m = m.output_args(self.space, &self.id(&format!("{path}/OutputArguments")), &outputs);
        }
        m.insert(self.space);
        id
    }

    fn component(&mut self, root: &NodeId, cfg: &AutomationComponentConfig) -> Component {
        let path = cfg.name.as_str();
        let node = self.id(path);
        ObjectBuilder::new(&node, QualifiedName::new(self.ns.instances, path), path)
            .has_type_definition(self.ac(ac::AUTOMATION_COMPONENT_TYPE))
            .organized_by(root.clone())
            .insert(self.space);
        let fes = self.child_object(&node, &format!("{path}/FunctionalEntities"), "FunctionalEntities", ObjectTypeId::FolderType.into());
        let assets_folder = self.child_object(&node, &format!("{path}/Assets"), "Assets", ObjectTypeId::FolderType.into());
        self.child_object(&node, &format!("{path}/Descriptors"), "Descriptors", ObjectTypeId::FolderType.into());
        let caps_type = self.ac(ac::AUTOMATION_COMPONENT_CAPABILITIES_TYPE);
        let caps = self.child_object(&node, &format!("{path}/ComponentCapabilities"), "ComponentCapabilities", caps_type);
        self.capabilities(&caps, path, cfg);

        let health = self.id(&format!("{path}/AggregatedHealth"));
        VariableBuilder::new(&health, QualifiedName::new(self.ns.ac, "AggregatedHealth"), "AggregatedHealth")
            .data_type(self.ac(ac::AGGREGATED_HEALTH_DATA_TYPE))
            .value_rank(-1)
            .value(crate::values::aggregated_health(0, 0))
            .has_type_definition(self.ac(ac::AGGREGATED_HEALTH_TYPE))
            .component_of(node.clone())
            .insert(self.space);
        let device_health_type = self.ac(ac::DEVICE_HEALTH_OPTION_SET);
        let aggregated_device_health = self.variable(
            &health,
            &format!("{path}/AggregatedHealth/AggregatedDeviceHealth"),
            QualifiedName::new(self.ns.ac, "AggregatedDeviceHealth"),
            device_health_type,
            Variant::UInt16(0),
        );
        let op_type = self.ac(ac::OPERATIONAL_HEALTH_OPTION_SET);
        let aggregated_operational_health = self.variable(
            &health,
            &format!("{path}/AggregatedHealth/AggregatedOperationalHealth"),
            QualifiedName::new(self.ns.ac, "AggregatedOperationalHealth"),
            op_type,
            Variant::UInt32(0),
        );

        let establish = self.method(
            &node,
            &format!("{path}/EstablishConnections"),
            "EstablishConnections",
            ac::AUTOMATION_COMPONENT_TYPE_ESTABLISH_CONNECTIONS,
        );
        let close = self.method(
            &node,
            &format!("{path}/CloseConnections"),
            "CloseConnections",
            ac::AUTOMATION_COMPONENT_TYPE_CLOSE_CONNECTIONS,
        );

        let assets: Vec<Asset> = cfg.asset.iter().map(|a| self.asset(&assets_folder, path, a)).collect();
        let entities = cfg
            .functional_entity
            .iter()
            .map(|f| self.entity(&fes, path, f, &assets))
            .collect();
        Component {
            name: cfg.name.clone(),
            node,
            establish,
            close,
            max_connections: cfg.max_connections,
            max_connections_per_call: cfg.max_connections_per_call,
            sources: cfg.sources.clone(),
            aggregated_health: health,
            aggregated_device_health,
            aggregated_operational_health,
            assets,
            entities,
        }
    }

    fn capabilities(&mut self, caps: &NodeId, path: &str, cfg: &AutomationComponentConfig) {
        let has_capability = self.ac(ac::HAS_CAPABILITY);
        let add = |b: &mut Self, name: &str, value: Variant, dt: DataTypeId| {
            let id = b.id(&format!("{path}/ComponentCapabilities/{name}"));
            VariableBuilder::new(&id, QualifiedName::new(b.ns.ac, name), name)
                .data_type(dt)
                .value_rank(-1)
                .value(value)
                .has_type_definition(VariableTypeId::BaseDataVariableType)
                .insert(b.space);
            b.space.insert_reference(caps, &id, has_capability.clone());
        };
        add(self, "SupportsPersistence", false.into(), DataTypeId::Boolean);
        add(self, "MaxFunctionalEntities", (cfg.functional_entity.len() as u32).into(), DataTypeId::UInt32);
        if cfg.max_connections > 0 {
            add(self, "MaxConnections", cfg.max_connections.into(), DataTypeId::UInt32);
        }
        if cfg.max_connections_per_call > 0 {
            add(self, "MaxConnectionsPerCall", cfg.max_connections_per_call.into(), DataTypeId::UInt32);
        }
        add(self, "CommandBundleRequired", false.into(), DataTypeId::Boolean);
    }

    fn asset(&mut self, folder: &NodeId, ac_path: &str, cfg: &AssetConfig) -> Asset {
        let path = format!("{ac_path}/Assets/{}", cfg.name);
        let node = self.id(&path);
        ObjectBuilder::new(&node, QualifiedName::new(self.ns.instances, cfg.name.as_str()), cfg.name.as_str())
            .has_type_definition(self.ac(ac::FX_ASSET_TYPE))
            .organized_by(folder.clone())
            .insert(self.space);
        let names = NameplateNames::new(&self.ns);
        let di_ns = self.ns.di;
        let di_q = |n: &str| QualifiedName::new(di_ns, n);
        let mut nameplate = Vec::new();
        let texts = [
            (di_q("Manufacturer"), &cfg.manufacturer, true),
            (names.manufacturer_uri.clone(), &cfg.manufacturer_uri, false),
            (di_q("Model"), &cfg.model, true),
            (names.product_code.clone(), &cfg.product_code, false),
            (names.hardware_revision.clone(), &cfg.hardware_revision, false),
            (names.software_revision.clone(), &cfg.software_revision, false),
            (names.serial_number.clone(), &cfg.serial_number, false),
            (names.product_instance_uri.clone(), &cfg.product_instance_uri, false),
        ];
        for (q, text, localized) in texts {
            if text.trim().is_empty() {
                continue;
            }
            let (dt, value): (NodeId, Variant) = if localized {
                (DataTypeId::LocalizedText.into(), LocalizedText::new("", text).into())
            } else {
                (DataTypeId::String.into(), UAString::from(text.as_str()).into())
            };
            let p = format!("{path}/{}", q.name.as_ref());
            self.property(&node, &p, q.clone(), dt, value.clone());
            nameplate.push((q, value));
        }
        let versions = [
            (names.major.clone(), cfg.major_asset_version),
            (names.minor.clone(), cfg.minor_asset_version),
            (names.build.clone(), cfg.build_asset_number),
            (names.sub_build.clone(), cfg.sub_build_asset_number),
        ];
        for (q, v) in versions {
            if let Some(v) = v {
                let p = format!("{path}/{}", q.name.as_ref());
                self.property(&node, &p, q.clone(), DataTypeId::UInt16.into(), v.into());
                nameplate.push((q, v.into()));
            }
        }
        let device_health = self.variable(
            &node,
            &format!("{path}/DeviceHealth"),
            di_q("DeviceHealth"),
            NodeId::new(self.ns.di, di::DEVICE_HEALTH_ENUMERATION),
            Variant::Int32(0),
        );
        let verify = self.method(&node, &format!("{path}/VerifyAsset"), "VerifyAsset", ac::FX_ASSET_TYPE_VERIFY_ASSET);
        Asset { name: cfg.name.clone(), node, verify, device_health, nameplate }
    }

    fn entity(&mut self, folder: &NodeId, ac_path: &str, cfg: &FunctionalEntityConfig, assets: &[Asset]) -> Entity {
        let path = format!("{ac_path}/FunctionalEntities/{}", cfg.name);
        let node = self.id(&path);
        ObjectBuilder::new(&node, QualifiedName::new(self.ns.instances, cfg.name.as_str()), cfg.name.as_str())
            .has_type_definition(self.ac(ac::FUNCTIONAL_ENTITY_TYPE))
            .organized_by(folder.clone())
            .insert(self.space);
        if !cfg.author_uri.is_empty() {
            let q = QualifiedName::new(self.ns.ac, "AuthorUri");
            self.property(&node, &format!("{path}/AuthorUri"), q, DataTypeId::UriString.into(), UAString::from(cfg.author_uri.as_str()).into());
        }
        if !cfg.author_assigned_identifier.is_empty() {
            let q = QualifiedName::new(self.ns.ac, "AuthorAssignedIdentifier");
            let v = UAString::from(cfg.author_assigned_identifier.as_str()).into();
            self.property(&node, &format!("{path}/AuthorAssignedIdentifier"), q, DataTypeId::String.into(), v);
        }
        if let Ok(v) = parse_fx_version(&cfg.author_assigned_version) {
            if !cfg.author_assigned_version.is_empty() {
                let q = QualifiedName::new(self.ns.ac, "AuthorAssignedVersion");
                let value = crate::values::fx_version(v);
                self.property(&node, &format!("{path}/AuthorAssignedVersion"), q, self.ac(ac::FX_VERSION), value);
            }
        }
        for h in &cfg.hosted_by {
            if let Some(a) = assets.iter().find(|a| &a.name == h) {
                self.space.insert_reference(&node, &a.node, ReferenceTypeId::IsHostedBy);
            }
        }
        let inputs_type = self.ac(ac::INPUTS_FOLDER_TYPE);
        let outputs_type = self.ac(ac::OUTPUTS_FOLDER_TYPE);
        let config_type = self.ac(ac::CONFIGURATION_DATA_FOLDER_TYPE);
        let inputs = self.data_folder(&node, &format!("{path}/InputData"), "InputData", inputs_type, &cfg.inputs);
        let outputs = self.data_folder(&node, &format!("{path}/OutputData"), "OutputData", outputs_type, &cfg.outputs);
        let configuration =
            self.data_folder(&node, &format!("{path}/ConfigurationData"), "ConfigurationData", config_type, &cfg.configuration);
        let eps_type = self.ac(ac::CONNECTION_ENDPOINTS_FOLDER_TYPE);
        let endpoints_folder = self.child_object(&node, &format!("{path}/ConnectionEndpoints"), "ConnectionEndpoints", eps_type);
        let comm_health = self.variable(
            &endpoints_folder,
            &format!("{path}/ConnectionEndpoints/CommHealth"),
            QualifiedName::new(self.ns.ac, "CommHealth"),
            self.ac(ac::COMM_HEALTH_OPTION_SET),
            Variant::UInt16(0),
        );
        let operational_health = self.variable(
            &node,
            &format!("{path}/OperationalHealth"),
            QualifiedName::new(self.ns.ac, "OperationalHealth"),
            self.ac(ac::OPERATIONAL_HEALTH_OPTION_SET),
            Variant::UInt32(0),
        );
        let verify = self.method(&node, &format!("{path}/Verify"), "Verify", ac::FUNCTIONAL_ENTITY_TYPE_VERIFY);
        let variables: Vec<TagRef> = inputs.iter().chain(&outputs).chain(&configuration).cloned().collect();
        let control_groups = self.control_groups(&node, &path, &cfg.control_group, &variables);
        Entity {
            name: cfg.name.clone(),
            node,
            verify,
            inputs,
            outputs,
            configuration,
            endpoints_folder,
            comm_health,
            operational_health,
            control_groups,
        }
    }

    /// InputData, OutputData or ConfigurationData: a folder organizing the tags' variables.
    fn data_folder(&mut self, parent: &NodeId, path: &str, name: &str, type_id: NodeId, tags: &[String]) -> Vec<TagRef> {
        let folder = self.child_object(parent, path, name, type_id);
        let mut out = Vec::new();
        for t in tags {
            // the configuration was validated: every tag exists
            if let Some(tag) = self.store.id_of(t) {
                let node = NodeId::new(self.tags_ns, t.as_str());
                self.space.insert_reference(&folder, &node, ReferenceTypeId::Organizes);
                out.push(TagRef { tag, node });
            }
        }
        out
    }
}

/// A method argument (array arguments have ArrayDimensions `[0]`).
pub(crate) fn arg(name: &str, data_type: NodeId, value_rank: i32) -> Argument {
    Argument {
        name: name.into(),
        data_type,
        value_rank,
        array_dimensions: if value_rank == 1 { Some(vec![0]) } else { None },
        description: LocalizedText::null(),
    }
}
