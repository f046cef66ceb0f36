//! Node resolution for local target AutomationComponents (§13.3, §13.2.1): portable NodeIds
//! through the server's namespace table (an empty URI is index 1), PortableRelativePaths by
//! following hierarchical references in the FX address space (TranslateBrowsePathsToNodeIds
//! semantics: forward, subtypes included, more than one match is an error) including the tag
//! nodes the FunctionalEntities organize, and tag paths to the tag nodes.

use std::str::FromStr;

use crate::config::{is_portable_node_id, parse_portable_node_id, EndpointConfig, PathElementConfig};
use opcua::nodes::TypeTree;
use opcua::server::address_space::AddressSpace;
use opcua::types::{
    BrowseDirection, NamespaceMap, NodeId, PortableNodeId, PortableQualifiedName, QualifiedName, ReferenceTypeId,
};

use crate::model::{Component, Entity};
use crate::namespaces::FX_INSTANCES;
use crate::node_manager::FxNodeManagerImpl;
use crate::types::{PortableNodeIdentifier, PortableRelativePath, PortableRelativePathElement};

/// Why a node of a set could not be resolved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResolveError {
    /// A namespace URI is not in the server's NamespaceArray (FxErrorEnum ResolvingNamespacesError).
    #[error("namespace `{0}` is not in the server's NamespaceArray")]
    UnknownNamespace(String),
    /// A NodeId text is not valid.
    #[error("`{0}` is not a valid NodeId")]
    InvalidNodeId(String),
    /// A browse path leads nowhere (FxErrorEnum ResolvingPathsError).
    #[error("browse path {0} leads to no node")]
    NoMatch(String),
    /// A browse path leads to more than one node.
    #[error("browse path {0} leads to more than one node")]
    Ambiguous(String),
    /// A node does not exist, or is not what it must be (e.g. no FunctionalEntity of the component).
    #[error("{0}")]
    Wrong(String),
}

/// The PortableNodeIdentifier a configured endpoint names its FunctionalEntity with (the value
/// of the configuration's FunctionalEntityNode).
pub fn configured_entity(e: &EndpointConfig) -> PortableNodeIdentifier {
    if !e.functional_entity_path.is_empty() {
        let elements = e
            .functional_entity_path
            .iter()
            .map(|p| PortableRelativePathElement {
                reference_type_id: PortableNodeId {
                    namespace_uri: "".into(),
                    identifier: ReferenceTypeId::HierarchicalReferences.into(),
                },
                is_inverse: false,
                include_subtypes: true,
                target_name: PortableQualifiedName { namespace_uri: p.namespace.as_str().into(), name: p.name.as_str().into() },
            })
            .collect();
        return PortableNodeIdentifier::IdentifierBrowsePath(PortableRelativePath { elements: Some(elements) });
    }
    let (uri, identifier) = match parse_portable_node_id(&e.functional_entity_node) {
        Ok(p) => (p.namespace, NodeId::from_str(&format!("ns=0;{}", p.identifier)).unwrap_or_default()),
        Err(_) => (
            FX_INSTANCES.to_string(),
            NodeId::new(0, format!("{}/FunctionalEntities/{}", e.automation_component, e.functional_entity)),
        ),
    };
    PortableNodeIdentifier::Node(PortableNodeId { namespace_uri: uri.into(), identifier })
}

/// Resolves nodes against the FX address space, the tag store and the server's namespaces.
pub struct Resolver<'a> {
    /// The node manager.
    pub nm: &'a FxNodeManagerImpl,
    /// Its address space.
    pub space: &'a AddressSpace,
    /// The server's namespace table.
    pub namespaces: &'a NamespaceMap,
    /// The server's type tree (for the reference type hierarchy).
    pub types: &'a dyn TypeTree,
}

