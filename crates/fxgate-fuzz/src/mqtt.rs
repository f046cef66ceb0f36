//! MQTT: the packets a broker sends (3.1.1 and 5), the payloads of subscribed topics (raw
//! text and JSON with value, timestamp and quality pointers) and Sparkplug B payloads
//! (NCMD/DCMD metrics, a host's STATE).

use bytes::BytesMut;
use fxgate_mqtt::config::{MqttVersion, PayloadFormat};
use fxgate_mqtt::decode::Decoder;
use fxgate_mqtt::sparkplug::proto::Payload;
use fxgate_mqtt::sparkplug::{metric_value, state_online, to_variant};
use fxgate_mqtt::wire::Codec;
use opcua::types::DateTime;
use prost::Message as _;

use crate::TAG_TYPES as TYPES;

/// Bytes from a broker: the first byte chooses the protocol version; every whole packet is
/// taken off the stream until it ends or breaks.
pub fn packet(data: &[u8]) {
    let [v, rest @ ..] = data else { return };
    let codec = Codec(if v & 1 == 0 { MqttVersion::V311 } else { MqttVersion::V5 });
    let mut buf = BytesMut::from(rest);
    while let Ok(Some(_)) = codec.decode(&mut buf) {}
}

/// A subscribed topic's payload, decoded for a tag of each type, raw and as JSON at the
/// pointers the first byte chooses.
pub fn payload(data: &[u8]) {
    let [sel, payload @ ..] = data else { return };
    let paths = ["", "/value", "/v/0", "/d/value"];
    let json = serde_json::from_slice::<serde_json::Value>(payload);
    let (doc, err) = match &json {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e.to_string())),
    };
    for data_type in TYPES {
        for format in [PayloadFormat::Raw, PayloadFormat::Json] {
            let d = Decoder {
                format,
                data_type,
                value_path: paths[usize::from(sel & 3)].to_string(),
                timestamp_path: (sel & 4 != 0).then(|| "/ts".to_string()),
                quality_path: (sel & 8 != 0).then(|| "/q".to_string()),
            };
            let _ = d.decode(payload, doc, err.as_deref(), DateTime::now());
        }
    }
}

/// A Sparkplug B payload (as an NCMD or DCMD carries it): every metric's value converted to
/// each tag type and back; also read as a primary host's STATE.
pub fn sparkplug(data: &[u8]) {
    let _ = state_online(data);
    let Ok(p) = Payload::decode(data) else { return };
    for m in &p.metrics {
        let Some(v) = &m.value else { continue };
        for t in TYPES {
            if let Some(variant) = to_variant(v, t) {
                let _ = metric_value(&variant);
            }
        }
    }
}
