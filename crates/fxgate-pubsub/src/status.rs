//! The counters of a connection: Part 14's diagnostics that fit (§9.1.11: sent, received and
//! failed NetworkMessages, decode errors), as `fxgate_pubsub_…{connection}` metrics and as
//! the status folder `Objects/fxgate/PubSub/<name>`, refreshed once a second.

use opcua::types::{DataTypeId, Variant};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use fxgate_core::kit::status::{StatusField, StatusFolder};

/// The label: the `[[pubsub]]` name.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectionLabel {
    /// The connection.
    pub connection: String,
}

/// Every connection's metrics, registered once.
#[derive(Clone, Default)]
pub struct PubSubMetrics {
    sent: Family<ConnectionLabel, Counter>,
    failed: Family<ConnectionLabel, Counter>,
    received: Family<ConnectionLabel, Counter>,
    decode_errors: Family<ConnectionLabel, Counter>,
    dropped: Family<ConnectionLabel, Counter>,
    timeouts: Family<ConnectionLabel, Counter>,
}

impl PubSubMetrics {
    /// Registers the families.
    pub fn register(&self, r: &mut Registry) {
        r.register("pubsub_sent_network_messages", "UADP NetworkMessages sent by the writer groups", self.sent.clone());
        r.register("pubsub_failed_transmissions", "NetworkMessages that could not be encoded or sent", self.failed.clone());
        r.register("pubsub_received_network_messages", "UDP datagrams received on the connection", self.received.clone());
        r.register("pubsub_decode_errors", "Datagrams or DataSetMessages that did not decode (dropped)", self.decode_errors.clone());
        r.register(
            "pubsub_dropped_messages",
            "DataSetMessages dropped: no reader for their ids, another GroupVersion, an address not configured, an old sequence number",
            self.dropped.clone(),
        );
        r.register("pubsub_reader_timeouts", "Readers that went to Error after MessageReceiveTimeout", self.timeouts.clone());
    }

    /// The counters of connection `name`.
    pub fn connection(&self, name: &str) -> Counters {
        let l = ConnectionLabel { connection: name.to_string() };
        Counters {
            sent: self.sent.get_or_create(&l).clone(),
            failed: self.failed.get_or_create(&l).clone(),
            received: self.received.get_or_create(&l).clone(),
            decode_errors: self.decode_errors.get_or_create(&l).clone(),
            dropped: self.dropped.get_or_create(&l).clone(),
            timeouts: self.timeouts.get_or_create(&l).clone(),
        }
    }
}

/// One connection's counters (shared by its tasks).
#[derive(Clone, Default)]
pub struct Counters {
    /// NetworkMessages sent.
    pub sent: Counter,
    /// NetworkMessages not sent.
    pub failed: Counter,
    /// Datagrams received.
    pub received: Counter,
    /// Datagrams or DataSetMessages that did not decode.
    pub decode_errors: Counter,
    /// DataSetMessages dropped.
    pub dropped: Counter,
    /// Reader timeouts.
    pub timeouts: Counter,
}

/// The fields of `Objects/fxgate/PubSub/<name>`.
pub const FIELDS: &[StatusField] = &[
    StatusField { name: "State", data_type: DataTypeId::String, description: "Operational, PreOperational (a reader has received nothing yet) or Error (a reader timed out, or a socket failed)" },
    StatusField { name: "ReadersInError", data_type: DataTypeId::UInt32, description: "Readers without a message for MessageReceiveTimeout" },
    StatusField { name: "SentNetworkMessages", data_type: DataTypeId::UInt64, description: "NetworkMessages sent by the writer groups" },
    StatusField { name: "FailedTransmissions", data_type: DataTypeId::UInt64, description: "NetworkMessages that could not be encoded or sent" },
    StatusField { name: "ReceivedNetworkMessages", data_type: DataTypeId::UInt64, description: "Datagrams received" },
    StatusField { name: "DecodeErrors", data_type: DataTypeId::UInt64, description: "Datagrams or DataSetMessages that did not decode" },
    StatusField { name: "DroppedMessages", data_type: DataTypeId::UInt64, description: "DataSetMessages dropped (unknown ids, another GroupVersion, an address not configured, an old sequence number)" },
];

/// A connection's state, as shown in `State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Every reader receives.
    Operational,
    /// A reader has received nothing yet.
    PreOperational,
    /// A reader timed out or a socket failed.
    Error,
    /// Switched off.
    Disabled,
}

impl ConnState {
    /// The text shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operational => "Operational",
            Self::PreOperational => "PreOperational",
            Self::Error => "Error",
            Self::Disabled => "Disabled",
        }
    }
}

/// The fields of `Objects/fxgate/PubSub/<connection>/<reader>`.
pub const READER_FIELDS: &[StatusField] = &[StatusField {
    name: "State",
    data_type: DataTypeId::String,
    description: "Operational, PreOperational (nothing received yet), Error (no message for MessageReceiveTimeout) or Disabled",
}];

/// The status folder of reader `reader` of connection `conn`.
pub fn reader_folder(conn: &str, reader: &str) -> StatusFolder {
    StatusFolder::new(&format!("fxgate/PubSub/{conn}/{reader}"), READER_FIELDS, vec![Variant::from(ConnState::PreOperational.as_str())])
}

/// Publishes a reader's state.
pub fn reader_state(folder: &StatusFolder, state: ConnState) {
    folder.update(|v| {
        let now = Variant::from(state.as_str());
        let changed = v.first() != Some(&now);
        if let Some(f) = v.first_mut() {
            *f = now;
        }
        changed
    });
}

/// The status folder of connection `name`.
pub fn folder(name: &str) -> StatusFolder {
    StatusFolder::new(&format!("fxgate/PubSub/{name}"), FIELDS, initial(ConnState::PreOperational))
}

fn initial(state: ConnState) -> Vec<Variant> {
    vec![Variant::from(state.as_str()), Variant::UInt32(0), Variant::UInt64(0), Variant::UInt64(0), Variant::UInt64(0), Variant::UInt64(0), Variant::UInt64(0)]
}

/// Publishes the current state and counters into the folder.
pub fn refresh(folder: &StatusFolder, state: ConnState, in_error: u32, c: &Counters) {
    let now = [
        Variant::from(state.as_str()),
        Variant::UInt32(in_error),
        Variant::UInt64(c.sent.get()),
        Variant::UInt64(c.failed.get()),
        Variant::UInt64(c.received.get()),
        Variant::UInt64(c.decode_errors.get()),
        Variant::UInt64(c.dropped.get()),
    ];
    folder.update(|v| {
        let changed = v.iter().zip(now.iter()).any(|(a, b)| a != b);
        for (a, b) in v.iter_mut().zip(now) {
            *a = b;
        }
        changed
    });
}
