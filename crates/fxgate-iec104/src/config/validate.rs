//! Checks of `[[iec104_device]]` and `[[iec104_server]]` (IEC 60870-5-104 §9.6 parameter
//! ranges, IEC 60870-5-101 address sizes: CA 2 octets, IOA 3 octets).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use fxgate_config::{check_name, Check, Invalid, LineMode};

use super::{CommandType, Iec104DeviceConfig, Iec104ServerConfig, LinkParams};

/// Largest information object address (3 octets).
const MAX_IOA: u32 = 0xFF_FFFF;

/// Adds every problem of the devices (under `key`) to `cx`.
pub(crate) fn devices(key: &str, list: &[Iec104DeviceConfig], cx: &mut Check<'_>) {
    let mut on_line: HashMap<&str, (usize, LinkParams, u16)> = HashMap::new();
    for (i, d) in list.iter().enumerate() {
        let f = |k: &str| format!("{key}[{i}].{k}");
        // The stations of one line share its connection: one set of link parameters, and
        // each its own common address.
        match on_line.get(d.line.as_str()) {
            Some((k, p, _)) if *p != d.link() => cx.push(
                f("k"),
                format!("{key}[{k}] is on line `{}` too, with other k/w/t0_ms..t3_ms: the devices of one line share its connection and its link parameters", d.line),
            ),
            Some((k, _, ca)) if *ca == d.common_address => cx.push(
                f("common_address"),
                format!("{key}[{k}] on line `{}` has common address {ca} too", d.line),
            ),
            Some(_) => {}
            None => {
                on_line.insert(&d.line, (i, d.link(), d.common_address));
            }
        }
        if let Err(e) = check_name(&d.name) {
            cx.push(f("name"), e.to_string());
        }
        cx.line_in_mode(f("line"), &d.line, LineMode::Client, "an IEC 104 device");
        let errs = cx.errs();
        common_address(d.common_address, &f, errs);
        link(&d.link(), &f, errs);
        for (k, v) in [("gi_interval_ms", d.gi_interval_ms), ("ci_interval_ms", d.ci_interval_ms), ("clock_sync_interval_ms", d.clock_sync_interval_ms)] {
            if v != 0 && !(1000..=86_400_000).contains(&v) {
                errs.push(Invalid::new(f(k), "must be 0 (off) or 1000 to 86400000 ms"));
            }
        }
        let mut names = HashSet::new();
        let mut monitored: HashMap<u32, usize> = HashMap::new();
        let mut commanded: HashMap<u32, usize> = HashMap::new();
        for (j, t) in d.tag.iter().enumerate() {
            let g = |k: &str| f(&format!("tag[{j}].{k}"));
            if let Err(e) = check_name(&t.name) {
                errs.push(Invalid::new(g("name"), e.to_string()));
            } else if !names.insert(t.name.as_str()) {
                errs.push(Invalid::new(g("name"), format!("tag `{}` is defined twice in device `{}`", t.name, d.name)));
            }
            match (t.ioa, t.monitor, t.command) {
                (None, None, None) => errs.push(Invalid::new(g("type"), "give a monitor `type` with its `ioa`, a `command`, or both")),
                (Some(_), None, _) => errs.push(Invalid::new(g("type"), "an `ioa` needs its monitor `type` (M_SP, M_DP, M_ST, M_BO, M_ME_NA, M_ME_NB, M_ME_NC, M_IT, M_EP_TD)")),
                (None, Some(_), _) => errs.push(Invalid::new(g("ioa"), "a monitor `type` needs its `ioa`")),
                (None, None, Some(_)) if t.command_ioa.is_none() => {
                    errs.push(Invalid::new(g("command_ioa"), "a command-only tag needs its `command_ioa`"))
                }
                _ => {}
            }
            if let (Some(ioa), Some(_)) = (t.ioa, t.monitor) {
                if ioa_ok(ioa, &g("ioa"), errs) {
                    if let Some(k) = monitored.insert(ioa, j) {
                        errs.push(Invalid::new(g("ioa"), format!("IOA {ioa} is monitored by tag[{k}] already")));
                    }
                }
            }
            if t.command.is_none() {
                for (k, set) in [("command_ioa", t.command_ioa.is_some()), ("select_before_operate", t.select_before_operate), ("time_tagged", t.time_tagged), ("qualifier", t.qualifier != 0)] {
                    if set {
                        errs.push(Invalid::new(g(k), "applies to commands only: give `command`"));
                    }
                }
                continue;
            }
            if let Some(ioa) = t.command_address() {
                if ioa_ok(ioa, &g("command_ioa"), errs) {
                    if let Some(k) = commanded.insert(ioa, j) {
                        errs.push(Invalid::new(g("command_ioa"), format!("IOA {ioa} is commanded by tag[{k}] already")));
                    }
                }
            }
            match t.command {
                Some(CommandType::Bitstring) => {
                    if t.select_before_operate {
                        errs.push(Invalid::new(g("select_before_operate"), "C_BO has no select/execute bit"));
                    }
                    if t.qualifier != 0 {
                        errs.push(Invalid::new(g("qualifier"), "C_BO has no qualifier"));
                    }
                }
                Some(CommandType::Normalized | CommandType::Scaled | CommandType::Float) if t.qualifier > 127 => {
                    errs.push(Invalid::new(g("qualifier"), "QL of a set-point command is 0 to 127"))
                }
                Some(CommandType::Single | CommandType::Double | CommandType::Regulating) if t.qualifier > 31 => {
                    errs.push(Invalid::new(g("qualifier"), "QU of a command is 0 to 31"))
                }
                _ => {}
            }
        }
    }
}

