//! Server lines: listen on one interface (`host`) or on all of them (`*`/`ALL` for
//! IPv4, `[*]`/`[ALL]` for IPv6), and hand each accepted connection to the protocol.
//!
//! The TLS handshake of an accepted connection runs lazily, inside the connection's own
//! task ([`ServerStream`]), so a slow or hostile client never holds up the accept loop.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use fxgate_config::LineConfig;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::error::LineError;
use crate::status::{LineState, LineStatus};
use crate::stream::LineStream;
use crate::tls::LineTls;

/// The listening side of a line.
#[derive(Clone)]
pub struct LineServer {
    cfg: Arc<LineConfig>,
    tls: Option<LineTls>,
    status: LineStatus,
    clients: Arc<Mutex<Vec<SocketAddr>>>,
}

/// The address a server line listens on: `*`/`ALL` → 0.0.0.0, `[*]`/`[ALL]` → [::]
/// (IPv6 only), `localhost`, or an interface address.
pub fn listen_addr(host: &str, port: u16) -> Option<(SocketAddr, bool)> {
    let h = host.trim();
    let v6_only;
    let ip: IpAddr = if h == "*" || h.eq_ignore_ascii_case("ALL") {
        v6_only = false;
        Ipv4Addr::UNSPECIFIED.into()
    } else if h == "[*]" || h.eq_ignore_ascii_case("[ALL]") {
        v6_only = true;
        Ipv6Addr::UNSPECIFIED.into()
    } else if h.eq_ignore_ascii_case("localhost") {
        v6_only = false;
        Ipv4Addr::LOCALHOST.into()
    } else {
        v6_only = false;
        h.trim_start_matches('[').trim_end_matches(']').parse().ok()?
    };
    Some((SocketAddr::new(ip, port), v6_only))
}

impl LineServer {
    /// Prepares the line (loads TLS material).
    pub fn new(cfg: LineConfig, config_dir: &Path, status: LineStatus) -> Result<Self, LineError> {
        let tls = LineTls::new(cfg.tls.as_ref(), config_dir, true)?;
        if tls.as_ref().is_some_and(|t| t.unverified) {
            tracing::warn!(line = %cfg.name, "TLS PEER VERIFICATION IS DISABLED on this line (disable_peer_verification)");
        }
        Ok(Self {
            cfg: Arc::new(cfg),
            tls,
            status,
            clients: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// The line's status.
    pub fn status(&self) -> &LineStatus {
        &self.status
    }

    /// Binds the listening socket.
    pub fn bind(&self) -> Result<TcpListener, LineError> {
        let (addr, v6_only) = listen_addr(&self.cfg.host, self.cfg.port).ok_or_else(|| LineError::Bind {
            addr: self.cfg.host.clone(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not an interface address"),
        })?;
        let bind_err = |source| LineError::Bind { addr: addr.to_string(), source };
        let domain = if addr.is_ipv6() { socket2::Domain::IPV6 } else { socket2::Domain::IPV4 };
        let socket = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP)).map_err(bind_err)?;
        if addr.is_ipv6() {
            socket.set_only_v6(v6_only).map_err(bind_err)?;
        }
        socket.set_reuse_address(true).map_err(bind_err)?;
        socket.set_nonblocking(true).map_err(bind_err)?;
        socket.bind(&addr.into()).map_err(bind_err)?;
        socket.listen(128).map_err(bind_err)?;
        let listener = TcpListener::from_std(socket.into()).map_err(bind_err)?;
        tracing::info!(line = %self.cfg.name, %addr, tls = self.tls.as_ref().map(|t| t.kind), "line listening");
        self.status.set(LineState::Listening, "");
        Ok(listener)
    }

    /// Wraps an accepted connection: TLS (if configured) is negotiated on first use, and
    /// the line's client list is kept while the stream lives.
    pub fn wrap(&self, tcp: TcpStream, peer: SocketAddr) -> ServerStream {
        let _ = tcp.set_nodelay(true);
        self.status.connection();
        self.clients.lock().push(peer);
        self.show_clients();
        let guard = ClientGuard { server: self.clone(), peer };
        let inner = match &self.tls {
            None => Inner::Ready(LineStream::Tcp(tcp)),
            Some(tls) => {
                let tls = tls.clone();
                let timeout = Duration::from_millis(self.cfg.connect_timeout_ms);
                let status = self.status.clone();
                let line = self.cfg.name.clone();
                Inner::Handshaking(Box::pin(async move {
                    let r = tls.accept(tcp, &peer.to_string(), timeout).await;
                    if let Err(e) = &r {
                        tracing::warn!(%line, %peer, error = %e, "TLS client refused");
                        status.error(&e.to_string());
                    }
                    r.map_err(|e| io::Error::new(io::ErrorKind::PermissionDenied, e.to_string()))
                }))
            }
        };
        ServerStream { inner, _guard: guard }
    }

    fn show_clients(&self) {
        let clients = self.clients.lock();
        let list: Vec<String> = clients.iter().map(|c| c.to_string()).collect();
        let state = if list.is_empty() { LineState::Listening } else { LineState::Connected };
        self.status.set(state, &list.join(", "));
    }
}

struct ClientGuard {
    server: LineServer,
    peer: SocketAddr,
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        {
            let mut c = self.server.clients.lock();
            if let Some(i) = c.iter().position(|p| *p == self.peer) {
                c.swap_remove(i);
            }
        }
        self.server.show_clients();
    }
}

type Handshake = Pin<Box<dyn Future<Output = io::Result<LineStream>> + Send>>;

enum Inner {
    Handshaking(Handshake),
    Ready(LineStream),
    Failed,
}

/// An accepted connection of a server line.
pub struct ServerStream {
    inner: Inner,
    _guard: ClientGuard,
}

impl fmt::Debug for ServerStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerStream({})", self._guard.peer)
    }
}

