//! The Certificates page's API: the certificates of the stores (`pki/` for OPC UA clients,
//! `pki-client/` for upstream servers, `pki-user/` for user certificates) with subject,
//! issuer, validity and thumbprint, and the CRLs in their `crl/` directories; trust, reject
//! and delete of a certificate, upload of a certificate (as trusted) or a CRL, delete of a
//! CRL (the `configure` role, with the CSRF token, logged with the user's name). A
//! certificate is chosen by its whole thumbprint and a CRL by its id, never by a path; the
//! names of uploaded files are made by fxgate; only certificates and CRLs are listed: never
//! a private key. The answers say where CRLs are checked ([`CRL_NOTE`]): for the OPC UA
//! server's clients, not yet for upstream servers and users (issue 18).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fxgate_config::Role;
use fxgate_pki::{AddCertError, AddCrlError, DeleteError, Store, CRL_NOTE, MAX_UPLOAD_BYTES};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::routes::{api_session, csrf_ok, json_answer, Denied, Ui};
use crate::sessions::Session;

/// The routes of this page's API.
pub(crate) fn routes() -> Router<Ui> {
    Router::new()
        .route("/ui/api/certificates", get(list))
        .route("/ui/api/certificates/trust", post(trust))
        .route("/ui/api/certificates/reject", post(reject))
        .route("/ui/api/certificates/delete", post(delete))
        .route("/ui/api/certificates/crl/delete", post(delete_crl))
        // One byte more than allowed reaches the handler as a body-limit rejection: a 413.
        .route("/ui/api/certificates/upload", post(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)))
}

