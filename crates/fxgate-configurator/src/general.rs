//! The General page's API (`configure` role, CSRF token): anonymous access on or off and its
//! roles, written to `[server]` of the configuration file (validated as a whole, atomic, the
//! previous file kept as `.bak`) and applied at once: new anonymous sessions are refused, and
//! open ones lose their roles. The log level is written to `[log]` and applied at once. LDS
//! registration and reverse connect are written to `[server]` and apply after a restart,
//! which the pages then offer. Settings only changed in the file are shown with that said.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use fxgate_config::users::{role_name, write_anonymous};
use fxgate_config::Role;
use serde::Deserialize;
use serde_json::json;

use crate::routes::{api_session, change_session, csrf_ok, json_answer, Ui};
use crate::Discovery;
use fxgate_config::persist::set_keys;
use toml_edit::value;

/// The routes of this page's API.
pub(crate) fn routes() -> Router<Ui> {
    Router::new()
        .route("/ui/api/general", get(show).post(change))
        .route("/ui/api/general/log", post(log_level))
        .route("/ui/api/general/discovery", post(discovery))
}

/// `GET /ui/api/general`.
pub(crate) async fn show(State(ui): State<Ui>, headers: HeaderMap) -> Response {
    if let Err(d) = api_session(&ui, &headers, Role::Configure) {
        return d.answer();
    }
    let discovery = ui.discovery.lock().clone();
    let anonymous = ui.settings.users.anonymous();
    let roles: Vec<&str> = anonymous.iter().flatten().map(|r| role_name(*r)).collect();
    json_answer(
        StatusCode::OK,
        json!({"anonymous": anonymous.is_some(), "anonymous_roles": roles, "editable": ui.settings.config_file.is_some(),
               "at_start": ui.settings.at_start, "log_level": ui.settings.log_level.as_ref().map(|l| l.current()),
               "register_with_lds": discovery.register_with_lds, "reverse_connect": discovery.reverse_connect,
               "restart_pending": ui.pending()}),
    )
}

/// `POST /ui/api/general {anonymous, anonymous_roles}`.
#[derive(Deserialize)]
pub(crate) struct General {
    anonymous: bool,
    #[serde(default)]
    anonymous_roles: Vec<Role>,
}

pub(crate) async fn change(State(ui): State<Ui>, headers: HeaderMap, Json(g): Json<General>) -> Response {
    let s = match api_session(&ui, &headers, Role::Configure) {
        Ok(s) => s,
        Err(d) => return d.answer(),
    };
    if !csrf_ok(&ui, &s, headers.get("x-csrf-token").and_then(|v| v.to_str().ok())) {
        return json_answer(StatusCode::FORBIDDEN, json!({"ok": false, "message": "CSRF token missing or wrong"}));
    }
    let Some(file) = ui.settings.config_file.clone() else {
        return no_file();
    };
    let roles = g.anonymous.then_some(g.anonymous_roles);
    let check = ui.settings.check;
    let written = roles.clone();
    match tokio::task::spawn_blocking(move || write_anonymous(&file, written.as_deref(), check)).await {
        Ok(Ok(())) => {
            ui.settings.users.set_anonymous(roles.clone());
            let what = if g.anonymous { "on" } else { "off" };
            tracing::info!(user = %s.user, anonymous = what, roles = ?roles, "configurator: anonymous access changed");
            json_answer(StatusCode::OK, json!({"ok": true, "message": format!("anonymous access {what}")}))
        }
        Ok(Err(e)) => json_answer(StatusCode::BAD_REQUEST, json!({"ok": false, "message": e.to_string()})),
        Err(e) => json_answer(StatusCode::INTERNAL_SERVER_ERROR, json!({"ok": false, "message": e.to_string()})),
    }
}

/// The answer when the gateway has no configuration file to write to.
fn no_file() -> Response {
    json_answer(
        StatusCode::CONFLICT,
        json!({"ok": false, "message": "the gateway runs on the embedded default configuration: start it with --config FILE to change it"}),
    )
}

/// `POST /ui/api/general/log {level}`.
#[derive(Deserialize)]
pub(crate) struct Level {
    level: String,
}

