//! The Servers page's API (seed 000 §4.6, "Configured UA Servers"): the aggregated servers
//! with their live state (`read`), and add, change and remove (`configure`, CSRF token).
//! A change goes through the aggregation's own code: written to the file after the whole
//! file passed `check-config`'s validation (an error names its field, and nothing is
//! written), then applied at once. A password is never sent back to the page.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use fxgate_config::Role;
use fxgate_core::{AdminError, ServerSpec};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::routes::{api_session, csrf_ok, json_answer, Ui};

/// The routes of this page's API.
pub(crate) fn routes() -> Router<Ui> {
    Router::new().route("/ui/api/servers", get(list).post(change))
}

/// `GET /ui/api/servers`.
async fn list(State(ui): State<Ui>, headers: HeaderMap) -> Response {
    let s = match api_session(&ui, &headers, Role::Read) {
        Ok(s) => s,
        Err(d) => return d.answer(),
    };
    let Some(admin) = &ui.settings.servers else {
        return json_answer(StatusCode::OK, json!({"servers": [], "available": false}));
    };
    let servers: Vec<Value> = admin
        .servers()
        .into_iter()
        .map(|e| {
            let p = &e.spec;
            json!({
                "name": p.name, "endpoint_url": p.endpoint_url, "security_policy": p.security_policy,
                "security_mode": p.security_mode, "username": p.username, "has_password": e.has_password,
                "enabled": p.enabled, "accept_all_server_certificates": p.accept_all_server_certificates,
                "state": e.state, "last_error": e.last_error, "reconnects": e.reconnects,
            })
        })
        .collect();
    let (policies, modes) = admin.choices();
    json_answer(
        StatusCode::OK,
        json!({
            "available": true, "servers": servers, "policies": policies, "modes": modes,
            "may_configure": s.has(Role::Configure),
            "file": ui.settings.config_file.as_ref().map(|f| f.display().to_string()),
        }),
    )
}

/// The settings a form sends.
#[derive(Deserialize)]
struct Form {
    #[serde(default)]
    name: String,
    #[serde(default)]
    endpoint_url: String,
    #[serde(default)]
    security_policy: String,
    #[serde(default)]
    security_mode: String,
    #[serde(default)]
    username: String,
    /// Absent or null: keep the configured password (a change); `""`: none.
    #[serde(default)]
    password: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    accept_all_server_certificates: bool,
}

fn yes() -> bool {
    true
}

impl From<Form> for ServerSpec {
    fn from(f: Form) -> Self {
        ServerSpec {
            name: f.name,
            endpoint_url: f.endpoint_url,
            security_policy: f.security_policy,
            security_mode: f.security_mode,
            username: f.username,
            password: f.password,
            enabled: f.enabled,
            accept_all_server_certificates: f.accept_all_server_certificates,
        }
    }
}

/// `POST /ui/api/servers {action: "add"|"change"|"remove", name, server}`: `name` is the
/// server changed or removed, `server` the settings of one added or changed.
#[derive(Deserialize)]
struct Change {
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    server: Option<Form>,
}

async fn change(State(ui): State<Ui>, headers: HeaderMap, Json(c): Json<Change>) -> Response {
    let s = match api_session(&ui, &headers, Role::Configure) {
        Ok(s) => s,
        Err(d) => return d.answer(),
    };
    if !csrf_ok(&ui, &s, headers.get("x-csrf-token").and_then(|v| v.to_str().ok())) {
        return json_answer(StatusCode::FORBIDDEN, json!({"ok": false, "error": "CSRF token missing or wrong"}));
    }
    let Some(admin) = &ui.settings.servers else {
        return json_answer(StatusCode::CONFLICT, json!({"ok": false, "error": "this gateway has no aggregation"}));
    };
    let server = c.server.as_ref().map(|f| f.name.trim()).filter(|n| !n.is_empty()).unwrap_or(&c.name).to_string();
    let done = match (c.action.as_str(), c.server) {
        ("add", Some(f)) => admin.add(f.into()).await.map(|()| "added"),
        ("change", Some(f)) => admin.change(&c.name, f.into()).await.map(|()| "changed"),
        ("remove", _) => admin.remove(&c.name).await.map(|()| "removed"),
        _ => {
            return json_answer(
                StatusCode::BAD_REQUEST,
                json!({"ok": false, "error": "action is add or change (with server) or remove (with name)"}),
            )
        }
    };
    match done {
        Ok(verb) => {
            tracing::info!(user = %s.user, server = %server, action = %c.action, "configurator: aggregated server {verb}");
            json_answer(StatusCode::OK, json!({"ok": true, "message": format!("server {verb}; the change is written and applied")}))
        }
        Err(e) => {
            tracing::warn!(user = %s.user, server = %server, action = %c.action, error = %e, "configurator: server change refused");
            let (status, field) = match &e {
                AdminError::NoConfigFile => (StatusCode::CONFLICT, ""),
                AdminError::Exists(_) => (StatusCode::CONFLICT, "name"),
                AdminError::NotFound(_) => (StatusCode::NOT_FOUND, ""),
                AdminError::Invalid { field, .. } => (StatusCode::BAD_REQUEST, field.as_str()),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, ""),
            };
            json_answer(status, json!({"ok": false, "error": e.to_string(), "field": field}))
        }
    }
}
