//! The aggregation as the configurator's Servers page sees it (`fxgate_core::ServerAdmin`):
//! the upstreams with their state, and add, change and remove through the same code as the
//! AddServer/RemoveServer methods (written to the file first, validated as `check-config`
//! does, then applied).

use std::sync::Arc;

use fxgate_config::persist::EditError;
use fxgate_core::{AdminError, AdminFuture, ServerAdmin, ServerEntry, ServerSpec};

use crate::config::persist::PersistError;
use crate::config::{UpstreamConfig, UpstreamMode, UpstreamPolicy};
use crate::configure::{self, ConfigureError};
use crate::Aggregator;

/// The security modes, by their short names.
const MODES: [UpstreamMode; 3] = [UpstreamMode::None, UpstreamMode::Sign, UpstreamMode::SignAndEncrypt];

/// The aggregator, administered.
pub(crate) struct Admin(pub Arc<Aggregator>);

impl ServerAdmin for Admin {
    fn servers(&self) -> Vec<ServerEntry> {
        self.0
            .all()
            .iter()
            .map(|u| {
                let status = u.status();
                ServerEntry {
                    spec: spec_of(&u.config),
                    has_password: !u.config.password.is_empty(),
                    state: status.state.as_str().to_string(),
                    last_error: status.last_error,
                    reconnects: status.reconnects,
                }
            })
            .collect()
    }

    fn choices(&self) -> (Vec<&'static str>, Vec<&'static str>) {
        (UpstreamPolicy::ALL.iter().map(|p| p.name()).collect(), MODES.iter().map(|m| m.name()).collect())
    }

    fn add(&self, spec: ServerSpec) -> AdminFuture<'_> {
        Box::pin(async move {
            let cfg = config_of(spec, &UpstreamConfig::default())?;
            configure::add_server(&self.0, cfg).await.map_err(admin_error)
        })
    }

    fn change<'a>(&'a self, name: &'a str, spec: ServerSpec) -> AdminFuture<'a> {
        Box::pin(async move {
            let old = self.0.find(name).ok_or_else(|| AdminError::NotFound(name.to_string()))?;
            let cfg = config_of(spec, &old.config)?;
            configure::change_server(&self.0, name, cfg).await.map_err(admin_error)
        })
    }

    fn remove<'a>(&'a self, name: &'a str) -> AdminFuture<'a> {
        Box::pin(async move { configure::remove_server(&self.0, name).await.map_err(admin_error) })
    }
}

/// What the page shows of `c`.
fn spec_of(c: &UpstreamConfig) -> ServerSpec {
    ServerSpec {
        name: c.name.clone(),
        endpoint_url: c.endpoint_url.clone(),
        security_policy: c.security_policy.name().to_string(),
        security_mode: c.security_mode.name().to_string(),
        username: c.username.clone(),
        password: None,
        enabled: c.enabled,
        accept_all_server_certificates: c.accept_all_server_certificates,
    }
}

/// `base` with the page's settings; what the page does not show stays as in `base`.
fn config_of(spec: ServerSpec, base: &UpstreamConfig) -> Result<UpstreamConfig, AdminError> {
    let invalid = |field: &str, message: String| AdminError::Invalid { field: field.to_string(), message };
    let security_policy = UpstreamPolicy::parse(spec.security_policy.trim()).ok_or_else(|| {
        let names: Vec<_> = UpstreamPolicy::ALL.iter().map(|p| p.name()).collect();
        invalid("security_policy", format!("unknown policy `{}`: use one of {}", spec.security_policy, names.join(", ")))
    })?;
    let security_mode = UpstreamMode::parse(spec.security_mode.trim())
        .ok_or_else(|| invalid("security_mode", format!("unknown mode `{}`: use None, Sign or SignAndEncrypt", spec.security_mode)))?;
    let name = spec.name.trim().to_string();
    if name.is_empty() {
        return Err(invalid("name", "missing: give the folder name under Objects".into()));
    }
    Ok(UpstreamConfig {
        name,
        endpoint_url: spec.endpoint_url.trim().to_string(),
        security_policy,
        security_mode,
        username: spec.username.trim().to_string(),
        password: spec.password.unwrap_or_else(|| base.password.clone()),
        enabled: spec.enabled,
        accept_all_server_certificates: spec.accept_all_server_certificates,
        ..base.clone()
    })
}

/// The page's error for a configuration method's.
fn admin_error(e: ConfigureError) -> AdminError {
    match e {
        ConfigureError::NoConfigFile => AdminError::NoConfigFile,
        ConfigureError::Exists(n) => AdminError::Exists(n),
        ConfigureError::NotFound(n) => AdminError::NotFound(n),
        ConfigureError::Persist(PersistError::Edit(EditError::Invalid(message))) => {
            AdminError::Invalid { field: field_in(&message).to_string(), message }
        }
        other => AdminError::Failed(Box::new(other)),
    }
}

/// The last part of the first field `check-config` names in `message` ("… field
/// `upstream[2].endpoint_url`: …" → `endpoint_url`); empty if it names none.
fn field_in(message: &str) -> &str {
    message
        .split_once("field `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(path, _)| path.rsplit('.').next().unwrap_or(path))
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_keeps_what_the_page_does_not_show() {
        let base = UpstreamConfig {
            name: "plc1".into(),
            endpoint_url: "opc.tcp://a:4840".into(),
            password: "secret".into(),
            username: "u".into(),
            alias: "p1".into(),
            publishing_interval_ms: 250,
            ..UpstreamConfig::default()
        };
        let mut spec = spec_of(&base);
        spec.endpoint_url = " opc.tcp://b:4841 ".into();
        let c = config_of(spec.clone(), &base).expect("valid");
        assert_eq!((c.endpoint_url.as_str(), c.password.as_str(), c.alias.as_str(), c.publishing_interval_ms), ("opc.tcp://b:4841", "secret", "p1", 250));
        spec.password = Some(String::new());
        assert_eq!(config_of(spec.clone(), &base).expect("valid").password, "");
        spec.security_mode = "Encrypt".into();
        assert!(matches!(config_of(spec, &base), Err(AdminError::Invalid { field, .. }) if field == "security_mode"));
    }

    #[test]
    fn the_field_is_taken_from_the_check() {
        assert_eq!(field_in("/etc/fxgate.toml:12:3: field `upstream[2].endpoint_url`: not a URL"), "endpoint_url");
        assert_eq!(field_in("/etc/fxgate.toml: field `server`: x"), "server");
        assert_eq!(field_in("nothing"), "");
    }
}
