//! The gateway's own nodes in the aggregation namespace: each upstream's folder under
//! `Objects`, the diagnostics `Objects/fxgate/Upstreams/<name>/{State, LastError,
//! ReconnectCount, MonitoredItems}`, and the run-time configuration
//! `Objects/fxgate/Configuration/{Servers, AddServer, RemoveServer}` (seed 000 §4.6). They are
//! computed from the current set of upstreams, so upstreams added at run time appear without
//! rebuilding the server.

use opcua::types::{
    Argument, AttributeId, DataTypeId, DataValue, DateTime, ExtensionObject, Identifier, LocalizedText,
    NodeClass, NodeId, ObjectId, ObjectTypeId, QualifiedName, ReferenceTypeId, StatusCode, UAString,
    VariableTypeId, Variant,
};

use crate::upstream::Status;

/// A diagnostics variable of an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagVar {
    /// Connecting / Connected / Disconnected.
    State,
    /// The last error.
    LastError,
    /// Reconnect count.
    ReconnectCount,
    /// Upstream monitored items.
    MonitoredItems,
}

impl DiagVar {
    /// All of them, in browse order.
    pub const ALL: [DiagVar; 4] = [DiagVar::State, DiagVar::LastError, DiagVar::ReconnectCount, DiagVar::MonitoredItems];

    /// Browse name.
    pub fn name(self) -> &'static str {
        match self {
            DiagVar::State => "State",
            DiagVar::LastError => "LastError",
            DiagVar::ReconnectCount => "ReconnectCount",
            DiagVar::MonitoredItems => "MonitoredItems",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == s)
    }

    fn data_type(self) -> DataTypeId {
        match self {
            DiagVar::State | DiagVar::LastError => DataTypeId::String,
            DiagVar::ReconnectCount | DiagVar::MonitoredItems => DataTypeId::UInt32,
        }
    }

    /// The value for `status`.
    pub fn value(self, status: &Status, monitored_items: usize) -> Variant {
        match self {
            DiagVar::State => Variant::from(status.state.as_str()),
            DiagVar::LastError => Variant::from(status.last_error.as_str()),
            DiagVar::ReconnectCount => Variant::UInt32(status.reconnects.min(u64::from(u32::MAX)) as u32),
            DiagVar::MonitoredItems => Variant::UInt32(monitored_items.min(u32::MAX as usize) as u32),
        }
    }
}

/// A method of `Objects/fxgate/Configuration`; only users with the `configure` role may call
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigMethod {
    /// `AddServer(name, endpointUrl, securityPolicy, securityMode, username, password)`.
    AddServer,
    /// `RemoveServer(name)`.
    RemoveServer,
}

impl ConfigMethod {
    /// Both, in browse order.
    pub const ALL: [ConfigMethod; 2] = [ConfigMethod::AddServer, ConfigMethod::RemoveServer];

    /// Browse name.
    pub fn name(self) -> &'static str {
        match self {
            ConfigMethod::AddServer => "AddServer",
            ConfigMethod::RemoveServer => "RemoveServer",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    /// The input arguments (all String): name and description.
    pub fn inputs(self) -> &'static [(&'static str, &'static str)] {
        match self {
            ConfigMethod::AddServer => &[
                ("name", "Folder name under Objects: 1 to 64 of A-Z a-z 0-9 _ . -"),
                ("endpointUrl", "opc.tcp://host:port[/path] of the upstream server"),
                ("securityPolicy", "Basic256Sha256 (empty: default), Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss, None, or the policy URI"),
                ("securityMode", "SignAndEncrypt (empty: default), Sign or None"),
                ("username", "User name for the upstream (empty: anonymous)"),
                ("password", "Password for the upstream; only over a SignAndEncrypt session"),
            ],
            ConfigMethod::RemoveServer => &[("name", "Name of the upstream to remove")],
        }
    }

    /// The `InputArguments` property value.
    pub fn input_arguments(self) -> Variant {
        let args: Vec<ExtensionObject> = self
            .inputs()
            .iter()
            .map(|(name, description)| {
                ExtensionObject::from_message(Argument {
                    name: UAString::from(*name),
                    data_type: DataTypeId::String.into(),
                    value_rank: -1,
                    array_dimensions: None,
                    description: LocalizedText::new("", description),
                })
            })
            .collect();
        Variant::from(args)
    }

