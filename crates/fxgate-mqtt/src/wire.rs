//! The MQTT packets fxgate's session uses, the same for 3.1.1 and 5, and their encoding
//! and decoding with `rumqttc`'s codecs (`rumqttc::mqttbytes::v4`, `rumqttc::v5::mqttbytes::v5`).

use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes::v4;
use rumqttc::v5::mqttbytes::v5;

use crate::config::{MqttVersion, Qos};

/// The largest packet accepted from a broker (a payload beyond it closes the connection).
pub const MAX_INCOMING: usize = 16 * 1024 * 1024;
/// The largest packet fxgate sends.
pub const MAX_OUTGOING: usize = 16 * 1024 * 1024;

/// An application message, in or out.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Topic name.
    pub topic: String,
    /// Payload.
    pub payload: Bytes,
    /// QoS.
    pub qos: Qos,
    /// Retained.
    pub retain: bool,
}

/// The Last Will.
#[derive(Debug, Clone, PartialEq)]
pub struct Will {
    /// Its topic.
    pub topic: String,
    /// Its payload.
    pub payload: Bytes,
    /// Retained.
    pub retain: bool,
}

/// What fxgate sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// CONNECT.
    Connect {
        /// Client identifier.
        client_id: String,
        /// Keep-alive, s.
        keep_alive: u16,
        /// Clean session / clean start.
        clean: bool,
        /// Last Will.
        will: Option<Will>,
        /// User name and password.
        login: Option<(String, String)>,
        /// MQTT 5: how long the broker keeps the session after the connection is lost, s
        /// (absent: it ends with the connection; 3.1.1 brokers keep a persistent one).
        session_expiry: Option<u32>,
    },
    /// PUBLISH with its packet id (0 for QoS 0).
    Publish {
        /// The message.
        msg: Message,
        /// Packet identifier.
        pkid: u16,
        /// Sent before on this session.
        dup: bool,
    },
    /// PUBACK.
    PubAck(u16),
    /// PUBREC.
    PubRec(u16),
    /// PUBREL.
    PubRel(u16),
    /// PUBCOMP.
    PubComp(u16),
    /// SUBSCRIBE.
    Subscribe {
        /// Packet identifier.
        pkid: u16,
        /// Filters and their QoS.
        filters: Vec<(String, Qos)>,
    },
    /// PINGREQ.
    PingReq,
    /// DISCONNECT (normal).
    Disconnect,
}

/// What a broker sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// CONNACK.
    ConnAck {
        /// `None` when accepted, else the reason.
        refusal: Option<Refusal>,
        /// The broker resumed the session it kept (`clean_session = false`).
        session_present: bool,
        /// MQTT 5: the most QoS 1 and 2 publishes the broker takes unacknowledged (its
        /// Receive Maximum, §3.2.2.3.3); absent means 65,535.
        receive_max: Option<u16>,
    },
    /// PUBLISH.
    Publish {
        /// The message.
        msg: Message,
        /// Packet identifier (0 for QoS 0).
        pkid: u16,
    },
    /// PUBACK, with the reason when the broker refused the message (MQTT 5 reason code
    /// ≥ 0x80, §3.4.2.1: not authorised, quota exceeded, …; it is not delivered).
    PubAck(u16, Option<Refusal>),
    /// PUBREC, likewise (a refused QoS 2 message ends there: no PUBREL).
    PubRec(u16, Option<Refusal>),
    /// PUBREL.
    PubRel(u16),
    /// PUBCOMP.
    PubComp(u16),
    /// SUBACK: the filters the broker refused (by index).
    SubAck {
        /// Packet identifier.
        pkid: u16,
        /// Indexes of refused filters.
        refused: Vec<usize>,
    },
    /// PINGRESP.
    PingResp,
    /// DISCONNECT from the broker (5).
    Disconnect,
    /// Anything a client does not expect (CONNECT, SUBSCRIBE, …): ignored.
    Unexpected,
}

