//! The Tags page's API: the tags with their live values, qualities and source timestamps
//! (`read`), and a write (`write`, with the CSRF token), logged with the user's name.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use fxgate_config::Role;
use fxgate_core::AccessMode;
use fxgate_forward::value::{status_name, to_variant};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::routes::{api_session, csrf_ok, json_answer, sample, Ui};

/// Most tags one `/ui/api/tags` answer lists.
const MAX_TAGS: usize = 2000;

/// The routes of this page's API.
pub(crate) fn routes() -> Router<Ui> {
    Router::new().route("/ui/api/tags", get(tags)).route("/ui/api/write", post(write))
}

#[derive(Deserialize)]
struct TagsQuery {
    #[serde(default)]
    prefix: String,
}

async fn tags(State(ui): State<Ui>, headers: HeaderMap, Query(q): Query<TagsQuery>) -> Response {
    let s = match api_session(&ui, &headers, Role::Read) {
        Ok(s) => s,
        Err(d) => return d.answer(),
    };
    let store = &ui.settings.store;
    let mut total = 0usize;
    let mut list = Vec::new();
    for (id, d) in store.defs() {
        let path = d.path();
        if !path.starts_with(&q.prefix) {
            continue;
        }
        total += 1;
        if list.len() < MAX_TAGS {
            if let Some(v) = store.get(id) {
                let mut x = sample(&path, &v);
                x["writable"] = Value::Bool(d.access == AccessMode::ReadWrite);
                list.push(x);
            }
        }
    }
    json_answer(StatusCode::OK, json!({"tags": list, "total": total, "may_write": s.has(Role::Write)}))
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
