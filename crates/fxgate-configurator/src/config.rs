//! The Config page's API (`configure` role; changes with the CSRF token): download the
//! configuration file with its secrets hidden, check an uploaded one (TOML, then the same
//! validation as `fxgate check-config`, each error with its line and field, and a line diff
//! against the file in use), and apply it: written atomically with the previous file kept
//! as `.bak`, the users and anonymous access applied at once, and a restart offered for the
//! rest. Secrets never leave the gateway: an uploaded `"(hidden)"` stands for the value in use.

use std::path::PathBuf;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use fxgate_config::redact::{hide, restore};
use fxgate_config::{ConfigError, Role, ServerConfig, UserConfig};
use serde::Deserialize;
use serde_json::{json, Value};
use similar::{ChangeTag, TextDiff};
use toml_edit::DocumentMut;

use crate::routes::{api_session, change_session, json_answer, Denied, Refused, Ui};
use crate::sessions::Session;

/// The largest configuration file taken.
const MAX_BYTES: usize = 1 << 20;

/// The top-level sections applied without a restart when they are all that changed.
const LIVE: &[&str] = &["users"];

/// The routes of this page's API.
pub(crate) fn routes() -> Router<Ui> {
    Router::new()
        .route("/ui/api/config", get(show))
        .route("/ui/api/config/download", get(download))
        .route("/ui/api/config/check", post(check))
        .route("/ui/api/config/apply", post(apply))
        .route("/ui/api/restart", post(restart))
}

/// Why an uploaded file is not taken.
#[derive(Debug)]
enum Refusal {
    /// Not UTF-8, not TOML, or a hidden value with nothing behind it: one error.
    Unreadable(ConfigError),
    /// Valid TOML that `check-config` refuses.
    Invalid(Vec<ConfigError>),
    /// The gateway has no file (the embedded default), or it cannot be read.
    NoFile(String),
}

impl Refusal {
    fn answer(self, diff: Value) -> Response {
        let errors = |errs: &[ConfigError]| -> Vec<Value> {
            errs.iter()
                .map(|e| json!({"line": e.line, "column": e.column, "field": e.field, "message": e.message, "text": e.to_string()}))
                .collect()
        };
        match self {
            Refusal::Unreadable(e) => json_answer(StatusCode::BAD_REQUEST, json!({"ok": false, "errors": errors(&[e]), "diff": diff})),
            Refusal::Invalid(errs) => json_answer(StatusCode::BAD_REQUEST, json!({"ok": false, "errors": errors(&errs), "diff": diff})),
            Refusal::NoFile(m) => json_answer(StatusCode::CONFLICT, json!({"ok": false, "errors": [{"line": 0, "field": "", "message": m, "text": m}]})),
        }
    }
}

/// The file in use and its text.
fn current(ui: &Ui) -> Result<(PathBuf, String), Refusal> {
    let Some(path) = ui.settings.config_file.clone() else {
        return Err(Refusal::NoFile(
            "the gateway runs on the embedded default (started without --config): start it with --config FILE to change its configuration".into(),
        ));
    };
    std::fs::read_to_string(&path).map(|t| (path.clone(), t)).map_err(|e| Refusal::NoFile(format!("{}: {e}", path.display())))
}

/// `text` with its secrets hidden (unchanged if it is not TOML).
fn hidden(text: &str) -> String {
    match text.parse::<DocumentMut>() {
        Ok(mut doc) => {
            hide(&mut doc);
            doc.to_string()
        }
        Err(_) => String::new(),
    }
}

/// One error for the whole upload.
fn upload_error(path: &std::path::Path, line: usize, column: usize, field: &str, message: String) -> Refusal {
    Refusal::Unreadable(ConfigError { file: path.to_path_buf(), line, column, field: field.to_string(), message })
}

/// The upload, checked: the text to write (secrets put back) and the line diff of the
/// shown texts (secrets hidden on both sides, so an upload's secrets are never echoed and an
/// unchanged one is no change; an upload that is not TOML has no diff).
fn checked(ui: &Ui, body: &[u8]) -> Result<(String, Value), (Refusal, Value)> {
    let (path, in_use) = current(ui).map_err(|r| (r, Value::Null))?;
    let Ok(text) = std::str::from_utf8(body) else {
        return Err((upload_error(&path, 0, 0, "", "the file is not UTF-8 text".into()), Value::Null));
    };
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        let (line, column) = e.span().map(|s| fxgate_config::line_col(text, s.start)).unwrap_or((0, 0));
        let message = e.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
        (upload_error(&path, line, column, "", format!("not valid TOML: {message}")), Value::Null)
    })?;
    let old: DocumentMut = in_use.parse().unwrap_or_default();
    if let Err(e) = restore(&mut doc, &old) {
        let mut shown = doc.clone();
        hide(&mut shown);
        return Err((upload_error(&path, 0, 0, "", e.to_string()), diff(&hidden(&in_use), &shown.to_string())));
    }
    let full = doc.to_string();
    let mut shown = doc;
    hide(&mut shown);
    let diff = diff(&hidden(&in_use), &shown.to_string());
    let base = path.parent().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    (ui.settings.check)(&full, &path, &base).map_err(|errs| (Refusal::Invalid(errs), diff.clone()))?;
    Ok((full, diff))
}

