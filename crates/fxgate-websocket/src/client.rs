//! The client: one task per `[[websocket]]` that collects changes of the selected tags,
//! turns them into numbered messages every `publish_interval_ms`, keeps them in the
//! store-and-forward buffer, and sends them whenever a connection is up; commands from
//! the server are answered on the same connection.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, SinkExt};
use fxgate_config::{Role, UserConfig, WebSocketConfig, WsEncoding};
use fxgate_core::store::StoreError;
use fxgate_core::{
    ChangeBatch, Component, ComponentContext, Declared, RunningComponent, TagStore, TagStoreBuilder,
};
use fxgate_lines::LineStream;
use opcua::types::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use yawc::close::CloseCode;
use yawc::frame::{Frame, OpCode};
use yawc::{Options, Role as WsRole, WebSocket, WebSocketError};

use fxgate_forward::value::{self, status_name};
use fxgate_forward::{Buffer, Collector, Encoding, Sample, Selection, TagFilter};

use crate::handshake::{handshake, Request};
use crate::jwt::Jwt;
use crate::message::{self, Command};
use crate::status::{WsMetrics, WsState, WsStatus};
use crate::tls::{self, WsError};

type Ws = WebSocket<Counted>;

/// The connection's stream, counting the WebSocket bytes written (frames after compression,
/// before TLS) for `fxgate_websocket_bytes_sent_total`.
///
/// Dropped, it closes gracefully in the background (see [`linger`]).
pub struct Counted {
    inner: Option<LineStream>,
    written: Arc<std::sync::atomic::AtomicU64>,
}

impl Counted {
    fn inner(&mut self) -> std::io::Result<&mut LineStream> {
        self.inner.as_mut().ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotConnected))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if let (Some(inner), Ok(rt)) = (self.inner.take(), tokio::runtime::Handle::try_current()) {
            rt.spawn(linger(inner));
        }
    }
}

/// How long a dropped connection is drained at most.
const LINGER: Duration = Duration::from_secs(2);

