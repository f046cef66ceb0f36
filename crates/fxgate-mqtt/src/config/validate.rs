//! Checks of `[[mqtt]]` (MQTT 3.1.1 §4.7 topic names and filters, §3.1.2.10 keep-alive).

use std::collections::HashSet;

use fxgate_config::{check_name, Check, Invalid, LineMode};
use rumqttc::{valid_filter, valid_topic};

use super::{MqttConfig, PayloadFormat, PublishMode, Qos, SparkplugConfig};

/// Adds every problem of the clients (under `key`) to `cx`.
pub(crate) fn clients(key: &str, list: &[MqttConfig], cx: &mut Check<'_>) {
    let mut lines = HashSet::new();
    for (i, m) in list.iter().enumerate() {
        let f = |k: &str| format!("{key}[{i}].{k}");
        if let Err(e) = check_name(&m.name) {
            cx.push(f("name"), e.to_string());
        }
        cx.line_in_mode(f("line"), &m.line, LineMode::Client, "an MQTT client");
        if !lines.insert(m.line.as_str()) {
            cx.push(f("line"), format!("line `{}` carries another [[mqtt]] already: one client per line", m.line));
        }
        // A user without `write` is valid: requests are answered Bad_UserAccessDenied.
        if !m.user.is_empty() && !cx.users.iter().any(|u| u.name == m.user) {
            cx.push(f("user"), format!("no [[users]] entry named `{}`", m.user));
        }
        let errs = cx.errs();
        client(m, &f, errs);
        tags(m, &f, errs);
        publish(m, &f, errs);
        if let Some(sp) = &m.sparkplug {
            sparkplug(m, sp, &f, cx);
        }
    }
}

fn sparkplug(m: &MqttConfig, sp: &SparkplugConfig, f: &dyn Fn(&str) -> String, cx: &mut Check<'_>) {
    let g = |k: &str| f(&format!("sparkplug.{k}"));
    for (k, v) in [("group_id", &sp.group_id), ("edge_node_id", &sp.edge_node_id)] {
        if v.is_empty() || v.contains(['/', '+', '#']) {
            cx.push(g(k), "a Sparkplug id is one topic level: not empty, no `/`, `+` or `#`");
        }
    }
    if !sp.primary_host_id.is_empty() && sp.primary_host_id.contains(['/', '+', '#']) {
        cx.push(g("primary_host_id"), "a Sparkplug id is one topic level: no `/`, `+` or `#`");
    }
    if sp.tags.is_empty() {
        cx.push(g("tags"), "give the tags to publish as metrics, e.g. [\"**\"]");
    }
    if let Err(e) = fxgate_forward::TagFilter::new(&sp.tags) {
        cx.push(g("tags"), e.to_string());
    }
    if !m.status_topic.is_empty() {
        cx.push(f("status_topic"), "a connection has one Last Will: with [mqtt.sparkplug] it is the NDEATH, so leave status_topic empty");
    }
    if !m.clean_session {
        cx.push(f("clean_session"), "a Sparkplug edge node connects with a clean session (Sparkplug 3.0 §7.1): remove clean_session = false");
    }
    if sp.qos == Qos::ExactlyOnce {
        cx.push(g("qos"), "Sparkplug data is QoS 0 (the specification) or 1");
    }
    if sp.interval_ms != 0 && !(10..=3_600_000).contains(&sp.interval_ms) {
        cx.push(g("interval_ms"), "must be 0 or 10 to 3600000 ms");
    }
    if !sp.user.is_empty() && !cx.users.iter().any(|u| u.name == sp.user) {
        cx.push(g("user"), format!("no [[users]] entry named `{}`", sp.user));
    }
}

