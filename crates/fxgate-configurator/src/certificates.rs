//! The Certificates page's API: the certificates of the stores (`pki/` for OPC UA clients,
//! `pki-client/` for upstream servers, `pki-user/` for user certificates) with subject,
//! validity and thumbprint, and trust/reject of a client or server certificate (the
//! `configure` role, with the CSRF token). A certificate is chosen by its whole thumbprint,
//! never by a path, and only certificates are listed: never a private key.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use fxgate_config::Role;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::routes::{api_session, csrf_ok, json_answer, Ui};

/// The routes of this page's API.
pub(crate) fn routes() -> Router<Ui> {
    Router::new()
        .route("/ui/api/certificates", get(list))
        .route("/ui/api/certificates/trust", post(trust))
        .route("/ui/api/certificates/reject", post(reject))
}

/// `GET /ui/api/certificates`.
pub(crate) async fn list(State(ui): State<Ui>, headers: HeaderMap) -> Response {
    let s = match api_session(&ui, &headers, Role::Read) {
        Ok(s) => s,
        Err(d) => return d.answer(),
    };
    let dir = ui.settings.data_dir.clone();
    match tokio::task::spawn_blocking(move || fxgate_pki::list(&dir)).await {
        Ok(Ok(entries)) => {
            let certificates: Vec<Value> = entries
                .iter()
                .map(|e| {
                    json!({
                        "store": e.store.label(), "state": e.state.label(), "subject": e.subject, "thumbprint": e.thumbprint,
                        "not_before": e.not_before, "not_after": e.not_after,
                        "file": e.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
                    })
                })
                .collect();
            json_answer(StatusCode::OK, json!({"certificates": certificates, "may_configure": s.has(Role::Configure)}))
        }
        Ok(Err(e)) => json_answer(StatusCode::INTERNAL_SERVER_ERROR, json!({"error": e.to_string()})),
        Err(e) => json_answer(StatusCode::INTERNAL_SERVER_ERROR, json!({"error": e.to_string()})),
    }
}

#[derive(Deserialize)]
pub(crate) struct Choice {
    thumbprint: String,
}

/// `POST /ui/api/certificates/trust {thumbprint}`.
pub(crate) async fn trust(State(ui): State<Ui>, headers: HeaderMap, Json(c): Json<Choice>) -> Response {
    change(ui, headers, c, true).await
}

/// `POST /ui/api/certificates/reject {thumbprint}`.
pub(crate) async fn reject(State(ui): State<Ui>, headers: HeaderMap, Json(c): Json<Choice>) -> Response {
    change(ui, headers, c, false).await
}

async fn change(ui: Ui, headers: HeaderMap, c: Choice, trust: bool) -> Response {
    let s = match api_session(&ui, &headers, Role::Configure) {
        Ok(s) => s,
        Err(d) => return d.answer(),
    };
    if !csrf_ok(&ui, &s, headers.get("x-csrf-token").and_then(|v| v.to_str().ok())) {
        return json_answer(StatusCode::FORBIDDEN, json!({"ok": false, "message": "CSRF token missing or wrong"}));
    }
    // The whole thumbprint: a page never acts on a prefix that could match another one.
    if c.thumbprint.len() != 40 || !c.thumbprint.bytes().all(|b| b.is_ascii_hexdigit()) {
        return json_answer(StatusCode::BAD_REQUEST, json!({"ok": false, "message": "a thumbprint is 40 hex digits"}));
    }
    let dir = ui.settings.data_dir.clone();
    let t = c.thumbprint.clone();
    let done = tokio::task::spawn_blocking(move || if trust { fxgate_pki::trust(&dir, &t) } else { fxgate_pki::reject(&dir, &t) }).await;
    let verb = if trust { "trusted" } else { "rejected" };
    match done {
        Ok(Ok(files)) => {
            tracing::info!(user = %s.user, thumbprint = %c.thumbprint, files = files.len(), "configurator: certificate {verb}");
            json_answer(StatusCode::OK, json!({"ok": true, "message": format!("{} {verb}", c.thumbprint)}))
        }
        Ok(Err(e)) => json_answer(StatusCode::NOT_FOUND, json!({"ok": false, "message": e.to_string()})),
        Err(e) => json_answer(StatusCode::INTERNAL_SERVER_ERROR, json!({"ok": false, "message": e.to_string()})),
    }
}