/// Applies the level at once (an invalid filter is refused before anything is written),
/// then writes it to `[log] level`; if the file cannot take it, the old level comes back.
async fn log_level(State(ui): State<Ui>, headers: HeaderMap, Json(l): Json<Level>) -> Response {
    let s = match change_session(&ui, &headers, Role::Configure) {
        Ok(s) => s,
        Err(r) => return r.answer(),
    };
    let Some(file) = ui.settings.config_file.clone() else {
        return no_file();
    };
    let Some(control) = ui.settings.log_level.clone() else {
        return json_answer(StatusCode::CONFLICT, json!({"ok": false, "message": "the log level cannot be changed at run time here"}));
    };
    let level = l.level.trim().to_string();
    let old = control.current();
    if level.is_empty() {
        return json_answer(StatusCode::BAD_REQUEST, json!({"ok": false, "field": "level", "message": "the level is empty"}));
    }
    if let Err(e) = control.set(&level) {
        return json_answer(StatusCode::BAD_REQUEST, json!({"ok": false, "field": "level", "message": format!("not a log filter: {e}")}));
    }
    let (check, written) = (ui.settings.check, level.clone());
    let done = tokio::task::spawn_blocking(move || set_keys(&file, check, "log", vec![("level", value(written))])).await;
    match done {
        Ok(Ok(())) => {
            tracing::info!(user = %s.user, from = %old, to = %level, "configurator: log level changed");
            json_answer(StatusCode::OK, json!({"ok": true, "message": format!("log level {level}, applied now and written")}))
        }
        Ok(Err(e)) => {
            let _ = control.set(&old);
            json_answer(StatusCode::BAD_REQUEST, json!({"ok": false, "field": "level", "message": e.to_string()}))
        }
        Err(e) => {
            let _ = control.set(&old);
            json_answer(StatusCode::INTERNAL_SERVER_ERROR, json!({"ok": false, "message": e.to_string()}))
        }
    }
}

/// `POST /ui/api/general/discovery {register_with_lds, reverse_connect}`.
#[derive(Deserialize)]
pub(crate) struct DiscoveryForm {
    #[serde(default)]
    register_with_lds: String,
    #[serde(default)]
    reverse_connect: Vec<String>,
}

/// Writes the discovery settings to `[server]`; they apply after a restart.
async fn discovery(State(ui): State<Ui>, headers: HeaderMap, Json(d): Json<DiscoveryForm>) -> Response {
    let s = match change_session(&ui, &headers, Role::Configure) {
        Ok(s) => s,
        Err(r) => return r.answer(),
    };
    let Some(file) = ui.settings.config_file.clone() else {
        return no_file();
    };
    let wanted = Discovery {
        register_with_lds: d.register_with_lds.trim().to_string(),
        reverse_connect: d.reverse_connect.iter().map(|u| u.trim().to_string()).filter(|u| !u.is_empty()).collect(),
    };
    let check = ui.settings.check;
    let w = wanted.clone();
    let done = tokio::task::spawn_blocking(move || {
        let mut list = toml_edit::Array::new();
        for u in &w.reverse_connect {
            list.push(u.as_str());
        }
        set_keys(&file, check, "server", vec![("register_with_lds", value(w.register_with_lds.as_str())), ("reverse_connect", value(list))])
    })
    .await;
    match done {
        Ok(Ok(())) => {
            let changed = *ui.discovery.lock() != wanted;
            *ui.discovery.lock() = wanted.clone();
            if changed {
                ui.restart_needed("LDS registration and reverse connect ([server] register_with_lds, reverse_connect)");
            }
            tracing::info!(user = %s.user, lds = %wanted.register_with_lds, reverse_connect = ?wanted.reverse_connect, "configurator: discovery settings written");
            json_answer(StatusCode::OK, json!({"ok": true, "restart_needed": changed, "message": "written; they apply after a restart"}))
        }
        Ok(Err(e)) => {
            let field = ["register_with_lds", "reverse_connect"].into_iter().find(|f| e.to_string().contains(f)).unwrap_or("");
            json_answer(StatusCode::BAD_REQUEST, json!({"ok": false, "field": field, "message": e.to_string()}))
        }
        Err(e) => json_answer(StatusCode::INTERNAL_SERVER_ERROR, json!({"ok": false, "message": e.to_string()})),
    }
}
