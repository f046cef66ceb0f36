//! Seed inputs for every target, from the messages the test suite exchanges with its peers
//! and the configuration texts of the repository and its tests. `fuzz-seeds` writes them
//! into `fuzz/corpus/<target>/`, where fuzzing grows them and the tests replay them.

use std::path::Path;

use fxgate_mqtt::sparkplug::proto::{Metric, MetricValue, Payload};
use opcua::types::{
    Argument, BinaryEncodable, DataValue, DateTime, ExpandedNodeId, ExtensionObject, LocalizedText, NodeId,
    QualifiedName, StatusCode, Variant,
};
use prost::Message as _;

/// A seed: its target's name and its bytes.
pub type Seed = (&'static str, Vec<u8>);

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace().filter_map(|b| u8::from_str_radix(b, 16).ok()).collect()
}

fn prefixed(first: u8, rest: &[u8]) -> Vec<u8> {
    let mut v = vec![first];
    v.extend_from_slice(rest);
    v
}

/// Configuration texts: the embedded default, the example, and every string literal of the
/// Rust sources under `repo/crates` that holds a TOML section (the tests' configurations).
fn configs(repo: &Path) -> Vec<Seed> {
    let mut out = vec![("config", fxgate::registry::DEFAULT_CONFIG.as_bytes().to_vec())];
    if let Ok(t) = std::fs::read(repo.join("config/fxgate.example.toml")) {
        out.push(("config", t));
    }
    let mut files = Vec::new();
    collect_rs(&repo.join("crates"), &mut files);
    files.sort();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else { continue };
        for lit in string_literals(&text) {
            let is_config = ["[[", "[server]", "[http]", "[fx]", "[[line]]"].iter().any(|k| lit.contains(k));
            if is_config && lit.contains('\n') && !out.iter().any(|(_, d)| d == lit.as_bytes()) {
                out.push(("config", lit.into_bytes()));
            }
        }
    }
    out
}

