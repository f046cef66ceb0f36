//! Checks of `[[device]]` (Modbus) and `[[modbus_server]]` (Modbus Application Protocol
//! V1.1b3 limits: 125 registers, 2000 bits per request; unit ids 0 to 247 and 255).

use std::collections::{HashMap, HashSet};

use fxgate_config::meta::{check_meta, RawMeta};
use fxgate_config::{check_name, Check, Invalid, LineMode};

use super::address::{check_mapping, Address, Area};
use super::{DeviceConfig, ModbusServerConfig, ModbusTagConfig, Protocol};

/// Adds every problem of the devices (under `key`) to `cx`; device names are checked for
/// uniqueness among all sources by the generic checks.
pub(crate) fn devices(key: &str, list: &[DeviceConfig], cx: &mut Check<'_>) {
    for (i, d) in list.iter().enumerate() {
        let f = |k: &str| format!("{key}[{i}].{k}");
        if let Err(e) = check_name(&d.name) {
            cx.push(f("name"), e.to_string());
        }
        cx.line_in_mode(f("line"), &d.line, LineMode::Client, "a device");
        match d.protocol {
            Protocol::Modbus => modbus_device(d, &f, cx.errs()),
        }
    }
}

fn modbus_device(d: &DeviceConfig, f: &dyn Fn(&str) -> String, errs: &mut Vec<Invalid>) {
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
            errs.push(Invalid::new(g("name"), e.to_string()));
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
        check_meta(&raw_meta(t), t.tag_type(), &g, errs);
    }
}

/// Adds every problem of the Modbus servers (under `key`) to `cx`.
pub(crate) fn servers(key: &str, list: &[ModbusServerConfig], cx: &mut Check<'_>) {
    let mut names = HashSet::new();
    let known = cx.known;
    for (i, s) in list.iter().enumerate() {
        let f = |k: &str| format!("{key}[{i}].{k}");
        if let Err(e) = check_name(&s.name) {
            cx.push(f("name"), e.to_string());
        } else if !names.insert(s.name.as_str()) {
            cx.push(f("name"), format!("a Modbus server named `{}` exists already", s.name));
        }
        // a second server on one line is a resource clash, found by the generic checks
        cx.line_in_mode(f("line"), &s.line, LineMode::Server, "a Modbus server");
        let errs = cx.errs();
        let mut used: HashMap<(Area, u16, Option<u8>), usize> = HashMap::new();
        for (j, m) in s.map.iter().enumerate() {
            let g = |k: &str| f(&format!("map[{j}].{k}"));
            if !known.has_tag(&m.tag) && !m.tag.starts_with("fxgate/") {
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

/// The DA-style metadata of a Modbus tag.
fn raw_meta(t: &ModbusTagConfig) -> RawMeta<'_> {
    RawMeta {
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