impl ServerStream {
    fn ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&mut LineStream>> {
        if let Inner::Handshaking(h) = &mut self.inner {
            match h.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(s)) => self.inner = Inner::Ready(s),
                Poll::Ready(Err(e)) => {
                    self.inner = Inner::Failed;
                    return Poll::Ready(Err(e));
                }
            }
        }
        match &mut self.inner {
            Inner::Ready(s) => Poll::Ready(Ok(s)),
            _ => Poll::Ready(Err(io::Error::new(io::ErrorKind::NotConnected, "TLS handshake failed"))),
        }
    }
}

impl AsyncRead for ServerStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().ready(cx) {
            Poll::Ready(Ok(s)) => Pin::new(s).poll_read(cx, buf),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for ServerStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut().ready(cx) {
            Poll::Ready(Ok(s)) => Pin::new(s).poll_write(cx, buf),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().ready(cx) {
            Poll::Ready(Ok(s)) => Pin::new(s).poll_flush(cx),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Ready(s) => Pin::new(s).poll_shutdown(cx),
            _ => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_pick_the_family() {
        assert_eq!(listen_addr("*", 502), Some(("0.0.0.0:502".parse().unwrap(), false)));
        assert_eq!(listen_addr("ALL", 502), Some(("0.0.0.0:502".parse().unwrap(), false)));
        assert_eq!(listen_addr("[*]", 502), Some(("[::]:502".parse().unwrap(), true)));
        assert_eq!(listen_addr("[all]", 502), Some(("[::]:502".parse().unwrap(), true)));
        assert_eq!(listen_addr("::1", 502), Some(("[::1]:502".parse().unwrap(), false)));
        assert_eq!(listen_addr("[::1]", 502), Some(("[::1]:502".parse().unwrap(), false)));
        assert_eq!(listen_addr("127.0.0.1", 502), Some(("127.0.0.1:502".parse().unwrap(), false)));
        assert_eq!(listen_addr("plc", 502), None);
    }
}
