//! Namespace mapping between one upstream server and the gateway.
//!
//! Identifiers stay as the upstream has them; only namespace indexes change. Upstream
//! namespace `i` is gateway namespace `to_gw[i]`, the index of `<upstream>/<uri>` in the
//! gateway's persisted table. The upstream's namespace 0 is special: its type nodes
//! (DataTypes, ObjectTypes, VariableTypes, ReferenceTypes) are the standard ones the gateway
//! has too, so they stay in namespace 0; its instance nodes (the upstream's `Server` object
//! and the like) are its own and go to `<upstream>/http://opcfoundation.org/UA/`; its
//! `Objects` folder is the upstream's folder in the gateway.
//!
//! Values are mapped too: NodeIds, ExpandedNodeIds and QualifiedNames, at any depth of
//! arrays and nested variants, the encoding ids of structures the gateway does not know,
//! and the NodeIds inside the standard structures that carry them (Argument,
//! StructureDefinition).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use opcua::types::{
    Argument, ByteStringBody, DataValue, ExpandedNodeId, ExtensionObject, Identifier, NodeId, ObjectId,
    QualifiedName, StructureDefinition, StructureField, Variant,
};

/// The numeric ids of the standard type nodes (namespace 0) the gateway's type tree holds.
pub type KnownTypes = Arc<HashSet<u32>>;

/// Namespace translation for one session with one upstream server.
#[derive(Debug, Clone)]
pub struct NsMapping {
    /// Upstream index → gateway index (index 0: the upstream's instance namespace).
    to_gw: Vec<u16>,
    /// Gateway index → upstream index.
    to_up: HashMap<u16, u16>,
    /// The gateway NodeId of the upstream's Objects folder.
    folder: NodeId,
    known: KnownTypes,
}

/// A NodeId no server has, for ids that do not map.
fn nowhere(id: &NodeId) -> NodeId {
    NodeId::new(u16::MAX, id.identifier.clone())
}

impl NsMapping {
    /// `to_gw[i]` is the gateway index of the upstream's namespace `i`; `folder` the
    /// gateway NodeId standing for the upstream's Objects folder.
    pub fn new(to_gw: Vec<u16>, folder: NodeId, known: KnownTypes) -> Self {
        let to_up = to_gw.iter().enumerate().map(|(up, gw)| (*gw, up as u16)).collect();
        Self {
            to_gw,
            to_up,
            folder,
            known,
        }
    }

    /// The gateway index of the upstream's namespace `up`.
    pub fn gw_index(&self, up: u16) -> Option<u16> {
        self.to_gw.get(usize::from(up)).copied()
    }

    /// The upstream index of gateway namespace `gw` (for the upstream's own namespaces).
    pub fn up_index(&self, gw: u16) -> Option<u16> {
        self.to_up.get(&gw).copied()
    }

    /// Whether `id` (upstream, namespace 0) is a standard type node the gateway has too.
    fn is_known_type(&self, id: &NodeId) -> bool {
        match &id.identifier {
            Identifier::Numeric(n) => self.known.contains(n),
            _ => false,
        }
    }

    /// Upstream NodeId → gateway NodeId.
    pub fn node_to_gw(&self, id: &NodeId) -> NodeId {
        if id.is_null() {
            return id.clone();
        }
        if id.namespace == 0 {
            if *id == ObjectId::ObjectsFolder {
                return self.folder.clone();
            }
            if self.is_known_type(id) {
                return id.clone();
            }
        }
        match self.gw_index(id.namespace) {
            Some(ns) => NodeId::new(ns, id.identifier.clone()),
            None => nowhere(id),
        }
    }

    /// Gateway NodeId → upstream NodeId; `None` when it is not one of this upstream's.
    pub fn node_to_up(&self, id: &NodeId) -> Option<NodeId> {
        if id.is_null() {
            return Some(id.clone());
        }
        if *id == self.folder {
            return Some(ObjectId::ObjectsFolder.into());
        }
        if id.namespace == 0 {
            return Some(id.clone());
        }
        self.up_index(id.namespace).map(|ns| NodeId::new(ns, id.identifier.clone()))
    }

    /// Upstream ExpandedNodeId → gateway (ids of other servers or given by URI stay).
    pub fn expanded_to_gw(&self, id: &ExpandedNodeId) -> ExpandedNodeId {
        if id.server_index != 0 || !id.namespace_uri.is_null() {
            return id.clone();
        }
        ExpandedNodeId::new(self.node_to_gw(&id.node_id))
    }

