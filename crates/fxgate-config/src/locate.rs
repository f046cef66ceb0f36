//! Maps between positions in a TOML text and field paths such as `section[0].tags[2].name`,
//! so that every configuration error names the file, line and field.

use std::ops::Range;

use toml_edit::{ImDocument, Item, Table, Value};

/// Field paths of a parsed document with the byte ranges they cover.
pub(crate) struct Locator {
    entries: Vec<(String, Range<usize>)>,
    line_starts: Vec<usize>,
}

impl Locator {
    /// Indexes `text`; a text that does not parse yields an index of lines only.
    pub(crate) fn new(text: &str) -> Self {
        let mut entries = Vec::new();
        if let Ok(doc) = ImDocument::parse(text) {
            walk_table(doc.as_table(), "", &mut entries);
        }
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            entries,
            line_starts,
        }
    }

    /// 1-based line and column of a byte offset.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let col = offset - self.line_starts.get(line).copied().unwrap_or(0);
        (line + 1, col + 1)
    }

    /// The innermost field whose text contains `offset`.
    pub(crate) fn field_at(&self, offset: usize) -> Option<&str> {
        self.entries
            .iter()
            .filter(|(_, r)| r.start <= offset && offset < r.end.max(r.start + 1))
            .min_by_key(|(_, r)| r.end - r.start)
            .map(|(p, _)| p.as_str())
    }

    /// Where `path` starts, or the nearest enclosing path that exists.
    pub(crate) fn offset_of(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some((_, r)) = self.entries.iter().find(|(e, _)| e == p) {
                return Some(r.start);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn walk_table(table: &Table, prefix: &str, out: &mut Vec<(String, Range<usize>)>) {
    for (key, item) in table.iter() {
        let path = join(prefix, key);
        let key_span = table
            .key(key)
            .and_then(|k| k.span());
        walk_item(item, &path, key_span, out);
    }
}

fn walk_item(item: &Item, path: &str, key_span: Option<Range<usize>>, out: &mut Vec<(String, Range<usize>)>) {
    match item {
        Item::None => {}
        Item::Value(v) => {
            let range = merge(key_span, v.span());
            if let Some(r) = range {
                out.push((path.to_string(), r));
            }
            walk_value(v, path, out);
        }
        Item::Table(t) => {
            if let Some(r) = merge(t.span(), key_span) {
                out.push((path.to_string(), r));
            }
            walk_table(t, path, out);
        }
        Item::ArrayOfTables(a) => {
            if let Some(r) = merge(a.span(), key_span) {
                out.push((path.to_string(), r));
            }
            for (i, t) in a.iter().enumerate() {
                let p = format!("{path}[{i}]");
                if let Some(r) = t.span() {
                    out.push((p.clone(), r));
                }
                walk_table(t, &p, out);
            }
        }
    }
}

fn walk_value(v: &Value, path: &str, out: &mut Vec<(String, Range<usize>)>) {
    match v {
        Value::Array(a) => {
            for (i, e) in a.iter().enumerate() {
                let p = format!("{path}[{i}]");
                if let Some(r) = e.span() {
                    out.push((p.clone(), r));
                }
                walk_value(e, &p, out);
            }
        }
        Value::InlineTable(t) => {
            for (key, e) in t.iter() {
                let p = join(path, key);
                let ks = t.key(key).and_then(|k| k.span());
                if let Some(r) = merge(ks, e.span()) {
                    out.push((p.clone(), r));
                }
                walk_value(e, &p, out);
            }
        }
        _ => {}
    }
}

fn merge(a: Option<Range<usize>>, b: Option<Range<usize>>) -> Option<Range<usize>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.start.min(b.start)..a.end.max(b.end)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_fields_and_lines() {
        let text = "[server]\nport = 1\n\n[[source]]\nname = \"A\"\n[[source.tags]]\nname = \"x\"\n";
        let l = Locator::new(text);
        let off = l.offset_of("source[0].tags[0].name").unwrap();
        assert_eq!(l.line_col(off).0, 7);
        assert_eq!(l.field_at(text.find("1\n").unwrap()), Some("server.port"));
        // a missing field falls back to its table
        let off = l.offset_of("source[0].tags[0].type").unwrap();
        assert_eq!(l.line_col(off).0, 6);
    }
}
