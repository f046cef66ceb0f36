//! The chunk guard: the OPC UA port's listener, in front of async-opcua's transport. Every
//! message chunk a client sends is checked against the server's receive buffer size before
//! async-opcua sees it; a larger one is answered with an ERR message
//! (Bad_TcpMessageTooLarge, OPC 10000-6 §7.1.2.4 and §7.1.5) and the connection is closed.
//!
//! Why a guard, and not async-opcua's own check: async-opcua 0.19 buffers a chunk until the
//! size its header claims has arrived, without comparing that size to the negotiated buffer
//! size (async-opcua-core 0.19.0, `src/comms/tcp_codec.rs`, `TcpCodec::decode`, and
//! `MessageHeader::decode` in `src/comms/tcp_types.rs`, which ignores its decoding options).
//! One unauthenticated connection whose header claims 4 GiB, before any Hello, grows the
//! process by as much as it is sent (measured: 300 MiB sent, RSS 68 → 376 MB). Fixed upstream
//! by FreeOpcUa/async-opcua#255, which no release carries yet: remove the guard when fxgate
//! moves to one that does (`tests/python/test_network_fuzz.py` shows whether it is needed).
//!
//! The guard forwards whole chunks, one write each, and buffers at most one chunk (no more than
//! the receive buffer); the server's direction is copied untouched. async-opcua listens on a
//! loopback port of its own and sees the guard as its peer; the guard logs the client's
//! address. It also judges the certificate of every OpenSecureChannel request
//! ([`crate::opn_check`]): CA chains and CRLs, which async-opcua does not check.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use fxgate_core::kit::log_limit::LogLimit;
use opcua::server::ServerInfo;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::metrics::CertificateLabel;
use crate::opn_check::{OpnCheck, OpnVerdict};

/// Bad_TcpMessageTooLarge.
const BAD_TCP_MESSAGE_TOO_LARGE: u32 = 0x8008_0000;
/// Bad_TcpMessageTypeInvalid.
const BAD_TCP_MESSAGE_TYPE_INVALID: u32 = 0x807E_0000;
/// Size of a chunk header: message type (3), chunk type (1), message size (4).
const HEADER: usize = 8;
/// Bytes read from the client at once.
const READ_SIZE: usize = 64 * 1024;
/// After an ERR: how long, and how much, the guard reads and drops of what the client still
/// sends before it closes.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 8 << 20;

/// Why a client's connection was cut.
#[derive(Debug, thiserror::Error)]
pub enum Violation {
    /// A chunk larger than the server's receive buffer.
    #[error("a chunk of {size} bytes, larger than the receive buffer ({max} bytes)")]
    TooLarge {
        /// The size its header claims.
        size: u32,
        /// The receive buffer size.
        max: u32,
    },
    /// A chunk whose header claims less than the header itself.
    #[error("a chunk header claiming {size} bytes")]
    TooSmall {
        /// The size its header claims.
        size: u32,
    },
    /// The certificate of an OpenSecureChannel request was refused.
    #[error("certificate refused: {reason}")]
    Certificate {
        /// The status code of the failed check.
        status: u32,
        /// Why.
        reason: String,
    },
    /// Reading from the client or writing to the server failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Violation {
    /// The status code the ERR message carries, for a protocol violation.
    fn status(&self) -> Option<u32> {
        match self {
            Violation::TooLarge { .. } => Some(BAD_TCP_MESSAGE_TOO_LARGE),
            Violation::TooSmall { .. } => Some(BAD_TCP_MESSAGE_TYPE_INVALID),
            Violation::Certificate { status, .. } => Some(*status),
            Violation::Io(_) => None,
        }
    }
}

/// The guard of one OPC UA port.
#[derive(Clone)]
pub struct ChunkGuard {
    /// The largest chunk a client may send: the server's receive buffer size.
    pub max_chunk: u32,
    /// Where async-opcua listens (loopback).
    pub inner: SocketAddr,
    /// The server, whose endpoint URLs must name the public port.
    pub info: Arc<ServerInfo>,
    /// Chunks refused since start.
    pub refused: Counter,
    /// Certificates refused since start, by status code.
    pub refused_certificates: Family<CertificateLabel, Counter>,
    /// The certificate check of OpenSecureChannel requests; `None` when every certificate is
    /// accepted (`accept_all_certificates`).
    pub certificates: Option<OpnCheck>,
}