/// Why a broker refused a connection: its reason code and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The CONNACK return code (3.1.1) or reason code (5).
    pub code: u8,
    /// What it means.
    pub text: &'static str,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.text, self.code)
    }
}

/// A packet that cannot be decoded or encoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// MQTT 3.1.1.
    #[error("MQTT 3.1.1 packet: {0}")]
    V4(rumqttc::mqttbytes::Error),
    /// MQTT 5.
    #[error("MQTT 5 packet: {0}")]
    V5(rumqttc::v5::mqttbytes::Error),
}

/// Encodes and decodes packets of one protocol version.
#[derive(Debug, Clone, Copy)]
pub struct Codec(pub MqttVersion);

impl Codec {
    /// The next whole packet in `buf`, taken off it; `None` until one is complete.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Incoming>, WireError> {
        match self.0 {
            MqttVersion::V311 => match v4::Packet::read(buf, MAX_INCOMING) {
                Ok(p) => Ok(Some(from_v4(p))),
                Err(rumqttc::mqttbytes::Error::InsufficientBytes(_)) => Ok(None),
                Err(e) => Err(WireError::V4(e)),
            },
            MqttVersion::V5 => match v5::Packet::read(buf, Some(MAX_INCOMING as u32)) {
                Ok(p) => Ok(Some(from_v5(p))),
                Err(rumqttc::v5::mqttbytes::Error::InsufficientBytes(_)) => Ok(None),
                Err(e) => Err(WireError::V5(e)),
            },
        }
    }

    /// Appends `p` to `buf`.
    pub fn encode(&self, p: Outgoing, buf: &mut BytesMut) -> Result<(), WireError> {
        match self.0 {
            MqttVersion::V311 => to_v4(p).write(buf, MAX_OUTGOING).map(drop).map_err(WireError::V4),
            MqttVersion::V5 => to_v5(p).write(buf, Some(MAX_OUTGOING as u32)).map(drop).map_err(WireError::V5),
        }
    }
}

fn q4(q: Qos) -> rumqttc::mqttbytes::QoS {
    match q {
        Qos::AtMostOnce => rumqttc::mqttbytes::QoS::AtMostOnce,
        Qos::AtLeastOnce => rumqttc::mqttbytes::QoS::AtLeastOnce,
        Qos::ExactlyOnce => rumqttc::mqttbytes::QoS::ExactlyOnce,
    }
}

fn q5(q: Qos) -> rumqttc::v5::mqttbytes::QoS {
    match q {
        Qos::AtMostOnce => rumqttc::v5::mqttbytes::QoS::AtMostOnce,
        Qos::AtLeastOnce => rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
        Qos::ExactlyOnce => rumqttc::v5::mqttbytes::QoS::ExactlyOnce,
    }
}

fn to_v4(p: Outgoing) -> v4::Packet {
    match p {
        Outgoing::Connect { client_id, keep_alive, clean, will, login, session_expiry: _ } => {
            let mut c = v4::Connect::new(client_id);
            c.keep_alive = keep_alive;
            c.clean_session = clean;
            c.last_will = will.map(|w| v4::LastWill { topic: w.topic, message: w.payload, qos: rumqttc::mqttbytes::QoS::AtLeastOnce, retain: w.retain });
            c.login = login.map(|(u, p)| v4::Login::new(u, p));
            v4::Packet::Connect(c)
        }
        Outgoing::Publish { msg, pkid, dup } => {
            let mut p = v4::Publish::from_bytes(msg.topic, q4(msg.qos), msg.payload);
            p.retain = msg.retain;
            p.pkid = pkid;
            p.dup = dup;
            v4::Packet::Publish(p)
        }
        Outgoing::PubAck(id) => v4::Packet::PubAck(v4::PubAck::new(id)),
        Outgoing::PubRec(id) => v4::Packet::PubRec(v4::PubRec::new(id)),
        Outgoing::PubRel(id) => v4::Packet::PubRel(v4::PubRel::new(id)),
        Outgoing::PubComp(id) => v4::Packet::PubComp(v4::PubComp::new(id)),
        Outgoing::Subscribe { pkid, filters } => {
            let mut s = v4::Subscribe::new_many(filters.into_iter().map(|(f, q)| v4::SubscribeFilter::new(f, q4(q))));
            s.pkid = pkid;
            v4::Packet::Subscribe(s)
        }
        Outgoing::PingReq => v4::Packet::PingReq,
        Outgoing::Disconnect => v4::Packet::Disconnect,
    }
}

