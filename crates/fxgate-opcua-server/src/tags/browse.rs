//! Browse and TranslateBrowsePathsToNodeIds of the tags namespace, from the index.
//!
//! A node's references are a short list of segments (HasTypeDefinition, the child folders,
//! the tags, the properties, the parent), each of one reference type, direction and node class.
//! A Browse walks them from a cursor, skipping whole segments the filter excludes, and stops
//! when the result is full: the continuation point is the cursor (two integers), so a folder
//! of 100,000 tags is paged without copying its references. The order is the same on every
//! Browse: child folders in the order they were first named, tags in store order.

use fxgate_core::TagStore;
use opcua::nodes::{ReferenceDirection, TypeTree};
use opcua::server::node_manager::{AddReferenceResult, BrowseNode, BrowsePathItem, ExternalReference};
use opcua::types::{NodeClass, NodeId, ObjectId, QualifiedName, ReferenceDescription, ReferenceTypeId};

use super::index::{FolderId, TagIndex, TagNode};
use super::nodes::{metadata, type_definition};
use crate::items::property_names;

/// Where a Browse of a node stopped: segment and position in it.
#[derive(Debug, Clone, Copy, Default)]
struct Cursor {
    segment: usize,
    offset: usize,
}

/// One run of references of one type, direction and target node class.
#[derive(Debug, Clone, Copy)]
enum Segment {
    /// HasTypeDefinition to a type of namespace 0 (resolved by the core node manager).
    TypeDefinition(TagNode),
    /// Organizes to the child folders of a folder, or of `Objects` (`None`).
    ChildFolders(Option<FolderId>),
    /// HasComponent to the tags of a folder.
    Tags(FolderId),
    /// HasProperty to the properties of a tag.
    Properties(fxgate_core::TagId),
    /// The inverse hierarchical reference to the parent.
    Parent(TagNode),
}

impl Segment {
    fn reference_type(self) -> ReferenceTypeId {
        match self {
            Segment::TypeDefinition(_) => ReferenceTypeId::HasTypeDefinition,
            Segment::ChildFolders(_) => ReferenceTypeId::Organizes,
            Segment::Tags(_) => ReferenceTypeId::HasComponent,
            Segment::Properties(_) => ReferenceTypeId::HasProperty,
            Segment::Parent(TagNode::Folder(_)) => ReferenceTypeId::Organizes,
            Segment::Parent(TagNode::Tag(_)) => ReferenceTypeId::HasComponent,
            Segment::Parent(TagNode::Property(..)) => ReferenceTypeId::HasProperty,
        }
    }

    fn forward(self) -> bool {
        !matches!(self, Segment::Parent(_))
    }

    /// NodeClass of the targets (`None`: a type, resolved elsewhere).
    fn target_class(self) -> Option<NodeClass> {
        match self {
            Segment::TypeDefinition(_) => None,
            Segment::ChildFolders(_) => Some(NodeClass::Object),
            Segment::Tags(_) | Segment::Properties(_) => Some(NodeClass::Variable),
            Segment::Parent(TagNode::Tag(_)) => Some(NodeClass::Variable),
            Segment::Parent(_) => Some(NodeClass::Object),
        }
    }
}

/// The tags namespace as Browse and TranslateBrowsePaths see it.
pub struct View<'a> {
    /// Folders.
    pub index: &'a TagIndex,
    /// Definitions.
    pub store: &'a TagStore,
    /// Namespace index of the tags namespace.
    pub ns: u16,
}

