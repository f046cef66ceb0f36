//! One upstream OPC UA server: its session, kept alive by a supervisor that reconnects
//! with back-off, and the batched services the forwarding node manager calls.
//!
//! Each connection is a new session: the endpoints are fetched afresh (so a changed server
//! certificate or endpoint list is seen at once, unlike the stale endpoint cache of seed 000
//! §5.1), the NamespaceArray is read and mapped, and every shared monitored item is created
//! again. async-opcua's own in-session reconnect is disabled (`session_retry_limit(0)`),
//! which also avoids its lost Publish requests after a reconnect.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use crate::config::UpstreamConfig;
use opcua::client::{
    Client, ClientBuilder, IdentityToken, MonitoredItem, Session, SessionEventLoop, SessionPollResult,
    SubscriptionCallbacks,
};
use opcua::crypto::SecurityPolicy;
use opcua::types::{
    AttributeId, BrowseDescription, BrowseDirection, BrowseResult, DataValue, DateTime,
    EndpointDescription, MessageSecurityMode, MonitoredItemCreateRequest,
    MonitoredItemModifyRequest, MonitoringMode, MonitoringParameters, NodeId, ObjectId,
    ReadValueId, ReferenceDescription, ReferenceTypeId, StatusCode, TimestampsToReturn,
    VariableId, Variant,
};
use parking_lot::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;

use crate::cache::Cache;
use crate::commissioning::TrustSnapshot;
use crate::events::{EventFields, ForwardedEvent};
use crate::items::Registry;
use crate::mapping::{KnownTypes, NsMapping};
use crate::names::UpstreamNamespaces;

/// Connection state of an upstream, as shown in `fxgate/Upstreams/<name>/State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Trying to connect.
    Connecting,
    /// Session active.
    Connected,
    /// Not connected (waiting before the next attempt, or disabled).
    Disconnected,
}

impl State {
    /// Name shown to clients.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Connecting => "Connecting",
            State::Connected => "Connected",
            State::Disconnected => "Disconnected",
        }
    }
}

/// Diagnostics of an upstream.
#[derive(Debug, Clone)]
pub struct Status {
    /// Connection state.
    pub state: State,
    /// Last error, empty if none yet.
    pub last_error: String,
    /// Number of times a session was lost or could not be made after the first attempt.
    pub reconnects: u64,
}

/// A live session and how its namespaces map.
#[derive(Clone)]
pub struct Live {
    /// The session.
    pub session: Arc<Session>,
    /// Namespace mapping of this session.
    pub map: Arc<NsMapping>,
    /// The upstream subscription holding the shared items.
    pub subscription_id: u32,
    /// Standard type (gateway id) → upstream subtypes of it, as browse results.
    pub subtypes: Arc<std::collections::HashMap<NodeId, Vec<ReferenceDescription>>>,
    /// The fields selected from the upstream's events.
    pub events: Arc<EventFields>,
}

/// Where an upstream reports value changes and state changes.
pub trait Notify: Send + Sync {
    /// Values of monitored nodes changed (gateway ids).
    fn values(&self, changes: Vec<(NodeId, AttributeId, DataValue)>);
    /// The upstream's status changed.
    fn status(&self, upstream: &str, status: &Status, monitored_items: usize);
    /// Events of a node with EventNotifier items (gateway id).
    fn events(&self, node: &NodeId, events: Vec<ForwardedEvent>);
    /// The upstream's own event types (gateway ids), found at connect.
    fn event_types(&self, types: crate::events::EventTypes);
}

/// Client-side settings shared by all upstreams.
#[derive(Clone)]
pub struct ClientSettings {
    /// `<data-dir>/pki-client`, absolute.
    pub pki_dir: PathBuf,
    /// The client certificate.
    pub cert: PathBuf,
    /// Its key.
    pub key: PathBuf,
    /// Application URI of the client certificate.
    pub application_uri: String,
    /// Directory relative paths of the config are resolved against.
    pub config_dir: PathBuf,
}

/// One upstream server.
pub struct Upstream {
    /// Its name (the folder under Objects).
    pub name: String,
    /// Its configuration.
    pub config: UpstreamConfig,
    /// Gateway NodeId of its folder.
    pub folder: NodeId,
    settings: ClientSettings,
    names: Arc<UpstreamNamespaces>,
    known: KnownTypes,
    live: RwLock<Option<Live>>,
    status: Mutex<Status>,
    /// Values and browse results.
    pub cache: Cache,
    /// Shared monitored items.
    pub items: Registry,
    notify: OnceLock<Arc<dyn Notify>>,
    shutdown: CancellationToken,
    /// Removed at run time (RemoveServer): reports nothing any more.
    removed: AtomicBool,
}

/// Minimum queue of an upstream event item.
const EVENT_QUEUE: u32 = 1000;

