//! The Tags page's API: the tag tree folder by folder with live values, qualities and source
//! timestamps (`read`), a flat prefix filter, and a write (`write`, with the CSRF token), logged
//! with the user's name. The trends are `crate::trend`'s.
//!
//! `GET /ui/api/tags?folder=Demo` answers one folder: its subfolders with their tag counts and
//! a page of its tags (`offset`, `limit`: 500 by default, 2000 at most; `below=true`: the
//! tags of every folder below it too; `folders=false`: the values only, for the page's poll).
//! `GET /ui/api/tags?prefix=Demo/` answers the tags whose path starts with the prefix. Both
//! read the folder index (`folders`), built once per store, so no request walks every tag.

mod folders;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use fxgate_config::Role;
use fxgate_core::{AccessMode, TagId, TagStore};
use fxgate_forward::value::{status_name, to_variant};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::routes::{api_session, csrf_ok, json_answer, sample, Ui};
pub(crate) use folders::PerStore;

/// Most tags one `/ui/api/tags` answer lists.
const MAX_TAGS: usize = 2000;
/// Tags one folder answer lists unless asked for another `limit`.
const PAGE: usize = 500;
/// Most subfolders one folder answer lists.
const MAX_FOLDERS: usize = 1000;

/// The routes of this page's API (the trend's included).
pub(crate) fn routes() -> Router<Ui> {
    Router::new()
        .route("/ui/api/tags", get(tags))
        .route("/ui/api/write", post(write))
        .merge(crate::trend::routes())
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct TagsQuery {
    #[serde(default)]
    prefix: String,
    /// A folder's path (`""`: the root); absent: the prefix filter.
    folder: Option<String>,
    /// The tags of every folder below `folder` too.
    #[serde(default)]
    below: bool,
    /// Whether to list `folder`'s subfolders.
    #[serde(default = "yes")]
    folders: bool,
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

/// `{"tag","v","q","st","writable","numeric"}` of each tag.
fn listing(store: &TagStore, ids: &[TagId]) -> Vec<Value> {
    ids.iter()
        .filter_map(|&id| {
            let d = store.def(id)?;
            let v = store.get(id)?;
            let mut x = sample(&d.path(), &v);
            x["writable"] = Value::Bool(d.access == AccessMode::ReadWrite);
            x["numeric"] = Value::Bool(crate::trend::is_numeric(d.data_type));
            Some(x)
        })
        .collect()
}

async fn tags(State(ui): State<Ui>, headers: HeaderMap, Query(q): Query<TagsQuery>) -> Response {
    let s = match api_session(&ui, &headers, Role::Read) {
        Ok(s) => s,
        Err(d) => return d.answer(),
    };
    let store = &ui.settings.store;
    let index = folders::index_of(store);
    let may_write = s.has(Role::Write);
    let Some(path) = q.folder else {
        let (total, ids) = index.with_prefix(&q.prefix, q.offset, q.limit.unwrap_or(MAX_TAGS).min(MAX_TAGS));
        return json_answer(StatusCode::OK, json!({"tags": listing(store, &ids), "total": total, "offset": q.offset, "may_write": may_write}));
    };
    let Some(folder) = index.get(&path) else {
        return json_answer(StatusCode::NOT_FOUND, json!({"error": format!("no folder `{path}`")}));
    };
    let limit = q.limit.unwrap_or(PAGE).min(MAX_TAGS);
    let (total, ids) = if q.below {
        (folder.below, index.below(folder, q.offset, limit))
    } else {
        (folder.tags.len(), folder.tags.iter().skip(q.offset).take(limit).copied().collect())
    };
    let mut answer = json!({
        "folder": folder.path, "below": q.below, "tags": listing(store, &ids), "total": total,
        "offset": q.offset, "limit": limit, "may_write": may_write,
    });
    if q.folders {
        let subfolders: Vec<Value> = folder
            .children
            .iter()
            .take(MAX_FOLDERS)
            .filter_map(|&c| index.at(c))
            .map(|c| json!({"name": c.name, "path": c.path, "tags": c.tags.len(), "below": c.below, "folders": c.children.len()}))
            .collect();
        answer["folders"] = Value::Array(subfolders);
        answer["folders_total"] = json!(folder.children.len());
    }
    json_answer(StatusCode::OK, answer)
}

#[derive(Deserialize)]
struct WriteBody {
    tag: String,
    value: Value,
}

async fn write(State(ui): State<Ui>, headers: HeaderMap, Json(w): Json<WriteBody>) -> Response {
    let s = match api_session(&ui, &headers, Role::Write) {
        Ok(s) => s,
        Err(d) => return d.answer(),
    };
    if !csrf_ok(&ui, &s, headers.get("x-csrf-token").and_then(|v| v.to_str().ok())) {
        return json_answer(StatusCode::FORBIDDEN, json!({"error": "CSRF token missing or wrong"}));
    }
    let store = &ui.settings.store;
    let Some(id) = store.id_of(&w.tag) else {
        return json_answer(StatusCode::NOT_FOUND, json!({"tag": w.tag, "status": "Bad_NodeIdUnknown"}));
    };
    let Some(def) = store.def(id) else {
        return json_answer(StatusCode::NOT_FOUND, json!({"tag": w.tag, "status": "Bad_NodeIdUnknown"}));
    };
    if def.access != AccessMode::ReadWrite {
        return json_answer(StatusCode::OK, json!({"tag": w.tag, "status": "Bad_NotWritable"}));
    }
    let status = match to_variant(&w.value, def.data_type) {
        Ok(v) => store.write(id, v).await,
        Err(e) => e,
    };
    tracing::info!(user = %s.user, tag = %w.tag, %status, "configurator write");
    json_answer(StatusCode::OK, json!({"tag": w.tag, "status": status_name(status)}))
}
