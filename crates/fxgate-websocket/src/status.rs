//! The connection state of a WebSocket client: `ETcIotWebSocketStatus` (seed 001 §5.2.1),
//! published as tags under `Objects/fxgate/WebSockets/<name>` and in `/metrics`.

use std::sync::Arc;

use fxgate_core::kit::status::{StatusField, StatusFolder};
use fxgate_core::store::StoreError;
use fxgate_core::{HealthCheck, TagId, TagStore, TagStoreBuilder, Unhealthy};
use opcua::types::{DataTypeId, Variant};
use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The `ETcIotWebSocketStatus` values fxgate reports (seed 001 §5.2.1; names without
/// `WS_STATUS_`, numbers as in the seed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum WsState {
    /// Connected, handshake done.
    SUCCESS = 0,
    /// Not connected (before the first attempt).
    SOCK_NO_CONN = 4,
    /// The server refused the TCP connection.
    SOCK_CONN_REFUSED = 5,
    /// The server's host name cannot be resolved.
    SOCK_NOT_FOUND = 6,
    /// The connection was lost or closed by the server.
    SOCK_CONN_LOST = 7,
    /// A TLS error of the socket.
    SOCK_ERR_TLS = 8,
    /// The CA certificate(s) cannot be used.
    TLS_CA_INVALID = 20,
    /// The client certificate cannot be used.
    TLS_CERT_INVALID = 21,
    /// The client key cannot be used.
    TLS_KEY_INVALID = 22,
    /// The server's certificate is not trusted.
    TLS_VERIFY_FAIL = 23,
    /// TLS cannot be set up.
    TLS_SETUP = 24,
    /// The TLS handshake failed.
    TLS_HANDSHAKE_FAIL = 25,
    /// The cipher string cannot be used.
    TLS_CIPHER_INVALID = 26,
    /// The TLS version is unknown.
    TLS_VERSION_INVALID = 27,
    /// The pre-shared key cannot be used.
    TLS_PSK_INVALID = 28,
    /// The CRL cannot be used.
    TLS_CRL_INVALID = 30,
    /// Disconnected on purpose (fxgate shuts down).
    FINALIZE_DISCONNECT = 31,
    /// The TCP connection failed.
    SOCK_CONN_FAILED = 37,
    /// No TCP connection in time.
    SOCK_CONN_TIMEOUT = 38,
    /// The server's host cannot be reached.
    SOCK_CONN_HOSTUNREACH = 39,
    /// The server's certificate has expired.
    TLS_CERT_EXPIRED = 40,
    /// The server's certificate is not for the server's name or address.
    TLS_CN_MISMATCH = 41,
    /// An internal error.
    INTERNAL_ERROR = 1000,
    /// The handshake request cannot be sent.
    CONNECT_REQ_SEND_ERROR = 1002,
    /// The handshake response cannot be parsed.
    CONNECT_RES_PARSE_ERROR = 1003,
    /// The handshake response is no WebSocket upgrade.
    CONNECT_RES_INVALID = 1004,
    /// The handshake response's status is not 101.
    CONNECT_RES_INVALID_STATUS = 1005,
    /// The handshake response has no `Sec-WebSocket-Accept`.
    CONNECT_RES_ACCEPT_INVALID = 1006,
    /// The handshake response's `Sec-WebSocket-Accept` does not match the key.
    CONNECT_RES_ACCEPT_INVALID_HASH = 1007,
    /// The server chose extensions that were not offered, or they cannot be set up.
    CONNECT_RES_INVALID_EXTENSION = 1008,
    /// The server's subprotocol was rejected (§5.1.1.1 `CheckProtocol`).
    CONNECT_RES_REJECT = 1009,
    /// No handshake response in time (§5.1.1 `nConnectResponseTimeout`).
    CONNECT_RES_TIMEOUT = 1010,
    /// No answer to a ping in time (§5.1.1 `nKeepAliveCloseTimeout`).
    KEEP_ALIVE_TIMEOUT = 1011,
    /// A frame or message from the server over the limits (§5.1.1 `nMaxRecvFrameSize`,
    /// `nMaxRecvMsgSize`).
    INVALID_MSG_SIZE = 1013,
    /// The server broke the WebSocket protocol.
    PROTOCOL_ERROR = 1014,
    /// A compressed message cannot be inflated.
    DECOMPRESS_ERROR = 1016,
}

