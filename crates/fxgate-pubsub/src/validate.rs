//! Checks of `[[pubsub]]`: every problem names its field.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use fxgate_config::{check_name, Invalid, Known};

use crate::config::{publisher_id, EncodingConfig, IdType, IdValue, PubSubConfig};
use crate::udp::{parse_udp_url, UrlError};

/// Adds every problem of the connections (under `key`) to `errs`.
pub(crate) fn validate(key: &str, list: &[PubSubConfig], known: &Known, errs: &mut Vec<Invalid>) {
    let mut names = HashMap::new();
    let mut fx_first: Option<usize> = None;
    for (i, c) in list.iter().enumerate() {
        let f = |k: &str| format!("{key}[{i}].{k}");
        if let Err(e) = check_name(&c.name) {
            errs.push(Invalid::new(f("name"), e.to_string()));
        } else if let Some(first) = names.insert(c.name.as_str(), i) {
            errs.push(Invalid::new(f("name"), format!("connection `{}` is defined at {key}[{first}].name already", c.name)));
        }
        match (&c.publisher_id, c.writer_group.is_empty()) {
            (None, false) => errs.push(Invalid::new(f("publisher_id"), "is needed to publish (the connection has writer groups)")),
            (Some(id), _) => check_id(id, c.publisher_id_type, &f("publisher_id"), errs),
            (None, true) => {}
        }
        match (&c.listen, c.reader.is_empty()) {
            (None, false) => errs.push(Invalid::new(f("listen"), "is needed to receive (the connection has readers)")),
            (Some(url), _) => check_url(url, &f("listen"), errs),
            (None, true) => {}
        }
        if let Some(a) = &c.interface {
            if a.parse::<std::net::Ipv4Addr>().is_err() {
                errs.push(Invalid::new(f("interface"), format!("`{a}` is not an IPv4 address")));
            }
        }
        if c.fx {
            if let Some(first) = fx_first {
                errs.push(Invalid::new(f("fx"), format!("OPC UA FX uses {key}[{first}] already (at most one connection)")));
            }
            fx_first.get_or_insert(i);
            if c.publisher_id.is_none() {
                errs.push(Invalid::new(f("publisher_id"), "is needed for OPC UA FX (the DefaultPublisherId of its reservations)"));
            }
        }
        if c.multicast_ttl == 0 || c.multicast_ttl > 255 {
            errs.push(Invalid::new(f("multicast_ttl"), "must be 1 to 255"));
        }
        let mut group_ids = HashMap::new();
        let mut writer_ids = HashMap::new();
        for (j, g) in c.writer_group.iter().enumerate() {
            let h = |k: &str| format!("{key}[{i}].writer_group[{j}].{k}");
            if let Err(e) = check_name(&g.name) {
                errs.push(Invalid::new(h("name"), e.to_string()));
            }
            if g.writer_group_id == 0 {
                errs.push(Invalid::new(h("writer_group_id"), "must not be 0"));
            } else if let Some(first) = group_ids.insert(g.writer_group_id, j) {
                errs.push(Invalid::new(h("writer_group_id"), format!("is the id of writer_group[{first}] already")));
            }
            if !(1..=3_600_000).contains(&g.publishing_interval_ms) {
                errs.push(Invalid::new(h("publishing_interval_ms"), "must be 1 to 3600000 ms"));
            }
            check_url(&g.destination, &h("destination"), errs);
            if !(64..=65_507).contains(&g.max_network_message_size) {
                errs.push(Invalid::new(h("max_network_message_size"), "must be 64 to 65507 bytes (a UDP datagram)"));
            }
            if g.writer.is_empty() {
                errs.push(Invalid::new(h("writer"), "a writer group needs at least one writer"));
            }
            for (k, w) in g.writer.iter().enumerate() {
                let w_f = |x: &str| format!("{key}[{i}].writer_group[{j}].writer[{k}].{x}");
                if let Err(e) = check_name(&w.name) {
                    errs.push(Invalid::new(w_f("name"), e.to_string()));
                }
                if w.data_set_writer_id == 0 {
                    errs.push(Invalid::new(w_f("data_set_writer_id"), "must not be 0"));
                } else if let Some(first) = writer_ids.insert(w.data_set_writer_id, (j, k)) {
                    errs.push(Invalid::new(
                        w_f("data_set_writer_id"),
                        format!("is the id of writer_group[{}].writer[{}] already", first.0, first.1),
                    ));
                }
                if w.tags.len() > u16::MAX as usize {
                    errs.push(Invalid::new(w_f("tags"), "at most 65535 fields"));
                }
                for (t, path) in w.tags.iter().enumerate() {
                    if !known.has_tag(path) {
                        errs.push(Invalid::new(format!("{}[{t}]", w_f("tags")), format!("no tag `{path}` (a path `<source>/<tag>`)")));
                    }
                }
                if w.encoding == EncodingConfig::Raw && w.tags.is_empty() {
                    errs.push(Invalid::new(w_f("encoding"), "a heartbeat writer (no tags) has no fields to encode"));
                }
            }
        }
        for (j, r) in c.reader.iter().enumerate() {
            let h = |k: &str| format!("{key}[{i}].reader[{j}].{k}");
            if let Err(e) = check_name(&r.name) {
                errs.push(Invalid::new(h("name"), e.to_string()));
            }
            check_id(&r.publisher_id, r.publisher_id_type, &h("publisher_id"), errs);
            if r.writer_group_id == 0 {
                errs.push(Invalid::new(h("writer_group_id"), "must not be 0"));
            }
            if r.data_set_writer_id == 0 {
                errs.push(Invalid::new(h("data_set_writer_id"), "must not be 0"));
            }
            if let Some(a) = &r.publisher_address {
                if a.parse::<IpAddr>().is_err() {
                    errs.push(Invalid::new(h("publisher_address"), format!("`{a}` is not an IP address")));
                }
            }
            if !(1..=3_600_000).contains(&r.message_receive_timeout_ms) {
                errs.push(Invalid::new(h("message_receive_timeout_ms"), "must be 1 to 3600000 ms"));
            }
            let mut seen = HashSet::new();
            for (k, fld) in r.fields.iter().enumerate() {
                let field = format!("{key}[{i}].reader[{j}].fields[{k}].name");
                if let Err(e) = check_name(&fld.name) {
                    errs.push(Invalid::new(field, e.to_string()));
                } else if !seen.insert(fld.name.as_str()) {
                    errs.push(Invalid::new(field, format!("field `{}` is defined twice in reader `{}`", fld.name, r.name)));
                }
            }
        }
    }
}