impl ChunkGuard {
    /// Accepts clients on `public` until `shutdown`, each connection forwarded to the inner
    /// listener through the check.
    pub async fn serve(self, public: TcpListener, shutdown: CancellationToken) {
        let Ok(public_port) = public.local_addr().map(|a| a.port()) else { return };
        // async-opcua's `run_with` takes the port its endpoint URLs name from the listener
        // it is given (the inner one): wait until it has, then put the public port back.
        // Clients connecting meanwhile wait in the public listener's backlog.
        let started = async {
            while self.info.port.load(Ordering::Relaxed) != self.inner.port() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = started => self.info.port.store(public_port, Ordering::Relaxed),
        }
        let mut accept_errors = LogLimit::default();
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => return,
                a = public.accept() => a,
            };
            match accepted {
                Ok((client, peer)) => {
                    let guard = self.clone();
                    let stop = shutdown.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            _ = stop.cancelled() => {}
                            _ = guard.connection(client, peer) => {}
                        }
                    });
                }
                Err(e) => {
                    if let Some(held) = accept_errors.allow() {
                        tracing::warn!(error = %e, more = held, "OPC UA port: accepting a connection failed");
                    }
                    // Out of file descriptors and the like: let it pass before trying again.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    async fn connection(self, client: TcpStream, peer: SocketAddr) {
        let server = match TcpStream::connect(self.inner).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(client = %peer, error = %e, "OPC UA port: the server's inner listener refused a connection");
                return;
            }
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        tracing::debug!(client = %peer, "OPC UA connection");
        let (mut from_client, mut to_client) = client.into_split();
        let (mut from_server, mut to_server) = server.into_split();
        let mut down = Box::pin(tokio::io::copy(&mut from_server, &mut to_client));
        let up = tokio::select! {
            r = forward_chunks(&mut from_client, &mut to_server, self.max_chunk, self.certificates.as_ref()) => r,
            // The server closed the connection (after an ERR of its own, or at shutdown).
            _ = &mut down => return,
        };
        match up {
            Ok(()) => {
                // The client is done sending: let the server's last answers through.
                let _ = to_server.shutdown().await;
                let _ = down.await;
            }
            Err(v) => {
                drop(down);
                drop(to_server);
                if let Some(status) = v.status() {
                    if matches!(v, Violation::Certificate { .. }) {
                        let status = opcua::types::StatusCode::from(status).to_string();
                        self.refused_certificates.get_or_create(&CertificateLabel { status }).inc();
                    } else {
                        self.refused.inc();
                    }
                    tracing::warn!(client = %peer, "OPC UA connection closed: {v}");
                    let _ = to_client.write_all(&error_message(status, &v.to_string())).await;
                }
                let _ = to_client.shutdown().await;
                // Closing a socket with unread input resets it, and the client may lose the
                // ERR: read and drop what it still sends, for a short while.
                let mut sink = [0u8; 8192];
                let drain = async {
                    let mut total = 0;
                    while total < LINGER_BYTES {
                        match from_client.read(&mut sink).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => total += n,
                        }
                    }
                };
                let _ = tokio::time::timeout(LINGER, drain).await;
            }
        }
    }
}

/// Copies chunks from `from` to `to`, checking every chunk header and, with `check`, the
/// certificate of every OpenSecureChannel request: `Ok` at the end of the stream, `Err` at the
/// first chunk outside 8..=`max` bytes (nothing of it is forwarded) or refused certificate.
/// A chunk cut short by the end of the stream is dropped.
pub async fn forward_chunks<R, W>(from: &mut R, to: &mut W, max: u32, check: Option<&OpnCheck>) -> Result<(), Violation>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut from = BufReader::with_capacity(READ_SIZE, from);
    let mut chunk: Vec<u8> = Vec::new();
    let mut last_certificate = None;
    loop {
        let mut head = [0u8; HEADER];
        match from.read_exact(&mut head).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if size > max {
            return Err(Violation::TooLarge { size, max });
        }
        if (size as usize) < HEADER {
            return Err(Violation::TooSmall { size });
        }
        chunk.clear();
        chunk.extend_from_slice(&head);
        chunk.resize(size as usize, 0);
        match from.read_exact(&mut chunk[HEADER..]).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        if let (Some(check), b"OPN") = (check, &head[..3]) {
            if let OpnVerdict::Refuse(status, reason) = check.judge(&chunk, &mut last_certificate).await {
                return Err(Violation::Certificate { status, reason });
            }
        }
        to.write_all(&chunk).await?;
    }
}