/// Adds every problem of the servers (under `key`) to `cx`.
pub(crate) fn servers(key: &str, list: &[Iec104ServerConfig], cx: &mut Check<'_>) {
    let mut names = HashSet::new();
    let known = cx.known;
    for (i, s) in list.iter().enumerate() {
        let f = |k: &str| format!("{key}[{i}].{k}");
        if let Err(e) = check_name(&s.name) {
            cx.push(f("name"), e.to_string());
        } else if !names.insert(s.name.as_str()) {
            cx.push(f("name"), format!("an IEC 104 server named `{}` exists already", s.name));
        }
        cx.line_in_mode(f("line"), &s.line, LineMode::Server, "an IEC 104 server");
        let errs = cx.errs();
        common_address(s.common_address, &f, errs);
        link(&s.link(), &f, errs);
        if !(1..=64).contains(&s.max_connections) {
            errs.push(Invalid::new(f("max_connections"), "must be 1 to 64"));
        }
        if !(1..=1_000_000).contains(&s.event_queue) {
            errs.push(Invalid::new(f("event_queue"), "must be 1 to 1000000 events"));
        }
        for (j, m) in s.allowed_masters.iter().enumerate() {
            if m.trim().parse::<IpAddr>().is_err() {
                errs.push(Invalid::new(f(&format!("allowed_masters[{j}]")), format!("`{m}` is not an IP address")));
            }
        }
        let mut groups = HashSet::new();
        let mut members: HashMap<IpAddr, usize> = HashMap::new();
        let mut catch_all = None;
        for (j, g) in s.group.iter().enumerate() {
            let gf = |k: &str| f(&format!("group[{j}].{k}"));
            if g.name.trim().is_empty() || !groups.insert(g.name.as_str()) {
                errs.push(Invalid::new(gf("name"), "must be a name not used by another group"));
            }
            if g.masters.is_empty() {
                if let Some(k) = catch_all.replace(j) {
                    errs.push(Invalid::new(gf("masters"), format!("group[{k}] takes every other master already; list this group's masters")));
                }
            }
            for (n, m) in g.masters.iter().enumerate() {
                match m.trim().parse::<IpAddr>() {
                    Err(_) => errs.push(Invalid::new(gf(&format!("masters[{n}]")), format!("`{m}` is not an IP address"))),
                    Ok(ip) => {
                        if let Some(k) = members.insert(ip, j) {
                            errs.push(Invalid::new(gf(&format!("masters[{n}]")), format!("{ip} is in group[{k}] already")));
                        }
                        let allowed = s.allowed_masters.is_empty() || s.allowed_masters.iter().any(|a| a.trim().parse::<IpAddr>().ok() == Some(ip));
                        if !allowed {
                            errs.push(Invalid::new(gf(&format!("masters[{n}]")), format!("{ip} is not in allowed_masters")));
                        }
                    }
                }
            }
        }
        let mut monitored: HashMap<u32, usize> = HashMap::new();
        let mut commanded: HashMap<u32, usize> = HashMap::new();
        for (j, m) in s.map.iter().enumerate() {
            let g = |k: &str| f(&format!("map[{j}].{k}"));
            if !known.has_tag(&m.tag) && !m.tag.starts_with("fxgate/") {
                errs.push(Invalid::new(g("tag"), format!("no tag `{}` (give <source>/<tag>)", m.tag)));
            }
            if ioa_ok(m.ioa, &g("ioa"), errs) {
                if let Some(k) = monitored.insert(m.ioa, j) {
                    errs.push(Invalid::new(g("ioa"), format!("IOA {} is used by map[{k}] already", m.ioa)));
                }
            }
            if m.command.is_none() && m.command_ioa.is_some() {
                errs.push(Invalid::new(g("command_ioa"), "applies to commands only: give `command`"));
            }
            if let Some(ioa) = m.command_address() {
                if ioa_ok(ioa, &g("command_ioa"), errs) {
                    if let Some(k) = commanded.insert(ioa, j) {
                        errs.push(Invalid::new(g("command_ioa"), format!("IOA {ioa} is commanded by map[{k}] already")));
                    }
                }
            }
        }
    }
}

fn common_address(ca: u16, f: &dyn Fn(&str) -> String, errs: &mut Vec<Invalid>) {
    if ca == 0 || ca == 0xFFFF {
        errs.push(Invalid::new(f("common_address"), "must be 1 to 65534 (0 is unused, 65535 is the broadcast address)"));
    }
}

fn ioa_ok(ioa: u32, field: &str, errs: &mut Vec<Invalid>) -> bool {
    if ioa == 0 || ioa > MAX_IOA {
        errs.push(Invalid::new(field, "must be 1 to 16777215 (3 octets; 0 is irrelevant)"));
        return false;
    }
    true
}

fn link(p: &LinkParams, f: &dyn Fn(&str) -> String, errs: &mut Vec<Invalid>) {
    if !(1..=32_767).contains(&p.k) {
        errs.push(Invalid::new(f("k"), "must be 1 to 32767"));
    }
    if p.w == 0 || p.w > p.k {
        errs.push(Invalid::new(f("w"), "must be 1 to k (at most two thirds of k is recommended)"));
    }
    for (k, d) in [("t0_ms", p.t0), ("t1_ms", p.t1), ("t2_ms", p.t2)] {
        if !(100..=255_000).contains(&d.as_millis()) {
            errs.push(Invalid::new(f(k), "must be 100 to 255000 ms"));
        }
    }
    if !(100..=172_800_000).contains(&p.t3.as_millis()) {
        errs.push(Invalid::new(f("t3_ms"), "must be 100 ms to 48 h"));
    }
    if p.t2 >= p.t1 {
        errs.push(Invalid::new(f("t2_ms"), "must be less than t1_ms"));
    }
}
