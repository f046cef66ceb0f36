//! Writes the aggregation's run-time changes (`[[upstream]]` added or removed) back to the
//! configuration file through `fxgate_config::persist::edit`: comments and other sections
//! survive, the whole file is validated first, the previous one is kept as `.bak`, the
//! replacement is atomic.

use std::path::Path;

use fxgate_config::persist::{edit, EditError};

use toml_edit::{value, ArrayOfTables, DocumentMut, Item, Table};

use super::UpstreamConfig;

/// Why a configuration change could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// The file could not be read, parsed, validated or written (the shared editor's error).
    #[error(transparent)]
    Edit(#[from] EditError),
    /// An upstream of that name (compared without case) is configured already.
    #[error("an upstream named `{0}` exists already")]
    Exists(String),
    /// No upstream of that name (compared without case) is configured.
    #[error("no upstream named `{0}`")]
    NotFound(String),
}

/// A change the file cannot take (it would not be valid); nothing is written.
fn invalid(m: impl Into<String>) -> PersistError {
    PersistError::Edit(EditError::Invalid(m.into()))
}

/// Appends an `[[upstream]]` table to the config file at `path` (temp file in the same dir + fsync + rename). Refuses (typed error) if an upstream with that name (case-insensitive) exists, or if the resulting file would not parse/validate as a whole Config.
///
/// The new table follows the last `[[upstream]]` of the file, or ends the file if there
/// is none. Only `name`, `endpoint_url` and the fields that differ from their defaults are
/// written.
pub fn add_upstream(path: &Path, upstream: &UpstreamConfig, check: fxgate_config::CheckText) -> Result<(), PersistError> {
    edit(path, check, |doc| {
        if find_upstream(doc, &upstream.name)?.is_some() {
            return Err(PersistError::Exists(upstream.name.clone()));
        }
        let mut table = upstream_table(upstream)?;
        table.decor_mut().set_prefix("\n");
        match doc.get_mut("upstream") {
            Some(Item::ArrayOfTables(a)) if !a.is_empty() => {
                // Without a position of its own the table is written right after the
                // previous entry of its array, i.e. after the last [[upstream]].
                a.push(table);
            }
            Some(Item::ArrayOfTables(_)) | Some(Item::None) | None => {
                table.set_position(max_position(doc.as_table()) + 1);
                let mut a = ArrayOfTables::new();
                a.push(table);
                doc.insert("upstream", Item::ArrayOfTables(a));
            }
            Some(_) => return Err(not_tables()),
        }
        Ok(())
    })
}

/// Removes the `[[upstream]]` table whose name is `name` (case-insensitive); error if none. Same atomic write and re-validation.
///
/// Comment lines directly above the table's header go with it; comments separated from
/// the header by a blank line (a heading of the section, say) are kept.
pub fn remove_upstream(path: &Path, name: &str, check: fxgate_config::CheckText) -> Result<(), PersistError> {
    edit(path, check, |doc| {
        let index = find_upstream(doc, name)?.ok_or_else(|| PersistError::NotFound(name.to_string()))?;
        let Some(Item::ArrayOfTables(a)) = doc.get_mut("upstream") else {
            return Err(PersistError::NotFound(name.to_string()));
        };
        let Some(removed) = a.get(index).cloned() else {
            return Err(PersistError::NotFound(name.to_string()));
        };
        a.remove(index);
        if a.is_empty() {
            doc.remove("upstream");
        }
        let prefix = removed.decor().prefix().and_then(|p| p.as_str()).unwrap_or("");
        let kept = detached_comments(prefix);
        if !kept.is_empty() {
            let next = removed.position().and_then(|pos| next_table(doc.as_table_mut(), pos));
            match next {
                Some(t) => {
                    let old = t.decor().prefix().and_then(|p| p.as_str()).unwrap_or("").to_string();
                    t.decor_mut().set_prefix(format!("{kept}{old}"));
                }
                None => {
                    let old = doc.trailing().as_str().unwrap_or("").to_string();
                    doc.set_trailing(format!("{kept}{old}"));
                }
            }
        }
        Ok(())
    })
}

/// Replaces the `[[upstream]]` table named `name` (case-insensitive) with `upstream`'s, in
/// place: its position and the comments above it are kept. A rename to the name of another
/// upstream is refused. Same atomic write and re-validation.
pub fn replace_upstream(path: &Path, name: &str, upstream: &UpstreamConfig, check: fxgate_config::CheckText) -> Result<(), PersistError> {
    edit(path, check, |doc| {
        let index = find_upstream(doc, name)?.ok_or_else(|| PersistError::NotFound(name.to_string()))?;
        if find_upstream(doc, &upstream.name)?.is_some_and(|other| other != index) {
            return Err(PersistError::Exists(upstream.name.clone()));
        }
        let mut table = upstream_table(upstream)?;
        let Some(Item::ArrayOfTables(a)) = doc.get_mut("upstream") else {
            return Err(PersistError::NotFound(name.to_string()));
        };
        let Some(old) = a.get_mut(index) else {
            return Err(PersistError::NotFound(name.to_string()));
        };
        *table.decor_mut() = old.decor().clone();
        if let Some(p) = old.position() {
            table.set_position(p);
        }
        *old = table;
        Ok(())
    })
}