fn to_v5(p: Outgoing) -> v5::Packet {
    match p {
        Outgoing::Connect { client_id, keep_alive, clean, will, login, session_expiry } => {
            let properties = session_expiry.map(|s| v5::ConnectProperties { session_expiry_interval: Some(s), ..v5::ConnectProperties::new() });
            let c = v5::Connect { keep_alive, client_id, clean_start: clean, properties };
            let will = will.map(|w| v5::LastWill::new(w.topic, w.payload.to_vec(), rumqttc::v5::mqttbytes::QoS::AtLeastOnce, w.retain, None));
            v5::Packet::Connect(c, will, login.map(|(u, p)| v5::Login::new(u, p)))
        }
        Outgoing::Publish { msg, pkid, dup } => {
            let mut p = v5::Publish::new(msg.topic, q5(msg.qos), msg.payload, None);
            p.retain = msg.retain;
            p.pkid = pkid;
            p.dup = dup;
            v5::Packet::Publish(p)
        }
        Outgoing::PubAck(id) => v5::Packet::PubAck(v5::PubAck::new(id, None)),
        Outgoing::PubRec(id) => v5::Packet::PubRec(v5::PubRec::new(id, None)),
        Outgoing::PubRel(id) => v5::Packet::PubRel(v5::PubRel::new(id, None)),
        Outgoing::PubComp(id) => v5::Packet::PubComp(v5::PubComp::new(id, None)),
        Outgoing::Subscribe { pkid, filters } => {
            let mut s = v5::Subscribe::new_many(filters.into_iter().map(|(f, q)| v5::Filter::new(f, q5(q))), None);
            s.pkid = pkid;
            v5::Packet::Subscribe(s)
        }
        Outgoing::PingReq => v5::Packet::PingReq(v5::PingReq),
        Outgoing::Disconnect => v5::Packet::Disconnect(v5::Disconnect::new(v5::DisconnectReasonCode::NormalDisconnection)),
    }
}

fn qos_of4(q: rumqttc::mqttbytes::QoS) -> Qos {
    match q {
        rumqttc::mqttbytes::QoS::AtMostOnce => Qos::AtMostOnce,
        rumqttc::mqttbytes::QoS::AtLeastOnce => Qos::AtLeastOnce,
        rumqttc::mqttbytes::QoS::ExactlyOnce => Qos::ExactlyOnce,
    }
}

fn qos_of5(q: rumqttc::v5::mqttbytes::QoS) -> Qos {
    match q {
        rumqttc::v5::mqttbytes::QoS::AtMostOnce => Qos::AtMostOnce,
        rumqttc::v5::mqttbytes::QoS::AtLeastOnce => Qos::AtLeastOnce,
        rumqttc::v5::mqttbytes::QoS::ExactlyOnce => Qos::ExactlyOnce,
    }
}

