//! The PubSub information model of the configured connections (OPC 10000-14 §9.1), inserted
//! below the standard `Server/PublishSubscribe` object: connections, writer groups, their
//! DataSetWriters and PublishedDataSets, the readers' group and DataSetReaders with their
//! SubscribedDataSet, each with a `Status/State` that follows the runtime.

use opcua::nodes::{MethodBuilder, ObjectBuilder, ReferenceDirection, VariableBuilder};
use opcua::server::address_space::AddressSpace;
use opcua::types::{
    ConfigurationVersionDataType, DataSetMetaDataType, DataTypeId, ExtensionObject, FieldMetaData, FieldTargetDataType, NodeId,
    ObjectId, ObjectTypeId, PublishedVariableDataType, QualifiedName, ReferenceTypeId, UAString, VariableTypeId,
    Variant,
};

use fxgate_core::tag_type::data_type_id;

use crate::config::{publisher_id, PubSubConfig};
use crate::uadp::PublisherId;
use crate::writer::derived_version;

/// The UDP-UADP transport profile.
pub use fxgate_plugin::UDP_UADP;

/// PubSubState (i=14647) values.
pub mod state {
    /// Disabled.
    pub const DISABLED: i32 = 0;
    /// Paused (enabled, but a parent is disabled).
    pub const PAUSED: i32 = 1;
    /// Operational.
    pub const OPERATIONAL: i32 = 2;
    /// Error.
    pub const ERROR: i32 = 3;
    /// PreOperational.
    pub const PRE_OPERATIONAL: i32 = 4;
}

/// A `Status/State` variable and the status tag it follows (`fxgate/PubSub/…` path).
pub struct StateNode {
    /// The State variable.
    pub node: NodeId,
    /// The tag path whose text (Operational, PreOperational, Error, Disabled) it mirrors.
    pub tag: String,
}

/// A `Status/State` the model sets itself from the switches (writer groups and writers, which
/// have no runtime state of their own): the switch paths that decide it.
pub struct FixedState {
    /// The State variable.
    pub node: NodeId,
    /// The item's own switch (a writer group), if it has one.
    pub own: Option<String>,
    /// The switches above it (its connection, a writer's group), each off → Paused.
    pub parents: Vec<String>,
}

/// A diagnostics counter and the status tags (`fxgate/PubSub/…` paths) whose sum it shows.
pub struct CounterNode {
    /// The counter variable.
    pub node: NodeId,
    /// Its TimeFirstChange property.
    pub first_change: NodeId,
    /// The tags added up.
    pub tags: Vec<String>,
    /// The Reset method of its Diagnostics object.
    pub reset: NodeId,
}

/// What the model built and keeps current.
#[derive(Default)]
pub struct Built {
    /// Diagnostics counters that follow status tags.
    pub counters: Vec<CounterNode>,
    /// States that follow status tags.
    pub states: Vec<StateNode>,
    /// States set from the switches.
    pub fixed: Vec<FixedState>,
    /// Enable/Disable method nodes: (method, switch path, on).
    pub methods: Vec<(NodeId, String, bool)>,
}

/// Whose counter: the connection's status tags and its Diagnostics' Reset.
#[derive(Clone, Copy)]
struct Diag<'a> {
    conn: &'a str,
    reset: &'a NodeId,
}

pub(super) struct B<'a> {
    pub(super) ns: u16,
    pub(super) space: &'a mut AddressSpace,
    pub(super) tags_ns: u16,
    pub(super) built: Built,
    /// Every node inserted, in order (the run-time objects are deleted by it).
    pub(super) created: Vec<NodeId>,
}

/// Builds the model of `list` into `space` (namespace `ns`; tags in `tags_ns`).
pub fn build(space: &mut AddressSpace, ns: u16, tags_ns: u16, list: &[PubSubConfig]) -> Built {
    let mut b = B { ns, space, tags_ns, built: Built::default(), created: Vec::new() };
    for c in list {
        b.connection(c);
    }
    b.built
}

