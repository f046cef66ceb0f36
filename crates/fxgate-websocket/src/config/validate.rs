//! Checks of `[[websocket]]`.

use std::collections::HashSet;
use std::path::Path;

use fxgate_config::Invalid;
use fxgate_config::{Role, UserConfig};
use fxgate_config::checks::check_name;
use super::{JwtAlgorithm, WebSocketConfig};

/// Adds every problem of the WebSocket clients to `errs`.
pub(super) fn validate(list: &[WebSocketConfig], users: &[UserConfig], config_dir: &Path, errs: &mut Vec<Invalid>) {
    let mut names = HashSet::new();
    for (i, w) in list.iter().enumerate() {
        let f = |k: &str| format!("websocket[{i}].{k}");
        if let Err(e) = check_name(&w.name) {
            errs.push(Invalid::new(f("name"), e));
        } else if !names.insert(w.name.as_str()) {
            errs.push(Invalid::new(f("name"), format!("a websocket named `{}` exists already", w.name)));
        }
        match url::Url::parse(&w.url) {
            Err(e) => errs.push(Invalid::new(f("url"), format!("`{}` is not a URL: {e}", w.url))),
            Ok(u) => {
                if u.scheme() != "ws" && u.scheme() != "wss" {
                    errs.push(Invalid::new(f("url"), format!("`{}` must start with ws:// or wss://", w.url)));
                }
                if u.host_str().is_none_or(str::is_empty) {
                    errs.push(Invalid::new(f("url"), format!("`{}` has no host", w.url)));
                }
                if u.scheme() == "ws" && w.tls.is_some() {
                    errs.push(Invalid::new(f("tls"), "TLS needs a wss:// url"));
                }
            }
        }
        if w.subprotocol.chars().any(|c| c.is_whitespace() || c == ',') {
            errs.push(Invalid::new(f("subprotocol"), "one token, without spaces or commas"));
        }
        if w.keep_alive && !(1..=3600).contains(&w.keep_alive_interval) {
            errs.push(Invalid::new(f("keep_alive_interval"), "must be 1 to 3600 s"));
        }
        if w.keep_alive && !(1..=3600).contains(&w.keep_alive_close_timeout) {
            errs.push(Invalid::new(f("keep_alive_close_timeout"), "must be 1 to 3600 s"));
        }
        if !(1..=600).contains(&w.connect_response_timeout) {
            errs.push(Invalid::new(f("connect_response_timeout"), "must be 1 to 600 s"));
        }
        for (k, v, min) in [
            ("max_recv_frame_size", w.max_recv_frame_size, 126),
            ("max_recv_message_size", w.max_recv_message_size, 126),
            ("max_send_frame_size", w.max_send_frame_size, 126),
        ] {
            if v < min || v > 1 << 30 {
                errs.push(Invalid::new(f(k), format!("must be {min} to 1073741824 bytes")));
            }
        }
        if w.max_recv_message_size < w.max_recv_frame_size {
            errs.push(Invalid::new(f("max_recv_message_size"), "must be at least max_recv_frame_size"));
        }
        if w.tags.is_empty() {
            errs.push(Invalid::new(f("tags"), "give the tags to stream, e.g. [\"Demo/*\"]"));
        }
        if !(1..=3_600_000).contains(&w.publish_interval_ms) {
            errs.push(Invalid::new(f("publish_interval_ms"), "must be 1 to 3600000 ms"));
        }
        if !w.user.is_empty() {
            match users.iter().find(|u| u.name == w.user) {
                None => errs.push(Invalid::new(f("user"), format!("no [[users]] named `{}`", w.user))),
                Some(u) if !u.roles.contains(&Role::Write) => {
                    errs.push(Invalid::new(f("user"), format!("user `{}` has no write role", w.user)))
                }
                Some(_) => {}
            }
        }
        if w.buffer_max_bytes < 1024 {
            errs.push(Invalid::new(f("buffer_max_bytes"), "must be at least 1024"));
        }
        if w.buffer_memory_bytes > w.buffer_max_bytes {
            errs.push(Invalid::new(f("buffer_memory_bytes"), "must not exceed buffer_max_bytes"));
        }
        if w.buffer_fsync_ms.is_some_and(|ms| ms > 60_000) {
            errs.push(Invalid::new(f("buffer_fsync_ms"), "must be 0 (after every message) to 60000 ms, or left out (never)"));
        }
        if w.reconnect_min_ms < 10 || w.reconnect_max_ms < w.reconnect_min_ms {
            errs.push(Invalid::new(f("reconnect_min_ms"), "must be at least 10 ms and at most reconnect_max_ms"));
        }
        if !(0.0..=1.0).contains(&w.reconnect_jitter) {
            errs.push(Invalid::new(f("reconnect_jitter"), "must be 0 to 1 (the share of a delay taken off at random)"));
        }
        if let Some(t) = &w.tls {
            let g = |k: &str| f(&format!("tls.{k}"));
            for (k, p) in [("ca", &t.ca), ("cert", &t.cert), ("key_file", &t.key_file), ("crl", &t.crl)] {
                if !p.is_empty() {
                    let path = fxgate_config::expand_appdir(p, config_dir);
                    if let Err(e) = std::fs::read(&path) {
                        errs.push(Invalid::new(g(k), format!("cannot read {}: {e}", path.display())));
                    }
                }
            }
            if t.cert.is_empty() != t.key_file.is_empty() {
                errs.push(Invalid::new(g(if t.cert.is_empty() { "cert" } else { "key_file" }), "cert and key_file come together"));
            }
            if !["", "tls1.2", "tls1.3"].contains(&t.version.as_str()) {
                errs.push(Invalid::new(g("version"), "must be tls1.2 or tls1.3"));
            }
            let k = &t.psk_key;
            if !k.is_empty() && (k.len() % 2 != 0 || !k.chars().all(|c| c.is_ascii_hexdigit())) {
                errs.push(Invalid::new(g("psk_key"), "must be hex digits"));
            }
            if k.is_empty() != t.psk_identity.is_empty() {
                errs.push(Invalid::new(g("psk_identity"), "psk_identity and psk_key come together"));
            }
        }
        if let Some(j) = &w.jwt {
            let g = |k: &str| f(&format!("jwt.{k}"));
            match j.algorithm {
                JwtAlgorithm::HS256 if j.secret.is_empty() => errs.push(Invalid::new(g("secret"), "HS256 needs a secret")),
                JwtAlgorithm::RS256 => {
                    let path = fxgate_config::expand_appdir(&j.key_file, config_dir);
                    if j.key_file.is_empty() {
                        errs.push(Invalid::new(g("key_file"), "RS256 needs a key_file"));
                    } else if let Err(e) = std::fs::read(&path) {
                        errs.push(Invalid::new(g("key_file"), format!("cannot read {}: {e}", path.display())));
                    }
                }
                _ => {}
            }
            if j.exp_s == 0 {
                errs.push(Invalid::new(g("exp_s"), "must be at least 1 s"));
            }
        }
    }
}