/// An ERR message (OPC 10000-6 §7.1.2.5): status and reason.
fn error_message(status: u32, reason: &str) -> Vec<u8> {
    let reason = &reason.as_bytes()[..reason.len().min(4096)];
    let size = (HEADER + 4 + 4 + reason.len()) as u32;
    let mut out = Vec::with_capacity(size as usize);
    out.extend_from_slice(b"ERRF");
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&status.to_le_bytes());
    out.extend_from_slice(&(reason.len() as i32).to_le_bytes());
    out.extend_from_slice(reason);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8; 4], body: usize) -> Vec<u8> {
        let mut c = kind.to_vec();
        c.extend_from_slice(&((HEADER + body) as u32).to_le_bytes());
        c.extend(std::iter::repeat_n(7u8, body));
        c
    }

    async fn run(input: Vec<u8>, max: u32, piece: usize) -> (Result<(), Violation>, Vec<u8>) {
        let (mut tx, mut rx) = tokio::io::duplex(1 << 20);
        let writer = tokio::spawn(async move {
            for p in input.chunks(piece) {
                if tx.write_all(p).await.is_err() {
                    return;
                }
            }
        });
        let mut out = Vec::new();
        let r = forward_chunks(&mut rx, &mut out, max, None).await;
        drop(rx);
        let _ = writer.await;
        (r, out)
    }

    #[tokio::test]
    async fn chunks_within_the_buffer_pass_whole_in_any_pieces() {
        let mut input = chunk(b"HELF", 40);
        input.extend(chunk(b"MSGC", 65_527));
        input.extend(chunk(b"MSGF", 0));
        for piece in [1, 3, 8, 100, 70_000] {
            let (r, out) = run(input.clone(), 65_535, piece).await;
            assert!(r.is_ok(), "piece {piece}: {r:?}");
            assert_eq!(out, input, "piece {piece}");
        }
    }

    #[tokio::test]
    async fn an_oversized_claim_is_refused_before_its_body() {
        let mut input = chunk(b"HELF", 40);
        input.extend_from_slice(b"MSGF");
        input.extend_from_slice(&u32::MAX.to_le_bytes());
        input.extend(std::iter::repeat_n(0u8, 200_000));
        for piece in [1, 5, 48, 4096] {
            let (r, out) = run(input.clone(), 65_535, piece).await;
            assert!(matches!(r, Err(Violation::TooLarge { size: u32::MAX, max: 65_535 })), "piece {piece}: {r:?}");
            assert!(out.len() < 48 + 4096, "piece {piece}: {} bytes forwarded", out.len());
        }
        let (r, _) = run(chunk(b"HELF", 65_535 - 7), 65_535, 1000).await;
        assert!(matches!(r, Err(Violation::TooLarge { size: 65_536, .. })), "{r:?}");
    }

    #[tokio::test]
    async fn a_claim_smaller_than_a_header_is_refused() {
        let mut input = b"HELF".to_vec();
        input.extend_from_slice(&3u32.to_le_bytes());
        let (r, out) = run(input, 65_535, 64).await;
        assert!(matches!(r, Err(Violation::TooSmall { size: 3 })), "{r:?}");
        assert!(out.is_empty());
    }

    #[test]
    fn the_error_message_is_an_err_chunk() {
        let m = error_message(BAD_TCP_MESSAGE_TOO_LARGE, "too large");
        assert_eq!(&m[..4], b"ERRF");
        assert_eq!(u32::from_le_bytes([m[4], m[5], m[6], m[7]]) as usize, m.len());
        assert_eq!(u32::from_le_bytes([m[8], m[9], m[10], m[11]]), 0x8008_0000);
        assert_eq!(&m[16..], b"too large");
    }
}
