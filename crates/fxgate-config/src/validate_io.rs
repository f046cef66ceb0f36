//! Checks of `[[line]]`, `[[device]]` and `[[modbus_server]]`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::device::Protocol;
use crate::error::Invalid;
use crate::line::{split_hosts, LineMode};
use crate::modbus::{check_mapping, Address, Area};
use crate::model::Config;
use crate::validate::{check_name, meta, RawMeta};

/// Most addresses in a `host` list (seed 002).
pub const MAX_HOSTS: usize = 8;

/// Adds every problem of the lines, devices and Modbus servers to `errs`.
pub fn validate(config: &Config, base_dir: &Path, errs: &mut Vec<Invalid>) {
    let modes = lines(config, base_dir, errs);
    devices(config, &modes, errs);
    modbus_servers(config, &modes, errs);
}

fn lines(config: &Config, base_dir: &Path, errs: &mut Vec<Invalid>) -> HashMap<String, LineMode> {
    let mut modes = HashMap::new();
    for (i, l) in config.line.iter().enumerate() {
        let f = |k: &str| format!("line[{i}].{k}");
        if let Err(e) = check_name(&l.name) {
            errs.push(Invalid::new(f("name"), e));
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
        if !(10..=3_600_000).contains(&l.reconnect_delay_ms) {
            errs.push(Invalid::new(f("reconnect_delay_ms"), "must be 10 to 3600000 ms"));
        }
        if l.reconnect_max_ms < l.reconnect_delay_ms {
            errs.push(Invalid::new(f("reconnect_max_ms"), "must be at least reconnect_delay_ms"));
        }
        if let Some(t) = &l.tls {
            tls(t, l.mode, base_dir, &|k| f(&format!("tls.{k}")), errs);
        }
    }
    modes
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
    base_dir: &Path,
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
    for p in t.partner_certificate_paths(base_dir) {
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
            let path = crate::line::expand_appdir(p, base_dir);
            if let Err(e) = std::fs::read(&path) {
                errs.push(Invalid::new(f(k), format!("cannot read {}: {e}", path.display())));
            }
        }
    }
    if !t.pre_shared_key.is_empty() {
        let k = &t.pre_shared_key;
        if k.len() % 2 != 0 || !k.chars().all(|c| c.is_ascii_hexdigit()) || k.len() > 512 {
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

fn source_names(config: &Config) -> HashSet<String> {
    config.simulator.iter().map(|s| s.name.clone()).collect()
}

fn devices(config: &Config, modes: &HashMap<String, LineMode>, errs: &mut Vec<Invalid>) {
    let mut sources = source_names(config);
    for (i, d) in config.device.iter().enumerate() {
        let f = |k: &str| format!("device[{i}].{k}");
        if let Err(e) = check_name(&d.name) {
            errs.push(Invalid::new(f("name"), e));
        } else if d.name == "fxgate" || !sources.insert(d.name.clone()) {
            errs.push(Invalid::new(f("name"), format!("a source named `{}` exists already", d.name)));
        }
        match modes.get(&d.line) {
            None => errs.push(Invalid::new(f("line"), format!("no [[line]] named `{}`", d.line))),
            Some(LineMode::Server) => errs.push(Invalid::new(
                f("line"),
                format!("line `{}` is a server line; a device needs a client line", d.line),
            )),
            Some(LineMode::Client) => {}
        }
        match d.protocol {
            Protocol::Modbus => modbus_device(d, &f, errs),
        }
    }
}

fn modbus_device(d: &crate::DeviceConfig, f: &dyn Fn(&str) -> String, errs: &mut Vec<Invalid>) {
    if d.unit_id > 247 && d.unit_id != 255 {
        errs.push(Invalid::new(f("unit_id"), "must be 0 to 247, or 255"));
    }
    if !(10..=600_000).contains(&d.timeout_ms) {
        errs.push(Invalid::new(f("timeout_ms"), "must be 10 to 600000 ms"));
    }
    if !(10..=3_600_000).contains(&d.poll_ms) {
        errs.push(Invalid::new(f("poll_ms"), "must be 10 to 3600000 ms"));
    }
    if !(1..=125).contains(&d.max_registers) {
        errs.push(Invalid::new(f("max_registers"), "must be 1 to 125 (the protocol's limit)"));
    }
    if !(1..=2000).contains(&d.max_bits) {
        errs.push(Invalid::new(f("max_bits"), "must be 1 to 2000 (the protocol's limit)"));
    }
    let mut groups = HashSet::new();
    for (j, g) in d.group.iter().enumerate() {
        if g.name.trim().is_empty() || !groups.insert(g.name.as_str()) {
            errs.push(Invalid::new(f(&format!("group[{j}].name")), "must be a name not used by another group"));
        }
        if !(10..=3_600_000).contains(&g.interval_ms) {
            errs.push(Invalid::new(f(&format!("group[{j}].interval_ms")), "must be 10 to 3600000 ms"));
        }
    }
    let mut names = HashSet::new();
    for (j, t) in d.tag.iter().enumerate() {
        let g = |k: &str| f(&format!("tag[{j}].{k}"));
        if let Err(e) = check_name(&t.name) {
            errs.push(Invalid::new(g("name"), e));
            continue;
        }
        if t.count == 0 || t.count > 65536 {
            errs.push(Invalid::new(g("count"), "must be 1 to 65536"));
            continue;
        }
        if let Some(n) = t.names().into_iter().find(|n| !names.insert(n.clone())) {
            errs.push(Invalid::new(g("name"), format!("tag `{n}` is defined twice in device `{}`", d.name)));
        }
        if !t.group.is_empty() && !groups.contains(t.group.as_str()) {
            errs.push(Invalid::new(g("group"), format!("no [[device.group]] named `{}`", t.group)));
        }
        let Some(addr) = check_mapping(&t.address, t.data_type, t.length, t.scale, t.offset, &g, errs) else {
            continue;
        };
        let last = u32::from(addr.offset) + u32::from(t.stride()) * (t.count - 1);
        if last + u32::from(t.data_type.registers(t.length)) > 65536 || last > 65535 {
            errs.push(Invalid::new(g("count"), format!("{} tags from {addr} run past address 65535", t.count)));
        }
        if t.writable && !addr.area.is_writable() {
            errs.push(Invalid::new(g("writable"), format!("{addr} is read-only (only coils and holding registers are written)")));
        }
        meta(&RawMeta::of_modbus(t), t.tag_type(), &g, errs);
    }
}

fn modbus_servers(config: &Config, modes: &HashMap<String, LineMode>, errs: &mut Vec<Invalid>) {
    let mut names = HashSet::new();
    let mut lines = HashSet::new();
    let known: HashSet<String> = config
        .simulator
        .iter()
        .flat_map(|s| s.tags.iter().flat_map(move |t| t.names().into_iter().map(move |n| format!("{}/{n}", s.name))))
        .chain(config.device.iter().flat_map(|d| {
            d.tag.iter().flat_map(move |t| t.names().into_iter().map(move |n| format!("{}/{n}", d.name)))
        }))
        .collect();
    for (i, s) in config.modbus_server.iter().enumerate() {
        let f = |k: &str| format!("modbus_server[{i}].{k}");
        if let Err(e) = check_name(&s.name) {
            errs.push(Invalid::new(f("name"), e));
        } else if !names.insert(s.name.as_str()) {
            errs.push(Invalid::new(f("name"), format!("a Modbus server named `{}` exists already", s.name)));
        }
        match modes.get(&s.line) {
            None => errs.push(Invalid::new(f("line"), format!("no [[line]] named `{}`", s.line))),
            Some(LineMode::Client) => errs.push(Invalid::new(
                f("line"),
                format!("line `{}` is a client line; a Modbus server needs mode = \"server\"", s.line),
            )),
            Some(LineMode::Server) => {
                if !lines.insert(s.line.as_str()) {
                    errs.push(Invalid::new(f("line"), format!("line `{}` already carries a Modbus server", s.line)));
                }
            }
        }
        let mut used: HashMap<(Area, u16, Option<u8>), usize> = HashMap::new();
        for (j, m) in s.map.iter().enumerate() {
            let g = |k: &str| f(&format!("map[{j}].{k}"));
            if !known.contains(&m.tag) && !m.tag.starts_with("fxgate/") {
                errs.push(Invalid::new(g("tag"), format!("no tag `{}` (give <source>/<tag>)", m.tag)));
            }
            let Some(addr) = check_mapping(&m.address, m.data_type, m.length, m.scale, m.offset, &g, errs) else {
                continue;
            };
            for cell in cells(addr, m.data_type.registers(m.length)) {
                if let Some(k) = used.insert(cell, j) {
                    errs.push(Invalid::new(
                        g("address"),
                        format!("{addr} overlaps map[{k}] of this server"),
                    ));
                    break;
                }
            }
        }
    }
}

/// The cells (register, or register bit, or bit) a mapping occupies.
fn cells(addr: Address, registers: u16) -> Vec<(Area, u16, Option<u8>)> {
    if addr.area.is_bits() || addr.bit.is_some() {
        return vec![(addr.area, addr.offset, addr.bit)];
    }
    (0..registers)
        .filter_map(|k| addr.offset.checked_add(k))
        .map(|r| (addr.area, r, None))
        .collect()
}
