//! Checks of `[[upstream]]`.

use std::collections::HashSet;
use std::path::Path;

use fxgate_config::Invalid;
use super::{UpstreamConfig, UpstreamMode, UpstreamPolicy};

/// Folder names under `Objects` that the gateway uses itself.
const RESERVED: [&str; 2] = ["fxgate", "Server"];

/// The type prefixes of normal DA ItemIDs (`ns-2;s-…`, `i-85`, …), which an alias must
/// not look like.
const ITEM_ID_PREFIXES: [&str; 5] = ["ns", "i", "s", "g", "b"];

/// Adds every problem of the upstream servers to `errs`; `config_dir` resolves the user
/// certificate and key files.
pub(super) fn validate(key: &str, list: &[UpstreamConfig], known: &fxgate_config::Known, config_dir: &Path, errs: &mut Vec<Invalid>) {
    // folder names of the other sections' sources (a clash among upstreams is the generic
    // duplicate-source check's)
    let others: HashSet<String> = known
        .sources()
        .iter()
        .filter(|s| !s.field.starts_with(&format!("{key}[")))
        .map(|s| s.name.to_lowercase())
        .collect();
    let mut aliases = HashSet::new();
    for (i, u) in list.iter().enumerate() {
        let f = |k: &str| format!("{key}[{i}].{k}");
        if u.name.is_empty() {
            errs.push(Invalid::new(f("name"), "missing: give the folder name under Objects"));
        } else if let Err(e) = check_upstream_name(&u.name) {
            errs.push(Invalid::new(f("name"), e.to_string()));
        } else if others.contains(&u.name.to_lowercase()) {
            errs.push(Invalid::new(
                f("name"),
                format!("a simulator or device named `{}` has that folder under Objects already", u.name),
            ));
        }
        if u.endpoint_url.is_empty() {
            errs.push(Invalid::new(f("endpoint_url"), "missing: give the server's opc.tcp://host:port URL"));
        } else if let Err(e) = check_endpoint_url(&u.endpoint_url) {
            errs.push(Invalid::new(f("endpoint_url"), e.to_string()));
        }
        match (u.security_policy, u.security_mode) {
            (UpstreamPolicy::None, UpstreamMode::None) => {}
            (UpstreamPolicy::None, _) => {
                errs.push(Invalid::new(f("security_mode"), "security_policy None needs security_mode None"))
            }
            (_, UpstreamMode::None) => {
                errs.push(Invalid::new(f("security_policy"), "security_mode None needs security_policy None"))
            }
            _ => {}
        }
        if !u.password.is_empty() && u.username.is_empty() {
            errs.push(Invalid::new(f("password"), "a password needs a username"));
        }
        match (u.user_certificate.is_empty(), u.user_private_key.is_empty()) {
            (false, true) => errs.push(Invalid::new(f("user_private_key"), "needed with user_certificate")),
            (true, false) => errs.push(Invalid::new(f("user_certificate"), "needed with user_private_key")),
            _ => {}
        }
        for (k, path) in [
            ("user_certificate", u.user_certificate_path(config_dir)),
            ("user_private_key", u.user_private_key_path(config_dir)),
        ] {
            if let Some(path) = path {
                if let Err(e) = std::fs::read(&path) {
                    errs.push(Invalid::new(f(k), format!("cannot read {}: {e}", path.display())));
                }
            }
        }
        if !u.username.is_empty() && !u.user_certificate.is_empty() {
            errs.push(Invalid::new(
                f("user_certificate"),
                "log in with username/password or with user_certificate, not both",
            ));
        }
        validate_alias(u, &f, &mut aliases, errs);
        if !(10..=60_000).contains(&u.publishing_interval_ms) {
            errs.push(Invalid::new(f("publishing_interval_ms"), "must be 10 to 60000 ms"));
        }
        if !(100..=600_000).contains(&u.request_timeout_ms) {
            errs.push(Invalid::new(f("request_timeout_ms"), "must be 100 to 600000 ms"));
        }
        if u.reconnect_min_ms < 100 {
            errs.push(Invalid::new(f("reconnect_min_ms"), "must be at least 100 ms"));
        }
        if u.reconnect_max_ms < u.reconnect_min_ms {
            errs.push(Invalid::new(f("reconnect_max_ms"), "must be at least reconnect_min_ms"));
        }
        if !(0.0..=1.0).contains(&u.reconnect_jitter) {
            errs.push(Invalid::new(f("reconnect_jitter"), "must be 0 to 1 (the share of a delay taken off at random)"));
        }
    }
}

