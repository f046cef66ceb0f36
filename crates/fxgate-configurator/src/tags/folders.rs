//! The folder index of the Tags page: the tag paths' folders (split on `/`) as a tree, built
//! once per store (its tag set is fixed after start), so a page asks for one folder at a time
//! and no request walks every tag.
//!
//! - a folder knows its subfolders and its direct tags, both in natural order (`Tag2` before
//!   `Tag10`), and how many tags it holds at any depth (`below`);
//! - the tags of a folder and all below it are paged by skipping whole subfolders by their
//!   counts (cost: the page plus the depth, not the folder's size);
//! - every path also stands in byte order, so a prefix filter is one binary search and one
//!   range.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Weak};

use fxgate_core::{TagId, TagStore};
use parking_lot::Mutex;

/// One folder of the tree.
#[derive(Debug)]
pub(crate) struct Folder {
    /// Its path (`fxgate/Lines`; the root is empty).
    pub(crate) path: String,
    /// Its last segment (empty for the root).
    pub(crate) name: String,
    /// Its subfolders (indexes into the index's folders), in natural order of their names.
    pub(crate) children: Vec<usize>,
    /// Its direct tags, in natural order of their names.
    pub(crate) tags: Vec<TagId>,
    /// How many tags it holds at any depth.
    pub(crate) below: usize,
}

/// The folders of a store's tag paths.
#[derive(Debug)]
pub(crate) struct FolderIndex {
    folders: Vec<Folder>,
    by_path: HashMap<String, usize>,
    /// Every path with its id, in byte order: the paths with one prefix are one range.
    sorted: Vec<(String, TagId)>,
}

impl FolderIndex {
    /// The index of `tags` (id and `source/name` path each).
    pub(crate) fn build(tags: impl IntoIterator<Item = (TagId, String)>) -> Self {
        let mut ix = FolderIndex { folders: Vec::new(), by_path: HashMap::new(), sorted: Vec::new() };
        ix.folder(""); // the root is folder 0
        let mut parents: Vec<usize> = vec![usize::MAX];
        let mut names: HashMap<TagId, String> = HashMap::new();
        for (id, path) in tags {
            let (dir, leaf) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
            let f = ix.folder_chain(dir, &mut parents);
            ix.folders[f].tags.push(id);
            names.insert(id, leaf.to_string());
            ix.sorted.push((path, id));
        }
        // Parents are made before their children: counting from the last folder back adds
        // each folder's total to its parent's after its own is complete.
        for f in (0..ix.folders.len()).rev() {
            ix.folders[f].below += ix.folders[f].tags.len();
            if let Some(&p) = parents.get(f).filter(|p| **p != usize::MAX) {
                let below = ix.folders[f].below;
                ix.folders[p].below += below;
            }
        }
        let leaf = |id: &TagId| names.get(id).map(String::as_str).unwrap_or("");
        let mut folders = std::mem::take(&mut ix.folders);
        for f in folders.iter_mut() {
            f.tags.sort_by(|a, b| natural_cmp(leaf(a), leaf(b)));
        }
        let order: Vec<String> = folders.iter().map(|f| f.name.clone()).collect();
        for f in folders.iter_mut() {
            f.children.sort_by(|a, b| natural_cmp(&order[*a], &order[*b]));
        }
        ix.folders = folders;
        ix.sorted.sort_unstable();
        ix
    }

    /// The folder at `path`, made (with its parents) if new.
    fn folder_chain(&mut self, path: &str, parents: &mut Vec<usize>) -> usize {
        if let Some(&f) = self.by_path.get(path) {
            return f;
        }
        let (parent_path, name) = path.rsplit_once('/').unwrap_or(("", path));
        let parent = self.folder_chain(parent_path, parents);
        let f = self.folder(path);
        self.folders[f].name = name.to_string();
        self.folders[parent].children.push(f);
        parents.push(parent);
        f
    }

    fn folder(&mut self, path: &str) -> usize {
        let f = self.folders.len();
        self.folders.push(Folder { path: path.to_string(), name: String::new(), children: Vec::new(), tags: Vec::new(), below: 0 });
        self.by_path.insert(path.to_string(), f);
        f
    }

    /// The folder at `path` (`""`: the root).
    pub(crate) fn get(&self, path: &str) -> Option<&Folder> {
        self.by_path.get(path).map(|&f| &self.folders[f])
    }