/// The file name of a path, for answers (never the data dir's path).
fn file_name(path: &std::path::Path) -> String {
    path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Why a request is not carried out.
pub(crate) enum No {
    /// No session, or a user without the role.
    Denied(Denied),
    /// Answered `{ok: false, message}` with this status.
    Refused(StatusCode, String),
}

impl IntoResponse for No {
    fn into_response(self) -> Response {
        match self {
            No::Denied(d) => d.answer(),
            No::Refused(status, message) => json_answer(status, json!({"ok": false, "message": message})),
        }
    }
}

/// `{ok: false, message}` with `status`.
fn refused(status: StatusCode, message: impl Into<String>) -> No {
    No::Refused(status, message.into())
}

/// Runs `f` off the async threads; a panic in it is a 500.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, No> {
    tokio::task::spawn_blocking(f).await.map_err(|e| refused(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// `GET /ui/api/certificates` → `{certificates, crls, crl_note, may_configure}`.
pub(crate) async fn list(State(ui): State<Ui>, headers: HeaderMap) -> Result<Response, No> {
    let s = api_session(&ui, &headers, Role::Read).map_err(No::Denied)?;
    let dir = ui.settings.data_dir.clone();
    let listed = blocking(move || fxgate_pki::list(&dir).and_then(|certs| Ok((certs, fxgate_pki::list_crls(&dir)?)))).await?;
    Ok(match listed {
        Ok((entries, crls)) => {
            let certificates: Vec<Value> = entries
                .iter()
                .map(|e| {
                    json!({
                        "store": e.store.label(), "state": e.state.label(), "subject": e.subject, "issuer": e.issuer,
                        "thumbprint": e.thumbprint, "not_before": e.not_before, "not_after": e.not_after, "file": file_name(&e.path),
                    })
                })
                .collect();
            let crls: Vec<Value> = crls
                .iter()
                .map(|c| {
                    json!({
                        "store": c.store.label(), "id": c.id, "issuer": c.issuer, "this_update": c.this_update,
                        "next_update": c.next_update, "revoked": c.revoked, "file": file_name(&c.path),
                    })
                })
                .collect();
            json_answer(
                StatusCode::OK,
                json!({"certificates": certificates, "crls": crls, "crl_note": CRL_NOTE, "may_configure": s.has(Role::Configure)}),
            )
        }
        Err(e) => json_answer(StatusCode::INTERNAL_SERVER_ERROR, json!({"error": e.to_string()})),
    })
}

/// The session of a change: `configure` and the CSRF token, else the refusal.
fn configurer(ui: &Ui, headers: &HeaderMap) -> Result<Session, No> {
    let s = api_session(ui, headers, Role::Configure).map_err(No::Denied)?;
    if !csrf_ok(ui, &s, headers.get("x-csrf-token").and_then(|v| v.to_str().ok())) {
        return Err(refused(StatusCode::FORBIDDEN, "CSRF token missing or wrong"));
    }
    Ok(s)
}

#[derive(Deserialize)]
pub(crate) struct Choice {
    thumbprint: String,
}

/// `POST /ui/api/certificates/trust {thumbprint}`.
pub(crate) async fn trust(State(ui): State<Ui>, headers: HeaderMap, Json(c): Json<Choice>) -> Result<Response, No> {
    change(ui, headers, c, true).await
}

/// `POST /ui/api/certificates/reject {thumbprint}`.
pub(crate) async fn reject(State(ui): State<Ui>, headers: HeaderMap, Json(c): Json<Choice>) -> Result<Response, No> {
    change(ui, headers, c, false).await
}

/// Whether `t` is a whole thumbprint (40 hex digits): a page never acts on a prefix that
/// could match another certificate.
fn whole_thumbprint(t: &str) -> bool {
    t.len() == 40 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn change(ui: Ui, headers: HeaderMap, c: Choice, trust: bool) -> Result<Response, No> {
    let s = configurer(&ui, &headers)?;
    if !whole_thumbprint(&c.thumbprint) {
        return Err(refused(StatusCode::BAD_REQUEST, "a thumbprint is 40 hex digits"));
    }
    let dir = ui.settings.data_dir.clone();
    let t = c.thumbprint.clone();
    let done = blocking(move || if trust { fxgate_pki::trust(&dir, &t) } else { fxgate_pki::reject(&dir, &t) }).await?;
    let verb = if trust { "trusted" } else { "rejected" };
    let files = done.map_err(|e| refused(StatusCode::NOT_FOUND, e.to_string()))?;
    tracing::info!(user = %s.user, thumbprint = %c.thumbprint, files = files.len(), "configurator: certificate {verb}");
    Ok(json_answer(StatusCode::OK, json!({"ok": true, "message": format!("{} {verb}", c.thumbprint)})))
}

/// What a delete names: a certificate's thumbprint or a CRL's id, and optionally its store.
#[derive(Deserialize)]
pub(crate) struct Removal {
    #[serde(default, alias = "id")]
    thumbprint: String,
    #[serde(default)]
    store: Option<String>,
}

/// The store a request names (`server`, `client`, `user`), `None` when it names none.
fn store_of(label: Option<&str>) -> Result<Option<Store>, No> {
    match label.filter(|l| !l.is_empty()) {
        None => Ok(None),
        Some(l) => Store::from_label(l)
            .map(Some)
            .ok_or_else(|| refused(StatusCode::BAD_REQUEST, "the store is one of server (pki/), client (pki-client/), user (pki-user/)")),
    }
}

/// `POST /ui/api/certificates/delete {thumbprint, store?}`: every file of that certificate
/// in that store (or in all three), trusted or rejected.
pub(crate) async fn delete(State(ui): State<Ui>, headers: HeaderMap, Json(r): Json<Removal>) -> Result<Response, No> {
    remove(ui, headers, r, false).await
}

/// `POST /ui/api/certificates/crl/delete {id, store?}`.
pub(crate) async fn delete_crl(State(ui): State<Ui>, headers: HeaderMap, Json(r): Json<Removal>) -> Result<Response, No> {
    remove(ui, headers, r, true).await
}

async fn remove(ui: Ui, headers: HeaderMap, r: Removal, crl: bool) -> Result<Response, No> {
    let s = configurer(&ui, &headers)?;
    let store = store_of(r.store.as_deref())?;
    let dir = ui.settings.data_dir.clone();
    let t = r.thumbprint.clone();
    let done = blocking(move || if crl { fxgate_pki::delete_crl(&dir, store, &t) } else { fxgate_pki::delete(&dir, store, &t) }).await?;
    let what = if crl { "CRL" } else { "certificate" };
    let files = done.map_err(|e| {
        let status = match e {
            DeleteError::BadThumbprint { .. } => StatusCode::BAD_REQUEST,
            DeleteError::NoMatch { .. } => StatusCode::NOT_FOUND,
            DeleteError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        refused(status, e.to_string())
    })?;
    let names: Vec<String> = files.iter().map(|f| file_name(f)).collect();
    tracing::info!(user = %s.user, thumbprint = %r.thumbprint, files = ?names, "configurator: {what} deleted");
    Ok(json_answer(StatusCode::OK, json!({"ok": true, "message": format!("{what} {} deleted", r.thumbprint.to_ascii_lowercase()), "files": names})))
}

/// A refused upload: 413 when too large, 500 for a store that cannot be written, else 400 (the
/// file is not what it was sent as).
fn upload_refused(e: &impl std::fmt::Display, too_large: bool, store: bool) -> No {
    let status = if too_large {
        StatusCode::PAYLOAD_TOO_LARGE
    } else if store {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::BAD_REQUEST
    };
    refused(status, e.to_string())
}

/// The query of an upload: the store and whether the file is a certificate or a CRL.
#[derive(Deserialize)]
pub(crate) struct Target {
    #[serde(default)]
    store: String,
    #[serde(default)]
    kind: String,
}

/// `POST /ui/api/certificates/upload?store=server|client|user&kind=certificate|crl`, the file
/// as the raw body (DER or PEM, at most 64 kB): a certificate is added to the store as
/// trusted, a CRL to its `crl/` directory. Nothing is written unless it parses.
pub(crate) async fn upload(State(ui): State<Ui>, headers: HeaderMap, Query(q): Query<Target>, body: Result<Bytes, BytesRejection>) -> Result<Response, No> {
    let s = configurer(&ui, &headers)?;
    let store = store_of(Some(&q.store))?
        .ok_or_else(|| refused(StatusCode::BAD_REQUEST, "say which store: ?store=server (pki/), client (pki-client/) or user (pki-user/)"))?;
    let crl = match q.kind.as_str() {
        "certificate" => false,
        "crl" => true,
        _ => return Err(refused(StatusCode::BAD_REQUEST, "say what the file is: ?kind=certificate or ?kind=crl")),
    };
    let body = match body {
        Ok(body) if body.is_empty() => return Err(refused(StatusCode::BAD_REQUEST, "the file is empty")),
        Ok(body) => body,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(refused(StatusCode::PAYLOAD_TOO_LARGE, format!("a certificate or CRL file is at most {} kB", MAX_UPLOAD_BYTES / 1024)))
        }
        Err(e) => return Err(refused(e.status(), e.body_text())),
    };
    let dir = ui.settings.data_dir.clone();
    if crl {
        let c = blocking(move || fxgate_pki::add_crl(&dir, store, &body))
            .await?
            .map_err(|e| upload_refused(&e, matches!(e, AddCrlError::TooLarge { .. }), matches!(e, AddCrlError::Store(_))))?;
        tracing::info!(user = %s.user, store = %store, id = %c.id, issuer = %c.issuer, revoked = c.revoked, "configurator: CRL stored");
        let message = format!("CRL of {} stored in {}/crl/ ({} revoked); {CRL_NOTE}", c.issuer, store.dir_name(), c.revoked);
        Ok(json_answer(StatusCode::OK, json!({"ok": true, "message": message, "id": c.id, "file": file_name(&c.path), "note": CRL_NOTE})))
    } else {
        let c = blocking(move || fxgate_pki::add_certificate(&dir, store, &body))
            .await?
            .map_err(|e| upload_refused(&e, matches!(e, AddCertError::TooLarge { .. }), matches!(e, AddCertError::Store(_))))?;
        tracing::info!(user = %s.user, store = %store, thumbprint = %c.thumbprint, subject = %c.subject, "configurator: certificate uploaded as trusted");
        let message = format!("{} trusted in {}/ ({})", c.subject, store.dir_name(), c.thumbprint);
        Ok(json_answer(StatusCode::OK, json!({"ok": true, "message": message, "thumbprint": c.thumbprint, "file": file_name(&c.path)})))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_thumbprints_and_known_stores() {
        assert!(whole_thumbprint(&"aB".repeat(20)));
        assert!(!whole_thumbprint("abcd") && !whole_thumbprint(&"z".repeat(40)));
        assert!(matches!(store_of(None), Ok(None)));
        assert!(matches!(store_of(Some("")), Ok(None)));
        assert!(matches!(store_of(Some("user")), Ok(Some(Store::User))));
        let bad = store_of(Some("../pki")).err().map(|r| r.into_response().status());
        assert_eq!(bad, Some(StatusCode::BAD_REQUEST));
    }
}