    fn description(self) -> &'static str {
        match self {
            ConfigMethod::AddServer => {
                "Adds an upstream OPC UA server; written to the configuration file, connects at once"
            }
            ConfigMethod::RemoveServer => {
                "Removes an upstream OPC UA server; written to the configuration file, disconnects at once"
            }
        }
    }
}

/// Whether `id` is one of the configuration methods (checked for the `configure` role).
pub fn is_configuration_method(id: &NodeId) -> bool {
    let Identifier::String(s) = &id.identifier else { return false };
    s.as_ref()
        .strip_prefix(CONFIGURATION_PREFIX)
        .is_some_and(|m| ConfigMethod::parse(m).is_some())
}

/// One of the gateway's own aggregation nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Local {
    /// `Objects/<name>`: stands for the upstream's Objects folder.
    UpstreamFolder(String),
    /// `Objects/fxgate/Upstreams`.
    Upstreams,
    /// `Objects/fxgate/Upstreams/<name>`.
    DiagFolder(String),
    /// `Objects/fxgate/Upstreams/<name>/<var>`.
    Diag(String, DiagVar),
    /// `Objects/fxgate/Configuration`.
    Configuration,
    /// `Objects/fxgate/Configuration/Servers`: the names of the upstreams.
    Servers,
    /// `Objects/fxgate/Configuration/<method>`.
    Method(ConfigMethod),
    /// `Objects/fxgate/Configuration/<method>/InputArguments`.
    InputArguments(ConfigMethod),
}

const UPSTREAMS: &str = "fxgate/Upstreams";
const CONFIGURATION: &str = "fxgate/Configuration";
const CONFIGURATION_PREFIX: &str = "fxgate/Configuration/";

impl Local {
    /// The node behind string identifier `id` of the aggregation namespace, if `exists(name)`.
    pub fn parse(id: &str, exists: impl Fn(&str) -> bool) -> Option<Local> {
        if id == UPSTREAMS {
            return Some(Local::Upstreams);
        }
        if id == CONFIGURATION {
            return Some(Local::Configuration);
        }
        if let Some(rest) = id.strip_prefix(CONFIGURATION_PREFIX) {
            if rest == "Servers" {
                return Some(Local::Servers);
            }
            return match rest.split_once('/') {
                None => ConfigMethod::parse(rest).map(Local::Method),
                Some((m, "InputArguments")) => ConfigMethod::parse(m).map(Local::InputArguments),
                Some(_) => None,
            };
        }
        if let Some(rest) = id.strip_prefix("fxgate/Upstreams/") {
            return match rest.split_once('/') {
                None => exists(rest).then(|| Local::DiagFolder(rest.to_string())),
                Some((name, var)) => {
                    let v = DiagVar::parse(var)?;
                    exists(name).then(|| Local::Diag(name.to_string(), v))
                }
            };
        }
        if !id.contains('/') && exists(id) {
            return Some(Local::UpstreamFolder(id.to_string()));
        }
        None
    }

    /// Its string identifier.
    pub fn id(&self) -> String {
        match self {
            Local::UpstreamFolder(n) => n.clone(),
            Local::Upstreams => UPSTREAMS.to_string(),
            Local::DiagFolder(n) => format!("{UPSTREAMS}/{n}"),
            Local::Diag(n, v) => format!("{UPSTREAMS}/{n}/{}", v.name()),
            Local::Configuration => CONFIGURATION.to_string(),
            Local::Servers => format!("{CONFIGURATION_PREFIX}Servers"),
            Local::Method(m) => format!("{CONFIGURATION_PREFIX}{}", m.name()),
            Local::InputArguments(m) => format!("{CONFIGURATION_PREFIX}{}/InputArguments", m.name()),
        }
    }

    /// Its NodeId in namespace `ns`.
    pub fn node_id(&self, ns: u16) -> NodeId {
        NodeId::new(ns, self.id())
    }