impl View<'_> {
    /// The segments of `node` (`None`: `Objects`, for the folders directly below it).
    fn segments(&self, node: Option<TagNode>) -> Vec<Segment> {
        match node {
            None => vec![Segment::ChildFolders(None)],
            Some(n @ TagNode::Folder(f)) => {
                vec![Segment::TypeDefinition(n), Segment::ChildFolders(Some(f)), Segment::Tags(f), Segment::Parent(n)]
            }
            Some(n @ TagNode::Tag(t)) => vec![Segment::TypeDefinition(n), Segment::Properties(t), Segment::Parent(n)],
            Some(n @ TagNode::Property(..)) => vec![Segment::TypeDefinition(n), Segment::Parent(n)],
        }
    }

    fn len(&self, segment: Segment) -> usize {
        match segment {
            Segment::TypeDefinition(_) | Segment::Parent(_) => 1,
            Segment::ChildFolders(None) => self.index.top.len(),
            Segment::ChildFolders(Some(f)) => self.index.get(f).map_or(0, |f| f.folders.len()),
            Segment::Tags(f) => self.index.get(f).map_or(0, |f| f.tags.len()),
            Segment::Properties(t) => self
                .store
                .def(t)
                .and_then(|d| d.meta.as_deref())
                .map_or(0, |m| property_names(m).len()),
        }
    }

    /// The target of reference `i` of `segment`, as a node of this namespace; `Err` for a
    /// target in namespace 0 (a type, or `Objects`).
    fn target(&self, segment: Segment, i: usize) -> Option<Result<TagNode, NodeId>> {
        Some(match segment {
            Segment::TypeDefinition(n) => Err(type_definition(self.store, n)?),
            Segment::ChildFolders(None) => Ok(TagNode::Folder(*self.index.top.get(i)?)),
            Segment::ChildFolders(Some(f)) => Ok(TagNode::Folder(*self.index.get(f)?.folders.get(i)?)),
            Segment::Tags(f) => Ok(TagNode::Tag(*self.index.get(f)?.tags.get(i)?)),
            Segment::Properties(t) => {
                let meta = self.store.def(t)?.meta.as_deref()?;
                Ok(TagNode::Property(t, property_names(meta).get(i)?))
            }
            Segment::Parent(n) => match self.parent(n)? {
                Some(p) => Ok(p),
                None => Err(ObjectId::ObjectsFolder.into()),
            },
        })
    }

    /// The parent of a node (`Some(None)`: `Objects`).
    fn parent(&self, node: TagNode) -> Option<Option<TagNode>> {
        Some(match node {
            TagNode::Folder(f) => self.index.get(f)?.parent.map(TagNode::Folder),
            TagNode::Tag(t) => Some(TagNode::Folder(self.index.folder_by_path(&self.store.def(t)?.source)?)),
            TagNode::Property(t, _) => Some(TagNode::Tag(t)),
        })
    }

    fn allowed(&self, browse: &BrowseNode, segment: Segment, types: &dyn TypeTree) -> bool {
        let direction = if segment.forward() { browse.allows_forward() } else { browse.allows_inverse() };
        direction
            && browse.allows_reference_type(&segment.reference_type().into(), types)
            && segment.target_class().is_none_or(|c| browse.allows_node_class(c))
    }

    /// Browses `browse`, whose node is `node` (`None`: `Objects`), from its continuation point.
    pub fn browse(&self, browse: &mut BrowseNode, node: Option<TagNode>, types: &dyn TypeTree) {
        let start = browse.take_continuation_point::<Cursor>().map(|c| *c).unwrap_or_default();
        let segments = self.segments(node);
        for (s, segment) in segments.iter().enumerate().skip(start.segment) {
            if !self.allowed(browse, *segment, types) {
                continue;
            }
            let from = if s == start.segment { start.offset } else { 0 };
            for i in from..self.len(*segment) {
                let Some(target) = self.target(*segment, i) else { continue };
                let direction = if segment.forward() { ReferenceDirection::Forward } else { ReferenceDirection::Inverse };
                let reference_type: NodeId = segment.reference_type().into();
                match target {
                    Err(outside) => {
                        browse.push_external_reference(ExternalReference::new(outside.into(), reference_type, direction));
                    }
                    Ok(t) => {
                        let Some(meta) = metadata(self.index, self.store, self.ns, t) else { continue };
                        let rd: ReferenceDescription = meta.into_ref_desc(segment.forward(), reference_type);
                        if let AddReferenceResult::Full(_) = browse.add(types, rd) {
                            browse.set_next_continuation_point(Box::new(Cursor { segment: s, offset: i }));
                            return;
                        }
                    }
                }
            }
        }
    }

    /// The targets of `node` along one path element that are named `name` (all of them for a
    /// null name): `Ok` in this namespace, `Err` outside it (to be matched by another node
    /// manager).
    fn step(
        &self,
        node: Option<TagNode>,
        reference_type: &NodeId,
        include_subtypes: bool,
        inverse: bool,
        name: &QualifiedName,
        types: &dyn TypeTree,
    ) -> Vec<Result<TagNode, NodeId>> {
        let mut out = Vec::new();
        for segment in self.segments(node) {
            let rt: NodeId = segment.reference_type().into();
            let type_ok = reference_type.is_null()
                || &rt == reference_type
                || (include_subtypes && types.is_subtype_of(&rt, reference_type));
            if !type_ok || segment.forward() == inverse {
                continue;
            }
            // A named child of a folder is found by its path, not by a walk of the folder.
            if !name.is_null() && matches!(segment, Segment::ChildFolders(_) | Segment::Tags(_)) {
                if name.namespace_index != self.ns {
                    continue;
                }
                let path = match segment {
                    Segment::ChildFolders(None) => name.name.as_ref().to_string(),
                    Segment::ChildFolders(Some(f)) | Segment::Tags(f) => match self.index.get(f) {
                        Some(f) => format!("{}/{}", f.path, name.name.as_ref()),
                        None => continue,
                    },
                    _ => continue,
                };
                let found = match segment {
                    Segment::Tags(_) => self.store.id_of(&path).map(TagNode::Tag),
                    _ => self.index.folder_by_path(&path).map(TagNode::Folder),
                };
                if let Some(n) = found.filter(|n| self.parent(*n) == Some(node)) {
                    out.push(Ok(n));
                }
                continue;
            }
            for i in 0..self.len(segment) {
                match self.target(segment, i) {
                    Some(Ok(t)) => {
                        let matches = name.is_null()
                            || metadata(self.index, self.store, self.ns, t).is_some_and(|m| &m.browse_name == name);
                        if matches {
                            out.push(Ok(t));
                        }
                    }
                    Some(Err(outside)) => out.push(Err(outside)),
                    None => {}
                }
            }
        }
        out
    }

    /// TranslateBrowsePathsToNodeIds for one item starting at `start` (`None`: `Objects`).
    pub fn translate(&self, item: &mut BrowsePathItem, start: Option<TagNode>, types: &dyn TypeTree) {
        let mut current = vec![start];
        let path = item.path();
        for (depth, element) in path.iter().enumerate() {
            let mut next = Vec::new();
            for node in current.drain(..) {
                for target in self.step(
                    node,
                    &element.reference_type_id,
                    element.include_subtypes,
                    element.is_inverse,
                    &element.target_name,
                    types,
                ) {
                    match target {
                        Ok(t) => {
                            if let Some(id) = super::nodes::node_id(self.index, self.store, self.ns, t) {
                                item.add_element(id, depth + 1, None);
                                next.push(Some(t));
                            }
                        }
                        // A target outside the namespace (Objects, a type): another node
                        // manager checks its name.
                        Err(outside) => item.add_element(outside, depth + 1, Some(element.target_name.clone())),
                    }
                }
            }
            if next.is_empty() {
                return;
            }
            current = next;
        }
    }
}