/// The changed lines of `new` against `old`, with two lines of context, as
/// `[{"op": "-"|"+"|" "|"…", "text"}]`.
fn diff(old: &str, new: &str) -> Value {
    let d = TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    for (i, group) in d.grouped_ops(2).iter().enumerate() {
        if i > 0 {
            out.push(json!({"op": "…", "text": ""}));
        }
        for op in group {
            for change in d.iter_changes(op) {
                let op = match change.tag() {
                    ChangeTag::Delete => "-",
                    ChangeTag::Insert => "+",
                    ChangeTag::Equal => " ",
                };
                out.push(json!({"op": op, "text": change.value().trim_end_matches(['\r', '\n'])}));
            }
        }
    }
    Value::Array(out)
}

/// The top-level sections whose values differ (comments and layout aside).
fn changed_sections(old: &str, new: &str) -> Vec<String> {
    let parse = |t: &str| t.parse::<toml::Table>().unwrap_or_default();
    let (a, b) = (parse(old), parse(new));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).cloned().collect()
}

fn session(ui: &Ui, headers: &HeaderMap) -> Result<Session, Denied> {
    api_session(ui, headers, Role::Configure)
}

fn with_csrf(ui: &Ui, headers: &HeaderMap) -> Result<Session, Refused> {
    change_session(ui, headers, Role::Configure)
}

/// `GET /ui/api/config`: the file's name and its text with secrets hidden.
async fn show(State(ui): State<Ui>, headers: HeaderMap) -> Response {
    if let Err(d) = session(&ui, &headers) {
        return d.answer();
    }
    match current(&ui) {
        Ok((path, text)) => json_answer(
            StatusCode::OK,
            json!({"file": path.display().to_string(), "text": hidden(&text), "restart": ui.settings.restart.is_some()}),
        ),
        Err(r) => r.answer(Value::Null),
    }
}

/// `GET /ui/api/config/download`: the same text as a file.
async fn download(State(ui): State<Ui>, headers: HeaderMap) -> Response {
    if let Err(d) = session(&ui, &headers) {
        return d.answer();
    }
    match current(&ui) {
        Ok((path, text)) => {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "fxgate.toml".into());
            let safe: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).collect();
            let mut r = (StatusCode::OK, hidden(&text)).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/toml; charset=utf-8"));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
                r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            crate::routes::secured(r)
        }
        Err(r) => r.answer(Value::Null),
    }
}

/// `POST /ui/api/config/check` (the file as the body): errors and diff; nothing is written.
async fn check(State(ui): State<Ui>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = with_csrf(&ui, &headers) {
        return r.answer();
    }
    if body.len() > MAX_BYTES {
        return json_answer(StatusCode::PAYLOAD_TOO_LARGE, json!({"ok": false, "error": "a configuration file is at most 1 MiB"}));
    }
    match checked(&ui, &body) {
        Ok((text, diff)) => {
            let in_use = current(&ui).map(|(_, t)| t).unwrap_or_default();
            let sections = changed_sections(&in_use, &text);
            let restart = sections.iter().any(|s| !LIVE.contains(&s.as_str()));
            json_answer(StatusCode::OK, json!({"ok": true, "errors": [], "diff": diff, "sections": sections, "restart_needed": restart}))
        }
        Err((refusal, diff)) => refusal.answer(diff),
    }
}

/// What is applied at once after a file was written.
#[derive(Deserialize)]
struct LiveParts {
    #[serde(default)]
    users: Vec<UserConfig>,
    #[serde(default)]
    server: ServerConfig,
}