/// The string literals of Rust source `text`, escapes resolved (`\n`, `\t`, `\"`, `\\`,
/// line continuations); raw strings as written.
fn string_literals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut prev = ' ';
    while let Some(c) = chars.next() {
        if c == 'r' && chars.peek() == Some(&'#') && !prev.is_alphanumeric() {
            chars.next();
            if chars.next() != Some('"') {
                prev = '#';
                continue;
            }
            let mut lit = String::new();
            while let Some(c) = chars.next() {
                if c == '"' && chars.peek() == Some(&'#') {
                    chars.next();
                    break;
                }
                lit.push(c);
            }
            out.push(lit);
            prev = '#';
        } else if c == '"' && prev != '\'' {
            let mut lit = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => lit.push('\n'),
                        Some('t') => lit.push('\t'),
                        Some('\n') => {
                            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                                chars.next();
                            }
                        }
                        Some(other) => lit.push(other),
                        None => break,
                    },
                    c => lit.push(c),
                }
            }
            out.push(lit);
            prev = '"';
        } else {
            prev = c;
        }
    }
    out
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() && !p.ends_with("target") {
            collect_rs(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn modbus() -> Vec<Seed> {
    let requests = [
        "00 01 00 00 00 06 01 03 00 00 00 0A",
        "00 02 00 00 00 06 01 01 00 00 00 10",
        "00 03 00 00 00 06 01 02 00 05 00 03",
        "00 04 00 00 00 06 01 04 00 00 00 02",
        "00 05 00 00 00 06 01 05 00 01 FF 00",
        "00 06 00 00 00 06 01 06 00 02 12 34",
        "00 07 00 00 00 09 01 0F 00 00 00 0A 02 05 02",
        "00 08 00 00 00 0B 01 10 00 0A 00 02 04 00 01 00 02",
        "00 09 00 00 00 06 01 03 00 00 00 7E",
        "00 0A 00 00 00 06 01 08 00 00 12 34",
        "00 0B 00 00 00 08 01 10 00 00 00 02 02 00 07",
        "00 01 00 00 00 06 01 03 00 00 00 01 00 02 00 00 00 06 01 06 00 00 00 2A",
    ];
    let responses = [
        // sel: table (0 coil, 1 discrete, 2 input, 3 holding) + start << 2; quantity; answer.
        "03 02 00 01 00 00 00 07 01 03 04 00 2A 41 20",
        "03 04 00 01 00 00 00 0B 01 03 08 40 49 0F DB 00 00 00 00",
        "02 01 00 01 00 00 00 05 01 04 02 FF FF",
        "00 0A 00 01 00 00 00 05 01 01 02 05 02",
        "01 03 00 01 00 00 00 04 01 02 01 05",
        "03 02 00 01 00 00 00 03 01 83 02",
        "03 02 00 01 00 00 00 05 01 03 02 00 2A",
        "07 08 00 01 00 00 00 13 01 03 10 48 65 6C 6C 6F 00 00 00 00 00 00 00 00 00 00 01",
    ];
    requests.iter().map(|h| ("modbus_request", hex(h))).chain(responses.iter().map(|h| ("modbus_response", hex(h)))).collect()
}

fn websocket() -> Vec<Seed> {
    let commands = [
        r#"{"op": "write", "tag": "Demo/Setpoint", "v": 42.5, "id": 1}"#,
        r#"{"op": "write", "tag": "Demo/Setpoint", "v": "not a number"}"#,
        r#"{"op": "write", "tag": "Sim/T3", "v": [1, 2, {"a": null}], "id": "x"}"#,
        r#"{"op": "write", "tag": "Sim/T11", "v": true, "id": 2}"#,
        r#"{"op": "read", "tags": ["Demo/Setpoint", "Sim/T1"], "id": 3}"#,
        r#"{"op": "read", "id": 12}"#,
        r#"{"op": "browse", "path": "Demo/*", "id": 4}"#,
        r#"{"op": "browse", "path": "Sim/{T1,T[2-4]}", "id": 5}"#,
        r#"{"op": "browse", "path": "**/[!a]?", "id": 6}"#,
        r#"{"op": "ack", "seq": 17}"#,
        r#"{"op": "frobnicate", "id": 9}"#,
    ];
    let mut out = Vec::new();
    for c in commands {
        out.push(("websocket_command", prefixed(0, c.as_bytes())));
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(c) {
            let mut cbor = Vec::new();
            if ciborium::into_writer(&v, &mut cbor).is_ok() {
                out.push(("websocket_command", prefixed(1, &cbor)));
            }
        }
    }
    out
}

fn da() -> Vec<Seed> {
    let ids = [
        "ns=2;s=Demo.Temperature",
        "ns-4;s-FL102",
        "ns=0;i=2258",
        "ns-3,i-1001",
        "ns=1;g=72962B91-FA75-4AE6-8D28-B404DC7DAF63",
        "ns=2;b=AQID",
        "s=Plain",
        "Upstream:ns=2;s=Plant.Temperature",
        "ns=2;s=A;B=C",
        "12.5e-3",
    ];
    ids.iter().map(|i| ("da_item_id", i.as_bytes().to_vec())).collect()
}

/// Variants and values as servers send them: every scalar kind, arrays, matrices, the
/// NodeId kinds, QualifiedNames, an Argument structure, nested variants.
fn variants() -> Vec<Variant> {
    let node = NodeId::new(2, "Plant.Temperature");
    let arg = Argument {
        name: "Setpoint".into(),
        data_type: NodeId::new(3, 3003u32),
        value_rank: -1,
        array_dimensions: None,
        description: LocalizedText::new("en", "a setpoint"),
    };
    vec![
        Variant::Boolean(true),
        Variant::SByte(-3),
        Variant::Int32(-42),
        Variant::UInt64(u64::MAX),
        Variant::Float(1.5),
        Variant::Double(f64::NAN),
        Variant::from("text"),
        Variant::DateTime(Box::new(DateTime::now())),
        Variant::StatusCode(StatusCode::BadNoCommunication),
        Variant::from(node.clone()),
        Variant::from(ExpandedNodeId::from(NodeId::new(1, 7u32))),
        Variant::from(QualifiedName::new(2, "Temperature")),
        Variant::from(LocalizedText::new("de", "Temperatur")),
        Variant::from(vec![1.0f64, 2.0, 3.0]),
        Variant::from(vec![node.clone(), NodeId::new(0, 85u32)]),
        Variant::from(ExtensionObject::from_message(arg)),
        Variant::Variant(Box::new(Variant::from(QualifiedName::new(3, "Inner")))),
        Variant::from(vec![
            Variant::Variant(Box::new(Variant::from(node))),
            Variant::Variant(Box::new(Variant::from(QualifiedName::new(1, "Q")))),
        ]),
    ]
}

fn opcua_values() -> Vec<Seed> {
    let ctx = opcua::types::ContextOwned::default();
    let ctx = ctx.context();
    let mut out = Vec::new();
    for (i, v) in variants().into_iter().enumerate() {
        let mut bytes = Vec::new();
        if v.encode(&mut bytes, &ctx).is_ok() {
            out.push(("da_value", bytes));
        }
        let dv = DataValue {
            value: Some(v),
            status: Some(StatusCode::Good),
            source_timestamp: Some(DateTime::now()),
            ..Default::default()
        };
        let mut bytes = Vec::new();
        if dv.encode(&mut bytes, &ctx).is_ok() {
            out.push(("upstream_value", prefixed((i as u8 % 5) + 1 + 8 * (i as u8 % 3), &bytes)));
        }
    }
    out
}

fn iec104() -> Vec<Seed> {
    let streams = [
        "68 04 07 00 00 00",
        "68 04 0B 00 00 00 68 04 43 00 00 00 68 04 83 00 00 00",
        "68 04 01 00 02 00",
        // C_IC_NA_1 general interrogation, activation.
        "68 0E 00 00 00 00 64 01 06 00 01 00 00 00 00 14",
        // M_ME_NC_1 short float 1.5 at IOA 1.
        "68 12 02 00 00 00 0D 01 03 00 01 00 01 00 00 00 00 C0 3F 00",
        // M_SP_TB_1 single point with CP56Time2a.
        "68 15 04 00 00 00 1E 01 03 00 01 00 0A 00 00 01 10 27 1E 0A 06 0C 1A",
        // C_SC_NA_1 single command, select.
        "68 0E 06 00 00 00 2D 01 06 00 01 00 05 00 00 81",
        // M_ME_NB_1 scaled values, a sequence of two.
        "68 13 08 00 00 00 0B 82 14 00 01 00 64 00 00 0A 00 00 14 00 00",
        // M_IT_NA_1 integrated totals.
        "68 12 0A 00 00 00 0F 01 25 00 01 00 C8 00 00 39 30 00 00 05",
        // C_SE_NC_1 set-point short float, execute; C_CS_NA_1 clock sync.
        "68 12 0C 00 00 00 32 01 06 00 01 00 10 00 00 00 00 20 41 00",
        "68 14 0E 00 00 00 67 01 06 00 01 00 00 00 00 10 27 1E 0A 06 0C 1A",
    ];
    streams.iter().map(|h| ("iec104_apdu", hex(h))).collect()
}

fn mqtt() -> Vec<Seed> {
    let v4 = [
        "20 02 00 00",
        "20 02 01 00 90 03 00 01 01",
        "30 0B 00 05 61 2F 62 2F 63 31 32 2E 35",
        "32 0D 00 05 61 2F 62 2F 63 00 07 31 32 2E 35 40 02 00 07",
        "50 02 00 08 62 02 00 08 70 02 00 08 D0 00",
        "90 04 00 02 00 80",
    ];
    let v5 = [
        "20 03 00 00 00",
        "20 06 01 00 03 21 00 03",
        "32 0E 00 05 61 2F 62 2F 63 00 07 00 31 32 2E 35",
        "40 04 00 07 87 00 50 04 00 08 00 00",
        "90 04 00 01 00 01 E0 02 8E 00",
    ];
    let mut out: Vec<Seed> = v4.iter().map(|h| ("mqtt_packet", prefixed(0, &hex(h)))).collect();
    out.extend(v5.iter().map(|h| ("mqtt_packet", prefixed(1, &hex(h)))));
    let payloads = [
        (0u8, "12.5"),
        (0, "true"),
        (0, "-7"),
        (1, r#"{"value": 3.5, "ts": "2026-12-04T10:00:00Z", "q": "Good"}"#),
        (13, r#"{"value": 3.5, "ts": 1764842400000, "q": 2150891520}"#),
        (2, r#"{"v": [1, 2]}"#),
        (15, r#"{"d": {"value": "x"}, "ts": "not a time", "q": "Bad_SensorFailure"}"#),
    ];
    out.extend(payloads.iter().map(|(s, p)| ("mqtt_payload", prefixed(*s, p.as_bytes()))));
    let metric = |name: &str, alias, datatype, value| Metric {
        name: Some(name.to_string()),
        alias: Some(alias),
        datatype: Some(datatype),
        value: Some(value),
        ..Default::default()
    };
    let p = Payload {
        timestamp: Some(1_764_842_400_000),
        seq: Some(3),
        metrics: vec![
            metric("Node Control/Rebirth", 0, 11, MetricValue::BooleanValue(true)),
            metric("Setpoint", 2, 10, MetricValue::DoubleValue(42.5)),
            metric("Count", 3, 7, MetricValue::LongValue(u64::MAX)),
            metric("Small", 4, 1, MetricValue::IntValue(0xFFFF_FF80)),
            metric("Ratio", 5, 9, MetricValue::FloatValue(0.25)),
            metric("Name", 6, 12, MetricValue::StringValue("pump".into())),
            metric("Blob", 7, 17, MetricValue::BytesValue(vec![1, 2, 3])),
        ],
        ..Default::default()
    };
    out.push(("sparkplug_payload", p.encode_to_vec()));
    out.push(("sparkplug_payload", b"ONLINE".to_vec()));
    out.push(("sparkplug_payload", br#"{"online": true, "timestamp": 1764842400000}"#.to_vec()));
    out
}

/// Every seed, with the configuration texts found under `repo`.
pub fn seeds(repo: &Path) -> Vec<Seed> {
    let mut out = configs(repo);
    out.extend(modbus());
    out.extend(websocket());
    out.extend(da());
    out.extend(opcua_values());
    out.extend(iec104());
    out.extend(mqtt());
    out.extend(opn());
    out.extend(trust_lists());
    out.extend(uadp());
    out
}

/// UADP datagrams as fxgate's writer groups and other publishers send them: each field
/// encoding, each PublisherId type, several DataSetMessages, a keep-alive and a delta frame.
fn uadp() -> Vec<Seed> {
    use fxgate_pubsub::uadp::{
        encode, encode_raw_field, DataSetMessage, FieldEncoding, GroupHeader, MessageKind, NetworkMessage, Payload, PublisherId,
    };
    use opcua::types::{ContextOwned, DataValue, DateTime, StatusCode};
    let ctx = ContextOwned::default();
    let c = ctx.context();
    let values = [Variant::Double(1.5), Variant::Boolean(true), Variant::Int32(-7), Variant::String("abc".into())];
    let dsm = |encoding, kind, payload| DataSetMessage {
        valid: true,
        encoding,
        kind,
        sequence_number: Some(7),
        timestamp: Some(DateTime::from(133_000_000_000_000_000i64)),
        picoseconds: None,
        status: Some(0),
        config_major: None,
        config_minor: None,
        payload,
    };
    let mut raw = Vec::new();
    for (i, v) in values[1..].iter().enumerate() {
        let _ = encode_raw_field(i, v, &c, &mut raw);
    }
    let variant = Payload::Fields(values.iter().cloned().map(DataValue::value_only).collect());
    let datavalue = Payload::Fields(
        values
            .iter()
            .map(|v| DataValue { value: Some(v.clone()), status: Some(StatusCode::Good), source_timestamp: Some(DateTime::from(133_000_000_000_000_000i64)), ..Default::default() })
            .collect(),
    );
    let sets = vec![
        vec![dsm(FieldEncoding::Variant, MessageKind::KeyFrame, variant.clone())],
        vec![dsm(FieldEncoding::RawData, MessageKind::KeyFrame, Payload::Raw(raw))],
        vec![dsm(FieldEncoding::DataValue, MessageKind::KeyFrame, datavalue), dsm(FieldEncoding::Variant, MessageKind::KeepAlive, Payload::None)],
        vec![dsm(FieldEncoding::Variant, MessageKind::DeltaFrame, Payload::Delta(vec![(2, DataValue::value_only(Variant::Int32(9)))])), dsm(FieldEncoding::Variant, MessageKind::KeyFrame, variant)],
    ];
    let ids = [PublisherId::UInt16(1001), PublisherId::Byte(1), PublisherId::UInt32(70_000), PublisherId::String("plc-1".into())];
    let mut out = Vec::new();
    for (messages, publisher_id) in sets.into_iter().zip(ids) {
        let msg = NetworkMessage {
            publisher_id: Some(publisher_id),
            group: Some(GroupHeader { writer_group_id: Some(5), group_version: Some(77), network_message_number: Some(1), sequence_number: Some(3) }),
            writer_ids: Some((1..=messages.len() as u16).collect()),
            messages,
            ..Default::default()
        };
        let mut d = Vec::new();
        if encode(&msg, &c, &mut d).is_ok() {
            out.push(("uadp_datagram", d));
        }
    }
    out
}

/// A CA-issued certificate (P-256, `seeds/fuzz-leaf.der`, made with `openssl req`/`x509` for
/// these seeds) and its self-signed CA (`seeds/fuzz-ca.der`): real DER for the fuzzer to mutate.
const LEAF: &[u8] = include_bytes!("../seeds/fuzz-leaf.der");
const CA: &[u8] = include_bytes!("../seeds/fuzz-ca.der");

/// OPN chunks as a client sends them: Basic256Sha256 with a certificate (a DER sequence the
/// fuzzer can grow into one, a CA-issued one, one with its CA sent after it, a self-signed
/// one), None, and a lying length.
fn opn() -> Vec<Seed> {
    let chunk = |uri: &[u8], cert: &[u8], len: i32| {
        let mut c = b"OPNF\0\0\0\0".to_vec();
        c.extend_from_slice(&0u32.to_le_bytes());
        c.extend_from_slice(&(uri.len() as i32).to_le_bytes());
        c.extend_from_slice(uri);
        c.extend_from_slice(&len.to_le_bytes());
        c.extend_from_slice(cert);
        c.extend_from_slice(&(-1i32).to_le_bytes());
        c
    };
    let secure = b"http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256";
    let der = b"\x30\x82\x01\x0a\x02\x82\x01\x01\x00";
    vec![
        ("opn_certificate", chunk(secure, der, der.len() as i32)),
        ("opn_certificate", chunk(b"http://opcfoundation.org/UA/SecurityPolicy#None", b"", -1)),
        ("opn_certificate", chunk(secure, der, i32::MAX)),
        ("opn_certificate", chunk(secure, LEAF, LEAF.len() as i32)),
        ("opn_certificate", chunk(secure, &[LEAF, CA].concat(), (LEAF.len() + CA.len()) as i32)),
        ("opn_certificate", chunk(secure, CA, CA.len() as i32)),
    ]
}

/// TrustList files as a GDS writes them: every list filled with real DER, only some lists,
/// and an empty one.
fn trust_lists() -> Vec<Seed> {
    use fxgate_opcua_server::gds::trust_file::encode_trust_list;
    use fxgate_pki::TrustListFiles;
    let full = TrustListFiles {
        trusted_certificates: vec![CA.to_vec(), LEAF.to_vec()],
        trusted_crls: vec![b"\x30\x03\x02\x01\x01".to_vec()],
        issuer_certificates: vec![CA.to_vec()],
        issuer_crls: Vec::new(),
    };
    vec![
        ("trust_list", encode_trust_list(full.clone(), fxgate_pki::ALL_LISTS)),
        ("trust_list", encode_trust_list(full, fxgate_pki::TRUSTED_CERTIFICATES)),
        ("trust_list", encode_trust_list(TrustListFiles::default(), 0)),
    ]
}

/// The file name of a corpus entry: a hash of its bytes (FNV-1a, 64 bits), so writing the
/// seeds twice gives the same files.
pub fn file_name(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("seed-{h:016x}")
}
