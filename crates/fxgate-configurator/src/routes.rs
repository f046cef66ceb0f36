//! The handlers under `/ui`: pages, login and logout, and the JSON API the pages poll.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use fxgate_config::users::role_name;
use fxgate_config::Role;
use fxgate_core::LogLevel;
use fxgate_forward::value::Sample;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::pages;
use crate::sessions::{cookie, same_token, Session, ABSOLUTE, COOKIE};
use crate::Configurator;

pub(crate) type Ui = Arc<Configurator>;

pub(crate) fn router(ui: Ui) -> Router {
    Router::new()
        .route("/ui", get(home))
        .route("/ui/", get(home))
        .route("/ui/login", get(login_page).post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/js/{file}", get(script))
        .route("/favicon.ico", get(favicon))
        .route("/ui/api/overview", get(overview))
        .route("/ui/api/logs", get(logs))
        .route("/ui/{page}", get(page))
        .merge(crate::tags::routes())
        .merge(crate::certificates::routes())
        .merge(crate::general::routes())
        .merge(crate::users::routes())
        .merge(crate::servers::routes())
        .merge(crate::config::routes())
        .merge(crate::endpoints::routes())
        .with_state(ui)
}

/// Headers of every answer: no caching, no framing, no inline script, no referrer.
pub(crate) fn secured(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; script-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'"),
    );
    r
}

fn html(status: StatusCode, body: String) -> Response {
    secured((status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response())
}

pub(crate) fn json_answer(status: StatusCode, body: Value) -> Response {
    secured((status, Json(body)).into_response())
}

fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::COOKIE)?.to_str().ok().and_then(|c| cookie(c, COOKIE))
}

/// The live session of the request, with its user's roles as they are now: a user removed
/// on the Users page loses its sessions, one given new roles has them at once.
fn session(ui: &Configurator, headers: &HeaderMap) -> Option<(String, Session)> {
    let id = session_id(headers)?;
    let mut s = ui.sessions.get(id)?;
    match ui.settings.users.by_name(&s.user).filter(|u| !u.password_hash.is_empty()) {
        Some(u) => s.roles = u.roles,
        None => {
            ui.sessions.close(id);
            return None;
        }
    }
    Some((id.to_string(), s))
}

/// A page for a session with `read`, else the login page (or 403 for a user without it).
fn with_reader(ui: &Configurator, headers: &HeaderMap, page: impl FnOnce(&Session) -> String) -> Response {
    match session(ui, headers) {
        None => secured(Redirect::to("/ui/login").into_response()),
        Some((_, s)) if !s.has(Role::Read) => html(StatusCode::FORBIDDEN, pages::login("this user has no `read` role")),
        Some((_, s)) => html(StatusCode::OK, page(&s)),
    }
}

/// Why an API call is not let through.
pub(crate) enum Denied {
    /// No live session: 401.
    NoSession,
    /// The user lacks this role: 403.
    Lacks(Role),
}

impl Denied {
    pub(crate) fn answer(self) -> Response {
        match self {
            Denied::NoSession => json_answer(StatusCode::UNAUTHORIZED, json!({"error": "log in first"})),
            Denied::Lacks(role) => json_answer(StatusCode::FORBIDDEN, json!({"error": format!("the `{}` role is needed", role_name(role))})),
        }
    }
}

/// The API's session check.
pub(crate) fn api_session(ui: &Configurator, headers: &HeaderMap, role: Role) -> Result<Session, Denied> {
    match session(ui, headers) {
        None => Err(Denied::NoSession),
        Some((_, s)) if !s.has(role) => Err(Denied::Lacks(role)),
        Some((_, s)) => Ok(s),
    }
}


/// Why a change is not let through.
pub(crate) enum Refused {
    /// No session, or the role is missing.
    Denied(Denied),
    /// The CSRF token is missing or wrong: 403.
    Csrf,
}

impl Refused {
    pub(crate) fn answer(self) -> Response {
        match self {
            Refused::Denied(d) => d.answer(),
            Refused::Csrf => json_answer(StatusCode::FORBIDDEN, json!({"ok": false, "error": "CSRF token missing or wrong"})),
        }
    }
}