/// Statuses that mean the upstream could not be reached.
pub fn is_comm_error(s: StatusCode) -> bool {
    matches!(
        s,
        StatusCode::BadConnectionClosed
            | StatusCode::BadNotConnected
            | StatusCode::BadTimeout
            | StatusCode::BadRequestTimeout
            | StatusCode::BadSecureChannelClosed
            | StatusCode::BadServerNotConnected
            | StatusCode::BadCommunicationError
            | StatusCode::BadSessionClosed
            | StatusCode::BadSessionIdInvalid
            | StatusCode::BadTcpInternalError
            | StatusCode::BadDisconnect
            | StatusCode::BadNoCommunication
            | StatusCode::BadConnectionRejected
            | StatusCode::BadShutdown
            | StatusCode::BadServerHalted
    )
}

/// The status an operation gets when its request to the upstream failed as a whole.
pub fn service_failure(s: StatusCode) -> StatusCode {
    if is_comm_error(s) {
        StatusCode::BadNoCommunication
    } else {
        s
    }
}

impl Upstream {
    /// A not yet connected upstream.
    pub fn new(
        config: UpstreamConfig,
        folder: NodeId,
        settings: ClientSettings,
        names: Arc<UpstreamNamespaces>,
        known: KnownTypes,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        names.serve_known(&config.name);
        Arc::new(Self {
            name: config.name.clone(),
            config,
            folder,
            settings,
            names,
            known,
            live: RwLock::new(None),
            status: Mutex::new(Status {
                state: State::Disconnected,
                last_error: String::new(),
                reconnects: 0,
            }),
            cache: Cache::default(),
            items: Registry::default(),
            notify: OnceLock::new(),
            shutdown,
            removed: AtomicBool::new(false),
        })
    }

    /// Sets where changes are reported (once).
    pub fn set_notify(&self, n: Arc<dyn Notify>) {
        let _ = self.notify.set(n);
    }

    /// The live session, if connected.
    pub fn live(&self) -> Option<Live> {
        self.live.read().clone()
    }

    /// Current diagnostics.
    pub fn status(&self) -> Status {
        self.status.lock().clone()
    }

    /// Stops the supervisor (the upstream is being removed or the gateway stops).
    pub fn stop(&self) {
        self.shutdown.cancel();
    }

    /// Removes the upstream for good (RemoveServer): stops the supervisor, and every
    /// monitored value of it turns Bad_NodeIdUnknown, since its nodes no longer exist.
    /// Nothing is reported about it afterwards.
    pub fn retire(&self) {
        if self.removed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.shutdown.cancel();
        let now = DateTime::now();
        self.notify_items(|_, _| DataValue {
            status: Some(StatusCode::BadNodeIdUnknown),
            server_timestamp: Some(now),
            ..Default::default()
        });
    }

    /// Reports `f(node, attribute)` for every shared data monitored item (event items have
    /// no value to turn Bad).
    fn notify_items(&self, mut f: impl FnMut(&NodeId, AttributeId) -> DataValue) {
        let changes: Vec<_> = self
            .items
            .all()
            .into_iter()
            .filter(|s| s.key.1 != AttributeId::EventNotifier)
            .map(|s| {
                let (node, attr) = s.key;
                let dv = f(&node, attr);
                (node, attr, dv)
            })
            .collect();
        if let Some(n) = self.notify.get() {
            if !changes.is_empty() {
                n.values(changes);
            }
        }
    }

    fn is_removed(&self) -> bool {
        self.removed.load(Ordering::SeqCst)
    }

    fn set_status(&self, f: impl FnOnce(&mut Status)) {
        if self.is_removed() {
            return;
        }
        let s = {
            let mut g = self.status.lock();
            f(&mut g);
            g.clone()
        };
        if let Some(n) = self.notify.get() {
            n.status(&self.name, &s, self.items.live());
        }
    }

    /// Re-reports the status (after the monitored-item count changed).
    pub fn report(&self) {
        self.set_status(|_| {});
    }

