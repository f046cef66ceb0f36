//! Checks of the gateway's own sections: `[server]`, `[[users]]`, `[http]`, `[log]` and
//! `[[line]]` (seed 002: TCP lines, host lists, redundancy, TLS), and the resources they claim.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;

use crate::checks::{check_hash, check_name, check_opc_url};
use crate::error::Invalid;
use crate::file::GatewayRef;
use crate::line::{split_hosts, LineMode};
use crate::section::{Claims, Resource};

/// Most addresses in a `host` list (seed 002).
pub const MAX_HOSTS: usize = 8;

/// Adds every problem of the gateway's own sections to `errs`.
pub fn validate(g: GatewayRef<'_>, config_dir: &Path, errs: &mut Vec<Invalid>) {
    server(g, config_dir, errs);
    users(g, errs);
    http(g, config_dir, errs);
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&g.log.level) {
        errs.push(Invalid::new("log.level", format!("not a log filter: {e}")));
    }
    lines(g, config_dir, errs);
}

/// The ports the gateway itself listens on: the OPC UA server, the HTTP listener and the
/// server lines.
pub fn claims(g: GatewayRef<'_>, claims: &mut Claims) {
    claims.exclusive(Resource::Listen(crate::checks::listen_host(&g.server.host), g.server.port), "OPC UA server", "server.port".into());
    if let Ok(a) = g.http.listen.parse::<SocketAddr>() {
        claims.exclusive(Resource::Listen(crate::checks::listen_host(&a.ip().to_string()), a.port()), "HTTP listener", "http.listen".into());
    }
    for (i, l) in g.line.iter().enumerate() {
        if l.mode == LineMode::Server {
            claims.exclusive(Resource::Listen(crate::checks::listen_host(&l.host), l.port), &format!("line `{}`", l.name), format!("line[{i}].port"));
        }
    }
}

fn server(g: GatewayRef<'_>, config_dir: &Path, errs: &mut Vec<Invalid>) {
    let s = &g.server;
    if s.port == 0 {
        errs.push(Invalid::new("server.port", "port must be 1 to 65535"));
    }
    if s.application_name.trim().is_empty() {
        errs.push(Invalid::new("server.application_name", "must not be empty"));
    }
    if s.host.trim().is_empty() {
        errs.push(Invalid::new("server.host", "must not be empty (0.0.0.0 listens everywhere)"));
    }
    if !s.endpoint_url.is_empty() {
        if let Err(e) = check_opc_url(&s.endpoint_url) {
            errs.push(Invalid::new("server.endpoint_url", e.to_string()));
        }
    }
    if !s.register_with_lds.is_empty() {
        if let Err(e) = check_opc_url(&s.register_with_lds) {
            errs.push(Invalid::new("server.register_with_lds", e.to_string()));
        }
    }
    if s.register_interval_s < 5 {
        errs.push(Invalid::new("server.register_interval_s", "must be at least 5 seconds"));
    }
    for (i, u) in s.reverse_connect.iter().enumerate() {
        if let Err(e) = check_opc_url(u) {
            errs.push(Invalid::new(format!("server.reverse_connect[{i}]"), e.to_string()));
        }
    }
    if s.max_sessions == 0 {
        errs.push(Invalid::new("server.max_sessions", "must be at least 1"));
    }
    if s.max_subscriptions_per_session == 0 {
        errs.push(Invalid::new("server.max_subscriptions_per_session", "must be at least 1"));
    }
    if s.max_monitored_items_per_subscription == 0 {
        errs.push(Invalid::new("server.max_monitored_items_per_subscription", "must be at least 1"));
    }
    if !(0.0..=60_000.0).contains(&s.min_sampling_interval_ms) {
        errs.push(Invalid::new("server.min_sampling_interval_ms", "must be 0 to 60000 ms"));
    }
    if !(1..=100_000).contains(&s.max_queue_size) {
        errs.push(Invalid::new("server.max_queue_size", "must be 1 to 100000"));
    }
    if !(1..=5_000).contains(&s.max_notifications_per_publish) {
        errs.push(Invalid::new("server.max_notifications_per_publish", "must be 1 to 5000 (a Publish response must fit 327,675 bytes)"));
    }
    files_pair(config_dir, ("server.certificate", &s.certificate), ("server.private_key", &s.private_key), errs);
}

fn http(g: GatewayRef<'_>, config_dir: &Path, errs: &mut Vec<Invalid>) {
    let h = g.http;
    if h.listen.is_empty() {
        return;
    }
    match h.listen.parse::<SocketAddr>() {
        Err(_) => errs.push(Invalid::new("http.listen", format!("`{}` is not an address like 127.0.0.1:8480", h.listen))),
        Ok(a) if !h.tls && !h.allow_plain && !a.ip().is_loopback() => errs.push(Invalid::new(
            "http.listen",
            format!("plain HTTP on `{}` would carry passwords in clear beyond this machine: set http.tls = true (HTTPS), \
                     or http.allow_plain = true to accept that", h.listen),
        )),
        Ok(_) => {}
    }
    if !h.tls && (!h.certificate.is_empty() || !h.private_key.is_empty()) {
        let field = if h.certificate.is_empty() { "http.private_key" } else { "http.certificate" };
        errs.push(Invalid::new(field, "applies with http.tls = true"));
    }
    files_pair(config_dir, ("http.certificate", &h.certificate), ("http.private_key", &h.private_key), errs);
}