fn pid(p: Option<PublisherId>) -> Variant {
    p.map_or(Variant::Empty, |p| p.to_variant())
}

impl B<'_> {
    pub(super) fn id(&self, path: &str) -> NodeId {
        NodeId::new(self.ns, path.to_string())
    }

    pub(super) fn object(&mut self, path: &str, name: &str, type_id: ObjectTypeId, parent: &NodeId, reference: ReferenceTypeId) -> NodeId {
        let id = self.id(path);
        ObjectBuilder::new(&id, QualifiedName::new(self.ns, name), name)
            .has_type_definition(type_id)
            .reference(parent.clone(), reference, ReferenceDirection::Inverse)
            .insert(self.space);
        self.created.push(id.clone());
        id
    }

    /// A standard child object (BrowseName `name` in namespace 0) at `path` of `parent`.
    fn child(&mut self, parent: &NodeId, path: &str, name: &str, type_id: ObjectTypeId) -> NodeId {
        let id = self.id(path);
        ObjectBuilder::new(&id, QualifiedName::new(0, name), name).has_type_definition(type_id).component_of(parent.clone()).insert(self.space);
        self.created.push(id.clone());
        id
    }

    /// A standard child (BrowseName in namespace 0) holding `value`.
    pub(super) fn var(&mut self, parent: &NodeId, path: &str, name: &str, data_type: impl Into<NodeId>, value: Variant, property: bool) {
        let id = self.id(&format!("{path}/{name}"));
        self.created.push(id.clone());
        let rank = if value.is_array() { 1 } else { -1 };
        let v = VariableBuilder::new(&id, QualifiedName::new(0, name), name).data_type(data_type).value_rank(rank).value(value);
        if property {
            v.has_type_definition(VariableTypeId::PropertyType).property_of(parent.clone()).insert(self.space);
        } else {
            v.has_type_definition(VariableTypeId::BaseDataVariableType).component_of(parent.clone()).insert(self.space);
        }
    }

    /// `Status` (PubSubStatusType) with `State` (following status tag `tag`, or set from the
    /// switches when `fixed`), and Enable/Disable for switch `switch`.
    pub(super) fn status(&mut self, parent: &NodeId, path: &str, tag: Option<String>, switch: Option<&str>, fixed: Option<(Option<String>, Vec<String>)>) {
        let sp = format!("{path}/Status");
        let id = self.child(parent, &sp, "Status", ObjectTypeId::PubSubStatusType);
        let initial = if tag.is_some() { state::PRE_OPERATIONAL } else { state::OPERATIONAL };
        self.var(&id, &sp, "State", DataTypeId::PubSubState, Variant::Int32(initial), false);
        let node = self.id(&format!("{sp}/State"));
        if let Some(tag) = tag {
            self.built.states.push(StateNode { node: node.clone(), tag });
        }
        if let Some((own, parents)) = fixed {
            self.built.fixed.push(FixedState { node, own, parents });
        }
        if let Some(switch) = switch {
            for (name, on) in [("Enable", true), ("Disable", false)] {
                let m = self.id(&format!("{sp}/{name}"));
                MethodBuilder::new(&m, QualifiedName::new(0, name), name)
                    .executable(true)
                    .user_executable(true)
                    .component_of(id.clone())
                    .insert(self.space);
                self.built.methods.push((m, switch.to_string(), on));
            }
        }
    }

    fn connection(&mut self, c: &PubSubConfig) {
        let path = c.name.clone();
        let conn = self.object(&path, &c.name, ObjectTypeId::PubSubConnectionType, &ObjectId::PublishSubscribe.into(), ReferenceTypeId::HasPubSubConnection);
        let p = pid(c.publisher_id.as_ref().and_then(|p| publisher_id(p, c.publisher_id_type)));
        self.var(&conn, &path, "PublisherId", DataTypeId::BaseDataType, p, true);
        self.var(&conn, &path, "TransportProfileUri", DataTypeId::String, Variant::String(UDP_UADP.into()), false);
        let ap = format!("{path}/Address");
        let addr = self.child(&conn, &ap, "Address", ObjectTypeId::NetworkAddressUrlType);
        let url = c.listen.clone().unwrap_or_default();
        self.var(&addr, &ap, "Url", DataTypeId::String, Variant::String(url.as_str().into()), false);
        self.var(&addr, &ap, "NetworkInterface", DataTypeId::String, Variant::String(c.interface.clone().unwrap_or_default().into()), false);
        self.status(&conn, &path, Some(format!("fxgate/PubSub/{}/State", c.name)), Some(&c.name), None);
        self.diagnostics(&conn, &path, &c.name, &url);

        for g in &c.writer_group {
            let gp = format!("{path}/{}", g.name);
            let group = self.object(&gp, &g.name, ObjectTypeId::WriterGroupType, &conn, ReferenceTypeId::HasWriterGroup);
            self.var(&group, &gp, "WriterGroupId", DataTypeId::UInt16, Variant::UInt16(g.writer_group_id), true);
            self.var(&group, &gp, "PublishingInterval", DataTypeId::Duration, Variant::Double(g.publishing_interval_ms as f64), true);
            self.var(&group, &gp, "KeepAliveTime", DataTypeId::Duration, Variant::Double(g.publishing_interval_ms as f64), true);
            self.var(&group, &gp, "Priority", DataTypeId::Byte, Variant::Byte(0), true);
            self.var(&group, &gp, "MaxNetworkMessageSize", DataTypeId::UInt32, Variant::UInt32(g.max_network_message_size as u32), true);
            self.var(&group, &gp, "GroupVersion", DataTypeId::VersionTime, Variant::UInt32(g.group_version.unwrap_or_else(|| derived_version(g))), true);
            self.status(&group, &gp, None, Some(&gp), Some((Some(gp.clone()), vec![c.name.clone()])));
            for w in &g.writer {
                let wp = format!("{gp}/{}", w.name);
                let writer = self.writer_node(&wp, &group, &w.name, w.data_set_writer_id, w.encoding);
                self.status(&writer, &wp, None, None, Some((None, vec![c.name.clone(), gp.clone()])));
                let variables = w.tags.iter().map(|t| NodeId::new(self.tags_ns, t.clone())).collect();
                let name = format!("{}.{}.{}", c.name, g.name, w.name);
                self.published_items(&format!("PublishedDataSets/{wp}"), &name, &writer, variables);
            }
        }

        if !c.reader.is_empty() {
            let rp = format!("{path}/Readers");
            let group = self.object(&rp, "Readers", ObjectTypeId::ReaderGroupType, &conn, ReferenceTypeId::HasReaderGroup);
            self.status(&group, &rp, Some(format!("fxgate/PubSub/{}/State", c.name)), None, None);
            for r in &c.reader {
                let dp = format!("{rp}/{}", r.name);
                let reader = self.object(&dp, &r.name, ObjectTypeId::DataSetReaderType, &group, ReferenceTypeId::HasDataSetReader);
                let p = publisher_id(&r.publisher_id, r.publisher_id_type);
                self.var(&reader, &dp, "PublisherId", DataTypeId::BaseDataType, pid(p), true);
                self.var(&reader, &dp, "WriterGroupId", DataTypeId::UInt16, Variant::UInt16(r.writer_group_id), true);
                self.var(&reader, &dp, "DataSetWriterId", DataTypeId::UInt16, Variant::UInt16(r.data_set_writer_id), true);
                self.var(&reader, &dp, "MessageReceiveTimeout", DataTypeId::Duration, Variant::Double(r.message_receive_timeout_ms as f64), true);
                let fields = r
                    .fields
                    .iter()
                    .map(|f| {
                        let t = data_type_id(f.data_type);
                        FieldMetaData { name: f.name.as_str().into(), built_in_type: t as u8, data_type: t.into(), value_rank: -1, ..Default::default() }
                    })
                    .collect();
                let meta = DataSetMetaDataType {
                    name: UAString::from(r.name.as_str()),
                    fields: Some(fields),
                    configuration_version: ConfigurationVersionDataType { major_version: 1, minor_version: 1 },
                    ..Default::default()
                };
                self.var(&reader, &dp, "DataSetMetaData", DataTypeId::DataSetMetaDataType, Variant::from(ExtensionObject::from_message(meta)), true);
                self.status(&reader, &dp, Some(format!("fxgate/PubSub/{}/{}/State", c.name, r.name)), Some(&dp), None);
                // SubscribedDataSet: the reader's fields written to its tags' values.
                let targets = r.fields.iter().map(|f| NodeId::new(self.tags_ns, format!("{}/{}", r.name, f.name))).collect();
                self.subscribed(&reader, &dp, targets);
            }
        }
    }

    /// A counter (PubSubDiagnosticsCounterType, UInt32) of `parent` summing the status fields
    /// `fields` of connection `conn`.
    fn counter(&mut self, parent: &NodeId, path: &str, name: &str, error: bool, of: Diag<'_>, fields: &[&str]) {
        let Diag { conn, reset } = of;
        let id = self.id(&format!("{path}/{name}"));
        VariableBuilder::new(&id, QualifiedName::new(0, name), name)
            .data_type(DataTypeId::UInt32)
            .value(Variant::UInt32(0))
            .has_type_definition(VariableTypeId::PubSubDiagnosticsCounterType)
            .component_of(parent.clone())
            .insert(self.space);
        self.var(&id, &format!("{path}/{name}"), "Active", DataTypeId::Boolean, Variant::Boolean(true), true);
        self.var(&id, &format!("{path}/{name}"), "Classification", DataTypeId::PubSubDiagnosticsCounterClassification, Variant::Int32(i32::from(error)), true);
        self.var(&id, &format!("{path}/{name}"), "DiagnosticsLevel", DataTypeId::DiagnosticsLevel, Variant::Int32(0), true);
        self.var(&id, &format!("{path}/{name}"), "TimeFirstChange", DataTypeId::DateTime, Variant::DateTime(Box::new(opcua::types::DateTime::null())), true);
        let first_change = self.id(&format!("{path}/{name}/TimeFirstChange"));
        let tags = fields.iter().map(|f| format!("fxgate/PubSub/{conn}/{f}")).collect();
        self.built.counters.push(CounterNode { node: id, first_change, tags, reset: reset.clone() });
    }

    /// The connection's `Diagnostics` (PubSubDiagnosticsConnectionType, Part 14 §9.1.11): the
    /// counters that fit — TotalInformation, TotalError, and in `Counters` the NetworkMessages
    /// sent, failed, received, received invalid (decode errors) and dropped — following the
    /// status folder, each with TimeFirstChange; `Reset()`; `LiveValues/ResolvedAddress` is the
    /// listen address.
    fn diagnostics(&mut self, conn: &NodeId, path: &str, name: &str, listen: &str) {
        let dp = format!("{path}/Diagnostics");
        let d = self.child(conn, &dp, "Diagnostics", ObjectTypeId::PubSubDiagnosticsConnectionType);
        self.var(&d, &dp, "DiagnosticsLevel", DataTypeId::DiagnosticsLevel, Variant::Int32(0), false);
        let reset = self.id(&format!("{dp}/Reset"));
        MethodBuilder::new(&reset, QualifiedName::new(0, "Reset"), "Reset")
            .executable(true)
            .user_executable(true)
            .component_of(d.clone())
            .insert(self.space);
        self.created.push(reset.clone());
        let of = Diag { conn: name, reset: &reset };
        self.counter(&d, &dp, "TotalInformation", false, of, &["SentNetworkMessages", "ReceivedNetworkMessages"]);
        self.counter(&d, &dp, "TotalError", true, of, &["FailedTransmissions", "DecodeErrors"]);
        self.var(&d, &dp, "SubError", DataTypeId::Boolean, Variant::Boolean(false), false);
        let cp = format!("{dp}/Counters");
        let counters = self.child(&d, &cp, "Counters", ObjectTypeId::BaseObjectType);
        for (counter, error, field) in [
            ("SentNetworkMessages", false, "SentNetworkMessages"),
            ("FailedTransmissions", true, "FailedTransmissions"),
            ("ReceivedNetworkMessages", false, "ReceivedNetworkMessages"),
            ("ReceivedInvalidNetworkMessages", true, "DecodeErrors"),
            ("DroppedMessages", false, "DroppedMessages"),
        ] {
            self.counter(&counters, &cp, counter, error, of, &[field]);
        }
        let lp = format!("{dp}/LiveValues");
        let live = self.child(&d, &lp, "LiveValues", ObjectTypeId::BaseObjectType);
        self.var(&live, &lp, "ResolvedAddress", DataTypeId::String, Variant::String(listen.into()), false);
    }

    /// A DataSetWriter object `name` at `wp` in `group` with DataSetWriterId, DataSetFieldContentMask
    /// and KeyFrameCount.
    pub(super) fn writer_node(&mut self, wp: &str, group: &NodeId, name: &str, id: u16, encoding: crate::config::EncodingConfig) -> NodeId {
        let writer = self.object(wp, name, ObjectTypeId::DataSetWriterType, group, ReferenceTypeId::HasDataSetWriter);
        self.var(&writer, wp, "DataSetWriterId", DataTypeId::UInt16, Variant::UInt16(id), true);
        // DataSetFieldContentMask: 0 (Variant), RawData (bit 5), or StatusCode and SourceTimestamp (bits 0, 1).
        let mask: u32 = match encoding {
            crate::config::EncodingConfig::Variant => 0,
            crate::config::EncodingConfig::Raw => 0x20,
            crate::config::EncodingConfig::Datavalue => 0x03,
        };
        self.var(&writer, wp, "DataSetFieldContentMask", DataTypeId::DataSetFieldContentMask, Variant::UInt32(mask), true);
        self.var(&writer, wp, "KeyFrameCount", DataTypeId::UInt32, Variant::UInt32(1), true);
        writer
    }

    /// A writer's PublishedDataItems at `path` below `Server/PublishSubscribe/PublishedDataSets`
    /// (BrowseName `name`), with DataSetToWriter to the writer and PublishedData = `variables`.
    pub(super) fn published_items(&mut self, path: &str, name: &str, writer: &NodeId, variables: Vec<NodeId>) {
        let pds = self.id(path);
        ObjectBuilder::new(&pds, QualifiedName::new(self.ns, name), name)
            .has_type_definition(ObjectTypeId::PublishedDataItemsType)
            .component_of(NodeId::from(ObjectId::PublishSubscribe_PublishedDataSets))
            .reference(writer.clone(), ReferenceTypeId::DataSetToWriter, ReferenceDirection::Forward)
            .insert(self.space);
        self.created.push(pds.clone());
        let items: Vec<ExtensionObject> = variables
            .into_iter()
            .map(|n| ExtensionObject::from_message(PublishedVariableDataType { published_variable: n, attribute_id: 13, ..Default::default() }))
            .collect();
        self.var(&pds, path, "PublishedData", DataTypeId::PublishedVariableDataType, Variant::from(items), true);
        let version = ExtensionObject::from_message(ConfigurationVersionDataType { major_version: 1, minor_version: 1 });
        self.var(&pds, path, "ConfigurationVersion", DataTypeId::ConfigurationVersionDataType, Variant::from(version), true);
    }

    /// A reader's SubscribedDataSet (TargetVariablesType) writing its fields into `targets`.
    pub(super) fn subscribed(&mut self, reader: &NodeId, dp: &str, targets: Vec<NodeId>) {
        let sp = format!("{dp}/SubscribedDataSet");
        let sub = self.child(reader, &sp, "SubscribedDataSet", ObjectTypeId::TargetVariablesType);
        let targets: Vec<ExtensionObject> = targets
            .into_iter()
            .map(|n| ExtensionObject::from_message(FieldTargetDataType { target_node_id: n, attribute_id: 13, ..Default::default() }))
            .collect();
        self.var(&sub, &sp, "TargetVariables", DataTypeId::FieldTargetDataType, Variant::from(targets), true);
    }
}
