//! Which tags a client publishes: browse-path globs (`Demo/*`, `*/Temp?`, `**` for all),
//! compiled once with `globset`, and the changes of the selected tags collected between two
//! messages.
//!
//! The glob syntax is the one of the `tags` key of a `[[websocket]]` (and of the `browse`
//! command): `*` any run of characters except `/`, `**` any run including `/`, `?` one
//! character except `/`, everything else literal (no classes, no alternates, no escapes).
//! `globset` has a different notion of `**` (a whole path component that may also match no
//! component at all, `**/x` matching `x`), so [`TagFilter`] translates each pattern into
//! globset syntax that matches exactly the same paths (see `translate`).

use fxgate_core::{TagId, TagStore, TagValue};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// A pattern that cannot be compiled (`globset` refused it, e.g. over its size limit).
#[derive(Debug, thiserror::Error)]
#[error("glob `{pattern}`: {source}")]
pub struct PatternError {
    /// The pattern as configured.
    pub pattern: String,
    /// Why globset refused it.
    #[source]
    pub source: globset::Error,
}

/// A set of browse-path globs, compiled once; a path matches when any glob matches it.
#[derive(Debug, Clone)]
pub struct TagFilter {
    set: GlobSet,
}

impl TagFilter {
    /// Compiles `patterns` (none: nothing matches).
    pub fn new<I>(patterns: I) -> Result<Self, PatternError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut b = GlobSetBuilder::new();
        for p in patterns {
            let p = p.as_ref();
            let glob = GlobBuilder::new(&translate(p))
                .literal_separator(true)
                .backslash_escape(false)
                .build()
                .map_err(|source| PatternError { pattern: p.to_string(), source })?;
            b.add(glob);
        }
        let set = b.build().map_err(|source| PatternError { pattern: String::new(), source })?;
        Ok(Self { set })
    }

    /// Whether any glob matches `path`.
    pub fn is_match(&self, path: &str) -> bool {
        self.set.is_match(path)
    }
}

/// A pattern of ours in globset syntax, matching the same paths:
/// - `*` stays `*` (with `literal_separator` it does not cross `/`), `?` stays `?`;
/// - a run of two or more `*` matches any string, `/` included. In globset `**` only means
///   that as a whole path component, and then it also matches no component, so the run
///   becomes `{*,*/**/*}`: either no `/` at all, or a first component, one or more `/`
///   with anything between them, and a last component. Together: any string.
/// - `[`, `]`, `{`, `}` are literal here and special there: each becomes a class of itself.
///
/// Backslashes are literal on both sides (`backslash_escape(false)`), and `,` is special
/// only inside alternates.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                let mut run = 1;
                while chars.next_if_eq(&'*').is_some() {
                    run += 1;
                }
                out.push_str(if run == 1 { "*" } else { "{*,*/**/*}" });
            }
            '[' | ']' | '{' | '}' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

/// The tags of a store a client publishes: the browse path of each selected tag, by id.
#[derive(Debug, Clone)]
pub struct Selection {
    paths: Vec<Option<Box<str>>>,
    count: usize,
}

impl Selection {
    /// The tags of `store` whose browse path `filter` matches.
    pub fn new(store: &TagStore, filter: &TagFilter) -> Self {
        let mut paths: Vec<Option<Box<str>>> = vec![None; store.len()];
        let mut count = 0;
        for (id, def) in store.defs() {
            let path = def.path();
            if filter.is_match(&path) {
                if let Some(slot) = paths.get_mut(id as usize) {
                    *slot = Some(path.into());
                    count += 1;
                }
            }
        }
        Self { paths, count }
    }

    /// The browse path of tag `id` if it is selected.
    pub fn path(&self, id: TagId) -> Option<&str> {
        self.paths.get(id as usize)?.as_deref()
    }

    /// Whether tag `id` is selected.
    pub fn contains(&self, id: TagId) -> bool {
        self.path(id).is_some()
    }