/// Closes a dropped connection gracefully: sends FIN (TLS: close_notify first), then reads and
/// discards until the peer closes, for at most [`LINGER`].
///
/// Closing a socket that still has unread bytes in the kernel's receive queue (e.g. the rest
/// of an oversized message the peer is still sending) sends a TCP reset instead of a FIN. The
/// reset can overtake the close frame just sent (1009, 1001, …): the peer's stack throws away
/// what it had not yet read, and the peer never learns why it was dropped.
async fn linger(mut s: LineStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tokio::time::timeout(LINGER, async {
        let _ = s.shutdown().await;
        let mut buf = vec![0u8; 16 * 1024];
        while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
}

impl tokio::io::AsyncRead for Counted {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut().inner() {
            Ok(inner) => std::pin::Pin::new(inner).poll_read(cx, buf),
            Err(e) => std::task::Poll::Ready(Err(e)),
        }
    }
}

impl tokio::io::AsyncWrite for Counted {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = match this.inner() {
            Ok(inner) => std::pin::Pin::new(inner).poll_write(cx, buf),
            Err(e) => return std::task::Poll::Ready(Err(e)),
        };
        if let std::task::Poll::Ready(Ok(n)) = &r {
            this.written.fetch_add(*n as u64, std::sync::atomic::Ordering::Relaxed);
        }
        r
    }

    fn poll_flush(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut().inner() {
            Ok(inner) => std::pin::Pin::new(inner).poll_flush(cx),
            Err(e) => std::task::Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut().inner() {
            Ok(inner) => std::pin::Pin::new(inner).poll_shutdown(cx),
            Err(e) => std::task::Poll::Ready(Err(e)),
        }
    }
}

/// A configured WebSocket client.
pub struct WebSocketSink {
    cfg: WebSocketConfig,
    app_dir: PathBuf,
    state: WsState,
    may_write: bool,
}

impl WebSocketSink {
    /// From its config; `users` decides whether commands may write.
    pub fn new(cfg: WebSocketConfig, users: &[UserConfig], app_dir: PathBuf, metrics: WsMetrics) -> Self {
        let may_write = users.iter().any(|u| u.name == cfg.user && u.roles.contains(&Role::Write));
        let state = WsState::new(&cfg.name, metrics);
        Self { cfg, app_dir, state, may_write }
    }
}

impl Component for WebSocketSink {
    fn kind(&self) -> &'static str {
        "websocket"
    }

    fn name(&self) -> String {
        self.cfg.name.clone()
    }

    fn declare(&self, b: &mut TagStoreBuilder) -> Result<Declared, StoreError> {
        Ok(Declared { tags: self.state.declare(b)?, writes: None })
    }

    fn build(self: Box<Self>, cx: ComponentContext) -> BoxFuture<'static, Result<RunningComponent, String>> {
        async move {
            let this = *self;
            this.state.attach(cx.store.clone(), &cx.tags);
            let url = url::Url::parse(&this.cfg.url).map_err(|e| format!("url: {e}"))?;
            let tls = match (&this.cfg.tls, url.scheme()) {
                (Some(t), "wss") => Some(tls::connector(t, &this.app_dir).map_err(|e| e.to_string())?),
                (None, "wss") => Some(
                    tls::connector(&fxgate_config::WsTlsConfig::default(), &this.app_dir).map_err(|e| e.to_string())?,
                ),
                _ => None,
            };
            if this.cfg.tls.as_ref().is_some_and(|t| t.no_server_cert_check) {
                tracing::warn!(websocket = %this.cfg.name, "SERVER CERTIFICATE CHECK IS OFF (no_server_cert_check): anyone can impersonate the server");
            }
            let jwt = match &this.cfg.jwt {
                Some(j) => Some(Jwt::new(j, &this.app_dir).map_err(|e| format!("jwt: {e}"))?),
                None => None,
            };
            let filter = TagFilter::new(&this.cfg.tags).map_err(|e| format!("tags: {e}"))?;
            let selection = Selection::new(&cx.store, &filter);
            if selection.is_empty() {
                tracing::warn!(websocket = %this.cfg.name, tags = ?this.cfg.tags, "no tag matches; only state is exchanged");
            }
            let spill = cx.data_dir.join("websocket").join(&this.cfg.name).join("spill.bin");
            let buffer = Buffer::new(this.cfg.buffer_max_bytes as usize, this.cfg.buffer_memory_bytes as usize, spill);
            let health_state = this.state.clone();
            let health = Arc::new(move || match health_state.status() {
                WsStatus::SUCCESS => Ok(()),
                s => Err(format!("{}: {}", s.name(), health_state.last_error())),
            });
            let changes = cx.store.subscribe();
            let conn = Connector {
                cfg: Arc::new(this.cfg.clone()),
                url,
                tls,
                jwt: jwt.map(Arc::new),
                written: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            };
            let persist = cx.data_dir.join("websocket").join(&this.cfg.name).join("pending.bin");
            let client = Client {
                encoding: message::encoding(this.cfg.encoding),
                cfg: this.cfg,
                state: this.state,
                store: cx.store,
                changes: Collector::new(selection),
                buffer,
                seq: 0,
                may_write: this.may_write,
                connector: conn,
                bytes_accounted: 0,
                persist,
            };
            Ok(RunningComponent { task: client.run(changes, cx.shutdown).boxed(), health })
        }
        .boxed()
    }
}

/// Everything needed to open a connection, shareable with the connecting task.
#[derive(Clone)]
struct Connector {
    cfg: Arc<WebSocketConfig>,
    url: url::Url,
    tls: Option<openssl::ssl::SslConnector>,
    jwt: Option<Arc<Jwt>>,
    /// WebSocket bytes written on every connection so far.
    written: Arc<std::sync::atomic::AtomicU64>,
}

