//! The lookup from a tag's path (`<source>/<name>`) to its id, without a copy of the path:
//! each entry is the path's hash and the tag id (16 bytes), and a match is checked against the
//! tag's definition. A `HashMap<String, TagId>` held a second copy of every path, about 60 bytes
//! per tag (a quarter of the store at a million tags). hashbrown's `HashTable` is used because
//! std's map has no lookup by a key the table does not store.

use std::hash::{BuildHasher, Hasher, RandomState};

use hashbrown::HashTable;

use crate::tag::{TagDef, TagId};

/// Tag ids by path.
#[derive(Debug, Default)]
pub struct PathIndex {
    table: HashTable<(u64, TagId)>,
    hasher: RandomState,
}

/// Whether `def`'s path is `path`, without making the path.
fn is_path(def: &TagDef, path: &str) -> bool {
    let source = def.source.as_ref();
    path.len() == source.len() + 1 + def.name.len()
        && path.starts_with(source)
        && path.as_bytes()[source.len()] == b'/'
        && path.ends_with(def.name.as_str())
}

impl PathIndex {
    fn hash(&self, path: &str) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(path.as_bytes());
        h.finish()
    }

    fn find<'a>(&self, hash: u64, path: &str, def: impl Fn(TagId) -> Option<&'a TagDef>) -> Option<TagId> {
        self.table
            .find(hash, |(h, id)| *h == hash && def(*id).is_some_and(|d| is_path(d, path)))
            .map(|(_, id)| *id)
    }

    /// The id of the tag at `path`; `def` gives the definition of an id.
    pub fn get<'a>(&self, path: &str, def: impl Fn(TagId) -> Option<&'a TagDef>) -> Option<TagId> {
        self.find(self.hash(path), path, def)
    }

    /// Adds `id`, whose definition is `new`; the id already there when the path is taken.
    pub fn insert<'a>(&mut self, id: TagId, new: &TagDef, def: impl Fn(TagId) -> Option<&'a TagDef>) -> Result<(), TagId> {
        let path = new.path();
        let hash = self.hash(&path);
        if let Some(existing) = self.find(hash, &path, def) {
            return Err(existing);
        }
        self.table.insert_unique(hash, (hash, id), |(h, _)| *h);
        Ok(())
    }

    /// Number of tags.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opcua::types::DataTypeId;

    fn def(source: &str, name: &str) -> TagDef {
        TagDef::new(source, name, DataTypeId::Double)
    }

    #[test]
    fn finds_by_path_and_refuses_a_second_one() {
        let defs: Vec<TagDef> = vec![def("A", "x"), def("A/x", "y"), def("Ax", ""), def("B", "x")];
        let lookup = |id: TagId| defs.get(id as usize);
        let mut index = PathIndex::default();
        for (i, d) in defs.iter().enumerate() {
            index.insert(i as TagId, d, lookup).expect("distinct paths");
        }
        assert_eq!(index.len(), 4);
        assert_eq!(index.get("A/x", lookup), Some(0));
        assert_eq!(index.get("A/x/y", lookup), Some(1));
        assert_eq!(index.get("Ax/", lookup), Some(2));
        assert_eq!(index.get("B/x", lookup), Some(3));
        for missing in ["A", "A/", "/x", "Ax", "B/y", "A/xy", "", "A/x/"] {
            assert_eq!(index.get(missing, lookup), None, "{missing}");
        }
        assert_eq!(index.insert(9, &def("B", "x"), lookup), Err(3));
    }
}