    /// The folder at index `f`.
    pub(crate) fn at(&self, f: usize) -> Option<&Folder> {
        self.folders.get(f)
    }

    /// The tags whose path starts with `prefix`: how many, and the ids of `limit` of them
    /// from `offset` on, in byte order of their paths.
    pub(crate) fn with_prefix(&self, prefix: &str, offset: usize, limit: usize) -> (usize, Vec<TagId>) {
        let start = self.sorted.partition_point(|(p, _)| p.as_str() < prefix);
        let rest = &self.sorted[start..];
        let n = rest.partition_point(|(p, _)| p.starts_with(prefix));
        (n, rest[..n].iter().skip(offset).take(limit).map(|(_, id)| *id).collect())
    }

    /// `limit` tags of `folder` and every folder below it from `offset` on: a folder's own
    /// tags first, then its subfolders' in turn. Whole subfolders before `offset` are
    /// skipped by their counts.
    pub(crate) fn below(&self, folder: &Folder, offset: usize, limit: usize) -> Vec<TagId> {
        let mut out = Vec::with_capacity(limit.min(folder.below));
        self.collect(folder, offset, limit, &mut out);
        out
    }

    /// Adds `folder`'s tags after skipping `skip` of them; answers how many are left to skip.
    fn collect(&self, folder: &Folder, skip: usize, limit: usize, out: &mut Vec<TagId>) -> usize {
        if skip >= folder.below {
            return skip - folder.below;
        }
        let own = folder.tags.len();
        out.extend(folder.tags.iter().skip(skip).take(limit - out.len().min(limit)));
        let mut skip = skip.saturating_sub(own);
        for &c in &folder.children {
            if out.len() >= limit {
                break;
            }
            skip = self.collect(&self.folders[c], skip, limit, out);
        }
        skip
    }
}

/// Compares names without regard to ASCII case and with their digit runs as numbers
/// (`Tag2` < `Tag10` < `tag11`), then byte by byte (`Tag1` before `tag1`, `a01` before `a1`),
/// so the order is total.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let (m, n) = (digits(x), digits(y));
                let (p, q) = (trim_zeros(&x[..m]), trim_zeros(&y[..n]));
                let o = p.len().cmp(&q.len()).then_with(|| p.cmp(q));
                if o != Ordering::Equal {
                    return o;
                }
                (x, y) = (&x[m..], &y[n..]);
            }
            (Some(c), Some(d)) => {
                let (c, d) = (c.to_ascii_lowercase(), d.to_ascii_lowercase());
                if c != d {
                    return c.cmp(&d);
                }
                (x, y) = (&x[1..], &y[1..]);
            }
        }
    }
}

fn digits(s: &[u8]) -> usize {
    s.iter().take_while(|c| c.is_ascii_digit()).count()
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let z = s.iter().take_while(|c| **c == b'0').count();
    &s[z..]
}

/// One value per live tag store, made on first use: the configurator's state cannot grow a
/// field for it, and a process (a test) may run several stores. Entries of dropped stores
/// are let go when the next store is looked up.
pub(crate) struct PerStore<T>(Mutex<Vec<(Weak<TagStore>, Arc<T>)>>);

impl<T> PerStore<T> {
    /// Empty.
    pub(crate) const fn new() -> Self {
        Self(Mutex::new(Vec::new()))
    }

    /// The value of `store`, made by `make` if there is none yet; `true` when made now.
    pub(crate) fn get_or_make(&self, store: &Arc<TagStore>, make: impl FnOnce() -> T) -> (Arc<T>, bool) {
        let mut all = self.0.lock();
        all.retain(|(s, _)| s.strong_count() > 0);
        let me = Arc::downgrade(store);
        if let Some((_, v)) = all.iter().find(|(s, _)| s.ptr_eq(&me)) {
            return (v.clone(), false);
        }
        let v = Arc::new(make());
        all.push((me, v.clone()));
        (v, true)
    }
}

static INDEXES: PerStore<FolderIndex> = PerStore::new();