impl Connector {
    async fn open(self) -> Result<Ws, WsError> {
        let cfg = &self.cfg;
        let timeout = Duration::from_secs(cfg.connect_response_timeout);
        let host = self.url.host_str().unwrap_or_default().to_string();
        let port = self.url.port_or_known_default().unwrap_or(80);
        let bare = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let addrs: Vec<std::net::SocketAddr> = match tokio::net::lookup_host((bare.as_str(), port)).await {
            Ok(a) => a.collect(),
            Err(e) => return Err(WsError::new(WsStatus::SOCK_NOT_FOUND, format!("{host}: {e}"))),
        };
        let mut last = WsError::new(WsStatus::SOCK_NOT_FOUND, format!("{host} resolved to no address"));
        let mut tcp = None;
        for a in addrs {
            match tokio::time::timeout(timeout, TcpStream::connect(a)).await {
                Ok(Ok(s)) => {
                    tcp = Some(s);
                    break;
                }
                Ok(Err(e)) => {
                    let status = match e.kind() {
                        std::io::ErrorKind::ConnectionRefused => WsStatus::SOCK_CONN_REFUSED,
                        std::io::ErrorKind::HostUnreachable | std::io::ErrorKind::NetworkUnreachable => {
                            WsStatus::SOCK_CONN_HOSTUNREACH
                        }
                        _ => WsStatus::SOCK_CONN_FAILED,
                    };
                    last = WsError::new(status, format!("{a}: {e}"));
                }
                Err(_) => last = WsError::new(WsStatus::SOCK_CONN_TIMEOUT, format!("{a}: no connection within {timeout:?}")),
            }
        }
        let tcp = tcp.ok_or(last)?;
        let _ = tcp.set_nodelay(true);
        let mut io = match &self.tls {
            None => LineStream::Tcp(tcp),
            Some(c) => {
                let verify = !cfg.tls.as_ref().is_some_and(|t| t.no_server_cert_check || (!t.psk_key.is_empty() && t.ca.is_empty()));
                LineStream::Tls(Box::new(tls::connect(c, tcp, &bare, verify, timeout).await?))
            }
        };
        let bearer = match &self.jwt {
            Some(j) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                j.token(now).map_err(|e| WsError::new(WsStatus::INTERNAL_ERROR, format!("jwt: {e}")))?
            }
            None => String::new(),
        };
        let host_header = match self.url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let path = &self.url[url::Position::BeforePath..url::Position::AfterQuery];
        let req = Request {
            host: &host_header,
            path: if path.is_empty() { "/" } else { path },
            subprotocol: &cfg.subprotocol,
            origin: &cfg.origin,
            deflate: cfg.per_message_deflate,
            bearer: &bearer,
        };
        let agreed = match tokio::time::timeout(timeout, handshake(&mut io, &req)).await {
            Err(_) => return Err(WsError::new(WsStatus::CONNECT_RES_TIMEOUT, format!("no handshake response within {timeout:?}"))),
            Ok(r) => r?,
        };
        let mut options = Options::default()
            .with_limits(cfg.max_recv_frame_size as usize, cfg.max_recv_message_size as usize)
            .with_max_fragment_size(cfg.max_send_frame_size as usize)
            .with_utf8();
        options = if agreed.extensions.is_some() { options.with_balanced_compression() } else { options.without_compression() };
        let io = Counted { inner: Some(io), written: self.written.clone() };
        WebSocket::from_stream_with_extensions(io, WsRole::Client, agreed.extensions.as_deref(), options)
            .map_err(|e| WsError::new(WsStatus::CONNECT_RES_INVALID_EXTENSION, e.to_string()))
    }
}

struct Client {
    cfg: WebSocketConfig,
    state: WsState,
    encoding: Encoding,
    store: Arc<TagStore>,
    /// The selected tags and their changes since the last message.
    changes: Collector,
    buffer: Buffer,
    seq: u64,
    may_write: bool,
    connector: Connector,
    bytes_accounted: u64,
    /// Where unsent messages and the sequence number are kept across a restart.
    persist: PathBuf,
}

/// Why a connection ended.
struct Ended {
    status: WsStatus,
    message: String,
    close: Option<u16>,
}

fn ended(status: WsStatus, message: impl Into<String>, close: Option<u16>) -> Ended {
    Ended { status, message: message.into(), close }
}

fn classify(e: &WebSocketError) -> WsStatus {
    match e {
        WebSocketError::FrameTooLarge => WsStatus::INVALID_MSG_SIZE,
        WebSocketError::CompressionNotSupported => WsStatus::DECOMPRESS_ERROR,
        WebSocketError::IoError(io) if io.to_string().to_lowercase().contains("inflat") || io.to_string().to_lowercase().contains("deflate") => {
            WsStatus::DECOMPRESS_ERROR
        }
        WebSocketError::IoError(_) | WebSocketError::ConnectionClosed => WsStatus::SOCK_CONN_LOST,
        _ => WsStatus::PROTOCOL_ERROR,
    }
}