fn check_id(id: &IdValue, t: Option<IdType>, field: &str, errs: &mut Vec<Invalid>) {
    match id {
        IdValue::Text(s) if s.is_empty() => errs.push(Invalid::new(field, "must not be empty")),
        IdValue::Text(_) if t.is_some() => {
            errs.push(Invalid::new(field.replace("publisher_id", "publisher_id_type"), "is only for an integer publisher_id"))
        }
        _ if publisher_id(id, t).is_none() => errs.push(Invalid::new(
            field,
            format!("{} does not fit a {:?} (publisher_id_type)", match id { IdValue::Number(n) => n.to_string(), IdValue::Text(s) => s.clone() }, t.unwrap_or_default()),
        )),
        _ => {}
    }
}

fn check_url(url: &str, field: &str, errs: &mut Vec<Invalid>) {
    if let Err(e) = parse_udp_url(url) {
        let msg = match e {
            UrlError::Parse(fxgate_config::udp_url::UdpUrlError::Scheme) => format!("`{url}` is not an `opc.udp://<address>:<port>` URL"),
            other => format!("`{url}`: {other}"),
        };
        errs.push(Invalid::new(field, msg));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<(String, String)> {
        let list: crate::PubSubConnections = toml::from_str::<toml::Table>(text)
            .ok()
            .and_then(|t| t.get("pubsub").cloned())
            .and_then(|v| v.try_into().ok())
            .unwrap_or_else(|| panic!("does not parse: {text}"));
        let mut known = Known::default();
        known.tag("Demo/Sine".into());
        let mut errs = Vec::new();
        validate("pubsub", &list, &known, &mut errs);
        errs.into_iter().map(|e| (e.field, e.message)).collect()
    }

    const GOOD: &str = r#"
[[pubsub]]
name = "C"
publisher_id = 1
listen = "opc.udp://239.0.0.1:4840"
[[pubsub.writer_group]]
name = "G"
writer_group_id = 1
destination = "opc.udp://239.0.0.1:4840"
[[pubsub.writer_group.writer]]
name = "W"
data_set_writer_id = 1
tags = ["Demo/Sine"]
[[pubsub.reader]]
name = "R"
publisher_id = 1
writer_group_id = 1
data_set_writer_id = 1
fields = [{ name = "Sine", type = "Double" }]
"#;

    #[test]
    fn a_good_connection_has_no_errors() {
        assert_eq!(errors(GOOD), vec![]);
    }

    #[test]
    fn every_problem_names_its_field() {
        let cases = [
            ("publisher_id = 1\n", "publisher_id = 70000\n", "pubsub[0].publisher_id"),
            ("publisher_id = 1\nlisten", "publisher_id = \"x\"\npublisher_id_type = \"UInt32\"\nlisten", "pubsub[0].publisher_id_type"),
            ("listen = \"opc.udp://239.0.0.1:4840\"\n", "", "pubsub[0].listen"),
            ("writer_group_id = 1\n", "writer_group_id = 0\n", "pubsub[0].writer_group[0].writer_group_id"),
            ("data_set_writer_id = 1\ntags", "data_set_writer_id = 0\ntags", "pubsub[0].writer_group[0].writer[0].data_set_writer_id"),
            ("tags = [\"Demo/Sine\"]", "tags = [\"Demo/Sine\", \"Demo/Gone\"]", "pubsub[0].writer_group[0].writer[0].tags[1]"),
            ("destination = \"opc.udp://239.0.0.1:4840\"", "destination = \"udp://x:1\"", "pubsub[0].writer_group[0].destination"),
            ("fields = [{ name = \"Sine\", type = \"Double\" }]", "fields = [{ name = \"A\", type = \"Double\" }, { name = \"A\", type = \"Int32\" }]", "pubsub[0].reader[0].fields[1].name"),
            ("name = \"R\"\n", "name = \"R\"\nmessage_receive_timeout_ms = 0\n", "pubsub[0].reader[0].message_receive_timeout_ms"),
            ("name = \"R\"\n", "name = \"R\"\npublisher_address = \"nowhere\"\n", "pubsub[0].reader[0].publisher_address"),
        ];
        for (from, to, field) in cases {
            assert!(GOOD.contains(from), "{from}");
            let got = errors(&GOOD.replacen(from, to, 1));
            assert!(got.iter().any(|(f, _)| f == field), "{field}: {got:?}");
        }
        // The removed publisher_id of a connection with writer groups.
        let got = errors(&GOOD.replacen("publisher_id = 1\nlisten", "listen", 1));
        assert!(got.iter().any(|(f, m)| f == "pubsub[0].publisher_id" && m.contains("writer groups")), "{got:?}");
        // Two groups, two writers with one id each.
        let twice = format!("{GOOD}\n[[pubsub.writer_group]]\nname = \"G2\"\nwriter_group_id = 1\ndestination = \"opc.udp://127.0.0.1:9\"\n[[pubsub.writer_group.writer]]\nname = \"W2\"\ndata_set_writer_id = 1\n");
        let got = errors(&twice);
        assert!(got.iter().any(|(f, _)| f == "pubsub[0].writer_group[1].writer_group_id"), "{got:?}");
        assert!(got.iter().any(|(f, _)| f == "pubsub[0].writer_group[1].writer[0].data_set_writer_id"), "{got:?}");
    }
}