    /// Gateway ExpandedNodeId → upstream.
    pub fn expanded_to_up(&self, id: &ExpandedNodeId) -> Option<ExpandedNodeId> {
        if id.server_index != 0 || !id.namespace_uri.is_null() {
            return Some(id.clone());
        }
        self.node_to_up(&id.node_id).map(ExpandedNodeId::new)
    }

    /// Upstream QualifiedName → gateway.
    pub fn qn_to_gw(&self, qn: &QualifiedName) -> QualifiedName {
        if qn.namespace_index == 0 {
            return qn.clone();
        }
        QualifiedName {
            namespace_index: self.gw_index(qn.namespace_index).unwrap_or(u16::MAX),
            name: qn.name.clone(),
        }
    }

    /// Gateway QualifiedName → upstream.
    pub fn qn_to_up(&self, qn: &QualifiedName) -> QualifiedName {
        if qn.namespace_index == 0 {
            return qn.clone();
        }
        QualifiedName {
            namespace_index: self.up_index(qn.namespace_index).unwrap_or(u16::MAX),
            name: qn.name.clone(),
        }
    }

    /// Maps a value from the upstream to the gateway.
    pub fn variant_to_gw(&self, v: Variant) -> Variant {
        self.variant(v, Dir::ToGw)
    }

    /// Maps a value from the gateway to the upstream.
    pub fn variant_to_up(&self, v: Variant) -> Variant {
        self.variant(v, Dir::ToUp)
    }

    /// Maps the value of a DataValue from the upstream to the gateway.
    pub fn data_value_to_gw(&self, mut dv: DataValue) -> DataValue {
        if let Some(v) = dv.value.take() {
            dv.value = Some(self.variant_to_gw(v));
        }
        dv
    }

    fn node(&self, id: &NodeId, dir: Dir) -> NodeId {
        match dir {
            Dir::ToGw => self.node_to_gw(id),
            Dir::ToUp => self.node_to_up(id).unwrap_or_else(|| nowhere(id)),
        }
    }

    fn variant(&self, v: Variant, dir: Dir) -> Variant {
        match v {
            Variant::NodeId(id) => Variant::NodeId(Box::new(self.node(&id, dir))),
            Variant::ExpandedNodeId(id) => Variant::ExpandedNodeId(Box::new(match dir {
                Dir::ToGw => self.expanded_to_gw(&id),
                Dir::ToUp => self
                    .expanded_to_up(&id)
                    .unwrap_or_else(|| ExpandedNodeId::new(nowhere(&id.node_id))),
            })),
            Variant::QualifiedName(qn) => Variant::QualifiedName(Box::new(match dir {
                Dir::ToGw => self.qn_to_gw(&qn),
                Dir::ToUp => self.qn_to_up(&qn),
            })),
            Variant::Variant(inner) => Variant::Variant(Box::new(self.variant(*inner, dir))),
            Variant::DataValue(mut dv) => {
                if let Some(inner) = dv.value.take() {
                    dv.value = Some(self.variant(inner, dir));
                }
                Variant::DataValue(dv)
            }
            Variant::Array(mut a) => {
                let values = std::mem::take(&mut a.values);
                a.values = values.into_iter().map(|x| self.variant(x, dir)).collect();
                Variant::Array(a)
            }
            Variant::ExtensionObject(eo) => Variant::ExtensionObject(self.extension_object(eo, dir)),
            other => other,
        }
    }

    fn extension_object(&self, eo: ExtensionObject, dir: Dir) -> ExtensionObject {
        if let Some(raw) = eo.inner_as::<ByteStringBody>() {
            let id = self.node(raw.encoding_id(), dir);
            return ExtensionObject::new(ByteStringBody::new(raw.raw_body().clone(), id));
        }
        if let Some(arg) = eo.inner_as::<Argument>() {
            let mut arg = arg.clone();
            arg.data_type = self.node(&arg.data_type, dir);
            return ExtensionObject::from_message(arg);
        }
        if let Some(def) = eo.inner_as::<StructureDefinition>() {
            let mut def = def.clone();
            def.default_encoding_id = self.node(&def.default_encoding_id, dir);
            def.base_data_type = self.node(&def.base_data_type, dir);
            if let Some(fields) = def.fields.as_mut() {
                for f in fields.iter_mut() {
                    let mapped: StructureField = StructureField {
                        data_type: self.node(&f.data_type, dir),
                        ..f.clone()
                    };
                    *f = mapped;
                }
            }
            return ExtensionObject::from_message(def);
        }
        eo
    }
}

