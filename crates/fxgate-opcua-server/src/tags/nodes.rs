//! A node of the tags namespace made when it is asked for: its attributes (as the async-opcua
//! node a materialised address space would hold, so every attribute reads exactly as it did)
//! and its metadata for references (BrowseName, DisplayName, NodeClass, TypeDefinition).
//! Nothing made here is kept.

use fxgate_core::{AccessMode, TagStore};
use opcua::nodes::{ObjectBuilder, VariableBuilder};
use opcua::server::address_space::{AccessLevel, NodeType};
use opcua::server::node_manager::NodeMetadata;
use opcua::types::{
    ExpandedNodeId, LocalizedText, NodeClass, NodeId, ObjectTypeId, QualifiedName, VariableTypeId,
};

use super::index::{TagIndex, TagNode};
use crate::items::{item_type, property};

/// NodeId of a node of the tags namespace `ns`.
pub fn node_id(index: &TagIndex, store: &TagStore, ns: u16, node: TagNode) -> Option<NodeId> {
    let path = match node {
        TagNode::Folder(f) => index.get(f)?.path.to_string(),
        TagNode::Tag(id) => store.def(id)?.path(),
        TagNode::Property(id, name) => format!("{}/{name}", store.def(id)?.path()),
    };
    Some(NodeId::new(ns, path))
}

/// The node as async-opcua would hold it, with its attributes (no references). A tag's Value
/// is not in it: values are read from the store.
pub fn build(index: &TagIndex, store: &TagStore, ns: u16, node: TagNode) -> Option<NodeType> {
    let id = node_id(index, store, ns, node)?;
    Some(match node {
        TagNode::Folder(f) => {
            let name = index.get(f)?.name();
            NodeType::Object(Box::new(ObjectBuilder::new(&id, QualifiedName::new(ns, name), name).build()))
        }
        TagNode::Tag(tag) => {
            let def = store.def(tag)?;
            let access = match def.access {
                AccessMode::Read => AccessLevel::CURRENT_READ,
                AccessMode::ReadWrite => AccessLevel::CURRENT_READ | AccessLevel::CURRENT_WRITE,
            };
            let meta = def.meta.as_deref();
            let mut b = VariableBuilder::new(&id, QualifiedName::new(ns, def.name.as_str()), def.name.as_str())
                .data_type(def.data_type)
                .value_rank(-1)
                .access_level(access)
                .user_access_level(access)
                .minimum_sampling_interval(meta.and_then(|m| m.scan_rate_ms).unwrap_or(0.0));
            if !def.description.is_empty() {
                b = b.description(def.description.as_str());
            }
            NodeType::Variable(Box::new(b.build()))
        }
        TagNode::Property(tag, name) => {
            let p = property(store.def(tag)?.meta.as_deref()?, name)?;
            let b = VariableBuilder::new(&id, QualifiedName::new(0, p.name), p.name)
                .data_type(p.data_type)
                .value_rank(p.value_rank)
                .access_level(AccessLevel::CURRENT_READ)
                .user_access_level(AccessLevel::CURRENT_READ)
                .value(p.value);
            NodeType::Variable(Box::new(b.build()))
        }
    })
}

/// BrowseName, DisplayName, NodeClass and TypeDefinition of a node, for a reference to it.
pub fn metadata(index: &TagIndex, store: &TagStore, ns: u16, node: TagNode) -> Option<NodeMetadata> {
    let id = node_id(index, store, ns, node)?;
    let (browse_name, class, type_definition): (QualifiedName, NodeClass, NodeId) = match node {
        TagNode::Folder(f) => (QualifiedName::new(ns, index.get(f)?.name()), NodeClass::Object, ObjectTypeId::FolderType.into()),
        TagNode::Tag(tag) => {
            let def = store.def(tag)?;
            (QualifiedName::new(ns, def.name.as_str()), NodeClass::Variable, item_type(def.meta.as_deref()).into())
        }
        TagNode::Property(_, name) => (QualifiedName::new(0, name), NodeClass::Variable, VariableTypeId::PropertyType.into()),
    };
    Some(NodeMetadata {
        node_id: ExpandedNodeId::new(id),
        type_definition: ExpandedNodeId::new(type_definition),
        display_name: LocalizedText::from(browse_name.name.as_ref()),
        browse_name,
        node_class: class,
    })
}

/// The TypeDefinition of a node (the target of its HasTypeDefinition reference).
pub fn type_definition(store: &TagStore, node: TagNode) -> Option<NodeId> {
    Some(match node {
        TagNode::Folder(_) => ObjectTypeId::FolderType.into(),
        TagNode::Tag(tag) => item_type(store.def(tag)?.meta.as_deref()).into(),
        TagNode::Property(..) => VariableTypeId::PropertyType.into(),
    })
}