/// The folder index of `store`, built on first use.
pub(crate) fn index_of(store: &Arc<TagStore>) -> Arc<FolderIndex> {
    INDEXES.get_or_make(store, || FolderIndex::build(store.defs().map(|(id, d)| (id, d.path())))).0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ix(paths: &[&str]) -> FolderIndex {
        FolderIndex::build(paths.iter().enumerate().map(|(i, p)| (i as TagId, p.to_string())))
    }

    fn names(ix: &FolderIndex, f: &Folder) -> Vec<String> {
        f.children.iter().filter_map(|&c| ix.at(c)).map(|c| c.name.clone()).collect()
    }

    #[test]
    fn folders_children_counts_and_natural_order() {
        let paths = ["Demo/sine", "Demo/Tag10", "Demo/Tag2", "fxgate/Lines/plc/State", "fxgate/Lines/plc/Errors", "fxgate/Lines/b/State", "Demo/Sub/X"];
        let ix = ix(&paths);
        let root = ix.get("").expect("root");
        assert_eq!(root.below, 7);
        assert_eq!(names(&ix, root), ["Demo", "fxgate"]);
        assert!(root.tags.is_empty());
        let demo = ix.get("Demo").expect("Demo");
        assert_eq!((demo.tags.clone(), demo.below), (vec![0, 2, 1], 4), "Sine, Tag2, Tag10; Sub/X below");
        assert_eq!(names(&ix, demo), ["Sub"]);
        let lines = ix.get("fxgate/Lines").expect("Lines");
        assert_eq!((lines.tags.len(), lines.below, lines.path.as_str()), (0, 3, "fxgate/Lines"));
        assert_eq!(names(&ix, lines), ["b", "plc"]);
        assert_eq!(ix.get("fxgate/Lines/plc").map(|f| f.tags.clone()), Some(vec![4, 3]), "Errors, State");
        assert!(ix.get("Nope").is_none() && ix.get("Demo/Sine").is_none());
        assert_eq!(ix.folders.len(), 7, "root, Demo, Demo/Sub, fxgate, Lines, plc, b");
    }

    #[test]
    fn below_pages_skip_whole_folders() {
        let ix = ix(&["A/x", "A/B/y0", "A/B/y1", "A/C/z0", "A/C/z1", "A/C/z2"]);
        let a = ix.get("A").expect("A");
        assert_eq!(ix.below(a, 0, 100), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(ix.below(a, 2, 2), vec![2, 3]);
        assert_eq!(ix.below(a, 3, 10), vec![3, 4, 5], "skips A's tag and all of B");
        assert_eq!(ix.below(a, 6, 10), Vec::<TagId>::new());
        assert_eq!(ix.below(a, 0, 0), Vec::<TagId>::new());
        assert_eq!(ix.below(ix.get("").expect("root"), 5, 1), vec![5]);
    }

    #[test]
    fn prefix_is_one_range() {
        let ix = ix(&["Demo/Sine", "Demo-x/a", "Demo0/b", "Demo/Ramp", "Other/c"]);
        let (n, ids) = ix.with_prefix("Demo/", 0, 10);
        assert_eq!((n, ids), (2, vec![3, 0]));
        assert_eq!(ix.with_prefix("Demo", 0, 10).0, 4);
        assert_eq!(ix.with_prefix("Demo", 1, 2), (4, vec![3, 0]));
        assert_eq!(ix.with_prefix("", 0, 1).0, 5);
        assert_eq!(ix.with_prefix("Zed", 0, 10), (0, vec![]));
    }

    #[test]
    fn ten_thousand_tags_in_one_folder() {
        let ix = FolderIndex::build((0..10_000u32).map(|i| (i, format!("Big/Tag{i}"))));
        let big = ix.get("Big").expect("Big");
        assert_eq!((big.tags.len(), big.below), (10_000, 10_000));
        assert_eq!(&big.tags[..3], &[0, 1, 2], "natural order: Tag0, Tag1, Tag2");
        assert_eq!(big.tags[9_999], 9_999);
        assert_eq!(ix.below(big, 9_990, 500).len(), 10);
    }

    #[test]
    fn natural_order() {
        let mut v = vec!["Tag10", "Tag2", "tag1", "Tag02", "Tag1b", "Tag1", "A", ""];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["", "A", "Tag1", "tag1", "Tag1b", "Tag02", "Tag2", "Tag10"]);
        assert_eq!(natural_cmp("x99999999999999999999999", "x100000000000000000000000"), Ordering::Less, "no overflow");
    }
}
