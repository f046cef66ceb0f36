//! The Endpoints page's API (seed 000 §4.7, §4.9.2): every endpoint the gateway can offer with
//! whether it does now (`read`), and the switches for the None policy and the deprecated
//! policies, the host, port and endpoint URL (`configure`, CSRF token). A change is written
//! to `[server]` (validated as a whole, atomic, `.bak`) and applies after a restart, which
//! the pages then offer.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use fxgate_config::persist::set_keys;
use fxgate_config::Role;
use serde::Deserialize;
use serde_json::{json, Value};
use toml_edit::value;

use crate::routes::{api_session, change_session, json_answer, Ui};

/// The routes of this page's API.
pub(crate) fn routes() -> Router<Ui> {
    Router::new().route("/ui/api/endpoints", get(show).post(change))
}

/// The seed's advice next to the switches.
const ADVICE: &str = "Endpoints classified as insecure are not offered by default. We strongly advise against offering them: \
enable the deprecated policies only for old clients that cannot be updated (ask their vendor for an update), and the None policy never \
outside a closed test network (messages then travel unsigned and in clear).";

/// `GET /ui/api/endpoints`.
async fn show(State(ui): State<Ui>, headers: HeaderMap) -> Response {
    let s = match api_session(&ui, &headers, Role::Read) {
        Ok(s) => s,
        Err(d) => return d.answer(),
    };
    let e = &ui.settings.endpoint_settings;
    let written = ui.endpoint_file.lock().clone();
    let all: Vec<Value> = e
        .all
        .iter()
        .map(|(policy, mode, offered, deprecated)| json!({"policy": policy, "mode": mode, "offered": offered, "deprecated": deprecated}))
        .collect();
    json_answer(
        StatusCode::OK,
        json!({
            "url": e.url, "endpoints": all, "advice": ADVICE, "may_configure": s.has(Role::Configure),
            "editable": ui.settings.config_file.is_some(), "restart_pending": ui.pending(),
            "settings": {"host": written.host, "port": written.port, "endpoint_url": written.endpoint_url,
                         "allow_none": written.allow_none, "allow_deprecated": written.allow_deprecated},
        }),
    )
}

/// `POST /ui/api/endpoints {host, port, endpoint_url, allow_none, allow_deprecated}`.
#[derive(Deserialize)]
struct Form {
    host: String,
    port: u16,
    #[serde(default)]
    endpoint_url: String,
    allow_none: bool,
    allow_deprecated: bool,
}

async fn change(State(ui): State<Ui>, headers: HeaderMap, Json(f): Json<Form>) -> Response {
    let s = match change_session(&ui, &headers, Role::Configure) {
        Ok(s) => s,
        Err(r) => return r.answer(),
    };
    let Some(file) = ui.settings.config_file.clone() else {
        return json_answer(
            StatusCode::CONFLICT,
            json!({"ok": false, "message": "the gateway runs on the embedded default configuration: start it with --config FILE to change it"}),
        );
    };
    let (check, host, url) = (ui.settings.check, f.host.trim().to_string(), f.endpoint_url.trim().to_string());
    let entries = vec![
        ("host", value(host.as_str())),
        ("port", value(i64::from(f.port))),
        ("endpoint_url", value(url.as_str())),
        ("allow_none", value(f.allow_none)),
        ("allow_deprecated", value(f.allow_deprecated)),
    ];
    match tokio::task::spawn_blocking(move || set_keys(&file, check, "server", entries)).await {
        Ok(Ok(())) => {
            let mut written = ui.endpoint_file.lock();
            let changed = (written.host.as_str(), written.port, written.endpoint_url.as_str(), written.allow_none, written.allow_deprecated)
                != (host.as_str(), f.port, url.as_str(), f.allow_none, f.allow_deprecated);
            written.host = host;
            written.port = f.port;
            written.endpoint_url = url;
            written.allow_none = f.allow_none;
            written.allow_deprecated = f.allow_deprecated;
            drop(written);
            if changed {
                ui.restart_needed("the endpoints ([server] host, port, endpoint_url, allow_none, allow_deprecated)");
            }
            if f.allow_none || f.allow_deprecated {
                tracing::warn!(user = %s.user, allow_none = f.allow_none, allow_deprecated = f.allow_deprecated, "configurator: insecure endpoints switched on (after a restart)");
            }
            tracing::info!(user = %s.user, port = f.port, "configurator: endpoint settings written");
            json_answer(StatusCode::OK, json!({"ok": true, "restart_needed": changed, "message": "written; the endpoints change after a restart"}))
        }
        Ok(Err(e)) => {
            let text = e.to_string();
            let field = ["endpoint_url", "host", "port", "allow_none", "allow_deprecated"]
                .into_iter()
                .find(|f| text.contains(&format!("server.{f}")))
                .unwrap_or("");
            json_answer(StatusCode::BAD_REQUEST, json!({"ok": false, "field": field, "message": text}))
        }
        Err(e) => json_answer(StatusCode::INTERNAL_SERVER_ERROR, json!({"ok": false, "message": e.to_string()})),
    }
}
