//! The byte stream a protocol gets from a line: plain TCP or TLS over TCP.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

/// A connected line: TCP, optionally wrapped in TLS.
pub enum LineStream {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP.
    Tls(Box<SslStream<TcpStream>>),
}

impl fmt::Debug for LineStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineStream::Tcp(s) => write!(f, "Tcp({:?})", s.peer_addr().ok()),
            LineStream::Tls(s) => write!(f, "Tls({:?})", s.get_ref().peer_addr().ok()),
        }
    }
}

impl LineStream {
    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            LineStream::Tcp(s) => s,
            LineStream::Tls(s) => s.get_ref(),
        }
    }
}

impl AsyncRead for LineStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            LineStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            LineStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for LineStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            LineStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            LineStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            LineStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            LineStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            LineStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            LineStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
