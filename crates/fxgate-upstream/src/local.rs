//! The gateway's own nodes in the aggregation namespace: each upstream's folder under
//! `Objects`, and the diagnostics `Objects/fxgate/Upstreams/<name>/{State, LastError,
//! ReconnectCount, MonitoredItems}`. They are computed from the current set of upstreams,
//! so upstreams added at run time appear without rebuilding the server.

use opcua::types::{
    AttributeId, DataTypeId, DataValue, DateTime, LocalizedText, NodeClass, NodeId, ObjectId,
    ObjectTypeId, QualifiedName, ReferenceTypeId, StatusCode, VariableTypeId, Variant,
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
}

const UPSTREAMS: &str = "fxgate/Upstreams";

impl Local {
    /// The node behind string identifier `id` of the aggregation namespace, if `exists(name)`.
    pub fn parse(id: &str, exists: impl Fn(&str) -> bool) -> Option<Local> {
        if id == UPSTREAMS {
            return Some(Local::Upstreams);
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
        }
    }

    /// Its NodeId in namespace `ns`.
    pub fn node_id(&self, ns: u16) -> NodeId {
        NodeId::new(ns, self.id())
    }

    /// Browse name (namespace `ns`).
    pub fn browse_name(&self, ns: u16) -> QualifiedName {
        QualifiedName::new(ns, self.display())
    }

    fn display(&self) -> String {
        match self {
            Local::UpstreamFolder(n) | Local::DiagFolder(n) => n.clone(),
            Local::Upstreams => "Upstreams".into(),
            Local::Diag(_, v) => v.name().into(),
        }
    }

    /// Node class.
    pub fn node_class(&self) -> NodeClass {
        match self {
            Local::Diag(..) => NodeClass::Variable,
            _ => NodeClass::Object,
        }
    }

    /// Type definition.
    pub fn type_definition(&self) -> NodeId {
        match self {
            Local::Diag(..) => VariableTypeId::BaseDataVariableType.into(),
            _ => ObjectTypeId::FolderType.into(),
        }
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
            _ => Vec::new(),
        }
    }

    /// Reads attribute `attr`; `value` gives the Value of a diagnostics variable.
    pub fn read(&self, ns: u16, attr: AttributeId, description: &str, value: impl FnOnce() -> Variant) -> DataValue {
        let v: Variant = match attr {
            AttributeId::NodeId => Variant::from(self.node_id(ns)),
            AttributeId::NodeClass => Variant::Int32(self.node_class() as i32),
            AttributeId::BrowseName => Variant::from(self.browse_name(ns)),
            AttributeId::DisplayName => Variant::from(LocalizedText::new("", &self.display())),
            AttributeId::Description => Variant::from(LocalizedText::new("", description)),
            AttributeId::WriteMask | AttributeId::UserWriteMask => Variant::UInt32(0),
            AttributeId::EventNotifier if self.node_class() == NodeClass::Object => Variant::Byte(0),
            AttributeId::Value if matches!(self, Local::Diag(..)) => {
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
                _ => return bad(StatusCode::BadAttributeIdInvalid),
            },
            AttributeId::ValueRank if matches!(self, Local::Diag(..)) => Variant::Int32(-1),
            AttributeId::AccessLevel | AttributeId::UserAccessLevel if matches!(self, Local::Diag(..)) => Variant::Byte(1),
            AttributeId::Historizing if matches!(self, Local::Diag(..)) => Variant::Boolean(false),
            AttributeId::MinimumSamplingInterval if matches!(self, Local::Diag(..)) => Variant::Double(0.0),
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
        assert_eq!(Local::parse("plc2", exists), None);
        assert_eq!(Local::parse("fxgate/Upstreams/plc1/Nope", exists), None);
    }
}