/// `POST /ui/api/config/apply` (the file as the body): written, then applied.
async fn apply(State(ui): State<Ui>, headers: HeaderMap, body: Bytes) -> Response {
    let s = match with_csrf(&ui, &headers) {
        Ok(s) => s,
        Err(r) => return r.answer(),
    };
    if body.len() > MAX_BYTES {
        return json_answer(StatusCode::PAYLOAD_TOO_LARGE, json!({"ok": false, "error": "a configuration file is at most 1 MiB"}));
    }
    let (text, _) = match checked(&ui, &body) {
        Ok(t) => t,
        Err((refusal, diff)) => return refusal.answer(diff),
    };
    let Ok((path, in_use)) = current(&ui) else {
        return json_answer(StatusCode::CONFLICT, json!({"ok": false, "error": "no configuration file"}));
    };
    let sections = changed_sections(&in_use, &text);
    let (check, new) = (ui.settings.check, text.clone());
    let written = tokio::task::spawn_blocking(move || {
        fxgate_config::persist::edit(&path, check, |doc| -> Result<(), fxgate_config::persist::EditError> {
            *doc = new.parse().map_err(|e: toml_edit::TomlError| fxgate_config::persist::EditError::Invalid(e.to_string()))?;
            Ok(())
        })
    })
    .await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return json_answer(StatusCode::BAD_REQUEST, json!({"ok": false, "error": e.to_string()})),
        Err(e) => return json_answer(StatusCode::INTERNAL_SERVER_ERROR, json!({"ok": false, "error": e.to_string()})),
    }
    // The users and anonymous access apply at once, as the Users and General pages do.
    let mut restart = sections.iter().any(|x| !LIVE.contains(&x.as_str()));
    match toml::from_str::<LiveParts>(&text) {
        Ok(live) => {
            ui.settings.users.replace(live.users);
            ui.settings.users.set_anonymous(live.server.anonymous.then_some(live.server.anonymous_roles));
        }
        // The whole file passed the check, so this is not expected; the users in use stay.
        Err(e) => {
            tracing::warn!(error = %e, "configurator: the users of the uploaded file could not be applied now; they apply after a restart");
            restart = true;
        }
    }
    if restart {
        let rest: Vec<&str> = sections.iter().map(String::as_str).filter(|x| !LIVE.contains(x)).collect();
        ui.restart_needed(format!("the uploaded file's {}", rest.join(", ")));
    }
    tracing::info!(user = %s.user, sections = ?sections, restart_needed = restart, "configurator: configuration file uploaded and written");
    let message = if sections.is_empty() {
        "written; nothing changed".to_string()
    } else if restart {
        format!("written; changed: {}. Users apply now; the rest applies after a restart.", sections.join(", "))
    } else {
        format!("written and applied: {}", sections.join(", "))
    };
    json_answer(StatusCode::OK, json!({"ok": true, "message": message, "sections": sections, "restart_needed": restart}))
}

/// `POST /ui/api/restart`: the gateway stops and starts again with its configuration file.
async fn restart(State(ui): State<Ui>, headers: HeaderMap) -> Response {
    let s = match with_csrf(&ui, &headers) {
        Ok(s) => s,
        Err(r) => return r.answer(),
    };
    let Some(restart) = ui.settings.restart.clone() else {
        return json_answer(StatusCode::CONFLICT, json!({"ok": false, "error": "this gateway cannot restart itself"}));
    };
    tracing::warn!(user = %s.user, "configurator: restart asked");
    restart();
    json_answer(StatusCode::ACCEPTED, json!({"ok": true, "message": "restarting: this page reconnects when the gateway is back"}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_compare_values_not_layout() {
        let old = "[server]\nport = 1\n\n[[users]]\nname = \"a\"\n";
        let new = "# a comment\n[server]\nport   = 1\n[[users]]\nname = \"b\"\n[log]\nlevel = \"debug\"\n";
        assert_eq!(changed_sections(old, new), vec!["log".to_string(), "users".to_string()]);
    }

    #[test]
    fn the_diff_shows_changed_lines_with_context() {
        let d = diff("a\nb\nc\nd\ne\nf\ng\n", "a\nb\nc\nD\ne\nf\ng\n");
        let ops: Vec<(String, String)> = d
            .as_array()
            .map(|a| a.iter().map(|x| (x["op"].as_str().unwrap_or("").to_string(), x["text"].as_str().unwrap_or("").to_string())).collect())
            .unwrap_or_default();
        assert_eq!(ops.iter().filter(|(o, _)| o == "-").count(), 1);
        assert!(ops.contains(&("+".into(), "D".into())) && ops.contains(&("-".into(), "d".into())));
        assert!(!ops.iter().any(|(_, t)| t == "a"), "two lines of context only: {ops:?}");
    }
}