    /// The ids of the selected tags, in order.
    pub fn ids(&self) -> impl Iterator<Item = TagId> + '_ {
        self.paths.iter().enumerate().filter(|(_, p)| p.is_some()).map(|(i, _)| i as TagId)
    }

    /// How many tags are selected.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no tag is selected.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The number of tags in the store (selected or not).
    fn store_len(&self) -> usize {
        self.paths.len()
    }
}

/// The changes of the selected tags since the last message.
pub struct Collector {
    selection: Selection,
    /// The value queued last for each tag, by id.
    last: Vec<Option<TagValue>>,
    pending: Vec<(TagId, TagValue)>,
}

impl Collector {
    /// Collects changes of the tags in `selection`.
    pub fn new(selection: Selection) -> Self {
        Self { last: vec![None; selection.store_len()], selection, pending: Vec::new() }
    }

    /// The selected tags.
    pub fn selection(&self) -> &Selection {
        &self.selection
    }

    /// Takes the changes of the selected tags from a batch of the store.
    pub fn collect(&mut self, batch: &[(TagId, TagValue)]) {
        for (id, v) in batch {
            if self.selection.contains(*id) {
                self.queue(*id, v);
            }
        }
    }

    /// Queues every selected tag as it is now (at start, and after the change stream lagged).
    pub fn snapshot(&mut self, store: &TagStore) {
        let ids: Vec<TagId> = self.selection.ids().collect();
        for id in ids {
            if let Some(v) = store.get(id) {
                self.queue(id, &v);
            }
        }
    }