fn client(m: &MqttConfig, f: &dyn Fn(&str) -> String, errs: &mut Vec<Invalid>) {
    if m.client_id.len() > 65_535 || m.client_id.contains('\0') {
        errs.push(Invalid::new(f("client_id"), "at most 65535 bytes, no NUL"));
    }
    if !(1..=65_535).contains(&m.keep_alive_s) {
        errs.push(Invalid::new(f("keep_alive_s"), "must be 1 to 65535 s"));
    }
    if m.username.is_empty() && !m.password.is_empty() && m.version == super::MqttVersion::V311 {
        errs.push(Invalid::new(f("password"), "MQTT 3.1.1 sends a password only with a user name: give `username`"));
    }
    if m.session_expiry_s.is_some() && (m.clean_session || m.version != super::MqttVersion::V5) {
        errs.push(Invalid::new(f("session_expiry_s"), "applies to a persistent MQTT 5 session only (version = \"5\", clean_session = false)"));
    }
    if m.session_expiry_s == Some(0) {
        errs.push(Invalid::new(f("session_expiry_s"), "0 ends the session with the connection: use clean_session = true, or give 1 to 4294967295 s"));
    }
    if !(1..=86_400).contains(&m.fail_back_s) {
        errs.push(Invalid::new(f("fail_back_s"), "must be 1 to 86400 s"));
    }
    for (k, t) in [("status_topic", &m.status_topic), ("request_topic", &m.request_topic), ("response_topic", &m.response_topic)] {
        if !t.is_empty() && !valid_topic(t) {
            errs.push(Invalid::new(f(k), format!("`{t}` is not a topic name (no `+` or `#`, not empty)")));
        }
    }
    if m.request_topic.is_empty() != m.response_topic.is_empty() {
        let k = if m.request_topic.is_empty() { "request_topic" } else { "response_topic" };
        errs.push(Invalid::new(f(k), "give both request_topic and response_topic, or neither"));
    }
    if m.buffer_max_bytes < 1024 {
        errs.push(Invalid::new(f("buffer_max_bytes"), "must be at least 1024 bytes"));
    }
    if m.buffer_memory_bytes > m.buffer_max_bytes {
        errs.push(Invalid::new(f("buffer_memory_bytes"), "must not exceed buffer_max_bytes"));
    }
    if m.buffer_fsync_ms.is_some_and(|ms| ms > 60_000) {
        errs.push(Invalid::new(f("buffer_fsync_ms"), "must be 0 (after every message) to 60000 ms, or left out (never)"));
    }
}

fn tags(m: &MqttConfig, f: &dyn Fn(&str) -> String, errs: &mut Vec<Invalid>) {
    let mut names = HashSet::new();
    for (j, t) in m.tag.iter().enumerate() {
        let g = |k: &str| f(&format!("tag[{j}].{k}"));
        if let Err(e) = check_name(&t.name) {
            errs.push(Invalid::new(g("name"), e.to_string()));
        } else if !names.insert(t.name.as_str()) {
            errs.push(Invalid::new(g("name"), format!("tag `{}` is defined twice in `{}`", t.name, m.name)));
        }
        if !valid_filter(&t.topic) {
            errs.push(Invalid::new(g("topic"), format!("`{}` is not a topic filter (`#` only last, `+` and `#` whole levels)", t.topic)));
        }
        if !t.command_topic.is_empty() && !valid_topic(&t.command_topic) {
            errs.push(Invalid::new(g("command_topic"), format!("`{}` is not a topic name (no `+` or `#`)", t.command_topic)));
        }
        for (k, p) in [("value_path", &t.value_path), ("timestamp_path", &t.timestamp_path), ("quality_path", &t.quality_path)] {
            if p.is_empty() {
                continue;
            }
            if t.payload == PayloadFormat::Raw {
                errs.push(Invalid::new(g(k), "a JSON pointer needs payload = \"json\""));
            } else if !p.starts_with('/') {
                errs.push(Invalid::new(g(k), format!("`{p}` is not a JSON pointer (RFC 6901): it starts with `/`, e.g. \"/value\"")));
            }
        }
        if t.stale_after_ms != 0 && !(100..=86_400_000).contains(&t.stale_after_ms) {
            errs.push(Invalid::new(g("stale_after_ms"), "must be 0 (never) or 100 to 86400000 ms"));
        }
    }
}

fn publish(m: &MqttConfig, f: &dyn Fn(&str) -> String, errs: &mut Vec<Invalid>) {
    for (j, p) in m.publish.iter().enumerate() {
        let g = |k: &str| f(&format!("publish[{j}].{k}"));
        if p.tags.is_empty() {
            errs.push(Invalid::new(g("tags"), "give the tags to publish, e.g. [\"Demo/*\"]"));
        }
        if let Err(e) = fxgate_forward::TagFilter::new(&p.tags) {
            errs.push(Invalid::new(g("tags"), e.to_string()));
        }
        let placeholders = ["{path}", "{source}", "{name}", super::NODE];
        let bare = placeholders.iter().fold(p.topic.clone(), |t, ph| t.replace(ph, "x"));
        if !valid_topic(&bare) || bare.contains(['{', '}']) {
            errs.push(Invalid::new(g("topic"), format!("`{}` is not a topic name (no `+` or `#`; placeholders {{path}}, {{source}}, {{name}}, {{node}})", p.topic)));
        } else if p.mode == PublishMode::Batch && ["{path}", "{source}", "{name}"].iter().any(|ph| p.topic.contains(ph)) {
            errs.push(Invalid::new(g("topic"), "batch mode publishes on one topic: no {path}, {source} or {name}"));
        }
        if p.interval_ms != 0 && !(10..=3_600_000).contains(&p.interval_ms) {
            errs.push(Invalid::new(g("interval_ms"), "must be 0 or 10 to 3600000 ms"));
        }
    }
}