    /// Browse name (namespace `ns`; `InputArguments` is a standard name, namespace 0).
    pub fn browse_name(&self, ns: u16) -> QualifiedName {
        match self {
            Local::InputArguments(_) => QualifiedName::new(0, "InputArguments"),
            _ => QualifiedName::new(ns, self.display()),
        }
    }

    fn display(&self) -> String {
        match self {
            Local::UpstreamFolder(n) | Local::DiagFolder(n) => n.clone(),
            Local::Upstreams => "Upstreams".into(),
            Local::Diag(_, v) => v.name().into(),
            Local::Configuration => "Configuration".into(),
            Local::Servers => "Servers".into(),
            Local::Method(m) => m.name().into(),
            Local::InputArguments(_) => "InputArguments".into(),
        }
    }

    /// A fixed description, if the node has one.
    pub fn fixed_description(&self) -> Option<&'static str> {
        match self {
            Local::Configuration => Some("Run-time configuration of the aggregated OPC UA servers (needs the configure role)"),
            Local::Servers => Some("Names of the aggregated OPC UA servers"),
            Local::Method(m) => Some(m.description()),
            _ => None,
        }
    }

    /// Node class.
    pub fn node_class(&self) -> NodeClass {
        match self {
            Local::Diag(..) | Local::Servers | Local::InputArguments(_) => NodeClass::Variable,
            Local::Method(_) => NodeClass::Method,
            _ => NodeClass::Object,
        }
    }

    /// Type definition (methods have none).
    pub fn type_definition(&self) -> Option<NodeId> {
        Some(match self {
            Local::Diag(..) | Local::Servers => VariableTypeId::BaseDataVariableType.into(),
            Local::InputArguments(_) => VariableTypeId::PropertyType.into(),
            Local::Method(_) => return None,
            Local::Configuration => ObjectTypeId::BaseObjectType.into(),
            _ => ObjectTypeId::FolderType.into(),
        })
    }

    /// The reference type and source of its inverse hierarchical reference.
    pub fn parent(&self, ns: u16, fxgate_folder: &NodeId) -> (NodeId, NodeId) {
        match self {
            Local::UpstreamFolder(_) => (ReferenceTypeId::Organizes.into(), ObjectId::ObjectsFolder.into()),
            Local::Upstreams => (ReferenceTypeId::Organizes.into(), fxgate_folder.clone()),
            Local::DiagFolder(_) => (ReferenceTypeId::Organizes.into(), Local::Upstreams.node_id(ns)),
            Local::Diag(n, _) => (
                ReferenceTypeId::HasComponent.into(),
                Local::DiagFolder(n.clone()).node_id(ns),
            ),
            Local::Configuration => (ReferenceTypeId::Organizes.into(), fxgate_folder.clone()),
            Local::Servers | Local::Method(_) => {
                (ReferenceTypeId::HasComponent.into(), Local::Configuration.node_id(ns))
            }
            Local::InputArguments(m) => (ReferenceTypeId::HasProperty.into(), Local::Method(*m).node_id(ns)),
        }
    }

    /// The node class of its parent, for the inverse reference.
    pub fn parent_class(&self) -> NodeClass {
        match self {
            Local::InputArguments(_) => NodeClass::Method,
            _ => NodeClass::Object,
        }
    }

    /// Its forward hierarchical children (not for upstream folders, whose children are the
    /// upstream's), with the reference type.
    pub fn children(&self, upstreams: &[String]) -> Vec<(NodeId, Local)> {
        match self {
            Local::Upstreams => upstreams
                .iter()
                .map(|n| (ReferenceTypeId::Organizes.into(), Local::DiagFolder(n.clone())))
                .collect(),
            Local::DiagFolder(n) => DiagVar::ALL
                .into_iter()
                .map(|v| (ReferenceTypeId::HasComponent.into(), Local::Diag(n.clone(), v)))
                .collect(),
            Local::Configuration => std::iter::once(Local::Servers)
                .chain(ConfigMethod::ALL.into_iter().map(Local::Method))
                .map(|c| (ReferenceTypeId::HasComponent.into(), c))
                .collect(),
            Local::Method(m) => vec![(ReferenceTypeId::HasProperty.into(), Local::InputArguments(*m))],
            _ => Vec::new(),
        }
    }

    /// Reads attribute `attr`; `value` gives the Value of a diagnostics variable or of
    /// `Servers`.
    pub fn read(&self, ns: u16, attr: AttributeId, description: &str, value: impl FnOnce() -> Variant) -> DataValue {
        let is_var = self.node_class() == NodeClass::Variable;
        let v: Variant = match attr {
            AttributeId::NodeId => Variant::from(self.node_id(ns)),
            AttributeId::NodeClass => Variant::Int32(self.node_class() as i32),
            AttributeId::BrowseName => Variant::from(self.browse_name(ns)),
            AttributeId::DisplayName => Variant::from(LocalizedText::new("", &self.display())),
            AttributeId::Description => Variant::from(LocalizedText::new("", description)),
            AttributeId::WriteMask | AttributeId::UserWriteMask => Variant::UInt32(0),
            AttributeId::EventNotifier if self.node_class() == NodeClass::Object => Variant::Byte(0),
            AttributeId::Executable | AttributeId::UserExecutable if matches!(self, Local::Method(_)) => {
                Variant::Boolean(true)
            }
            AttributeId::Value if matches!(self, Local::InputArguments(_)) => {
                let Local::InputArguments(m) = self else { return bad(StatusCode::BadAttributeIdInvalid) };
                m.input_arguments()
            }
            AttributeId::Value if matches!(self, Local::Diag(..) | Local::Servers) => {
                let now = DateTime::now();
                return DataValue {
                    value: Some(value()),
                    status: Some(StatusCode::Good),
                    source_timestamp: Some(now),
                    server_timestamp: Some(now),
                    ..Default::default()
                };
            }
            AttributeId::DataType => match self {
                Local::Diag(_, v) => Variant::from(NodeId::from(v.data_type())),
                Local::Servers => Variant::from(NodeId::from(DataTypeId::String)),
                Local::InputArguments(_) => Variant::from(NodeId::from(DataTypeId::Argument)),
                _ => return bad(StatusCode::BadAttributeIdInvalid),
            },
            AttributeId::ValueRank if is_var => match self {
                Local::Diag(..) => Variant::Int32(-1),
                _ => Variant::Int32(1),
            },
            AttributeId::ArrayDimensions if is_var => match self {
                Local::Servers => Variant::from(vec![0u32]),
                Local::InputArguments(m) => Variant::from(vec![m.inputs().len() as u32]),
                _ => return bad(StatusCode::BadAttributeIdInvalid),
            },
            AttributeId::AccessLevel | AttributeId::UserAccessLevel if is_var => Variant::Byte(1),
            AttributeId::Historizing if is_var => Variant::Boolean(false),
            AttributeId::MinimumSamplingInterval if is_var => Variant::Double(0.0),
            _ => return bad(StatusCode::BadAttributeIdInvalid),
        };
        DataValue::value_only(v)
    }
}

fn bad(s: StatusCode) -> DataValue {
    DataValue {
        status: Some(s),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let exists = |n: &str| n == "plc1";
        for l in [
            Local::UpstreamFolder("plc1".into()),
            Local::Upstreams,
            Local::DiagFolder("plc1".into()),
            Local::Diag("plc1".into(), DiagVar::MonitoredItems),
        ] {
            assert_eq!(Local::parse(&l.id(), exists), Some(l));
        }
        for l in [
            Local::Configuration,
            Local::Servers,
            Local::Method(ConfigMethod::AddServer),
            Local::InputArguments(ConfigMethod::RemoveServer),
        ] {
            assert_eq!(Local::parse(&l.id(), exists), Some(l));
        }
        assert!(is_configuration_method(&NodeId::new(3, "fxgate/Configuration/AddServer")));
        assert!(!is_configuration_method(&NodeId::new(3, "fxgate/Configuration/Servers")));
        assert_eq!(Local::parse("fxgate/Configuration/Nope", exists), None);
        assert_eq!(Local::parse("plc2", exists), None);
        assert_eq!(Local::parse("fxgate/Upstreams/plc1/Nope", exists), None);
    }
}