/// The refusal in a PUBACK or PUBREC reason (MQTT 5 §3.4.2.1, §3.5.2.1; the two enums of
/// rumqttc have the same variants): `None` when the broker took the message.
macro_rules! publish_refusal {
    ($ty:ty, $reason:expr) => {{
        type R = $ty;
        let (code, text) = match $reason {
            R::Success | R::NoMatchingSubscribers => (0, ""),
            R::UnspecifiedError => (0x80, "unspecified error"),
            R::ImplementationSpecificError => (0x83, "implementation specific error"),
            R::NotAuthorized => (0x87, "not authorized"),
            R::TopicNameInvalid => (0x90, "topic name invalid"),
            R::PacketIdentifierInUse => (0x91, "packet identifier in use"),
            R::QuotaExceeded => (0x97, "quota exceeded"),
            R::PayloadFormatInvalid => (0x99, "payload format invalid"),
        };
        (code != 0).then_some(Refusal { code, text })
    }};
}
fn from_v4(p: v4::Packet) -> Incoming {
    use v4::ConnectReturnCode as C;
    match p {
        v4::Packet::ConnAck(a) => Incoming::ConnAck { receive_max: None, session_present: a.session_present, refusal: match a.code {
            C::Success => None,
            C::RefusedProtocolVersion => Some(Refusal { code: 1, text: "unacceptable protocol version" }),
            C::BadClientId => Some(Refusal { code: 2, text: "client identifier rejected" }),
            C::ServiceUnavailable => Some(Refusal { code: 3, text: "server unavailable" }),
            C::BadUserNamePassword => Some(Refusal { code: 4, text: "bad user name or password" }),
            C::NotAuthorized => Some(Refusal { code: 5, text: "not authorized" }),
        }},
        v4::Packet::Publish(p) => Incoming::Publish {
            msg: Message { topic: p.topic, payload: p.payload, qos: qos_of4(p.qos), retain: p.retain },
            pkid: p.pkid,
        },
        v4::Packet::PubAck(a) => Incoming::PubAck(a.pkid, None),
        v4::Packet::PubRec(a) => Incoming::PubRec(a.pkid, None),
        v4::Packet::PubRel(a) => Incoming::PubRel(a.pkid),
        v4::Packet::PubComp(a) => Incoming::PubComp(a.pkid),
        v4::Packet::SubAck(a) => Incoming::SubAck {
            pkid: a.pkid,
            refused: a.return_codes.iter().enumerate().filter(|(_, c)| matches!(c, v4::SubscribeReasonCode::Failure)).map(|(i, _)| i).collect(),
        },
        v4::Packet::PingResp => Incoming::PingResp,
        v4::Packet::Disconnect => Incoming::Disconnect,
        _ => Incoming::Unexpected,
    }
}

fn from_v5(p: v5::Packet) -> Incoming {
    match p {
        v5::Packet::ConnAck(a) => Incoming::ConnAck { refusal: refusal5(a.code), session_present: a.session_present, receive_max: a.properties.and_then(|p| p.receive_max) },
        v5::Packet::Publish(p) => Incoming::Publish {
            msg: Message { topic: String::from_utf8_lossy(&p.topic).into_owned(), payload: p.payload, qos: qos_of5(p.qos), retain: p.retain },
            pkid: p.pkid,
        },
        v5::Packet::PubAck(a) => Incoming::PubAck(a.pkid, publish_refusal!(v5::PubAckReason, a.reason)),
        v5::Packet::PubRec(a) => Incoming::PubRec(a.pkid, publish_refusal!(v5::PubRecReason, a.reason)),
        v5::Packet::PubRel(a) => Incoming::PubRel(a.pkid),
        v5::Packet::PubComp(a) => Incoming::PubComp(a.pkid),
        v5::Packet::SubAck(a) => Incoming::SubAck {
            pkid: a.pkid,
            refused: a.return_codes.iter().enumerate().filter(|(_, c)| !matches!(c, v5::SubscribeReasonCode::Success(_))).map(|(i, _)| i).collect(),
        },
        v5::Packet::PingResp(_) => Incoming::PingResp,
        v5::Packet::Disconnect(_) => Incoming::Disconnect,
        _ => Incoming::Unexpected,
    }
}

