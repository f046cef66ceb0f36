//! `/metrics` of the MQTT clients (`fxgate_mqtt_…{client}`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The label: the `[[mqtt]]` name.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClientLabel {
    /// The client.
    pub client: String,
}

/// Every MQTT client's metrics, registered once.
#[derive(Clone, Default)]
pub struct MqttMetrics {
    received: Family<ClientLabel, Counter>,
    published: Family<ClientLabel, Counter>,
    decode_errors: Family<ClientLabel, Counter>,
    duplicates: Family<ClientLabel, Counter>,
    buffered: Family<ClientLabel, Gauge>,
    dropped: Family<ClientLabel, Counter>,
    refused: Family<ClientLabel, Counter>,
}

impl MqttMetrics {
    /// Registers the families.
    pub fn register(&self, r: &mut Registry) {
        r.register("mqtt_messages_received", "Messages received from the brokers (duplicates included)", self.received.clone());
        r.register("mqtt_messages_published", "Messages a broker took (acknowledged for QoS 1 and 2)", self.published.clone());
        r.register("mqtt_decode_errors", "Payloads that did not decode into their tag (the tag turns Bad_DecodingError)", self.decode_errors.clone());
        r.register("mqtt_duplicates_dropped", "Messages that arrived from both brokers, taken once", self.duplicates.clone());
        r.register("mqtt_buffered_messages", "Messages waiting in the store-and-forward buffer", self.buffered.clone());
        r.register("mqtt_dropped_messages", "Messages dropped from a full store-and-forward buffer (the oldest first)", self.dropped.clone());
        r.register("mqtt_refused_messages", "Messages a broker acknowledged with a refusal (MQTT 5 reason code >= 0x80: not delivered)", self.refused.clone());
    }

    /// The metrics of client `name`.
    pub fn client(&self, name: &str) -> ClientMetrics {
        let l = ClientLabel { client: name.to_string() };
        ClientMetrics {
            received: self.received.get_or_create(&l).clone(),
            published: self.published.get_or_create(&l).clone(),
            decode_errors: self.decode_errors.get_or_create(&l).clone(),
            duplicates: self.duplicates.get_or_create(&l).clone(),
            buffered: self.buffered.get_or_create(&l).clone(),
            dropped: self.dropped.get_or_create(&l).clone(),
            refused: self.refused.get_or_create(&l).clone(),
        }
    }
}

/// One client's metrics.
#[derive(Clone, Default)]
pub struct ClientMetrics {
    /// Messages received.
    pub received: Counter,
    /// Messages a broker took.
    pub published: Counter,
    /// Payloads that did not decode.
    pub decode_errors: Counter,
    /// Twins dropped.
    pub duplicates: Counter,
    /// Messages in the buffer.
    pub buffered: Gauge,
    /// Messages dropped from the buffer.
    pub dropped: Counter,
    /// Messages a broker refused.
    pub refused: Counter,
}