/// Index of the `[[upstream]]` entry named `name` (compared without case).
fn find_upstream(doc: &DocumentMut, name: &str) -> Result<Option<usize>, PersistError> {
    match doc.get("upstream") {
        None | Some(Item::None) => Ok(None),
        Some(Item::ArrayOfTables(a)) => Ok(a.iter().position(|t| {
            t.get("name")
                .and_then(Item::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })),
        Some(_) => Err(not_tables()),
    }
}

fn not_tables() -> PersistError {
    invalid("`upstream` is not written as [[upstream]] tables; change it in the file by hand")
}

/// The table of `u`: its name, its endpoint URL and every field that differs from the
/// default.
fn upstream_table(u: &UpstreamConfig) -> Result<Table, PersistError> {
    // Destructured so that a new field cannot be forgotten here.
    let UpstreamConfig {
        name,
        endpoint_url,
        security_policy,
        security_mode,
        username,
        password,
        user_certificate,
        user_private_key,
        enabled,
        alias,
        alias_namespace,
        accept_all_server_certificates,
        publishing_interval_ms,
        request_timeout_ms,
        reconnect_min_ms,
        reconnect_max_ms,
        reconnect_jitter,
    } = u;
    let d = UpstreamConfig::default();
    let text = |v: &String, d: &String| (v != d).then(|| value(v.as_str()));
    let flag = |v: bool, d: bool| (v != d).then(|| value(v));
    let number = |k: &str, v: u64, d: u64| -> Result<Option<Item>, PersistError> {
        if v == d {
            return Ok(None);
        }
        let v = i64::try_from(v)
            .map_err(|_| invalid(format!("{k} = {v} is too large for a TOML integer")))?;
        Ok(Some(value(v)))
    };
    // In the order of the struct's fields.
    let fields = [
        ("name", Some(value(name.as_str()))),
        ("endpoint_url", Some(value(endpoint_url.as_str()))),
        ("security_policy", (*security_policy != d.security_policy).then(|| value(security_policy.name()))),
        ("security_mode", (*security_mode != d.security_mode).then(|| value(security_mode.name()))),
        ("username", text(username, &d.username)),
        ("password", text(password, &d.password)),
        ("user_certificate", text(user_certificate, &d.user_certificate)),
        ("user_private_key", text(user_private_key, &d.user_private_key)),
        ("enabled", flag(*enabled, d.enabled)),
        ("alias", text(alias, &d.alias)),
        ("alias_namespace", text(alias_namespace, &d.alias_namespace)),
        (
            "accept_all_server_certificates",
            flag(*accept_all_server_certificates, d.accept_all_server_certificates),
        ),
        ("publishing_interval_ms", number("publishing_interval_ms", *publishing_interval_ms, d.publishing_interval_ms)?),
        ("request_timeout_ms", number("request_timeout_ms", *request_timeout_ms, d.request_timeout_ms)?),
        ("reconnect_min_ms", number("reconnect_min_ms", *reconnect_min_ms, d.reconnect_min_ms)?),
        ("reconnect_max_ms", number("reconnect_max_ms", *reconnect_max_ms, d.reconnect_max_ms)?),
        ("reconnect_jitter", (*reconnect_jitter != d.reconnect_jitter).then(|| value(*reconnect_jitter))),
    ];
    let mut t = Table::new();
    for (k, v) in fields {
        if let Some(v) = v {
            t.insert(k, v);
        }
    }
    Ok(t)
}

/// The highest document position of any table in `table`, itself included.
fn max_position(table: &Table) -> usize {
    let mut max = table.position().unwrap_or(0);
    for (_, item) in table.iter() {
        match item {
            Item::Table(t) => max = max.max(max_position(t)),
            Item::ArrayOfTables(a) => {
                for t in a.iter() {
                    max = max.max(max_position(t));
                }
            }
            _ => {}
        }
    }
    max
}

/// The table written first after document position `pos`.
fn next_table(table: &mut Table, pos: usize) -> Option<&mut Table> {
    fn visit<'a>(table: &'a mut Table, pos: usize, best: &mut Option<(usize, &'a mut Table)>) {
        for (_, item) in table.iter_mut() {
            match item {
                Item::Table(t) => consider(t, pos, best),
                Item::ArrayOfTables(a) => {
                    for t in a.iter_mut() {
                        consider(t, pos, best);
                    }
                }
                _ => {}
            }
        }
    }
    fn consider<'a>(t: &'a mut Table, pos: usize, best: &mut Option<(usize, &'a mut Table)>) {
        match t.position() {
            // Implicit (`[a]` of `[a.b]`) and dotted tables have no header of their own.
            Some(p) if p > pos && !t.is_implicit() && !t.is_dotted() => {
                // Its children come after it, so none of them can come first.
                if best.as_ref().is_none_or(|(b, _)| p < *b) {
                    *best = Some((p, t));
                }
            }
            _ => visit(t, pos, best),
        }
    }
    let mut best = None;
    visit(table, pos, &mut best);
    best.map(|(_, t)| t)
}

/// The part of a table header's prefix that does not belong to the table: everything
/// before the comment lines directly above the header, if it holds a comment. Returned
/// without trailing blank lines but with its last line break.
fn detached_comments(prefix: &str) -> String {
    let mut start = prefix.len();
    for line in prefix.split_inclusive('\n').rev() {
        if !line.trim_start().starts_with('#') {
            break;
        }
        start -= line.len();
    }
    let kept = &prefix[..start];
    if !kept.lines().any(|l| l.trim_start().starts_with('#')) {
        return String::new();
    }
    let eol = if kept.contains("\r\n") { "\r\n" } else { "\n" };
    format!("{}{eol}", kept.trim_end())
}