    /// Queues a value unless it is the very value queued last for the tag (the start-up
    /// image and the change stream can both carry the same update).
    fn queue(&mut self, id: TagId, v: &TagValue) {
        let Some(last) = self.last.get_mut(id as usize) else { return };
        if last.as_ref() == Some(v) {
            return;
        }
        *last = Some(v.clone());
        self.pending.push((id, v.clone()));
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The pending changes, in the order they came; afterwards nothing is pending.
    pub fn take(&mut self) -> Vec<(TagId, TagValue)> {
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, path: &str) -> bool {
        TagFilter::new([pattern]).unwrap().is_match(path)
    }

    /// The cases the hand-written matcher (`crate::reference::glob_match`) was tested with.
    #[test]
    fn the_config_cases() {
        assert!(matches("Demo/*", "Demo/Sine"));
        assert!(!matches("Demo/*", "Demo/a/b"));
        assert!(matches("**", "fxgate/Lines/plc/State"));
        assert!(matches("*/Temp?", "Boiler/Temp1"));
        assert!(!matches("*/Temp?", "Boiler/Temp"));
        assert!(matches("Demo/Sine", "Demo/Sine"));
        assert!(!matches("Demo/Sine", "Demo/Sine2"));
        for (p, s) in [
            ("Demo/*", "Demo/Sine"),
            ("Demo/*", "Demo/a/b"),
            ("**", "fxgate/Lines/plc/State"),
            ("*/Temp?", "Boiler/Temp1"),
            ("*/Temp?", "Boiler/Temp"),
            ("Demo/Sine", "Demo/Sine"),
            ("Demo/Sine", "Demo/Sine2"),
        ] {
            assert_eq!(matches(p, s), crate::reference::glob_match(p, s), "{p} on {s}");
        }
    }

    /// Where globset's own `**` would differ, and characters special to globset only.
    #[test]
    fn same_as_the_config_matcher_where_globset_differs() {
        let cases = [
            ("**/x", "x"),
            ("**/x", "a/x"),
            ("**/x", "/x"),
            ("a/**/b", "a/b"),
            ("a/**/b", "a/c/b"),
            ("a/**/b", "a//b"),
            ("a/**", "a"),
            ("a/**", "a/"),
            ("a/**", "a/b/c"),
            ("a**", "a/b"),
            ("**a", "b/a"),
            ("a**b", "a/x/b"),
            ("a***b", "a/x/b"),
            ("Demo/S*", "Demo/Setpoint"),
            ("Demo/T?ggle", "Demo/Toggle"),
            ("Demo/Co*", "Demo/Counter"),
            ("", ""),
            ("", "a"),
            ("[ab]", "a"),
            ("[ab]", "[ab]"),
            ("{a,b}", "a"),
            ("{a,b}", "{a,b}"),
            ("a\\*", "a\\b"),
            ("a\\*", "a*"),
            ("a]b", "a]b"),
            ("!x", "!x"),
            ("Kessel/Temp?", "Kessel/Tempé"),
            ("Kessel/*", "Kessel/Öl"),
            ("?", "é"),
            ("??", "é"),
            ("*", "a\nb"),
        ];
        for (p, s) in cases {
            assert_eq!(matches(p, s), crate::reference::glob_match(p, s), "{p:?} on {s:?}");
        }
    }

    /// Every pattern of up to 4 characters over `a`, `b`, `/`, `*`, `?` against every path of
    /// up to 4 characters over `a`, `b`, `/`: the same answer as the hand-written matcher.
    #[test]
    fn same_as_the_config_matcher_exhaustively() {
        fn words(alphabet: &[char], max: usize) -> Vec<String> {
            let mut all = vec![String::new()];
            let mut last = vec![String::new()];
            for _ in 0..max {
                last = last.iter().flat_map(|w| alphabet.iter().map(move |c| format!("{w}{c}"))).collect();
                all.extend(last.iter().cloned());
            }
            all
        }
        let paths = words(&['a', 'b', '/'], 4);
        let mut compared = 0;
        for p in words(&['a', 'b', '/', '*', '?'], 4) {
            let f = TagFilter::new([&p]).unwrap();
            for s in &paths {
                assert_eq!(f.is_match(s), crate::reference::glob_match(&p, s), "{p:?} on {s:?} (as {:?})", translate(&p));
                compared += 1;
            }
        }
        assert_eq!(compared, 781 * 121);
    }

    #[test]
    fn any_of_several() {
        let f = TagFilter::new(["Demo/Sine", "Other/R*"]).unwrap();
        assert!(f.is_match("Demo/Sine"));
        assert!(f.is_match("Other/Ramp"));
        assert!(!f.is_match("Demo/Ramp"));
        assert!(!TagFilter::new(Vec::<String>::new()).unwrap().is_match("Demo/Sine"));
    }

    #[test]
    fn selection_and_collector() {
        use fxgate_core::{AccessMode, TagDef, TagStoreBuilder};
        use opcua::types::DataTypeId;
        let mut b = TagStoreBuilder::new();
        let mut ids = Vec::new();
        for (source, name) in [("Demo", "Sine"), ("Demo", "Ramp"), ("Other", "Ramp")] {
            ids.push(
                b.add_tag(TagDef {
                    source: source.into(),
                    name: name.into(),
                    data_type: DataTypeId::Double,
                    access: AccessMode::Read,
                    description: String::new(),
                    meta: None,
                })
                .unwrap(),
            );
        }
        let store = b.build();
        let sel = Selection::new(&store, &TagFilter::new(["Demo/*"]).unwrap());
        assert_eq!((sel.len(), sel.is_empty()), (2, false));
        assert_eq!(sel.path(ids[1]), Some("Demo/Ramp"));
        assert!(!sel.contains(ids[2]));
        assert_eq!(sel.ids().collect::<Vec<_>>(), ids[..2]);
        let mut c = Collector::new(sel);
        c.snapshot(&store);
        assert_eq!(c.take().len(), 2);
        // The same value again is not queued twice; unselected tags are ignored.
        c.snapshot(&store);
        assert!(c.is_empty());
        let v = TagValue::good(1.5);
        c.collect(&[(ids[0], v.clone()), (ids[2], v.clone()), (ids[0], v.clone())]);
        assert_eq!(c.take(), vec![(ids[0], v)]);
    }
}
