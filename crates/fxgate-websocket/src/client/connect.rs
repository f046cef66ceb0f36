//! One connection attempt: the server's name resolved, TCP to each address in turn, TLS
//! (`ST_IotSocketTls`, seed 001 §5.1.1.8), a fresh JWT (§4.3.2.1) and the opening handshake
//! (RFC 6455 §4.1, §5.1.1.1 `CheckProtocol`), each within `connect_response_timeout`
//! (§5.1.1 `nConnectResponseTimeout`); then yawc takes the frames with the agreed extensions
//! and the configured limits (`nMaxRecvFrameSize`, `nMaxRecvMsgSize`, `nMaxSendFrameSize`).

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use crate::config::WebSocketConfig;
use fxgate_lines::LineStream;
use tokio::net::TcpStream;
use yawc::{Options, Role as WsRole, WebSocket};

use super::stream::Counted;
use super::Ws;
use crate::error::ConnectError;
use crate::handshake::{handshake, Request};
use crate::jwt::Jwt;
use crate::tls;

/// Everything needed to open a connection, shareable with the connecting task.
#[derive(Clone)]
pub(super) struct Connector {
    pub(super) cfg: Arc<WebSocketConfig>,
    pub(super) url: url::Url,
    pub(super) tls: Option<openssl::ssl::SslConnector>,
    pub(super) jwt: Option<Arc<Jwt>>,
    /// WebSocket bytes written on every connection so far.
    pub(super) written: Arc<AtomicU64>,
}

impl Connector {
    /// Opens a connection.
    pub(super) async fn open(self) -> Result<Ws, ConnectError> {
        let cfg = &self.cfg;
        let timeout = Duration::from_secs(cfg.connect_response_timeout);
        let host = self.url.host_str().unwrap_or_default().to_string();
        let port = self.url.port_or_known_default().unwrap_or(80);
        let bare = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let addrs: Vec<std::net::SocketAddr> = match tokio::net::lookup_host((bare.as_str(), port)).await {
            Ok(a) => a.collect(),
            Err(source) => return Err(ConnectError::Resolve { host, source }),
        };
        let mut last = ConnectError::NoAddress { host: host.clone() };
        let mut tcp = None;
        for a in addrs {
            match tokio::time::timeout(timeout, TcpStream::connect(a)).await {
                Ok(Ok(s)) => {
                    tcp = Some(s);
                    break;
                }
                Ok(Err(e)) => last = ConnectError::tcp(a, e),
                Err(_) => last = ConnectError::TcpTimeout { addr: a, timeout },
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
                j.token(now).map_err(ConnectError::Token)?
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
            Err(_) => return Err(ConnectError::HandshakeTimeout(timeout)),
            Ok(r) => r?,
        };
        let mut options = Options::default()
            .with_limits(cfg.max_recv_frame_size as usize, cfg.max_recv_message_size as usize)
            .with_max_fragment_size(cfg.max_send_frame_size as usize)
            .with_utf8();
        options = if agreed.extensions.is_some() { options.with_balanced_compression() } else { options.without_compression() };
        let io = Counted::new(io, self.written.clone());
        WebSocket::from_stream_with_extensions(io, WsRole::Client, agreed.extensions.as_deref(), options)
            .map_err(ConnectError::Extensions)
    }
}