    /// Runs the connection supervisor until shutdown.
    pub async fn run(self: Arc<Self>) {
        if !self.config.enabled {
            self.set_status(|s| {
                s.state = State::Disconnected;
                s.last_error = "disabled (enabled = false)".into();
            });
            return;
        }
        let min = Duration::from_millis(self.config.reconnect_min_ms);
        let max = Duration::from_millis(self.config.reconnect_max_ms.max(self.config.reconnect_min_ms));
        let mut backoff = min;
        let mut first = true;
        loop {
            if !first {
                self.set_status(|s| s.reconnects += 1);
            }
            first = false;
            self.set_status(|s| s.state = State::Connecting);
            let attempt = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                r = self.clone().connect_once() => r,
            };
            match attempt {
                Ok(event_loop) => {
                    backoff = min;
                    self.set_status(|s| s.state = State::Connected);
                    tracing::info!(upstream = %self.name, url = %self.config.endpoint_url, "upstream connected");
                    let ended = tokio::select! {
                        _ = self.shutdown.cancelled() => None,
                        r = event_loop => Some(r),
                    };
                    let session = self.live.write().take();
                    self.items.clear_upstream_ids();
                    self.mark_bad();
                    match ended {
                        None => {
                            if let Some(l) = session {
                                let _ = tokio::time::timeout(Duration::from_secs(2), l.session.disconnect()).await;
                            }
                            self.set_status(|s| s.state = State::Disconnected);
                            return;
                        }
                        Some(r) => {
                            let status = r.unwrap_or(StatusCode::BadUnexpectedError);
                            let msg = format!("connection lost: {status}");
                            tracing::warn!(upstream = %self.name, %status, "upstream connection lost");
                            self.set_status(|s| {
                                s.state = State::Disconnected;
                                s.last_error = msg;
                            });
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(upstream = %self.name, url = %self.config.endpoint_url, error = %e, "cannot connect to upstream");
                    self.set_status(|s| {
                        s.state = State::Disconnected;
                        s.last_error = e;
                    });
                }
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(max);
        }
    }

    /// Every monitored value turns Bad_NoCommunication. Reads keep answering with the last
    /// value and its source timestamp (from the cache). The notification itself carries no
    /// value and no source timestamp: async-opcua's server drops a notification whose source
    /// timestamp is not later than the previous one (its sampling-interval filter) and, for
    /// items without a DataChangeFilter, one whose value did not change, so a status-only
    /// change with the old timestamp would never reach the client.
    fn mark_bad(&self) {
        if self.is_removed() {
            return;
        }
        let now = DateTime::now();
        self.notify_items(|node, attr| {
            let last = self.cache.get(node, attr).map(|(dv, _)| dv);
            let kept = DataValue {
                value: last.as_ref().and_then(|d| d.value.clone()),
                status: Some(StatusCode::BadNoCommunication),
                source_timestamp: last.as_ref().and_then(|d| d.source_timestamp),
                server_timestamp: Some(now),
                ..Default::default()
            };
            self.cache.put(node, attr, &kept);
            DataValue {
                value: None,
                status: Some(StatusCode::BadNoCommunication),
                source_timestamp: None,
                server_timestamp: Some(now),
                ..Default::default()
            }
        });
    }

    fn identity(&self) -> Result<IdentityToken, String> {
        let c = &self.config;
        if !c.user_certificate.is_empty() {
            let abs = |p: &str| {
                let p = std::path::Path::new(p);
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    self.settings.config_dir.join(p)
                }
            };
            return IdentityToken::new_x509_path(abs(&c.user_certificate), abs(&c.user_private_key))
                .map_err(|e| format!("user certificate: {e}"));
        }
        if !c.username.is_empty() {
            return Ok(IdentityToken::new_user_name(c.username.clone(), c.password.clone()));
        }
        Ok(IdentityToken::new_anonymous())
    }

    /// Makes one session and prepares it; returns the running event loop.
    async fn connect_once(
        self: Arc<Self>,
    ) -> Result<tokio::task::JoinHandle<StatusCode>, String> {
        let c = &self.config;
        let timeout = Duration::from_millis(c.request_timeout_ms);
        let mut client = ClientBuilder::new()
            .application_name("fxgate")
            .application_uri(self.settings.application_uri.clone())
            .product_uri("urn:fxgate")
            .pki_dir(self.settings.pki_dir.clone())
            .certificate_path(self.settings.cert.clone())
            .private_key_path(self.settings.key.clone())
            .create_sample_keypair(false)
            .trust_server_certs(c.accept_all_server_certificates)
            // async-opcua wants the application URI as the *first* subject alternative name,
            // which node-opcua and others do not do; the trust list is still checked by it,
            // validity, host name and URI by `check_server_certificate`.
            .verify_server_certs(false)
            .session_retry_limit(0)
            .request_timeout(timeout)
            .keep_alive_interval(Duration::from_millis(1000))
            .max_failed_keep_alive_count(3)
            .session_timeout(60_000)
            .session_name(format!("fxgate/{}", self.name))
            // one Publish response or Read of thousands of values must decode
            .max_array_length(1_000_000)
            .max_message_size(64 * 1024 * 1024)
            .max_chunk_count(4096)
            .client()
            .map_err(|e| format!("client configuration: {}", e.join("; ")))?;
        let policy = SecurityPolicy::from_uri(c.security_policy.uri());
        let mode = match c.security_mode {
            crate::config::UpstreamMode::None => MessageSecurityMode::None,
            crate::config::UpstreamMode::Sign => MessageSecurityMode::Sign,
            crate::config::UpstreamMode::SignAndEncrypt => MessageSecurityMode::SignAndEncrypt,
        };
        // the endpoint list is read on every attempt, and the endpoint chosen from it here, so
        // that a missing endpoint is reported as such (async-opcua's own matching reports
        // BadTcpEndpointUrlInvalid, as if the upstream could not be reached)
        let endpoints = tokio::time::timeout(
            timeout * 2,
            client.get_server_endpoints_from_url(c.endpoint_url.as_str()),
        )
        .await
        .map_err(|_| format!("timed out reading the endpoints of {}", c.endpoint_url))?
        .map_err(|e| failure(&e))?;
        let endpoint = Client::find_matching_endpoint(&endpoints, &c.endpoint_url, policy, mode)
            .ok_or_else(|| no_matching_endpoint(c, &endpoints))?;
        let server_certificate = endpoint.server_certificate.clone();
        // accepted for commissioning only: whatever async-opcua adds to trusted/ goes again
        let _commissioning = c.accept_all_server_certificates.then(|| {
            Restore(TrustSnapshot::take(
                &self.settings.pki_dir.join("trusted"),
                endpoint.server_certificate.as_ref(),
            ))
        });
        let (session, event_loop) = client
            .connect_to_endpoint_directly(endpoint, self.identity()?)
            .map_err(|e| failure(&e))?;
        let mut handle = drive(event_loop);
        let failed = tokio::select! {
            ok = session.wait_for_connection() => if ok { None } else { Some(StatusCode::BadNotConnected) },
            ended = &mut handle => Some(ended.unwrap_or(StatusCode::BadUnexpectedError)),
            _ = tokio::time::sleep(timeout * 2) => Some(StatusCode::BadTimeout),
        };
        if let Some(status) = failed {
            handle.abort();
            let rejected = crate::commissioning::rejected_file(&self.settings.pki_dir, server_certificate.as_ref());
            return Err(match rejected {
                Some(file) if is_untrusted(status) => format!(
                    "session not established: {status} (the upstream's certificate is not trusted: move pki-client/rejected/{file} to pki-client/trusted, or set accept_all_server_certificates while commissioning)"
                ),
                _ => format!("session not established: {status} ({})", describe(status)),
            });
        }
        if let Err(e) = check_server_certificate(&session, &c.endpoint_url) {
            handle.abort();
            let _ = session.disconnect().await;
            return Err(e);
        }
        match self.clone().prepare(session.clone()).await {
            Ok(live) => {
                *self.live.write() = Some(live);
            }
            Err(e) => {
                handle.abort();
                let _ = session.disconnect().await;
                return Err(e);
            }
        }
        Ok(handle)
    }

    /// Reads the namespaces, maps them, finds the upstream's subtypes of standard types
    /// and recreates every shared monitored item.
    async fn prepare(self: Arc<Self>, session: Arc<Session>) -> Result<Live, String> {
        let ns = session
            .read(
                &[ReadValueId {
                    node_id: VariableId::Server_NamespaceArray.into(),
                    attribute_id: AttributeId::Value as u32,
                    ..Default::default()
                }],
                TimestampsToReturn::Neither,
                0.0,
            )
            .await
            .map_err(|e| format!("reading the NamespaceArray: {e}"))?;
        let uris: Vec<String> = match ns.into_iter().next().and_then(|d| d.value) {
            Some(Variant::Array(a)) => a
                .values
                .into_iter()
                .map(|v| match v {
                    Variant::String(s) => s.as_ref().to_string(),
                    other => other.to_string(),
                })
                .collect(),
            _ => return Err("the upstream's NamespaceArray is not an array of strings".into()),
        };
        if uris.is_empty() {
            return Err("the upstream's NamespaceArray is empty".into());
        }
        let to_gw = self.names.register(&self.name, &uris).map_err(|e| e.to_string())?;
        let map = Arc::new(NsMapping::new(to_gw, self.folder.clone(), self.known.clone()));
        let subtypes = Arc::new(find_subtypes(&session, &map).await);
        let (events, event_types) = crate::events::discover(&session, &map).await;
        let events = Arc::new(events);
        tracing::debug!(upstream = %self.name, fields = events.len(), own_types = event_types.types.len(), "upstream event fields");
        if let Some(n) = self.notify.get() {
            n.event_types(event_types);
        }
        self.prefetch_structure(&session, &map).await;
        let weak: Weak<Self> = Arc::downgrade(&self);
        let weak_events = weak.clone();
        let cb_map = map.clone();
        let ev_map = map.clone();
        let ev_fields = events.clone();
        let subscription_id = session
            .create_subscription(
                Duration::from_millis(self.config.publishing_interval_ms),
                60,
                10,
                // bounded Publish responses: an unbounded one for 10,000 items is refused
                // (BadResponseTooLarge) or exceeds decoding limits
                1000,
                0,
                true,
                SubscriptionCallbacks::new(
                    |_| {},
                    move |dv, item: &MonitoredItem| {
                        if let Some(up) = weak.upgrade() {
                            up.on_data(&cb_map, dv, item.client_handle());
                        }
                    },
                    move |fields, item: &MonitoredItem| {
                        if let Some(up) = weak_events.upgrade() {
                            up.on_event(&ev_map, &ev_fields, fields, item.client_handle());
                        }
                    },
                ),
            )
            .await
            .map_err(|e| format!("creating the subscription: {e}"))?;
        let live = Live {
            session,
            map,
            subscription_id,
            subtypes,
            events,
        };
        let all = self.items.all();
        if !all.is_empty() {
            let chs: Vec<u32> = all.iter().map(|s| s.client_handle).collect();
            self.create_items(&live, &chs).await;
        }
        Ok(live)
    }

    /// Remembers every reference of the upstream's Objects folder and of the nodes right
    /// below it, so that its folder still browses while the upstream is gone.
    async fn prefetch_structure(&self, session: &Session, map: &NsMapping) {
        let all = |n: NodeId| BrowseDescription {
            node_id: n,
            browse_direction: BrowseDirection::Both,
            reference_type_id: ReferenceTypeId::References.into(),
            include_subtypes: true,
            node_class_mask: 0,
            result_mask: 0x3f,
        };
        let mut level: Vec<NodeId> = vec![ObjectId::ObjectsFolder.into()];
        for _ in 0..2 {
            let descs: Vec<_> = level.iter().cloned().map(all).collect();
            let Ok(results) = session.browse(&descs, 0, None).await else { return };
            let mut next = Vec::new();
            for (n, r) in level.iter().zip(results) {
                let refs = all_references(session, r).await;
                for rd in &refs {
                    if rd.is_forward
                        && rd.node_id.server_index == 0
                        && rd.reference_type_id != ReferenceTypeId::HasTypeDefinition
                        && rd.node_id.node_id.namespace != 0
                        && next.len() < 1000
                    {
                        next.push(rd.node_id.node_id.clone());
                    }
                }
                let mapped: Vec<_> = refs.into_iter().map(|rd| map_reference(map, rd)).collect();
                for r in &mapped {
                    self.cache.learn_from(r);
                }
                self.cache.put_all_refs(map.node_to_gw(n), mapped);
            }
            level = next;
        }
    }

    fn on_data(&self, map: &NsMapping, dv: DataValue, ch: u32) {
        let Some((node, attr)) = self.items.key_of(ch) else {
            return;
        };
        let dv = map.data_value_to_gw(dv);
        self.cache.put(&node, attr, &dv);
        if let Some(n) = self.notify.get() {
            n.values(vec![(node, attr, dv)]);
        }
    }

    fn on_event(&self, map: &NsMapping, fields: &Arc<EventFields>, values: Option<Vec<Variant>>, ch: u32) {
        let Some((node, AttributeId::EventNotifier)) = self.items.key_of(ch) else {
            return;
        };
        let values: Vec<Variant> = values.unwrap_or_default().into_iter().map(|v| map.variant_to_gw(v)).collect();
        if let Some(n) = self.notify.get() {
            n.events(&node, vec![ForwardedEvent::new(fields.clone(), values)]);
        }
    }

    /// The monitoring parameters of a shared item towards the upstream: event items get the
    /// filter selecting every event field, no sampling and a deep queue (events must not be
    /// dropped between two Publish responses).
    fn parameters(live: &Live, attribute: AttributeId, ch: u32, want: crate::items::Want) -> MonitoringParameters {
        if attribute == AttributeId::EventNotifier {
            return MonitoringParameters {
                client_handle: ch,
                sampling_interval: 0.0,
                filter: live.events.filter(),
                queue_size: want.queue.max(EVENT_QUEUE),
                discard_oldest: true,
            };
        }
        MonitoringParameters {
            client_handle: ch,
            sampling_interval: want.sampling,
            filter: Default::default(),
            queue_size: want.queue,
            discard_oldest: true,
        }
    }

    /// Creates the upstream items of these client handles (in chunks).
    pub async fn create_items(&self, live: &Live, client_handles: &[u32]) {
        for chunk in client_handles.chunks(500) {
            let mut reqs = Vec::with_capacity(chunk.len());
            let mut sent = Vec::with_capacity(chunk.len());
            for ch in chunk {
                let Some(s) = self.items.by_client(*ch) else { continue };
                let want = s.wanted();
                let Some(up) = live.map.node_to_up(&s.key.0) else {
                    self.items.set_created(*ch, None, want);
                    continue;
                };
                reqs.push(MonitoredItemCreateRequest {
                    item_to_monitor: ReadValueId {
                        node_id: up,
                        attribute_id: s.key.1 as u32,
                        ..Default::default()
                    },
                    monitoring_mode: MonitoringMode::Reporting,
                    requested_parameters: Self::parameters(live, s.key.1, *ch, want),
                });
                sent.push((*ch, want));
            }
            if reqs.is_empty() {
                continue;
            }
            match live
                .session
                .create_monitored_items(live.subscription_id, TimestampsToReturn::Both, reqs)
                .await
            {
                Ok(results) => {
                    for ((ch, want), r) in sent.into_iter().zip(results) {
                        if r.result.status_code.is_good() {
                            self.items.set_created(ch, Some(r.result.monitored_item_id), want);
                        } else {
                            tracing::info!(upstream = %self.name, status = %r.result.status_code, "upstream refused a monitored item");
                            self.items.set_created(ch, None, want);
                            if let Some((node, attr)) = self.items.key_of(ch) {
                                let dv = DataValue {
                                    status: Some(r.result.status_code),
                                    server_timestamp: Some(DateTime::now()),
                                    ..Default::default()
                                };
                                if let Some(n) = self.notify.get() {
                                    n.values(vec![(node, attr, dv)]);
                                }
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(upstream = %self.name, error = %e, "creating upstream monitored items failed");
                }
            }
        }
        self.report();
    }

    /// Applies new parameters to upstream items.
    pub async fn modify_items(&self, live: &Live, client_handles: &[u32]) {
        for chunk in client_handles.chunks(500) {
            self.modify_chunk(live, chunk).await;
        }
    }

    async fn modify_chunk(&self, live: &Live, client_handles: &[u32]) {
        let mut reqs = Vec::new();
        let mut sent = Vec::new();
        for ch in client_handles {
            let Some(s) = self.items.by_client(*ch) else { continue };
            let Some(id) = s.upstream_id else { continue };
            let want = s.wanted();
            reqs.push(MonitoredItemModifyRequest {
                monitored_item_id: id,
                requested_parameters: Self::parameters(live, s.key.1, *ch, want),
            });
            sent.push((*ch, id, want));
        }
        if reqs.is_empty() {
            return;
        }
        if let Ok(results) = live
            .session
            .modify_monitored_items(live.subscription_id, TimestampsToReturn::Both, &reqs)
            .await
        {
            for ((ch, id, want), r) in sent.into_iter().zip(results) {
                if r.status_code.is_good() {
                    self.items.set_created(ch, Some(id), want);
                }
            }
        }
    }

    /// Deletes upstream items by their upstream ids.
    pub async fn delete_items(&self, live: &Live, ids: &[u32]) {
        if ids.is_empty() {
            return;
        }
        // servers limit operations per call (often 1,000)
        for chunk in ids.chunks(500) {
            match live.session.delete_monitored_items(live.subscription_id, chunk).await {
                Ok(statuses) => {
                    let bad = statuses.iter().filter(|s| s.is_bad()).count();
                    if bad > 0 {
                        tracing::warn!(upstream = %self.name, bad, "upstream refused to delete monitored items");
                    }
                }
                Err(e) => tracing::warn!(upstream = %self.name, error = %e, "deleting upstream monitored items failed"),
            }
        }
        self.report();
    }
}

/// Checks the upstream's certificate as OPC 10000-4 §6.1.3 asks: within its validity period,
/// naming the host of the endpoint URL, and carrying the server's application URI among its
/// subject alternative names (anywhere, not only first).
fn check_server_certificate(session: &Session, endpoint_url: &str) -> Result<(), String> {
    let endpoint = &session.endpoint_info().endpoint;
    if endpoint.security_mode == MessageSecurityMode::None {
        return Ok(());
    }
    let der = endpoint.server_certificate.as_ref();
    let cert = openssl::x509::X509::from_der(der).map_err(|e| format!("the upstream's certificate cannot be read: {e}"))?;
    let now = openssl::asn1::Asn1Time::days_from_now(0).map_err(|e| e.to_string())?;
    if cert.not_before() > now || cert.not_after() < now {
        return Err(format!(
            "the upstream's certificate is not valid now (valid {} to {}) (BadCertificateTimeInvalid)",
            cert.not_before(),
            cert.not_after()
        ));
    }
    let host = fxgate_pki::url_host(endpoint_url);
    let ip: Option<std::net::IpAddr> = host.parse().ok();
    let uri = endpoint.server.application_uri.as_ref();
    let mut host_ok = false;
    let mut uri_ok = false;
    if let Some(names) = cert.subject_alt_names() {
        for n in names.iter() {
            if let Some(d) = n.dnsname() {
                host_ok |= d.eq_ignore_ascii_case(&host);
            }
            if let (Some(bytes), Some(ip)) = (n.ipaddress(), ip) {
                host_ok |= match ip {
                    std::net::IpAddr::V4(v4) => bytes == v4.octets(),
                    std::net::IpAddr::V6(v6) => bytes == v6.octets(),
                };
            }
            if let Some(u) = n.uri() {
                uri_ok |= u == uri;
            }
        }
    }
    if !host_ok {
        return Err(format!(
            "the upstream's certificate does not name {host}, the host of endpoint_url (BadCertificateHostNameInvalid)"
        ));
    }
    if !uri_ok {
        return Err(format!(
            "the upstream's certificate does not carry its application URI {uri} (BadCertificateUriInvalid)"
        ));
    }
    Ok(())
}

/// LastError when the upstream's endpoint list has no endpoint with the configured security
/// policy and mode at endpoint_url: what was asked for and what the upstream offers.
fn no_matching_endpoint(c: &UpstreamConfig, endpoints: &[EndpointDescription]) -> String {
    let wanted = format!("{}/{}", c.security_policy.name(), c.security_mode.name());
    let mut offered: Vec<String> = Vec::new();
    let mut elsewhere: Vec<String> = Vec::new();
    for e in endpoints {
        let uri = e.security_policy_uri.as_ref();
        let one = format!("{}/{:?}", uri.rsplit_once('#').map_or(uri, |(_, n)| n), e.security_mode);
        if one == wanted {
            elsewhere.push(e.endpoint_url.as_ref().to_string());
        }
        if !offered.contains(&one) {
            offered.push(one);
        }
    }
    let offered = if offered.is_empty() { "none".to_string() } else { offered.join(", ") };
    let mut msg = format!(
        "the upstream offers no endpoint with security_policy/security_mode {wanted} at {}; it offers {offered} (BadSecurityPolicyRejected)",
        c.endpoint_url
    );
    if !elsewhere.is_empty() {
        msg.push_str(&format!(
            "; {wanted} is offered at {}, whose path differs from that of endpoint_url",
            elsewhere.join(", ")
        ));
    }
    msg
}

/// Drives a session's event loop until its connection is lost, and no further: the next
/// connection is made by [`Upstream::run`] (a new session, namespaces read again, shared items
/// recreated, values Bad in between, trust of `accept_all_server_certificates` undone), never by
/// async-opcua's own reconnect, which stores an accepted-for-commissioning certificate as trusted
/// again and sends no more Publish requests afterwards. Ends with the status of the loss (or of
/// the failed first connection).
fn drive<T>(event_loop: SessionEventLoop<T>) -> tokio::task::JoinHandle<StatusCode>
where
    T: opcua::client::transport::Connector + 'static,
{
    use futures::StreamExt;
    tokio::spawn(async move {
        let events = event_loop.enter();
        futures::pin_mut!(events);
        while let Some(event) = events.next().await {
            match event {
                Ok(SessionPollResult::ConnectionLost(status) | SessionPollResult::ReconnectFailed(status)) => {
                    return status;
                }
                Ok(_) => {}
                Err(status) => return status,
            }
        }
        StatusCode::BadConnectionClosed
    })
}

/// Restores the trusted folder when a connection attempt ends, however it ends.
struct Restore(TrustSnapshot);

impl Drop for Restore {
    fn drop(&mut self) {
        self.0.restore();
    }
}

/// The text of a failed connection step, with a hint for the operator.
fn failure(e: &opcua::types::Error) -> String {
    let text = e.to_string();
    format!("{text} ({})", describe_failure(e.status(), &text))
}

/// [`describe`], told apart by the client's message where the status alone is ambiguous: a
/// peer that accepts the connection but answers the Hello with something else (or nothing) is
/// reachable, but it is not an OPC UA server.
fn describe_failure(s: StatusCode, message: &str) -> &'static str {
    if s == StatusCode::BadConnectionClosed && message.contains("waiting for server ACK") {
        return "the upstream accepted the connection but did not answer as an OPC UA server: check the port of endpoint_url";
    }
    describe(s)
}

/// Statuses of a refused server certificate.
fn is_untrusted(s: StatusCode) -> bool {
    matches!(s, StatusCode::BadCertificateUntrusted | StatusCode::BadSecurityChecksFailed)
}

fn describe(s: StatusCode) -> &'static str {
    match s {
        StatusCode::BadCertificateUntrusted | StatusCode::BadSecurityChecksFailed => {
            "the upstream's certificate is not trusted: move it from pki-client/rejected to pki-client/trusted, or set accept_all_server_certificates while commissioning"
        }
        StatusCode::BadIdentityTokenRejected | StatusCode::BadIdentityTokenInvalid | StatusCode::BadUserAccessDenied => {
            "the upstream refused the user name, password or user certificate"
        }
        StatusCode::BadTcpEndpointUrlInvalid | StatusCode::BadNotConnected | StatusCode::BadConnectionClosed | StatusCode::BadCommunicationError => {
            "the upstream is not reachable at endpoint_url"
        }
        StatusCode::BadCertificateHostNameInvalid => {
            "the upstream's certificate does not name the host of endpoint_url (use the host name or address its certificate lists)"
        }
        StatusCode::BadSecurityPolicyRejected => "the upstream offers no endpoint with this security_policy/security_mode",
        _ => "see the log",
    }
}

/// Finds the upstream's own types that are direct subtypes of standard types, by walking
/// the standard type hierarchies of the upstream breadth first (one Browse per level).
async fn find_subtypes(
    session: &Session,
    map: &NsMapping,
) -> std::collections::HashMap<NodeId, Vec<ReferenceDescription>> {
    let mut out: std::collections::HashMap<NodeId, Vec<ReferenceDescription>> = Default::default();
    let mut level: Vec<NodeId> = vec![
        opcua::types::DataTypeId::BaseDataType.into(),
        opcua::types::ObjectTypeId::BaseObjectType.into(),
        opcua::types::VariableTypeId::BaseVariableType.into(),
        ReferenceTypeId::References.into(),
    ];
    let mut depth = 0;
    while !level.is_empty() && depth < 32 {
        depth += 1;
        let mut next = Vec::new();
        for chunk in level.chunks(500) {
            let descs: Vec<BrowseDescription> = chunk
                .iter()
                .map(|n| BrowseDescription {
                    node_id: n.clone(),
                    browse_direction: BrowseDirection::Forward,
                    reference_type_id: ReferenceTypeId::HasSubtype.into(),
                    include_subtypes: false,
                    node_class_mask: 0,
                    result_mask: 0x3f,
                })
                .collect();
            let Ok(results) = session.browse(&descs, 0, None).await else {
                return out;
            };
            for (parent, r) in chunk.iter().zip(results) {
                let refs = all_references(session, r).await;
                for rd in refs {
                    let child = &rd.node_id;
                    if child.server_index != 0 || !child.namespace_uri.is_null() {
                        continue;
                    }
                    if child.node_id.namespace == 0 {
                        next.push(child.node_id.clone());
                    } else {
                        out.entry(parent.clone()).or_default().push(map_reference(map, rd));
                    }
                }
            }
        }
        level = next;
    }
    out
}

/// The references of a browse result, following its continuation points.
pub(crate) async fn all_references(session: &Session, mut r: BrowseResult) -> Vec<ReferenceDescription> {
    let mut refs = r.references.take().unwrap_or_default();
    let mut cp = r.continuation_point;
    let mut guard = 0;
    while !cp.is_null() && guard < 1000 {
        guard += 1;
        match session.browse_next(false, &[cp.clone()]).await {
            Ok(mut v) if !v.is_empty() => {
                let mut n = v.remove(0);
                refs.extend(n.references.take().unwrap_or_default());
                cp = n.continuation_point;
            }
            _ => break,
        }
    }
    refs
}

/// A reference description from the upstream, in gateway ids.
pub fn map_reference(map: &NsMapping, rd: ReferenceDescription) -> ReferenceDescription {
    ReferenceDescription {
        reference_type_id: map.node_to_gw(&rd.reference_type_id),
        is_forward: rd.is_forward,
        node_id: map.expanded_to_gw(&rd.node_id),
        browse_name: map.qn_to_gw(&rd.browse_name),
        display_name: rd.display_name,
        node_class: rd.node_class,
        type_definition: map.expanded_to_gw(&rd.type_definition),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{UpstreamMode, UpstreamPolicy};

    fn ep(url: &str, policy: &str, mode: MessageSecurityMode) -> EndpointDescription {
        EndpointDescription {
            endpoint_url: url.into(),
            security_policy_uri: format!("http://opcfoundation.org/UA/SecurityPolicy#{policy}").into(),
            security_mode: mode,
            ..Default::default()
        }
    }

    #[test]
    fn missing_endpoint_names_what_is_wanted_and_offered() {
        let c = UpstreamConfig {
            endpoint_url: "opc.tcp://plc:4840/".into(),
            security_policy: UpstreamPolicy::Basic256Sha256,
            security_mode: UpstreamMode::Sign,
            ..Default::default()
        };
        let offered = [
            ep("opc.tcp://plc:4840/", "Aes128_Sha256_RsaOaep", MessageSecurityMode::Sign),
            ep("opc.tcp://plc:4840/", "Aes128_Sha256_RsaOaep", MessageSecurityMode::Sign),
            ep("opc.tcp://plc:4840/", "None", MessageSecurityMode::None),
        ];
        let url = "opc.tcp://plc:4840/";
        assert!(Client::find_matching_endpoint(&offered, url, SecurityPolicy::Basic256Sha256, MessageSecurityMode::Sign).is_none());
        assert_eq!(
            no_matching_endpoint(&c, &offered),
            "the upstream offers no endpoint with security_policy/security_mode Basic256Sha256/Sign at opc.tcp://plc:4840/; it offers Aes128_Sha256_RsaOaep/Sign, None/None (BadSecurityPolicyRejected)"
        );
        assert!(no_matching_endpoint(&c, &[]).contains("; it offers none ("));
        // offered, but under another path: that is said too
        let elsewhere = [ep("opc.tcp://plc:4840/other", "Basic256Sha256", MessageSecurityMode::Sign)];
        assert!(Client::find_matching_endpoint(&elsewhere, url, SecurityPolicy::Basic256Sha256, MessageSecurityMode::Sign).is_none());
        let msg = no_matching_endpoint(&c, &elsewhere);
        assert!(msg.ends_with("; Basic256Sha256/Sign is offered at opc.tcp://plc:4840/other, whose path differs from that of endpoint_url"), "{msg}");
    }
}