impl WsState {
    /// The name shown in the `State` tag.
    pub fn name(self) -> String {
        format!("{self:?}")
    }

    /// The number of the enumeration.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// The `name` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WsLabel {
    /// Client name.
    pub name: String,
}

/// Metrics of every WebSocket client.
#[derive(Clone, Default)]
pub struct WsMetrics {
    /// `ETcIotWebSocketStatus` number.
    pub state: Family<WsLabel, Gauge>,
    /// 1 while connected.
    pub connected: Family<WsLabel, Gauge>,
    /// Messages sent (resent ones included).
    pub messages_sent: Family<WsLabel, Counter>,
    /// Payload bytes sent, after compression.
    pub bytes_sent: Family<WsLabel, Counter>,
    /// Messages dropped because the buffer was full.
    pub messages_dropped: Family<WsLabel, Counter>,
    /// Messages waiting in the buffer.
    pub buffered: Family<WsLabel, Gauge>,
    /// Connections lost or failed.
    pub reconnects: Family<WsLabel, Counter>,
}

impl WsMetrics {
    /// Registers the families under `fxgate_websocket_…`.
    pub fn register(&self, r: &mut Registry) {
        let r = r.sub_registry_with_prefix("websocket");
        r.register("state", "ETcIotWebSocketStatus of the client (0 SUCCESS)", self.state.clone());
        r.register("connected", "1 while connected", self.connected.clone());
        r.register("messages_sent", "Messages sent", self.messages_sent.clone());
        r.register("bytes_sent", "WebSocket bytes written: frames after compression, before TLS", self.bytes_sent.clone());
        r.register("messages_dropped", "Messages dropped because the buffer was full", self.messages_dropped.clone());
        r.register("buffered_messages", "Messages waiting in the store-and-forward buffer", self.buffered.clone());
        r.register("reconnects", "Connections lost or failed", self.reconnects.clone());
    }
}

/// The state tags under `fxgate/WebSockets/<name>`, in order.
const FIELDS: &[StatusField] = &[
    StatusField { name: "State", data_type: DataTypeId::String, description: "ETcIotWebSocketStatus name (SUCCESS when connected)" },
    StatusField { name: "StateCode", data_type: DataTypeId::Int32, description: "ETcIotWebSocketStatus number" },
    StatusField { name: "Connected", data_type: DataTypeId::Boolean, description: "Connected and handshake done" },
    StatusField { name: "LastError", data_type: DataTypeId::String, description: "The last error" },
    StatusField { name: "CloseReason", data_type: DataTypeId::UInt16, description: "RFC 6455 close code of the last close (0: none)" },
    StatusField { name: "Sequence", data_type: DataTypeId::UInt64, description: "seq of the last message sent" },
    StatusField { name: "Buffered", data_type: DataTypeId::UInt64, description: "Messages waiting to be sent or acknowledged" },
    StatusField { name: "Dropped", data_type: DataTypeId::UInt64, description: "Messages dropped because the buffer was full" },
];

#[derive(Default)]
struct Inner {
    status: Option<WsState>,
    connected: bool,
    last_error: String,
    close_reason: u16,
    sequence: u64,
    buffered: u64,
    dropped: u64,
}

impl Inner {
    /// The tag values, in [`FIELDS`] order.
    fn values(&self) -> Vec<Variant> {
        let s = self.status.unwrap_or(WsState::SOCK_NO_CONN);
        vec![
            Variant::from(s.name()),
            Variant::Int32(s.code()),
            Variant::Boolean(self.connected),
            Variant::from(self.last_error.as_str()),
            Variant::UInt16(self.close_reason),
            Variant::UInt64(self.sequence),
            Variant::UInt64(self.buffered),
            Variant::UInt64(self.dropped),
        ]
    }
}

