//! The configurator in a browser (seed 000 §4.3), under `/ui` on the HTTP listener: login
//! with the gateway's own users (their argon2id hashes and roles) into a session cookie, CSRF
//! tokens on every change, a login rate limit, logout. Reading needs `read`, writing tags
//! `write`, changing the configuration `configure`. One module per page's API, each with its
//! own routes; the pages' HTML bodies and scripts are embedded from `assets/`:
//! Overview (`routes`), Tags (`tags`: the tree a folder at a time, trends), Servers
//! (`servers`: the aggregation's `ServerAdmin`), Endpoints (`endpoints`), Certificates
//! (`certificates`), General (`general`: anonymous access, log level, discovery), Users
//! (`users`), Logs (`routes`) and Config (`config`: download with secrets hidden, upload
//! checked and diffed, restart). Every change is validated as `check-config` does, written
//! atomically (`fxgate_config::persist`), applied at once where the running gateway allows it,
//! otherwise listed as waiting for a restart that every page offers, and logged with the
//! user's name.

#![warn(missing_docs)]

mod certificates;
mod config;
mod endpoints;
mod general;
mod tags;
mod trend;
pub mod limit;
pub mod pages;
mod routes;
mod servers;
pub mod sessions;
mod users;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use fxgate_config::UserDirectory;
use fxgate_core::{HealthCheck, TagStore};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// What the configurator shows and whom it lets in.
pub struct Settings {
    /// The gateway's version.
    pub version: String,
    /// The users (those with a `password_hash` may log in; the Users page changes them).
    pub users: UserDirectory,
    /// The configuration file changes are written to; `None`: the embedded default, which
    /// cannot be changed.
    pub config_file: Option<std::path::PathBuf>,
    /// The whole-file check a change must pass (the same as `fxgate check-config`).
    pub check: fxgate_config::CheckText,
    /// Settings shown on the General page that apply at start only (name → value).
    pub at_start: Vec<(String, String)>,
    /// The OPC UA endpoints, one line each (URL, policy, mode).
    pub endpoints: Vec<String>,
    /// Warnings for the operator (e.g. `accept_all_certificates` is on).
    pub warnings: Vec<String>,
    /// The components and their health checks.
    pub health: Vec<(String, HealthCheck)>,
    /// OPC UA sessions open now.
    pub sessions: Gauge,
    /// The tag store.
    pub store: Arc<TagStore>,
    /// Whether the listener is HTTPS (the cookie is then `Secure`).
    pub tls: bool,
    /// The data directory (its certificate stores).
    pub data_dir: std::path::PathBuf,
    /// The recent log lines.
    pub logs: fxgate_core::LogRing,
    /// The aggregated servers, administered at run time (the Servers page).
    pub servers: Option<fxgate_core::SharedServerAdmin>,
    /// Stops the gateway and starts it again on its configuration file (none: it cannot).
    pub restart: Option<Restart>,
    /// The log level, changed at run time (the General page).
    pub log_level: Option<Arc<dyn LogFilter>>,
    /// The endpoint settings (the Endpoints page).
    pub endpoint_settings: Endpoints,
    /// `[server] register_with_lds` and `reverse_connect` as the gateway started with them
    /// (the General page changes them in the file; they apply after a restart).
    pub discovery: Discovery,
}

/// The log level of the running gateway.
pub trait LogFilter: Send + Sync {
    /// The filter in use (`log.level`'s syntax, or `RUST_LOG`'s when that was set).
    fn current(&self) -> String;
    /// Uses `level` from now on; an invalid filter changes nothing.
    fn set(&self, level: &str) -> Result<(), FilterError>;
}

/// Why a log level was not taken.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// The discovery settings of `[server]` (seed 000 §4.5): the LDS the gateway registers
/// with, and the clients it opens reverse connections to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discovery {
    /// The LDS's URL; empty: none.
    pub register_with_lds: String,
    /// The clients' URLs.
    pub reverse_connect: Vec<String>,
}

/// The endpoint settings of `[server]` (seed 000 §4.7) as the gateway started with them, and
/// every endpoint it can offer.
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    /// The endpoint URL clients see.
    pub url: String,
    /// `[server] host`.
    pub host: String,
    /// `[server] port`.
    pub port: u16,
    /// `[server] endpoint_url` (empty: made from the host name and port).
    pub endpoint_url: String,
    /// `[server] allow_none`.
    pub allow_none: bool,
    /// `[server] allow_deprecated`.
    pub allow_deprecated: bool,
    /// Every endpoint the gateway can offer: (policy, mode, offered now, deprecated).
    pub all: Vec<(String, String, bool, bool)>,
}

/// What restarts the gateway.
pub type Restart = Arc<dyn Fn() + Send + Sync>;

/// Counters of the configurator (`fxgate_ui_…`).
#[derive(Clone, Default)]
pub struct UiMetrics {
    /// Logins refused (unknown user, wrong password, or rate-limited).
    pub login_failures: Counter,
    /// Changes refused for a missing or wrong CSRF token.
    pub csrf_rejections: Counter,
}

impl UiMetrics {
    /// Registers the counters.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("fxgate_ui");
        r.register("login_failures", "Configurator logins refused (unknown user, wrong password, rate limit)", self.login_failures.clone());
        r.register("csrf_rejections", "Configurator changes refused for a missing or wrong CSRF token", self.csrf_rejections.clone());
    }
}

/// The configurator's state, shared by its handlers.
pub struct Configurator {
    settings: Settings,
    started: Instant,
    sessions: sessions::Sessions,
    limit: limit::LoginLimit,
    metrics: UiMetrics,
    /// Refused logins are counted each; logged at most once per period.
    refusal_log: parking_lot::Mutex<fxgate_core::LogLimit>,
    /// The discovery settings as the file has them now.
    discovery: parking_lot::Mutex<Discovery>,
    /// Changes written to the file that apply only after a restart.
    pending: parking_lot::Mutex<Vec<String>>,
    /// The endpoint settings as the file has them now.
    endpoint_file: parking_lot::Mutex<Endpoints>,
}

impl Configurator {
    /// Notes a change written to the file that a restart applies (shown on every page).
    pub(crate) fn restart_needed(&self, what: impl Into<String>) {
        let what = what.into();
        let mut p = self.pending.lock();
        if !p.contains(&what) {
            p.push(what);
        }
    }

    /// The changes waiting for a restart.
    pub(crate) fn pending(&self) -> Vec<String> {
        self.pending.lock().clone()
    }
}

impl Configurator {
    /// The `/ui` routes.
    pub fn router(settings: Settings, metrics: UiMetrics) -> Router {
        let discovery = parking_lot::Mutex::new(settings.discovery.clone());
        let endpoint_file = parking_lot::Mutex::new(settings.endpoint_settings.clone());
        let ui = Arc::new(Self {
            settings,
            started: Instant::now(),
            sessions: Default::default(),
            limit: Default::default(),
            metrics,
            refusal_log: parking_lot::Mutex::new(fxgate_core::LogLimit::new(std::time::Duration::from_secs(2))),
            discovery,
            pending: Default::default(),
            endpoint_file,
        });
        routes::router(ui)
    }
}
