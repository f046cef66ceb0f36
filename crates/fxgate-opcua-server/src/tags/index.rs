//! The shape of the tag address space, computed once from the tag store's definitions: a
//! folder per source path (and each of its parents), the tags of each folder in store order,
//! and the lookup from a NodeId of the tags namespace to what it names. Nothing per tag is
//! held beyond its id in its folder's list (4 bytes); names, types and properties are read from
//! the store's definition when asked.

use std::collections::HashMap;

use fxgate_core::{TagId, TagStore};
use opcua::types::{Identifier, NodeId};

use crate::items::property_names;

/// Index of a folder in [`TagIndex::folders`].
pub type FolderId = u32;

/// A folder of the tags namespace: `Objects/<a>/<b>` has the path `a/b`.
#[derive(Debug)]
pub struct Folder {
    /// Path below `Objects`, which is also the NodeId's string identifier.
    pub path: Box<str>,
    /// The parent folder; `None` for a folder directly below `Objects`.
    pub parent: Option<FolderId>,
    /// Child folders, in the order they were first named.
    pub folders: Vec<FolderId>,
    /// The tags of this source path, in store order.
    pub tags: Vec<TagId>,
}

impl Folder {
    /// BrowseName (and DisplayName) text: the last path segment.
    pub fn name(&self) -> &str {
        self.path.rsplit_once('/').map_or(&self.path, |(_, n)| n)
    }
}

/// What a NodeId of the tags namespace names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagNode {
    /// A folder.
    Folder(FolderId),
    /// A tag's variable.
    Tag(TagId),
    /// A standard property of a typed tag (`EURange`, …), by name.
    Property(TagId, &'static str),
}

/// The folders of the tags namespace and how NodeIds map to nodes.
#[derive(Debug, Default)]
pub struct TagIndex {
    /// Every folder; ids are indexes.
    pub folders: Vec<Folder>,
    /// Folders directly below `Objects`, in the order they were first named (`fxgate` first).
    pub top: Vec<FolderId>,
    by_path: HashMap<Box<str>, FolderId>,
}

/// The folder that always exists: the gateway's own state (lines, WebSockets, upstreams).
pub const GATEWAY_FOLDER: &str = "fxgate";

impl TagIndex {
    /// Indexes the definitions of `store`: one pass, a hash lookup per tag.
    pub fn new(store: &TagStore) -> Self {
        let mut index = TagIndex::default();
        index.folder(GATEWAY_FOLDER);
        let mut last: Option<(&str, FolderId)> = None;
        for (id, def) in store.defs() {
            // Tags of one source come in runs: skip the lookup while the source is the same.
            let f = match last {
                Some((s, f)) if s == def.source.as_ref() => f,
                _ => index.folder(&def.source),
            };
            last = Some((def.source.as_ref(), f));
            index.folders[f as usize].tags.push(id);
        }
        for f in &mut index.folders {
            f.tags.shrink_to_fit();
        }
        index
    }

    /// The folder of `path`, made with its parents on first use.
    fn folder(&mut self, path: &str) -> FolderId {
        if let Some(f) = self.by_path.get(path) {
            return *f;
        }
        let parent = path.rsplit_once('/').map(|(p, _)| self.folder(p));
        let id = self.folders.len() as FolderId;
        self.folders.push(Folder { path: path.into(), parent, folders: Vec::new(), tags: Vec::new() });
        self.by_path.insert(path.into(), id);
        match parent {
            Some(p) => self.folders[p as usize].folders.push(id),
            None => self.top.push(id),
        }
        id
    }

    /// The folder with this path.
    pub fn folder_by_path(&self, path: &str) -> Option<FolderId> {
        self.by_path.get(path).copied()
    }

    /// The folder `f`.
    pub fn get(&self, f: FolderId) -> Option<&Folder> {
        self.folders.get(f as usize)
    }

    /// What `node` names, if it is a node of namespace `ns` that exists.
    pub fn resolve(&self, store: &TagStore, ns: u16, node: &NodeId) -> Option<TagNode> {
        if node.namespace != ns {
            return None;
        }
        let Identifier::String(s) = &node.identifier else {
            return None;
        };
        self.resolve_path(store, s.as_ref())
    }

    /// What the string identifier `path` names.
    pub fn resolve_path(&self, store: &TagStore, path: &str) -> Option<TagNode> {
        if let Some(id) = store.id_of(path) {
            return Some(TagNode::Tag(id));
        }
        if let Some(f) = self.folder_by_path(path) {
            return Some(TagNode::Folder(f));
        }
        let (tag, name) = path.rsplit_once('/')?;
        let id = store.id_of(tag)?;
        let meta = store.def(id)?.meta.as_deref()?;
        let name = property_names(meta).into_iter().find(|p| *p == name)?;
        Some(TagNode::Property(id, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fxgate_core::{TagDef, TagMeta, TagStoreBuilder};
    use opcua::types::DataTypeId;
    use std::sync::Arc;

    fn def(source: &str, name: &str, meta: Option<TagMeta>) -> TagDef {
        TagDef { meta: meta.map(Arc::new), ..TagDef::new(source, name, DataTypeId::Double) }
    }

    #[test]
    fn folders_tags_and_properties() {
        let mut b = TagStoreBuilder::new();
        for d in [
            def("Demo", "A", None),
            def("fxgate/Lines/plc", "State", None),
            def("Demo", "B", Some(TagMeta { eu_range: Some((0.0, 1.0)), ..Default::default() })),
            def("Plant", "C", None),
        ] {
            b.add_tag(d).expect("unique paths");
        }
        let store = b.build();
        let index = TagIndex::new(&store);
        let names: Vec<_> = index.folders.iter().map(|f| f.path.as_ref()).collect();
        assert_eq!(names, ["fxgate", "Demo", "fxgate/Lines", "fxgate/Lines/plc", "Plant"]);
        let top: Vec<_> = index.top.iter().map(|f| index.folders[*f as usize].name()).collect();
        assert_eq!(top, ["fxgate", "Demo", "Plant"]);
        let demo = index.folder_by_path("Demo").expect("Demo");
        assert_eq!(index.folders[demo as usize].tags, [0, 2]);
        assert_eq!(index.folders[index.folder_by_path("fxgate/Lines").expect("Lines") as usize].name(), "Lines");
        assert_eq!(index.resolve_path(&store, "Demo/A"), Some(TagNode::Tag(0)));
        assert_eq!(index.resolve_path(&store, "fxgate/Lines"), index.folder_by_path("fxgate/Lines").map(TagNode::Folder));
        assert_eq!(index.resolve_path(&store, "Demo/B/EURange"), Some(TagNode::Property(2, "EURange")));
        assert_eq!(index.resolve_path(&store, "Demo/B/EngineeringUnits"), None);
        assert_eq!(index.resolve_path(&store, "Demo/A/EURange"), None);
        assert_eq!(index.resolve_path(&store, "Nope"), None);
        assert_eq!(index.resolve(&store, 3, &NodeId::new(3, 7u32)), None);
        assert_eq!(index.resolve(&store, 3, &NodeId::new(4, "Demo/A")), None);
    }
}
