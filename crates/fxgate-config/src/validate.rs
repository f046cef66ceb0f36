//! Checks that go beyond types: ranges, uniqueness, formats, readable files.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;

use crate::error::Invalid;
use crate::model::Config;
use crate::simulator::{TagType, Waveform};

/// Every problem in `config`; `base_dir` resolves relative file paths.
pub fn validate(config: &Config, base_dir: &Path) -> Vec<Invalid> {
    let mut errs = Vec::new();
    server(config, base_dir, &mut errs);
    users(config, &mut errs);
    if !config.http.listen.is_empty() && config.http.listen.parse::<SocketAddr>().is_err() {
        errs.push(Invalid::new(
            "http.listen",
            format!("`{}` is not an address like 127.0.0.1:8480", config.http.listen),
        ));
    }
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&config.log.level) {
        errs.push(Invalid::new("log.level", format!("not a log filter: {e}")));
    }
    simulators(config, &mut errs);
    crate::validate_io::validate(config, base_dir, &mut errs);
    crate::validate_ws::validate(config, base_dir, &mut errs);
    crate::validate_upstream::validate(config, base_dir, &mut errs);
    crate::validate_fx::validate(config, &mut errs);
    errs
}

fn opc_url(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    if parsed.scheme() != "opc.tcp" {
        return Err(format!("`{url}` must start with opc.tcp://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{url}` has no host"));
    }
    Ok(())
}

fn server(config: &Config, base_dir: &Path, errs: &mut Vec<Invalid>) {
    let s = &config.server;
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
        if let Err(e) = opc_url(&s.endpoint_url) {
            errs.push(Invalid::new("server.endpoint_url", e));
        }
    }
    if !s.register_with_lds.is_empty() {
        if let Err(e) = opc_url(&s.register_with_lds) {
            errs.push(Invalid::new("server.register_with_lds", e));
        }
    }
    if s.register_interval_s < 5 {
        errs.push(Invalid::new("server.register_interval_s", "must be at least 5 seconds"));
    }
    for (i, u) in s.reverse_connect.iter().enumerate() {
        if let Err(e) = opc_url(u) {
            errs.push(Invalid::new(format!("server.reverse_connect[{i}]"), e));
        }
    }
    if s.max_sessions == 0 {
        errs.push(Invalid::new("server.max_sessions", "must be at least 1"));
    }
    match (s.certificate.is_empty(), s.private_key.is_empty()) {
        (true, true) => {}
        (false, true) => errs.push(Invalid::new("server.private_key", "needed with server.certificate")),
        (true, false) => errs.push(Invalid::new("server.certificate", "needed with server.private_key")),
        (false, false) => {
            for (field, file) in [("server.certificate", &s.certificate), ("server.private_key", &s.private_key)] {
                let path = base_dir.join(file);
                if let Err(e) = std::fs::read(&path) {
                    errs.push(Invalid::new(field, format!("cannot read {}: {e}", path.display())));
                }
            }
        }
    }
}

fn users(config: &Config, errs: &mut Vec<Invalid>) {
    let mut names = HashSet::new();
    for (i, u) in config.users.iter().enumerate() {
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
                errs.push(Invalid::new(f("password_hash"), e));
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

/// Checks an argon2id PHC string.
pub fn check_hash(phc: &str) -> Result<(), String> {
    let parsed = argon2::PasswordHash::new(phc)
        .map_err(|e| format!("not a password hash from `fxgate users hash`: {e}"))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(format!(
            "hash algorithm is `{}`, only argon2id is accepted (`fxgate users hash`)",
            parsed.algorithm
        ));
    }
    Ok(())
}

fn simulators(config: &Config, errs: &mut Vec<Invalid>) {
    let mut sources = HashSet::new();
    for (i, sim) in config.simulator.iter().enumerate() {
        let f = |k: &str| format!("simulator[{i}].{k}");
        if let Err(e) = check_name(&sim.name) {
            errs.push(Invalid::new(f("name"), e));
        } else if !sources.insert(sim.name.as_str()) {
            errs.push(Invalid::new(f("name"), format!("a source named `{}` exists already", sim.name)));
        }
        if !(10..=3_600_000).contains(&sim.interval_ms) {
            errs.push(Invalid::new(f("interval_ms"), "must be 10 to 3600000 ms"));
        }
        let mut tags = HashSet::new();
        for (j, t) in sim.tags.iter().enumerate() {
            let g = |k: &str| format!("simulator[{i}].tags[{j}].{k}");
            if let Err(e) = check_name(&t.name) {
                errs.push(Invalid::new(g("name"), e));
                continue;
            }
            if t.count == 0 || t.count > 1_000_000 {
                errs.push(Invalid::new(g("count"), "must be 1 to 1000000"));
                continue;
            }
            for n in t.names() {
                if !tags.insert(n.clone()) {
                    errs.push(Invalid::new(
                        g("name"),
                        format!("tag `{n}` is defined twice in simulator `{}`", sim.name),
                    ));
                    break;
                }
            }
            let ok = match t.waveform {
                Waveform::Sine | Waveform::Ramp | Waveform::Random | Waveform::Counter => {
                    t.data_type.is_numeric()
                }
                Waveform::Toggle => t.data_type == TagType::Boolean,
                Waveform::Text => t.data_type == TagType::String,
                Waveform::Constant => true,
            };
            if !ok {
                errs.push(Invalid::new(
                    g("waveform"),
                    format!("waveform {:?} does not fit type {:?}", t.waveform, t.data_type),
                ));
            }
            if t.waveform == Waveform::Sine && t.period_s <= 0.0 {
                errs.push(Invalid::new(g("period_s"), "must be above 0"));
            }
            if matches!(t.waveform, Waveform::Ramp | Waveform::Random) && t.min >= t.max {
                errs.push(Invalid::new(g("max"), "must be above min"));
            }
            meta(&RawMeta::of_sim(t), t.data_type, &g, errs);
            if let Some(init) = &t.initial {
                let fits = match (t.data_type, init) {
                    (TagType::Boolean, toml::Value::Boolean(_)) => true,
                    (TagType::String, toml::Value::String(_)) => true,
                    (ty, toml::Value::Integer(_) | toml::Value::Float(_)) => ty.is_numeric(),
                    _ => false,
                };
                if !fits {
                    errs.push(Invalid::new(
                        g("initial"),
                        format!("`{init}` does not fit type {:?}", t.data_type),
                    ));
                }
            }
        }
    }
}

/// Source and tag names: not empty, no `/` (the path separator), no control characters.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if name.contains('/') || name.chars().any(char::is_control) {
        return Err(format!("`{name}` must not contain `/` or control characters"));
    }
    Ok(())
}