/// Why an upstream's name is not accepted as its folder name under `Objects`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum UpstreamNameError {
    /// Longer than 64 bytes or holding other characters than `A-Z a-z 0-9 _ . -`.
    #[error("`{0}` must be 1 to 64 of the characters A-Z a-z 0-9 _ . -")]
    Characters(String),
    /// The name of a folder the gateway uses itself (compared without case).
    #[error("`{name}` is taken by the gateway's own `Objects/{folder}` folder")]
    Reserved {
        /// The name as configured.
        name: String,
        /// The gateway's folder it clashes with.
        folder: &'static str,
    },
}

/// 1 to 64 of `A-Z a-z 0-9 _ . -`, and not a folder the gateway uses itself.
fn check_upstream_name(name: &str) -> Result<(), UpstreamNameError> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if name.len() > 64 || !name.chars().all(ok) {
        return Err(UpstreamNameError::Characters(name.to_string()));
    }
    if let Some(r) = RESERVED.iter().find(|r| r.eq_ignore_ascii_case(name)) {
        return Err(UpstreamNameError::Reserved { name: name.to_string(), folder: r });
    }
    Ok(())
}

/// Checks `alias` and `alias_namespace` of `u` (field names made by `f`); `aliases` holds
/// the lower-cased aliases of the upstreams before it.
fn validate_alias(
    u: &UpstreamConfig,
    f: &dyn Fn(&str) -> String,
    aliases: &mut HashSet<String>,
    errs: &mut Vec<Invalid>,
) {
    if u.alias.is_empty() {
        if !u.alias_namespace.is_empty() {
            errs.push(Invalid::new(f("alias_namespace"), "only meaningful with alias: set alias or remove it"));
        }
        return;
    }
    if u.alias_namespace.is_empty() {
        errs.push(Invalid::new(
            f("alias_namespace"),
            "missing: give the upstream namespace URI the alias stands for",
        ));
    }
    if let Err(e) = check_alias(&u.alias) {
        errs.push(Invalid::new(f("alias"), e.to_string()));
    } else if !aliases.insert(u.alias.to_lowercase()) {
        errs.push(Invalid::new(
            f("alias"),
            format!("another upstream has the alias `{}` already (aliases are compared without case)", u.alias),
        ));
    }
}

/// Why an upstream's alias (the ComAlias of its ItemIDs, seed 000 §4.8) is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum AliasError {
    /// Longer than 32 bytes or holding other characters than `A-Z a-z 0-9 _`.
    #[error("`{0}` must be 1 to 32 of the characters A-Z a-z 0-9 _")]
    Characters(String),
    /// Reads like the type prefix of a normal ItemID.
    #[error("`{0}` is an ItemID type prefix (ns, i, s, g, b, compared without case); choose another alias")]
    ItemIdPrefix(String),
}

/// 1 to 32 of `A-Z a-z 0-9 _`, and not an ItemID type prefix (compared without case).
fn check_alias(alias: &str) -> Result<(), AliasError> {
    if alias.len() > 32 || !alias.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(AliasError::Characters(alias.to_string()));
    }
    if ITEM_ID_PREFIXES.iter().any(|p| p.eq_ignore_ascii_case(alias)) {
        return Err(AliasError::ItemIdPrefix(alias.to_string()));
    }
    Ok(())
}

/// Why an upstream's `endpoint_url` is not accepted (the `opc.tcp` URL of OPC 10000-6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum EndpointUrlError {
    /// Another scheme than `opc.tcp://`.
    #[error("`{0}` must start with opc.tcp://")]
    Scheme(String),
    /// Whitespace or control characters.
    #[error("`{0}` must not contain spaces")]
    Spaces(String),
    /// Not a URL (RFC 3986) at all.
    #[error("`{url}` is not a URL: {reason}")]
    NotUrl {
        /// The URL as configured.
        url: String,
        /// The URL parser's reason.
        reason: url::ParseError,
    },
    /// No host.
    #[error("`{0}` has no host")]
    NoHost(String),
    /// No explicit port.
    #[error("`{0}` has no port (e.g. opc.tcp://host:4840)")]
    NoPort(String),
    /// Port 0.
    #[error("`{0}`: port must be 1 to 65535")]
    PortZero(String),
}

/// `opc.tcp://host:port[/path]`, with an explicit port.
fn check_endpoint_url(url: &str) -> Result<(), EndpointUrlError> {
    if !url.starts_with("opc.tcp://") {
        return Err(EndpointUrlError::Scheme(url.to_string()));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(EndpointUrlError::Spaces(url.to_string()));
    }
    let parsed = url::Url::parse(url).map_err(|reason| EndpointUrlError::NotUrl { url: url.to_string(), reason })?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(EndpointUrlError::NoHost(url.to_string()));
    }
    match parsed.port() {
        None => Err(EndpointUrlError::NoPort(url.to_string())),
        Some(0) => Err(EndpointUrlError::PortZero(url.to_string())),
        Some(_) => Ok(()),
    }
}