impl Client {
    fn collect(&mut self, batch: &ChangeBatch) {
        self.changes.collect(batch);
    }

    /// Everything selected, as it is now (at start and after the change stream lagged).
    fn snapshot(&mut self) {
        self.changes.snapshot(&self.store);
    }

    /// Turns the pending changes into one message in the buffer.
    fn publish(&mut self) {
        if self.changes.is_empty() {
            return;
        }
        let pending = self.changes.take();
        let selection = self.changes.selection();
        let values: Vec<Sample<'_>> =
            pending.iter().filter_map(|(id, v)| selection.path(*id).map(|p| Sample::new(p, v))).collect();
        self.seq += 1;
        let data = message::data_message(self.seq, values, self.encoding);
        let dropped = self.buffer.push(self.seq, Bytes::from(data));
        if dropped > 0 {
            self.state.dropped(dropped);
            tracing::warn!(websocket = %self.cfg.name, dropped, total = self.buffer.dropped(), "store-and-forward buffer full: oldest messages dropped");
        }
    }

    fn frame(&self, data: Bytes) -> Frame {
        match self.cfg.encoding {
            WsEncoding::Json => Frame::text(data),
            WsEncoding::Cbor => Frame::binary(data),
        }
    }

    fn counters(&mut self) {
        self.state.counters(self.seq, self.buffer.len() as u64, self.buffer.dropped());
        self.account_bytes();
    }

    /// Moves the bytes written since the last call into the metric.
    fn account_bytes(&mut self) {
        let now = self.connector.written.load(std::sync::atomic::Ordering::Relaxed);
        self.state.bytes(now.saturating_sub(self.bytes_accounted));
        self.bytes_accounted = now;
    }