impl Resolver<'_> {
    /// The index of namespace `uri` (empty: 1, the server's local namespace).
    fn namespace(&self, uri: &str) -> Result<u16, ResolveError> {
        if uri.is_empty() {
            return Ok(1);
        }
        self.namespaces.get_index(uri).ok_or_else(|| ResolveError::UnknownNamespace(uri.to_string()))
    }

    /// A portable NodeId text (`nsu=<uri>;s=…`) or a tag path.
    pub fn node(&self, text: &str) -> Result<NodeId, ResolveError> {
        if is_portable_node_id(text) {
            let p = parse_portable_node_id(text).map_err(|_| ResolveError::InvalidNodeId(text.to_string()))?;
            let ns = self.namespace(&p.namespace)?;
            let mut id = NodeId::from_str(&format!("ns=0;{}", p.identifier)).map_err(|_| ResolveError::InvalidNodeId(text.to_string()))?;
            id.namespace = ns;
            return Ok(id);
        }
        self.tag(text)
    }

    /// The node of tag `path`.
    pub fn tag(&self, path: &str) -> Result<NodeId, ResolveError> {
        match self.nm.store().id_of(path) {
            Some(_) => Ok(NodeId::new(self.nm.tags_namespace(), path.to_string())),
            None => Err(ResolveError::Wrong(format!("no tag `{path}`"))),
        }
    }

    /// Follows `path` from `start`.
    pub fn path(&self, start: &NodeId, path: &[PathElementConfig]) -> Result<NodeId, ResolveError> {
        let shown = || path.iter().map(|p| format!("[{}]{}", p.namespace, p.name)).collect::<Vec<_>>().join("/");
        let mut current = start.clone();
        for el in path {
            let want = QualifiedName::new(self.namespace(&el.namespace)?, el.name.as_str());
            let refs = self.space.find_references(
                &current,
                Some((ReferenceTypeId::HierarchicalReferences, true)),
                self.types,
                BrowseDirection::Forward,
            );
            let mut found: Vec<NodeId> = refs
                .map(|r| r.target_node.clone())
                .filter(|t| self.browse_name(t).as_ref() == Some(&want))
                .collect();
            found.dedup();
            current = match found.len() {
                0 => return Err(ResolveError::NoMatch(shown())),
                1 => found.remove(0),
                _ => return Err(ResolveError::Ambiguous(shown())),
            };
        }
        Ok(current)
    }

    /// The BrowseName of an FX node or a tag node.
    fn browse_name(&self, node: &NodeId) -> Option<QualifiedName> {
        if let Some(n) = self.space.find(node) {
            return Some(n.as_node().browse_name().clone());
        }
        if node.namespace != self.nm.tags_namespace() {
            return None;
        }
        let opcua::types::Identifier::String(path) = &node.identifier else { return None };
        let def = self.nm.store().def(self.nm.store().id_of(path.as_ref())?)?;
        Some(QualifiedName::new(node.namespace, def.name.as_str()))
    }

    /// The component and FunctionalEntity an endpoint configuration names.
    pub fn entity(&self, e: &EndpointConfig) -> Result<(usize, &Entity), ResolveError> {
        let model = self.nm.model();
        let (c, component): (usize, &Component) = model
            .components
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == e.automation_component)
            .ok_or_else(|| ResolveError::Wrong(format!("no AutomationComponent `{}`", e.automation_component)))?;
        let node = if !e.functional_entity_path.is_empty() {
            self.path(&model.root, &e.functional_entity_path)?
        } else if !e.functional_entity_node.is_empty() {
            self.node(&e.functional_entity_node)?
        } else {
            return component
                .entities
                .iter()
                .find(|f| f.name == e.functional_entity)
                .map(|f| (c, f))
                .ok_or_else(|| ResolveError::Wrong(format!("`{}` has no FunctionalEntity `{}`", component.name, e.functional_entity)));
        };
        component
            .entities
            .iter()
            .find(|f| f.node == node)
            .map(|f| (c, f))
            .ok_or_else(|| ResolveError::Wrong(format!("{node} is no FunctionalEntity of `{}`", component.name)))
    }

    /// InputVariableIds or OutputVariableIds: tag paths, then browse paths from the entity.
    pub fn variables(&self, fe: &Entity, tags: &[String], paths: &[Vec<PathElementConfig>]) -> Result<Vec<NodeId>, ResolveError> {
        let mut out = Vec::with_capacity(tags.len() + paths.len());
        for t in tags {
            out.push(self.tag(t)?);
        }
        for p in paths {
            out.push(self.path(&fe.node, p)?);
        }
        Ok(out)
    }
}