/// The live status of one client (its [`StatusFolder`] and its metrics); cheap to clone.
#[derive(Clone)]
pub struct WsStatus {
    inner: Arc<Mutex<Inner>>,
    folder: StatusFolder,
    metrics: WsMetrics,
    label: WsLabel,
}

impl WsStatus {
    /// The status of client `name`.
    pub fn new(name: &str, metrics: WsMetrics) -> Self {
        let inner = Inner::default();
        let folder = StatusFolder::new(&format!("fxgate/WebSockets/{name}"), FIELDS, inner.values());
        Self {
            inner: Arc::new(Mutex::new(inner)),
            folder,
            label: WsLabel { name: name.to_string() },
            metrics,
        }
    }

    /// Declares the state tags under `fxgate/WebSockets/<name>`.
    pub fn declare(&self, b: &mut TagStoreBuilder) -> Result<Vec<TagId>, StoreError> {
        self.folder.declare(b)
    }

    /// Connects the status to the store.
    pub fn attach(&self, store: Arc<TagStore>, ids: &[TagId]) {
        self.folder.attach(store, ids);
        self.publish();
    }

    /// The client's health: healthy while connected (`SUCCESS`).
    pub fn health(&self) -> HealthCheck {
        let me = self.clone();
        Arc::new(move || match me.status() {
            WsState::SUCCESS => Ok(()),
            s => Err(Unhealthy(format!("{}: {}", s.name(), me.last_error()))),
        })
    }

    /// Publishes the current state, holding the lock until the folder has it: publishers
    /// on two threads must not leave an older snapshot after a newer one.
    fn publish(&self) {
        let i = self.inner.lock();
        let values = i.values();
        let status = (i.status.unwrap_or(WsState::SOCK_NO_CONN), i.connected, i.buffered);
        self.metrics.state.get_or_create(&self.label).set(i64::from(status.0.code()));
        self.metrics.connected.get_or_create(&self.label).set(i64::from(status.1));
        self.metrics.buffered.get_or_create(&self.label).set(status.2 as i64);
        self.folder.update(|v| {
            let changed = v != values.as_slice();
            v.clone_from_slice(&values);
            changed
        });
    }

    /// Sets the status; `error` becomes `LastError` when given.
    pub fn set(&self, status: WsState, connected: bool, error: Option<&str>) {
        {
            let mut i = self.inner.lock();
            if i.status == Some(status) && i.connected == connected && error.is_none_or(|e| e == i.last_error) {
                return;
            }
            i.status = Some(status);
            i.connected = connected;
            if let Some(e) = error {
                i.last_error = e.to_string();
            }
        }
        self.publish();
    }

    /// The current status.
    pub fn status(&self) -> WsState {
        self.inner.lock().status.unwrap_or(WsState::SOCK_NO_CONN)
    }

    /// The last error.
    pub fn last_error(&self) -> String {
        self.inner.lock().last_error.clone()
    }

    /// Records the close code of the last close.
    pub fn closed(&self, code: u16) {
        self.inner.lock().close_reason = code;
        self.publish();
    }

    /// Updates sequence/buffer counters (published with the next state change or now).
    pub fn counters(&self, sequence: u64, buffered: u64, dropped: u64) {
        {
            let mut i = self.inner.lock();
            if i.sequence == sequence && i.buffered == buffered && i.dropped == dropped {
                return;
            }
            i.sequence = sequence;
            i.buffered = buffered;
            i.dropped = dropped;
        }
        self.publish();
    }

    /// Counts a sent message.
    pub fn sent(&self) {
        self.metrics.messages_sent.get_or_create(&self.label).inc();
    }

    /// Counts WebSocket bytes written.
    pub fn bytes(&self, n: u64) {
        if n > 0 {
            self.metrics.bytes_sent.get_or_create(&self.label).inc_by(n);
        }
    }

    /// Counts dropped messages.
    pub fn dropped(&self, n: u64) {
        self.metrics.messages_dropped.get_or_create(&self.label).inc_by(n);
    }

    /// Counts a reconnect.
    pub fn reconnect(&self) {
        self.metrics.reconnects.get_or_create(&self.label).inc();
    }
}
