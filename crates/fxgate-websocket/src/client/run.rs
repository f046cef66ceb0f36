//! The client's loop: publishing on a timer, connecting and reconnecting, reading frames,
//! answering commands, keep-alive, and at shutdown a last flush, a close (1001) and the
//! undelivered messages kept for the next start (seed 001 §5.1.1.4 `Execute`, the background
//! communication, as one task).

use std::time::Duration;

use bytes::Bytes;
use fxgate_core::ChangeBatch;
use fxgate_forward::value;
use futures::SinkExt;
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use yawc::close::CloseCode;
use yawc::frame::{Frame, OpCode};

use super::keepalive::{Due, KeepAlive};
use super::reconnect::Backoff;
use super::{Client, Ws};
use crate::error::{ConnectError, ConnectionError, WsError};
use crate::status::WsState;

/// The task of a connection attempt.
type Connecting = tokio::task::JoinHandle<Result<Ws, ConnectError>>;

impl Client {
    /// Runs until `shutdown` (or until the store goes away).
    pub(super) async fn run(mut self, mut changes: broadcast::Receiver<ChangeBatch>, shutdown: CancellationToken) {
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
        let mut backoff = Backoff::new(&self.cfg);
        let mut keepalive = KeepAlive::new(&self.cfg);
        let mut connecting: Option<Connecting> = None;
        let mut ws: Option<Ws> = None;
        let (reply_tx, mut replies) = mpsc::channel::<Value>(256);
        self.state.set(WsState::SOCK_NO_CONN, false, None);
        loop {
            let keepalive_at = keepalive.deadline(ws.is_some());
            let mut end: Option<ConnectionError> = None;
            tokio::select! {
                _ = shutdown.cancelled() => {
                    self.shutdown(ws.take(), connecting.take()).await;
                    return;
                }
                r = changes.recv() => match r {
                    Ok(batch) => self.collect(&batch),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(websocket = %self.cfg.name, batches = n, "fell behind the tag store; sending a full image");
                        self.snapshot();
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
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
                _ = tokio::time::sleep_until(backoff.next_attempt()), if ws.is_none() && connecting.is_none() => {
                    if backoff.attempt() {
                        self.state.reconnect();
                    }
                    connecting = Some(tokio::spawn(self.connector.clone().open()));
                }
                r = async { match connecting.as_mut() { Some(h) => h.await, None => std::future::pending().await } }, if connecting.is_some() => {
                    connecting = None;
                    match r {
                        Ok(Ok(mut s)) => {
                            tracing::info!(websocket = %self.cfg.name, url = %self.cfg.url, buffered = self.buffer.len(), "connected");
                            self.state.set(WsState::SUCCESS, true, None);
                            backoff.connected();
                            keepalive.heard();
                            self.buffer.rewind();
                            match self.flush(&mut s).await {
                                Ok(()) => ws = Some(s),
                                Err(e) => end = Some(e),
                            }
                        }
                        Ok(Err(e)) => {
                            let e = WsError::from(e);
                            tracing::warn!(websocket = %self.cfg.name, status = %WsState::from(&e).name(), error = %e, "connection failed");
                            self.report(&e);
                            backoff.failed();
                        }
                        Err(join) => {
                            self.report(&WsError::from(join));
                            backoff.retry();
                        }
                    }
                }
                f = async { match ws.as_mut() { Some(s) => futures::future::poll_fn(|cx| s.poll_next_frame(cx)).await, None => std::future::pending().await } }, if ws.is_some() => {
                    keepalive.heard();
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
                            let e = ConnectionError::from(e);
                            if let (ConnectionError::TooBig(_), Some(s)) = (&e, ws.as_mut()) {
                                let _ = tokio::time::timeout(Duration::from_millis(500), s.send(Frame::close(CloseCode::Size, b"message too big"))).await;
                            }
                            end = Some(e);
                        }
                    }
                }
                Some(reply) = replies.recv() => {
                    if let Some(s) = ws.as_mut() {
                        let data = Bytes::from(value::encode(&reply, self.encoding));
                        if let Err(e) = s.send(self.frame(data)).await {
                            end = Some(e.into());
                        }
                    }
                }
                _ = async { match keepalive_at { Some(at) => tokio::time::sleep_until(at).await, None => std::future::pending().await } }, if keepalive_at.is_some() => {
                    if let Some(s) = ws.as_mut() {
                        match keepalive.due() {
                            Due::TimedOut => {
                                end = Some(ConnectionError::KeepAliveTimeout(self.cfg.keep_alive_close_timeout));
                                let _ = tokio::time::timeout(Duration::from_millis(200), s.send(Frame::close(CloseCode::Away, b"keep-alive timeout"))).await;
                            }
                            Due::Ping => {
                                if let Err(e) = s.send(Frame::ping(Bytes::from_static(b"fxgate"))).await {
                                    end = Some(e.into());
                                }
                            }
                        }
                    }
                }
            }
            if let Some(e) = end {
                ws = None;
                let close = e.close_code();
                let e = WsError::from(e);
                tracing::warn!(websocket = %self.cfg.name, status = %WsState::from(&e).name(), error = %e, "connection ended");
                self.report(&e);
                if let Some(c) = close {
                    self.state.closed(c);
                }
                backoff.failed();
            }
        }
    }

    /// At shutdown: what changed goes out on the open connection, which is closed (1001);
    /// a connection attempt is abandoned; what is still held is kept for the next start.
    async fn shutdown(&mut self, ws: Option<Ws>, connecting: Option<Connecting>) {
        self.publish();
        if let Some(mut s) = ws {
            let _ = tokio::time::timeout(Duration::from_secs(1), self.flush(&mut s)).await;
            let _ = tokio::time::timeout(Duration::from_secs(1), s.send(Frame::close(CloseCode::Away, b"fxgate shutting down"))).await;
        }
        if let Some(c) = connecting {
            c.abort();
        }
        self.state.set(WsState::FINALIZE_DISCONNECT, false, None);
        match self.buffer.save(&self.persist, self.seq) {
            Ok(n) if n > 0 => tracing::info!(websocket = %self.cfg.name, messages = n, path = %self.persist.display(), "undelivered messages kept for the next start"),
            Ok(_) => {}
            Err(e) => tracing::warn!(websocket = %self.cfg.name, messages = self.buffer.len(), error = %e, "cannot keep the undelivered messages"),
        }
    }

    /// Shows a failure in the state tags: its status, not connected, and its text as
    /// `LastError`.
    fn report(&self, e: &WsError) {
        self.state.set(WsState::from(e), false, Some(&e.to_string()));
    }
}