/// A change's checks: a session with `role`, and its CSRF token in the `x-csrf-token` header.
pub(crate) fn change_session(ui: &Configurator, headers: &HeaderMap, role: Role) -> Result<Session, Refused> {
    let s = api_session(ui, headers, role).map_err(Refused::Denied)?;
    if !csrf_ok(ui, &s, headers.get("x-csrf-token").and_then(|v| v.to_str().ok())) {
        return Err(Refused::Csrf);
    }
    Ok(s)
}

/// A change must carry the session's CSRF token (form field or `x-csrf-token` header).
pub(crate) fn csrf_ok(ui: &Configurator, s: &Session, given: Option<&str>) -> bool {
    let ok = given.is_some_and(|t| same_token(t, &s.csrf));
    if !ok {
        ui.metrics.csrf_rejections.inc();
        tracing::warn!(user = %s.user, "configurator: a change without its CSRF token was refused");
    }
    ok
}

async fn home(State(ui): State<Ui>, headers: HeaderMap) -> Response {
    let to = if session(&ui, &headers).is_some() { "/ui/overview" } else { "/ui/login" };
    secured(Redirect::to(to).into_response())
}

async fn login_page() -> Response {
    html(StatusCode::OK, pages::login(""))
}

#[derive(Deserialize)]
struct LoginForm {
    user: String,
    password: String,
}

async fn login(State(ui): State<Ui>, Form(f): Form<LoginForm>) -> Response {
    if let Some(wait) = ui.limit.check(&f.user) {
        ui.metrics.login_failures.inc();
        // A flood of attempts is counted; it is logged once per period, with the count.
        if let Some(held) = ui.refusal_log.lock().allow() {
            tracing::warn!(user = %f.user, lines_held_back = held, "configurator login refused: too many failed logins");
        }
        let msg = format!("too many failed logins: try again in {} s", wait.as_secs().max(1));
        let mut r = html(StatusCode::TOO_MANY_REQUESTS, pages::login(&msg));
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
        return r;
    }
    let user = ui.settings.users.by_name(&f.user).filter(|u| !u.password_hash.is_empty());
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let password = f.password.clone();
    // argon2id takes tens of milliseconds on purpose: off the async threads. An unknown
    // user costs the same time (a check against a fixed hash), so timing tells nothing.
    let ok = tokio::task::spawn_blocking(move || match hash {
        Some(h) => fxgate_pki::verify_password(&h, &password),
        None => {
            let _ = fxgate_pki::verify_password(UNKNOWN_USER_HASH, &password);
            false
        }
    })
    .await
    .unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        ui.limit.failed(&f.user);
        ui.metrics.login_failures.inc();
        if let Some(held) = ui.refusal_log.lock().allow() {
            tracing::warn!(user = %f.user, lines_held_back = held, "configurator login refused: unknown user or wrong password");
        }
        return html(StatusCode::UNAUTHORIZED, pages::login("unknown user or wrong password"));
    };
    ui.limit.succeeded(&f.user);
    let Some(id) = ui.sessions.open(&user.name, user.roles.clone()) else {
        return html(StatusCode::INTERNAL_SERVER_ERROR, pages::login("no session could be made"));
    };
    tracing::info!(user = %user.name, "configurator login");
    let secure = if ui.settings.tls { "; Secure" } else { "" };
    let value = format!("{COOKIE}={id}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={}{secure}", ABSOLUTE.as_secs());
    let mut r = secured(Redirect::to("/ui/overview").into_response());
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// An argon2id hash of a random password: what an unknown user's password is checked against.
const UNKNOWN_USER_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$QxtwvTd7kimr0LChzO9Fxg$FZgcnzyEq7NkPM7PJOhV9oe1SYkqkMhGHMAeKSOdZEQ";

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(State(ui): State<Ui>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    let Some((id, s)) = session(&ui, &headers) else {
        return secured(Redirect::to("/ui/login").into_response());
    };
    if !csrf_ok(&ui, &s, Some(&f.csrf)) {
        return html(StatusCode::FORBIDDEN, pages::login("the form was not sent by this page (CSRF token missing or wrong)"));
    }
    ui.sessions.close(&id);
    tracing::info!(user = %s.user, "configurator logout");
    let mut r = secured(Redirect::to("/ui/login").into_response());
    r.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_static("fxgate_session=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0"));
    r
}

