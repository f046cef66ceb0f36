//! The General page's API (`configure` role, CSRF token): anonymous access on or off and its
//! roles, written to `[server]` of the configuration file (validated as a whole, atomic, the
//! previous file kept as `.bak`) and applied at once: new anonymous sessions are refused, and
//! open ones lose their roles. Settings that only apply at start (LDS registration, reverse
//! connect, the log file) are shown with that said.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use fxgate_config::users::{role_name, write_anonymous};
use fxgate_config::Role;
use serde::Deserialize;
use serde_json::json;

use crate::routes::{api_session, csrf_ok, json_answer, Ui};

/// The routes of this page's API.
pub(crate) fn routes() -> Router<Ui> {
    Router::new().route("/ui/api/general", get(show).post(change))
}

/// `GET /ui/api/general`.
pub(crate) async fn show(State(ui): State<Ui>, headers: HeaderMap) -> Response {
    if let Err(d) = api_session(&ui, &headers, Role::Configure) {
        return d.answer();
    }
    let anonymous = ui.settings.users.anonymous();
    let roles: Vec<&str> = anonymous.iter().flatten().map(|r| role_name(*r)).collect();
    json_answer(
        StatusCode::OK,
        json!({"anonymous": anonymous.is_some(), "anonymous_roles": roles, "editable": ui.settings.config_file.is_some(),
               "at_start": ui.settings.at_start}),
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
        return json_answer(StatusCode::CONFLICT, json!({"ok": false, "message": "the gateway runs on the embedded default configuration: start it with --config FILE to change it"}));
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