/// The DA-style metadata fields of a tag entry, as configured.
pub(crate) struct RawMeta<'a> {
    pub eu_units: &'a Option<String>,
    pub eu_low: Option<f64>,
    pub eu_high: Option<f64>,
    pub instrument_low: Option<f64>,
    pub instrument_high: Option<f64>,
    pub open_label: &'a Option<String>,
    pub close_label: &'a Option<String>,
    pub enum_strings: &'a [String],
    pub scan_rate: Option<f64>,
}

impl<'a> RawMeta<'a> {
    fn of_sim(t: &'a crate::SimTagConfig) -> Self {
        Self {
            eu_units: &t.eu_units,
            eu_low: t.eu_low,
            eu_high: t.eu_high,
            instrument_low: t.instrument_low,
            instrument_high: t.instrument_high,
            open_label: &t.open_label,
            close_label: &t.close_label,
            enum_strings: &t.enum_strings,
            scan_rate: t.scan_rate,
        }
    }

    pub(crate) fn of_modbus(t: &'a crate::ModbusTagConfig) -> Self {
        Self {
            eu_units: &t.eu_units,
            eu_low: t.eu_low,
            eu_high: t.eu_high,
            instrument_low: t.instrument_low,
            instrument_high: t.instrument_high,
            open_label: &t.open_label,
            close_label: &t.close_label,
            enum_strings: &t.enum_strings,
            scan_rate: None,
        }
    }
}

/// DA-style metadata: ranges come in pairs with low < high and fit numeric tags, labels fit
/// Booleans, enumerations fit integers.
pub(crate) fn meta(t: &RawMeta<'_>, data_type: TagType, g: &dyn Fn(&str) -> String, errs: &mut Vec<Invalid>) {
    for (low, high, lname, hname) in [
        (t.eu_low, t.eu_high, "eu_low", "eu_high"),
        (t.instrument_low, t.instrument_high, "instrument_low", "instrument_high"),
    ] {
        match (low, high) {
            (Some(l), Some(h)) if l.partial_cmp(&h) != Some(std::cmp::Ordering::Less) => {
                errs.push(Invalid::new(g(hname), format!("must be above {lname}")))
            }
            (Some(_), None) => errs.push(Invalid::new(g(hname), format!("needed with {lname}"))),
            (None, Some(_)) => errs.push(Invalid::new(g(lname), format!("needed with {hname}"))),
            _ => {}
        }
        if (low.is_some() || high.is_some()) && !data_type.is_numeric() {
            errs.push(Invalid::new(g(lname), format!("a range needs a numeric type, not {data_type:?}")));
        }
    }
    if t.eu_units.is_some() && !data_type.is_numeric() {
        errs.push(Invalid::new(g("eu_units"), format!("units need a numeric type, not {data_type:?}")));
    }
    if (t.open_label.is_some() || t.close_label.is_some()) && data_type != TagType::Boolean {
        let f = if t.open_label.is_some() { "open_label" } else { "close_label" };
        errs.push(Invalid::new(g(f), format!("contact labels need type Boolean, not {data_type:?}")));
    }
    if t.open_label.is_some() != t.close_label.is_some() {
        let f = if t.open_label.is_some() { "close_label" } else { "open_label" };
        errs.push(Invalid::new(g(f), "open_label and close_label come together"));
    }
    let integer = data_type.is_numeric() && !matches!(data_type, TagType::Float | TagType::Double);
    if !t.enum_strings.is_empty() && !integer {
        errs.push(Invalid::new(g("enum_strings"), format!("enumerations need an integer type, not {data_type:?}")));
    }
    if let Some(r) = t.scan_rate {
        if !(r > 0.0 && r.is_finite()) {
            errs.push(Invalid::new(g("scan_rate"), "must be a positive number of milliseconds"));
        }
    }
}