    async fn run(mut self, mut changes: broadcast::Receiver<ChangeBatch>, shutdown: CancellationToken) -> Result<(), String> {
        match self.buffer.load(&self.persist) {
            Ok(Some(seq)) => {
                self.seq = seq;
                tracing::info!(websocket = %self.cfg.name, messages = self.buffer.len(), seq, "messages kept from the last run will be sent first");
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(websocket = %self.cfg.name, path = %self.persist.display(), error = %e, "cannot read the messages kept from the last run"),
        }
        self.snapshot();
        let publish_every = Duration::from_millis(self.cfg.publish_interval_ms);
        let mut tick = tokio::time::interval(publish_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut counters_tick = tokio::time::interval(Duration::from_secs(1));
        let mut backoff = Duration::from_millis(self.cfg.reconnect_min_ms);
        let mut next_attempt = Instant::now();
        let mut connecting: Option<tokio::task::JoinHandle<Result<Ws, WsError>>> = None;
        let mut ws: Option<Ws> = None;
        let mut first = true;
        let (reply_tx, mut replies) = mpsc::channel::<Value>(256);
        let mut last_rx = Instant::now();
        let mut ping_sent: Option<Instant> = None;
        self.state.set(WsStatus::SOCK_NO_CONN, false, None);
        loop {
            let keepalive_at = if !self.cfg.keep_alive || ws.is_none() {
                None
            } else if let Some(p) = ping_sent {
                Some(p + Duration::from_secs(self.cfg.keep_alive_close_timeout))
            } else {
                Some(last_rx + Duration::from_secs(self.cfg.keep_alive_interval))
            };
            let mut end: Option<Ended> = None;
            tokio::select! {
                _ = shutdown.cancelled() => {
                    self.publish();
                    if let Some(mut s) = ws.take() {
                        let _ = tokio::time::timeout(Duration::from_secs(1), self.flush(&mut s)).await;
                        let _ = tokio::time::timeout(Duration::from_secs(1), s.send(Frame::close(CloseCode::Away, b"fxgate shutting down"))).await;
                    }
                    if let Some(c) = connecting.take() {
                        c.abort();
                    }
                    self.state.set(WsStatus::FINALIZE_DISCONNECT, false, None);
                    match self.buffer.save(&self.persist, self.seq) {
                        Ok(n) if n > 0 => tracing::info!(websocket = %self.cfg.name, messages = n, path = %self.persist.display(), "undelivered messages kept for the next start"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(websocket = %self.cfg.name, messages = self.buffer.len(), error = %e, "cannot keep the undelivered messages"),
                    }
                    return Ok(());
                }
                r = changes.recv() => match r {
                    Ok(batch) => self.collect(&batch),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(websocket = %self.cfg.name, batches = n, "fell behind the tag store; sending a full image");
                        self.snapshot();
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                _ = tick.tick() => {
                    self.publish();
                    if let Some(s) = ws.as_mut() {
                        if let Err(e) = self.flush(s).await {
                            end = Some(e);
                        }
                    }
                }
                _ = counters_tick.tick() => self.counters(),
                _ = tokio::time::sleep_until(next_attempt), if ws.is_none() && connecting.is_none() => {
                    if !first {
                        self.state.reconnect();
                    }
                    first = false;
                    connecting = Some(tokio::spawn(self.connector.clone().open()));
                }
                r = async { match connecting.as_mut() { Some(h) => h.await, None => std::future::pending().await } }, if connecting.is_some() => {
                    connecting = None;
                    match r {
                        Ok(Ok(mut s)) => {
                            tracing::info!(websocket = %self.cfg.name, url = %self.cfg.url, buffered = self.buffer.len(), "connected");
                            self.state.set(WsStatus::SUCCESS, true, None);
                            backoff = Duration::from_millis(self.cfg.reconnect_min_ms);
                            last_rx = Instant::now();
                            ping_sent = None;
                            self.buffer.rewind();
                            match self.flush(&mut s).await {
                                Ok(()) => ws = Some(s),
                                Err(e) => end = Some(e),
                            }
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(websocket = %self.cfg.name, error = %e, "connection failed");
                            self.state.set(e.status, false, Some(&e.message));
                            next_attempt = Instant::now() + backoff;
                            backoff = (backoff * 2).min(Duration::from_millis(self.cfg.reconnect_max_ms));
                        }
                        Err(join) => {
                            self.state.set(WsStatus::INTERNAL_ERROR, false, Some(&join.to_string()));
                            next_attempt = Instant::now() + backoff;
                        }
                    }
                }
                f = async { match ws.as_mut() { Some(s) => futures::future::poll_fn(|cx| s.poll_next_frame(cx)).await, None => std::future::pending().await } }, if ws.is_some() => {
                    last_rx = Instant::now();
                    ping_sent = None;
                    match f {
                        Ok(frame) => {
                            let is_close = frame.opcode() == OpCode::Close;
                            end = self.on_frame(frame, &reply_tx);
                            if let (true, Some(s)) = (is_close, ws.as_mut()) {
                                // yawc queued the echo of the close frame (RFC 6455 §5.5.1); reading
                                // on after the close sends it and reports the end.
                                let _ = tokio::time::timeout(
                                    Duration::from_millis(500),
                                    futures::future::poll_fn(|cx| s.poll_next_frame(cx)),
                                )
                                .await;
                            }
                        }
                        Err(e) => {
                            let status = classify(&e);
                            let close = (status == WsStatus::INVALID_MSG_SIZE).then_some(1009);
                            if let (Some(_), Some(s)) = (close, ws.as_mut()) {
                                let _ = tokio::time::timeout(Duration::from_millis(500), s.send(Frame::close(CloseCode::Size, b"message too big"))).await;
                            }
                            end = Some(ended(status, e.to_string(), close));
                        }
                    }
                }
                Some(reply) = replies.recv() => {
                    if let Some(s) = ws.as_mut() {
                        let data = Bytes::from(value::encode(&reply, self.encoding));
                        if let Err(e) = s.send(self.frame(data)).await {
                            end = Some(ended(classify(&e), e.to_string(), None));
                        }
                    }
                }
                _ = async { match keepalive_at { Some(at) => tokio::time::sleep_until(at).await, None => std::future::pending().await } }, if keepalive_at.is_some() => {
                    if ping_sent.is_some() {
                        end = Some(ended(WsStatus::KEEP_ALIVE_TIMEOUT, format!("no answer to a ping within {} s", self.cfg.keep_alive_close_timeout), None));
                        if let Some(s) = ws.as_mut() {
                            let _ = tokio::time::timeout(Duration::from_millis(200), s.send(Frame::close(CloseCode::Away, b"keep-alive timeout"))).await;
                        }
                    } else if let Some(s) = ws.as_mut() {
                        ping_sent = Some(Instant::now());
                        if let Err(e) = s.send(Frame::ping(Bytes::from_static(b"fxgate"))).await {
                            end = Some(ended(classify(&e), e.to_string(), None));
                        }
                    }
                }
            }
            if let Some(e) = end {
                ws = None;
                tracing::warn!(websocket = %self.cfg.name, status = %e.status.name(), error = %e.message, "connection ended");
                self.state.set(e.status, false, Some(&e.message));
                if let Some(c) = e.close {
                    self.state.closed(c);
                }
                next_attempt = Instant::now() + backoff;
                backoff = (backoff * 2).min(Duration::from_millis(self.cfg.reconnect_max_ms));
            }
        }
    }

    /// Sends every buffered message not yet sent on this connection.
    async fn flush(&mut self, s: &mut Ws) -> Result<(), Ended> {
        let mut sent_any = false;
        while let Some((_, data)) = self.buffer.next_unsent() {
            if let Err(e) = s.feed(self.frame(data)).await {
                return Err(ended(classify(&e), e.to_string(), None));
            }
            self.buffer.sent(self.cfg.require_ack);
            self.state.sent();
            sent_any = true;
        }
        if sent_any {
            if let Err(e) = s.flush().await {
                return Err(ended(classify(&e), e.to_string(), None));
            }
            self.account_bytes();
        }
        Ok(())
    }

    /// Handles a frame from the server; `Some` when the connection ends.
    fn on_frame(&mut self, frame: Frame, replies: &mpsc::Sender<Value>) -> Option<Ended> {
        match frame.opcode() {
            OpCode::Close => {
                let code = frame.close_code().map(u16::from).unwrap_or(1005);
                let reason = frame.close_reason().ok().flatten().unwrap_or_default().to_string();
                self.state.closed(code);
                Some(ended(WsStatus::SOCK_CONN_LOST, format!("server closed the connection ({code} {reason})"), Some(code)))
            }
            OpCode::Text | OpCode::Binary => {
                let binary = frame.opcode() == OpCode::Binary;
                match message::parse_command(frame.payload(), binary) {
                    Ok(cmd) => self.command(cmd, replies),
                    Err((id, why)) => {
                        tracing::warn!(websocket = %self.cfg.name, error = %why, "malformed message from the server");
                        let _ = replies.try_send(json!({"op": "error", "id": id, "error": why}));
                    }
                }
                None
            }
            _ => None,
        }
    }

    fn command(&mut self, cmd: Command, replies: &mpsc::Sender<Value>) {
        match cmd {
            Command::Ack { seq } => {
                self.buffer.ack(seq);
            }
            Command::Read { tags, id } => {
                let _ = replies.try_send(message::read_result(&self.store, &tags, id));
            }
            Command::Browse { path, id } => {
                let _ = replies.try_send(message::browse_result(&self.store, &path, id));
            }
            Command::Write { tag, v, id } => {
                let store = self.store.clone();
                let replies = replies.clone();
                let may_write = self.may_write;
                let name = self.cfg.name.clone();
                // A write may wait for a device; answer from its own task.
                tokio::spawn(async move {
                    let status = if !may_write {
                        StatusCode::BadUserAccessDenied
                    } else {
                        match store.id_of(&tag) {
                            None => StatusCode::BadNodeIdUnknown,
                            Some(tid) => match store.def(tid).map(|d| value::to_variant(&v, d.data_type)) {
                                Some(Ok(value)) => store.write(tid, value).await,
                                Some(Err(s)) => s,
                                None => StatusCode::BadNodeIdUnknown,
                            },
                        }
                    };
                    tracing::info!(websocket = %name, %tag, status = %status_name(status), "write from the server");
                    let _ = replies.send(json!({"op": "write-result", "id": id, "status": status_name(status)})).await;
                });
            }
        }
    }
}
