//! The configuration file as the configurator shows and takes it: every secret (password
//! hashes, passwords, key passwords, pre-shared keys, JWT secrets) replaced by
//! [`HIDDEN`], and an uploaded file's [`HIDDEN`] values put back from the file in use, so a
//! downloaded file can be edited and uploaded again without its secrets ever leaving the
//! gateway.
//!
//! A value is found again by its path: tables by key, and the entries of an array of
//! tables by their `name` when they have one (so reordered `[[users]]` keep their hashes),
//! else by position.

use toml_edit::{DocumentMut, Item, Table, Value};

/// What a secret reads as in a downloaded file.
pub const HIDDEN: &str = "(hidden)";

/// The keys whose values are secrets, wherever they are.
pub const SECRET_KEYS: &[&str] = &["password_hash", "password", "key_password", "my_key_password", "pre_shared_key", "psk_key", "secret"];

/// Why an uploaded file's hidden values could not be put back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// A `(hidden)` value stands for a secret the file in use does not have.
    #[error("field `{0}`: \"(hidden)\" stands for the value in use, but the configuration in use has none there: write the value itself")]
    NoValue(String),
}

fn is_secret(key: &str) -> bool {
    SECRET_KEYS.contains(&key)
}

/// `doc` with every non-empty secret replaced by [`HIDDEN`].
pub fn hide(doc: &mut DocumentMut) {
    hide_table(doc.as_table_mut());
}

fn hide_table(t: &mut Table) {
    for (key, item) in t.iter_mut() {
        let secret = is_secret(key.get());
        match item {
            Item::Table(inner) => hide_table(inner),
            Item::ArrayOfTables(a) => a.iter_mut().for_each(hide_table),
            Item::Value(v) => hide_value(v, secret),
            Item::None => {}
        }
    }
}

fn hide_value(v: &mut Value, secret: bool) {
    match v {
        Value::String(s) if secret && !s.value().is_empty() => {
            let decor = s.decor().clone();
            let mut hidden = toml_edit::Formatted::new(HIDDEN.to_string());
            *hidden.decor_mut() = decor;
            *s = hidden;
        }
        Value::InlineTable(t) => {
            for (k, v) in t.iter_mut() {
                let secret = is_secret(k.get());
                hide_value(v, secret);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|v| hide_value(v, secret)),
        _ => {}
    }
}

/// Puts back, into `upload`, the values in use (`current`) that its [`HIDDEN`] values stand for.
pub fn restore(upload: &mut DocumentMut, current: &DocumentMut) -> Result<(), RestoreError> {
    restore_table(upload.as_table_mut(), Some(current.as_table()), "")
}

fn restore_table(t: &mut Table, current: Option<&Table>, path: &str) -> Result<(), RestoreError> {
    for (key, item) in t.iter_mut() {
        let here = if path.is_empty() { key.get().to_string() } else { format!("{path}.{}", key.get()) };
        let theirs = current.and_then(|c| c.get(key.get()));
        match item {
            Item::Table(inner) => restore_table(inner, theirs.and_then(Item::as_table), &here)?,
            Item::ArrayOfTables(a) => {
                let old = theirs.and_then(Item::as_array_of_tables);
                for (i, entry) in a.iter_mut().enumerate() {
                    let matching = old.and_then(|o| counterpart(o, entry, i));
                    restore_table(entry, matching, &format!("{here}[{i}]"))?;
                }
            }
            Item::Value(v) => restore_value(v, theirs, is_secret(key.get()), &here)?,
            Item::None => {}
        }
    }
    Ok(())
}

/// Restores `v` (at `path`) from `theirs`; an inline table's entries by key (the file in
/// use may write it as an inline or as a normal table).
fn restore_value(v: &mut Value, theirs: Option<&Item>, secret: bool, path: &str) -> Result<(), RestoreError> {
    match v {
        Value::InlineTable(t) => {
            for (k, inner) in t.iter_mut() {
                let old = theirs.and_then(|o| o.get(k.get()));
                restore_value(inner, old, is_secret(k.get()), &format!("{path}.{}", k.get()))?;
            }
        }
        Value::String(s) if secret && s.value() == HIDDEN => {
            let Some(old) = theirs.and_then(Item::as_str).filter(|s| *s != HIDDEN) else {
                return Err(RestoreError::NoValue(path.to_string()));
            };
            let decor = s.decor().clone();
            let mut back = toml_edit::Formatted::new(old.to_string());
            *back.decor_mut() = decor;
            *s = back;
        }
        _ => {}
    }
    Ok(())
}

/// The entry of `old` that `entry` (at `index`) stands for: the one with the same `name`,
/// or, when entries have no name, the one at the same position.
fn counterpart<'a>(old: &'a toml_edit::ArrayOfTables, entry: &Table, index: usize) -> Option<&'a Table> {
    match entry.get("name").and_then(Item::as_str) {
        Some(name) => old.iter().find(|t| t.get("name").and_then(Item::as_str) == Some(name)),
        None => old.get(index),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"# the plant
[server]
port = 48050

[[users]]
name = "ops"
password_hash = "$argon2id$v=19$abc" # set by the configurator
roles = ["read"]

[[users]]
name = "eng"
password_hash = "$argon2id$v=19$def"

[[websocket]]
url = "wss://h/"
tls = { key_password = "kp", psk_key = "00ff" }
password = ""
"#;

    #[test]
    fn secrets_are_hidden_and_come_back_by_name() {
        let mut doc: DocumentMut = FILE.parse().expect("toml");
        hide(&mut doc);
        let shown = doc.to_string();
        for secret in ["abc", "def", "\"kp\"", "00ff"] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
        assert!(shown.contains("password_hash = \"(hidden)\" # set by the configurator"), "{shown}");
        assert!(shown.contains("password = \"\""), "an empty secret stays empty: {shown}");

        // The users swapped, a role changed: each keeps its own hash.
        let edited = shown.replace("name = \"ops\"", "name = \"tmp\"").replace("name = \"eng\"", "name = \"ops\"").replace("name = \"tmp\"", "name = \"eng\"");
        let mut upload: DocumentMut = edited.parse().expect("toml");
        let current: DocumentMut = FILE.parse().expect("toml");
        restore(&mut upload, &current).expect("restored");
        let back = upload.to_string();
        let users = upload["users"].as_array_of_tables().expect("users");
        let hash_of = |n: &str| users.iter().find(|u| u["name"].as_str() == Some(n)).and_then(|u| u["password_hash"].as_str()).map(str::to_string);
        assert_eq!(hash_of("ops").as_deref(), Some("$argon2id$v=19$abc"), "{back}");
        assert_eq!(hash_of("eng").as_deref(), Some("$argon2id$v=19$def"), "{back}");
        assert!(back.contains("tls = { key_password = \"kp\", psk_key = \"00ff\" }"), "{back}");
    }

    #[test]
    fn a_hidden_value_without_one_in_use_is_an_error() {
        let mut upload: DocumentMut = "[[users]]\nname = \"new\"\npassword_hash = \"(hidden)\"\n".parse().expect("toml");
        let current: DocumentMut = FILE.parse().expect("toml");
        match restore(&mut upload, &current) {
            Err(RestoreError::NoValue(field)) => assert_eq!(field, "users[0].password_hash"),
            other => panic!("{other:?}"),
        }
    }
}