/// A certificate and its key: both or neither, and readable.
fn files_pair(config_dir: &Path, cert: (&str, &str), key: (&str, &str), errs: &mut Vec<Invalid>) {
    match (cert.1.is_empty(), key.1.is_empty()) {
        (true, true) => {}
        (false, true) => errs.push(Invalid::new(key.0, format!("needed with {}", cert.0))),
        (true, false) => errs.push(Invalid::new(cert.0, format!("needed with {}", key.0))),
        (false, false) => {
            for (field, file) in [cert, key] {
                let path = config_dir.join(file);
                if let Err(e) = std::fs::read(&path) {
                    errs.push(Invalid::new(field, format!("cannot read {}: {e}", path.display())));
                }
            }
        }
    }
}

fn users(g: GatewayRef<'_>, errs: &mut Vec<Invalid>) {
    let mut names = HashSet::new();
    for (i, u) in g.users.iter().enumerate() {
        let f = |k: &str| format!("users[{i}].{k}");
        if u.name.trim().is_empty() {
            errs.push(Invalid::new(f("name"), "must not be empty"));
        } else if !names.insert(u.name.as_str()) {
            errs.push(Invalid::new(f("name"), format!("user `{}` is defined twice", u.name)));
        }
        if u.password_hash.is_empty() && u.certificate_thumbprint.is_empty() {
            errs.push(Invalid::new(
                f("password_hash"),
                "a user needs a password_hash (`fxgate users hash`) or a certificate_thumbprint",
            ));
        }
        if !u.password_hash.is_empty() {
            if let Err(e) = check_hash(&u.password_hash) {
                errs.push(Invalid::new(f("password_hash"), e.to_string()));
            }
        }
        let t = &u.certificate_thumbprint;
        if !t.is_empty() && (t.len() != 40 || !t.chars().all(|c| c.is_ascii_hexdigit())) {
            errs.push(Invalid::new(
                f("certificate_thumbprint"),
                "must be the 40 hex digits of the certificate's SHA-1 thumbprint",
            ));
        }
        if u.roles.is_empty() {
            errs.push(Invalid::new(f("roles"), "give at least one of read, write, configure"));
        }
    }
}

fn lines(g: GatewayRef<'_>, config_dir: &Path, errs: &mut Vec<Invalid>) {
    let mut modes = HashMap::new();
    for (i, l) in g.line.iter().enumerate() {
        let f = |k: &str| format!("line[{i}].{k}");
        if let Err(e) = check_name(&l.name) {
            errs.push(Invalid::new(f("name"), e.to_string()));
        } else if modes.insert(l.name.clone(), l.mode).is_some() {
            errs.push(Invalid::new(f("name"), format!("a line named `{}` exists already", l.name)));
        }
        if l.port == 0 {
            errs.push(Invalid::new(f("port"), "port must be 1 to 65535"));
        }
        match l.mode {
            LineMode::Client => hosts(&l.host, &f("host"), errs),
            LineMode::Server => {
                let h = l.host.trim();
                let wildcard = ["*", "ALL", "[*]", "[ALL]"].iter().any(|w| h.eq_ignore_ascii_case(w));
                let ip = h.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_ok();
                if !wildcard && !ip && h != "localhost" {
                    errs.push(Invalid::new(
                        f("host"),
                        format!("`{h}`: a server line listens on one interface address, or on * / ALL (IPv4) or [*] / [ALL] (IPv6)"),
                    ));
                }
                if l.backup.is_some() {
                    errs.push(Invalid::new(f("backup"), "a server line has no backup device"));
                }
            }
        }
        if let Some(b) = &l.backup {
            hosts(&b.host, &f("backup.host"), errs);
            if b.port == 0 {
                errs.push(Invalid::new(f("backup.port"), "port must be 1 to 65535"));
            }
        }
        if !(100..=600_000).contains(&l.connect_timeout_ms) {
            errs.push(Invalid::new(f("connect_timeout_ms"), "must be 100 to 600000 ms"));
        }
        if !(10..=3_600_000).contains(&l.reconnect_min_ms) {
            errs.push(Invalid::new(f("reconnect_min_ms"), "must be 10 to 3600000 ms"));
        }
        if l.reconnect_max_ms < l.reconnect_min_ms {
            errs.push(Invalid::new(f("reconnect_max_ms"), "must be at least reconnect_min_ms"));
        }
        if !(0.0..=1.0).contains(&l.reconnect_jitter) {
            errs.push(Invalid::new(f("reconnect_jitter"), "must be 0 to 1 (the share of a delay taken off at random)"));
        }
        if let Some(t) = &l.tls {
            tls(t, l.mode, config_dir, &|k| f(&format!("tls.{k}")), errs);
        }
    }
}