#[derive(Deserialize)]
struct LogsQuery {
    #[serde(default)]
    level: String,
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /ui/api/logs?level=warn&limit=500`: the recent lines at that level or more severe,
/// oldest first (the files in `<data-dir>/logs` keep everything).
async fn logs(State(ui): State<Ui>, headers: HeaderMap, Query(q): Query<LogsQuery>) -> Response {
    if let Err(d) = api_session(&ui, &headers, Role::Read) {
        return d.answer();
    }
    let level = if q.level.is_empty() { Some(LogLevel::Trace) } else { LogLevel::parse(&q.level) };
    let Some(level) = level else {
        return json_answer(StatusCode::BAD_REQUEST, json!({"error": "level is one of error, warn, info, debug, trace"}));
    };
    let lines: Vec<Value> = ui.settings.logs.recent(level, q.limit.unwrap_or(500).min(2000)).into_iter().map(|(_, l)| Value::String(l)).collect();
    json_answer(StatusCode::OK, json!({"lines": lines, "files": ui.settings.data_dir.join("logs").display().to_string()}))
}

async fn favicon() -> Response {
    secured(([(header::CONTENT_TYPE, "image/svg+xml")], pages::FAVICON).into_response())
}

/// `/ui/<page>`: a page for a session with `read`.
async fn page(State(ui): State<Ui>, headers: HeaderMap, Path(name): Path<String>) -> Response {
    match pages::find(&name) {
        Some(p) => with_reader(&ui, &headers, |s| pages::render(p, &s.user, &s.csrf)),
        None => html(StatusCode::NOT_FOUND, pages::login("no such page")),
    }
}

/// `/ui/js/<file>`: the embedded scripts.
async fn script(Path(file): Path<String>) -> Response {
    match pages::script(&file) {
        Some(js) => secured(([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], js).into_response()),
        None => secured(StatusCode::NOT_FOUND.into_response()),
    }
}

/// `{"tag","v","q","st"}`, as the WebSocket and MQTT clients write a sample.
pub(crate) fn sample(tag: &str, v: &fxgate_core::TagValue) -> Value {
    serde_json::to_value(Sample::new(tag, v)).unwrap_or(Value::Null)
}

async fn overview(State(ui): State<Ui>, headers: HeaderMap) -> Response {
    let s = match api_session(&ui, &headers, Role::Read) {
        Ok(s) => s,
        Err(d) => return d.answer(),
    };
    let st = &ui.settings;
    let components: Vec<Value> = st
        .health
        .iter()
        .map(|(name, check)| match check() {
            Ok(()) => json!({"name": name, "ok": true}),
            Err(e) => json!({"name": name, "ok": false, "detail": e.to_string()}),
        })
        .collect();
    let status: Vec<Value> = st
        .store
        .defs()
        .filter(|(_, d)| d.source.starts_with("fxgate/"))
        .filter_map(|(id, d)| st.store.get(id).map(|v| sample(&d.path(), &v)))
        .collect();
    let upstreams: Vec<Value> = st
        .servers
        .iter()
        .flat_map(|a| a.servers())
        .map(|e| json!({"name": e.spec.name, "url": e.spec.endpoint_url, "state": if e.spec.enabled { e.state } else { "disabled".into() }, "last_error": e.last_error}))
        .collect();
    json_answer(
        StatusCode::OK,
        json!({
            "upstreams": upstreams,
            "version": st.version, "uptime_s": ui.started.elapsed().as_secs(), "endpoints": st.endpoints,
            "sessions": st.sessions.get(), "components": components, "status": status, "warnings": st.warnings,
            "restart_pending": ui.pending(),
            "user": s.user, "roles": s.roles.iter().map(|r| role_name(*r)).collect::<Vec<_>>(),
        }),
    )
}
