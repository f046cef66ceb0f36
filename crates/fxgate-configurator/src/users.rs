//! The Users page's API (`configure` role, CSRF token): list the users (never a hash), add
//! one, remove one, set its roles, set its password (stored as an argon2id hash). A change is
//! written to the configuration file first (validated as a whole, atomic, the previous file
//! kept as `.bak`), then applied at once: the OPC UA server, the DA API and these pages log
//! users in from the same directory. The last user with `configure` cannot be removed or
//! lose the role (nobody could change the configuration any more).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use fxgate_config::users::{role_name, write_users};
use fxgate_config::{Role, UserConfig};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::routes::{api_session, csrf_ok, json_answer, Ui};

/// The routes of this page's API.
pub(crate) fn routes() -> Router<Ui> {
    Router::new().route("/ui/api/users", get(list).post(change))
}

/// The shortest password the page accepts.
pub const MIN_PASSWORD: usize = 8;

/// `GET /ui/api/users`.
pub(crate) async fn list(State(ui): State<Ui>, headers: HeaderMap) -> Response {
    if let Err(d) = api_session(&ui, &headers, Role::Configure) {
        return d.answer();
    }
    let users: Vec<Value> = ui
        .settings
        .users
        .all()
        .iter()
        .map(|u| {
            json!({"name": u.name, "roles": u.roles.iter().map(|r| role_name(*r)).collect::<Vec<_>>(),
                   "password": !u.password_hash.is_empty(), "certificate_thumbprint": u.certificate_thumbprint})
        })
        .collect();
    let file = ui.settings.config_file.as_ref().map(|p| p.display().to_string());
    json_answer(StatusCode::OK, json!({"users": users, "editable": file.is_some(), "file": file}))
}

/// A change of the Users page.
#[derive(Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub(crate) enum Change {
    /// A new user with a password.
    Add {
        /// Login name.
        name: String,
        /// Its roles.
        roles: Vec<Role>,
        /// Its password (hashed before it is stored).
        password: String,
    },
    /// Remove a user.
    Remove {
        /// Login name.
        name: String,
    },
    /// Set a user's roles.
    Roles {
        /// Login name.
        name: String,
        /// The new roles.
        roles: Vec<Role>,
    },
    /// Set a user's password.
    Password {
        /// Login name.
        name: String,
        /// The new password.
        password: String,
    },
}

/// Why a change is refused (the file and the users stay as they were).
fn refused(status: StatusCode, message: impl Into<String>) -> Response {
    json_answer(status, json!({"ok": false, "message": message.into()}))
}

/// `POST /ui/api/users`.
pub(crate) async fn change(State(ui): State<Ui>, headers: HeaderMap, Json(c): Json<Change>) -> Response {
    let s = match api_session(&ui, &headers, Role::Configure) {
        Ok(s) => s,
        Err(d) => return d.answer(),
    };
    if !csrf_ok(&ui, &s, headers.get("x-csrf-token").and_then(|v| v.to_str().ok())) {
        return refused(StatusCode::FORBIDDEN, "CSRF token missing or wrong");
    }
    let Some(file) = ui.settings.config_file.clone() else {
        return refused(StatusCode::CONFLICT, "the gateway runs on the embedded default configuration: start it with --config FILE to change users");
    };
    let mut users = ui.settings.users.all();
    let index = |users: &[UserConfig], name: &str| users.iter().position(|u| u.name == name);
    let (what, name) = match c {
        Change::Add { name, roles, password } => {
            if let Err(e) = fxgate_config::check_name(&name) {
                return refused(StatusCode::BAD_REQUEST, format!("name: {e}"));
            }
            if index(&users, &name).is_some() {
                return refused(StatusCode::BAD_REQUEST, format!("a user named `{name}` exists already"));
            }
            let hash = match hash(password).await {
                Ok(h) => h,
                Err((status, m)) => return refused(status, m),
            };
            users.push(UserConfig { name: name.clone(), password_hash: hash, certificate_thumbprint: String::new(), roles });
            ("added", name)
        }
        Change::Remove { name } => {
            let Some(i) = index(&users, &name) else { return refused(StatusCode::NOT_FOUND, format!("no user named `{name}`")) };
            users.remove(i);
            ("removed", name)
        }
        Change::Roles { name, roles } => {
            let Some(i) = index(&users, &name) else { return refused(StatusCode::NOT_FOUND, format!("no user named `{name}`")) };
            users[i].roles = roles;
            ("given new roles", name)
        }
        Change::Password { name, password } => {
            let Some(i) = index(&users, &name) else { return refused(StatusCode::NOT_FOUND, format!("no user named `{name}`")) };
            users[i].password_hash = match hash(password).await {
                Ok(h) => h,
                Err((status, m)) => return refused(status, m),
            };
            ("given a new password", name)
        }
    };
    if !users.iter().any(|u| u.roles.contains(&Role::Configure) && !u.password_hash.is_empty()) {
        return refused(StatusCode::BAD_REQUEST, "at least one user with a password must keep the `configure` role");
    }
    let check = ui.settings.check;
    let list = users.clone();
    match tokio::task::spawn_blocking(move || write_users(&file, &list, check)).await {
        Ok(Ok(())) => {
            ui.settings.users.replace(users);
            tracing::info!(user = %s.user, target = %name, "configurator: user {what}");
            json_answer(StatusCode::OK, json!({"ok": true, "message": format!("`{name}` {what}")}))
        }
        Ok(Err(e)) => refused(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e) => refused(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The argon2id hash of `password` (off the async threads), or the refusal's status and text.
async fn hash(password: String) -> Result<String, (StatusCode, String)> {
    if password.chars().count() < MIN_PASSWORD {
        return Err((StatusCode::BAD_REQUEST, format!("a password has at least {MIN_PASSWORD} characters")));
    }
    match tokio::task::spawn_blocking(move || fxgate_pki::hash_password(&password)).await {
        Ok(Ok(h)) => Ok(h),
        Ok(Err(e)) => Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
        Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}
