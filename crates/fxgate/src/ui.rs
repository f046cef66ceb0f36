//! What the configurator (`fxgate-configurator`, under `/ui`) is given: the users, the
//! endpoints, the components' health, the OPC UA session gauge, the store, and the warnings
//! an operator should see on the Overview page.

use std::sync::Arc;

use axum::Router;
use fxgate_config::{GatewayRef, Role};
use fxgate_configurator::{Configurator, Settings, UiMetrics};
use fxgate_core::{HealthCheck, TagStore};
use prometheus_client::metrics::gauge::Gauge;

/// The running gateway's pieces the pages show and change.
pub struct Running {
    /// The users (changed by the Users and General pages).
    pub users: fxgate_config::UserDirectory,
    /// The recent log lines.
    pub logs: fxgate_core::LogRing,
    /// The components and their health checks.
    pub health: Vec<(String, HealthCheck)>,
    /// OPC UA sessions open now.
    pub sessions: Gauge,
    /// The tag store.
    pub store: Arc<TagStore>,
    /// The configurator's counters.
    pub metrics: UiMetrics,
    /// The aggregated servers' administration, if the aggregation offers it.
    pub servers: Option<fxgate_core::SharedServerAdmin>,
    /// Restarts the gateway.
    pub restart: Option<fxgate_configurator::Restart>,
    /// The log level in use, changed at run time.
    pub log_level: Arc<dyn fxgate_configurator::LogFilter>,
}

/// The `/ui` routes for this gateway.
pub fn router(gateway: GatewayRef<'_>, config_file: Option<&std::path::Path>, data_dir: &std::path::Path, running: Running) -> Router {
    let Running { users, logs, health, sessions, store, metrics, servers, restart, log_level } = running;
    let url = fxgate_opcua_server::endpoint_url(gateway.server);
    let endpoints = fxgate_opcua_server::endpoints::endpoints(gateway.server)
        .into_iter()
        .map(|(_, e)| format!("{url} {} {}", e.security_policy(), e.security_mode))
        .collect();
    let settings = Settings {
        version: env!("CARGO_PKG_VERSION").to_string(),
        users,
        config_file: config_file.map(std::path::Path::to_path_buf),
        check: crate::registry::check_text,
        at_start: at_start(gateway),
        endpoints,
        warnings: warnings(gateway),
        health,
        sessions,
        store,
        tls: gateway.http.tls,
        data_dir: data_dir.to_path_buf(),
        logs,
        servers,
        restart,
        log_level: Some(log_level),
        endpoint_settings: endpoint_settings(gateway.server, &url),
        discovery: fxgate_configurator::Discovery {
            register_with_lds: gateway.server.register_with_lds.clone(),
            reverse_connect: gateway.server.reverse_connect.clone(),
        },
    };
    Configurator::router(settings, metrics)
}

/// The General page's settings that are changed in the file only (shown, not edited there).
fn at_start(g: GatewayRef<'_>) -> Vec<(String, String)> {
    let s = g.server;
    vec![
        ("Log files (log.file)".into(), g.log.file.to_string()),
        ("Certificate users' roles (server.certificate_roles)".into(), s.certificate_roles.iter().map(|r| fxgate_config::users::role_name(*r)).collect::<Vec<_>>().join(", ")),
    ]
}

/// The Endpoints page's settings, and every endpoint with whether it is offered now.
fn endpoint_settings(s: &fxgate_config::ServerConfig, url: &str) -> fxgate_configurator::Endpoints {
    use fxgate_opcua_server::endpoints::endpoints;
    let offered: Vec<String> = endpoints(s).into_iter().map(|(id, _)| id).collect();
    let every = fxgate_config::ServerConfig { allow_none: true, allow_deprecated: true, ..s.clone() };
    let all = endpoints(&every)
        .into_iter()
        .map(|(id, e)| {
            let policy = e.security_policy().to_uri().to_string();
            let short = policy.rsplit('#').next().unwrap_or(&policy).to_string();
            let deprecated = matches!(short.as_str(), "Basic128Rsa15" | "Basic256");
            (short, e.security_mode.to_string(), offered.contains(&id), deprecated)
        })
        .collect();
    fxgate_configurator::Endpoints {
        url: url.to_string(),
        host: s.host.clone(),
        port: s.port,
        endpoint_url: s.endpoint_url.clone(),
        allow_none: s.allow_none,
        allow_deprecated: s.allow_deprecated,
        all,
    }
}

/// What the configuration does that a plant engineer should know about.
pub fn warnings(g: GatewayRef<'_>) -> Vec<String> {
    let s = g.server;
    let mut out = Vec::new();
    if s.accept_all_certificates {
        out.push("accept_all_certificates is on: every client certificate is trusted (commissioning state). Turn it off and trust clients with `fxgate pki trust`.".to_string());
    }
    if s.allow_none {
        out.push("The None security policy is offered (allow_none): messages and user names travel unsigned and in clear.".to_string());
    }
    if s.allow_deprecated {
        out.push("The deprecated policies Basic128Rsa15 and Basic256 are offered (allow_deprecated).".to_string());
    }
    if s.anonymous && s.anonymous_roles.iter().any(|r| matches!(r, Role::Write | Role::Configure)) {
        out.push("Anonymous sessions may change values or the configuration (anonymous_roles).".to_string());
    }
    if !g.http.tls && g.http.allow_plain {
        out.push("Plain HTTP beyond loopback (http.allow_plain): passwords of the DA API and this page travel in clear.".to_string());
    }
    if !g.users.iter().any(|u| !u.password_hash.is_empty()) {
        out.push("No [[users]] with a password: nobody can log in to this configurator.".to_string());
    }
    out
}