/// The reason codes of MQTT 5 §3.2.2.2.
fn refusal5(code: v5::ConnectReturnCode) -> Option<Refusal> {
    use v5::ConnectReturnCode as C;
    let (code, text) = match code {
        C::Success => return None,
        C::RefusedProtocolVersion => (0x84, "unsupported protocol version"),
        C::BadClientId => (0x85, "client identifier not valid"),
        C::ServiceUnavailable => (0x88, "server unavailable"),
        C::UnspecifiedError => (0x80, "unspecified error"),
        C::MalformedPacket => (0x81, "malformed packet"),
        C::ProtocolError => (0x82, "protocol error"),
        C::ImplementationSpecificError => (0x83, "implementation specific error"),
        C::UnsupportedProtocolVersion => (0x84, "unsupported protocol version"),
        C::ClientIdentifierNotValid => (0x85, "client identifier not valid"),
        C::BadUserNamePassword => (0x86, "bad user name or password"),
        C::NotAuthorized => (0x87, "not authorized"),
        C::ServerUnavailable => (0x88, "server unavailable"),
        C::ServerBusy => (0x89, "server busy"),
        C::Banned => (0x8A, "banned"),
        C::BadAuthenticationMethod => (0x8C, "bad authentication method"),
        C::TopicNameInvalid => (0x90, "topic name invalid"),
        C::PacketTooLarge => (0x95, "packet too large"),
        C::QuotaExceeded => (0x97, "quota exceeded"),
        C::PayloadFormatInvalid => (0x99, "payload format invalid"),
        C::RetainNotSupported => (0x9A, "retain not supported"),
        C::QoSNotSupported => (0x9B, "QoS not supported"),
        C::UseAnotherServer => (0x9C, "use another server"),
        C::ServerMoved => (0x9D, "server moved"),
        C::ConnectionRateExceeded => (0x9F, "connection rate exceeded"),
    };
    Some(Refusal { code, text })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(v: MqttVersion) {
        let c = Codec(v);
        let msg = Message { topic: "a/b".into(), payload: Bytes::from_static(b"21.5"), qos: Qos::AtLeastOnce, retain: true };
        let mut buf = BytesMut::new();
        c.encode(Outgoing::Publish { msg: msg.clone(), pkid: 7, dup: false }, &mut buf).unwrap();
        // Half a packet is not a packet yet.
        let mut half = buf.split_to(buf.len() / 2);
        assert_eq!(c.decode(&mut half).unwrap(), None);
        half.unsplit(buf);
        assert_eq!(c.decode(&mut half).unwrap(), Some(Incoming::Publish { msg, pkid: 7 }));
        assert!(half.is_empty());
    }

    #[test]
    fn publish_roundtrips_in_both_versions() {
        roundtrip(MqttVersion::V311);
        roundtrip(MqttVersion::V5);
    }

    #[test]
    fn a_refusing_puback_carries_its_reason() {
        let mut buf = BytesMut::new();
        let mut ack = v5::PubAck::new(9, None);
        ack.reason = v5::PubAckReason::NotAuthorized;
        v5::Packet::PubAck(ack).write(&mut buf, None).unwrap();
        let mut rec = v5::PubRec::new(10, None);
        rec.reason = v5::PubRecReason::NoMatchingSubscribers;
        v5::Packet::PubRec(rec).write(&mut buf, None).unwrap();
        let c = Codec(MqttVersion::V5);
        assert_eq!(c.decode(&mut buf).unwrap(), Some(Incoming::PubAck(9, Some(Refusal { code: 0x87, text: "not authorized" }))));
        assert_eq!(c.decode(&mut buf).unwrap(), Some(Incoming::PubRec(10, None)), "no subscribers is a success");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for v in [MqttVersion::V311, MqttVersion::V5] {
            let mut buf = BytesMut::from(&[0x20u8, 0x02, 0x00, 0x09][..]);
            assert!(Codec(v).decode(&mut buf).is_err() || v == MqttVersion::V5);
            let mut buf = BytesMut::from(&[0xF0u8, 0x00][..]);
            assert!(Codec(v).decode(&mut buf).is_err());
        }
    }
}