#[derive(Clone, Copy)]
enum Dir {
    ToGw,
    ToUp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use opcua::types::{DataTypeId, LocalizedText, UAString};

    fn mapping() -> NsMapping {
        let known: HashSet<u32> = [DataTypeId::Double as u32, 58u32, 22].into_iter().collect();
        // upstream ns0 → gateway 7 (its instance namespace), ns1 → 9, ns2 → 8
        NsMapping::new(vec![7, 9, 8], NodeId::new(4, "plc1"), Arc::new(known))
    }

    #[test]
    fn node_ids_map_both_ways() {
        let m = mapping();
        assert_eq!(m.node_to_gw(&NodeId::new(2, "Plant.Counter")), NodeId::new(8, "Plant.Counter"));
        assert_eq!(m.node_to_up(&NodeId::new(8, "Plant.Counter")), Some(NodeId::new(2, "Plant.Counter")));
        // standard types stay in namespace 0, upstream instances of namespace 0 do not
        assert_eq!(m.node_to_gw(&DataTypeId::Double.into()), NodeId::from(DataTypeId::Double));
        assert_eq!(m.node_to_gw(&ObjectId::Server.into()), NodeId::new(7, 2253u32));
        assert_eq!(m.node_to_up(&NodeId::new(7, 2253u32)), Some(ObjectId::Server.into()));
        // the Objects folder is the upstream's folder
        assert_eq!(m.node_to_gw(&ObjectId::ObjectsFolder.into()), NodeId::new(4, "plc1"));
        assert_eq!(m.node_to_up(&NodeId::new(4, "plc1")), Some(ObjectId::ObjectsFolder.into()));
        // a namespace this upstream does not have
        assert_eq!(m.node_to_up(&NodeId::new(3, 1u32)), None);
        assert_eq!(m.node_to_gw(&NodeId::new(5, 1u32)).namespace, u16::MAX);
    }

    #[test]
    fn values_are_mapped_deeply() {
        let m = mapping();
        let ids = opcua::types::Array::new(
            opcua::types::VariantScalarTypeId::NodeId,
            vec![
                Variant::NodeId(Box::new(NodeId::new(1, 5u32))),
                Variant::NodeId(Box::new(NodeId::new(2, 6u32))),
            ],
        )
        .unwrap();
        let Variant::Array(a) = m.variant_to_gw(Variant::Array(Box::new(ids))) else { panic!("not an array") };
        assert_eq!(a.values[0], Variant::NodeId(Box::new(NodeId::new(9, 5u32))));
        assert_eq!(a.values[1], Variant::NodeId(Box::new(NodeId::new(8, 6u32))));
        let nested = Variant::Variant(Box::new(Variant::QualifiedName(Box::new(QualifiedName::new(2, "x")))));
        assert_eq!(
            m.variant_to_gw(nested),
            Variant::Variant(Box::new(Variant::QualifiedName(Box::new(QualifiedName::new(8, "x")))))
        );
        let arg = Argument {
            name: UAString::from("a"),
            data_type: NodeId::new(2, 3001u32),
            value_rank: -1,
            array_dimensions: None,
            description: LocalizedText::null(),
        };
        let out = m.variant_to_gw(Variant::from(ExtensionObject::from_message(arg)));
        let Variant::ExtensionObject(eo) = out else { panic!("not an extension object") };
        assert_eq!(eo.inner_as::<Argument>().map(|a| a.data_type.clone()), Some(NodeId::new(8, 3001u32)));
        let raw = ExtensionObject::new(ByteStringBody::new(vec![1u8, 2].into(), NodeId::new(2, 5002u32)));
        let Variant::ExtensionObject(eo) = m.variant_to_gw(Variant::from(raw)) else { panic!() };
        let back = m.variant_to_up(Variant::from(eo.clone()));
        assert_eq!(eo.inner_as::<ByteStringBody>().map(|b| b.encoding_id().clone()), Some(NodeId::new(8, 5002u32)));
        let Variant::ExtensionObject(eo) = back else { panic!() };
        assert_eq!(eo.inner_as::<ByteStringBody>().map(|b| b.encoding_id().clone()), Some(NodeId::new(2, 5002u32)));
    }
}
