//! The connection's byte stream under the WebSocket framing: it counts the bytes written
//! and closes gracefully when dropped.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use fxgate_lines::LineStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The connection's stream, counting the WebSocket bytes written (frames after compression,
/// before TLS) for `fxgate_websocket_bytes_sent_total`.
///
/// Dropped, it closes gracefully in the background (see [`linger`]).
pub(super) struct Counted {
    inner: Option<LineStream>,
    written: Arc<AtomicU64>,
}

impl Counted {
    /// `inner`, adding the bytes written to `written`.
    pub(super) fn new(inner: LineStream, written: Arc<AtomicU64>) -> Self {
        Self { inner: Some(inner), written }
    }

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

impl AsyncRead for Counted {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut().inner() {
            Ok(inner) => Pin::new(inner).poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for Counted {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = match this.inner() {
            Ok(inner) => Pin::new(inner).poll_write(cx, buf),
            Err(e) => return Poll::Ready(Err(e)),
        };
        if let Poll::Ready(Ok(n)) = &r {
            this.written.fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut().inner() {
            Ok(inner) => Pin::new(inner).poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut().inner() {
            Ok(inner) => Pin::new(inner).poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}