fn hosts(host: &str, field: &str, errs: &mut Vec<Invalid>) {
    let list = split_hosts(host);
    if list.is_empty() {
        errs.push(Invalid::new(field, "give an address or name of the device"));
    } else if list.len() > MAX_HOSTS {
        errs.push(Invalid::new(field, format!("at most {MAX_HOSTS} addresses, not {}", list.len())));
    }
    for h in &list {
        let bare = h.trim_start_matches('[').trim_end_matches(']');
        let ok = bare.parse::<std::net::IpAddr>().is_ok()
            || (!h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_'));
        if !ok {
            errs.push(Invalid::new(field, format!("`{h}` is neither an IP address nor a host name")));
        }
    }
}

fn tls(
    t: &crate::line::TlsConfig,
    mode: LineMode,
    config_dir: &Path,
    f: &dyn Fn(&str) -> String,
    errs: &mut Vec<Invalid>,
) {
    if !t.enabled() {
        errs.push(Invalid::new(
            f("partner_certificates"),
            "[tls] is present but sets no certificate, key or pre_shared_key",
        ));
        return;
    }
    for p in t.partner_certificate_paths(config_dir) {
        if let Err(e) = std::fs::read(&p) {
            errs.push(Invalid::new(f("partner_certificates"), format!("cannot read {}: {e}", p.display())));
        }
    }
    match (t.my_certificate.is_empty(), t.my_key.is_empty()) {
        (false, true) => errs.push(Invalid::new(f("my_key"), "needed with my_certificate")),
        (true, false) => errs.push(Invalid::new(f("my_certificate"), "needed with my_key")),
        _ => {}
    }
    for (k, p) in [("my_certificate", &t.my_certificate), ("my_key", &t.my_key)] {
        if !p.is_empty() {
            let path = crate::line::expand_appdir(p, config_dir);
            if let Err(e) = std::fs::read(&path) {
                errs.push(Invalid::new(f(k), format!("cannot read {}: {e}", path.display())));
            }
        }
    }
    if !t.pre_shared_key.is_empty() {
        let k = &t.pre_shared_key;
        if !k.len().is_multiple_of(2) || !k.chars().all(|c| c.is_ascii_hexdigit()) || k.len() > 512 {
            errs.push(Invalid::new(f("pre_shared_key"), "must be an even number of hex digits (at most 256 bytes)"));
        }
        if t.psk_identity.len() > 128 {
            errs.push(Invalid::new(f("psk_identity"), "at most 128 bytes"));
        }
    }
    if mode == LineMode::Server && t.uses_certificates() && t.my_certificate.is_empty() {
        errs.push(Invalid::new(f("my_certificate"), "a TLS server line needs my_certificate and my_key"));
    }
}


#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::{parse, ConfigError, Gateway};

    fn errors(text: &str) -> Vec<ConfigError> {
        match parse::<Gateway>(text, Path::new("gw.toml"), Path::new(".")) {
            Ok(_) => Vec::new(),
            Err(e) => e,
        }
    }

    #[test]
    fn session_and_subscription_limits_default_and_apply() {
        let d = crate::ServerConfig::default();
        assert_eq!((d.max_sessions, d.max_subscriptions_per_session, d.max_monitored_items_per_subscription), (100, 10, 1_000_000));
        let text = "[server]\nmax_sessions = 20\nmax_subscriptions_per_session = 3\nmax_monitored_items_per_subscription = 5000\n";
        let g = parse::<Gateway>(text, Path::new("gw.toml"), Path::new(".")).map_err(|e| format!("{e:?}"));
        let s = g.map(|g| (g.server.max_sessions, g.server.max_subscriptions_per_session, g.server.max_monitored_items_per_subscription));
        assert_eq!(s, Ok((20, 3, 5000)));
    }

    #[test]
    fn zero_limits_are_refused_with_line_and_field() {
        for field in ["max_sessions", "max_subscriptions_per_session", "max_monitored_items_per_subscription"] {
            let text = format!("[server]\nport = 48050\n{field} = 0\n");
            let errs = errors(&text);
            assert_eq!(errs.len(), 1, "{field}: {errs:?}");
            let e = &errs[0];
            assert_eq!((e.line, e.field.as_str()), (3, format!("server.{field}").as_str()), "{e}");
            assert_eq!(e.message, "must be at least 1");
            assert!(e.to_string().starts_with(&format!("gw.toml:3:1: field `server.{field}`")), "{e}");
        }
    }
}
