//! The IEC 60870-5-104 link layer over one connection (§5): send and receive sequence
//! numbers, k/w flow control, the t1/t2/t3 timers, TESTFR and STARTDT/STOPDT.
//!
//! Hand-written on top of the `iec104` crate's frame codec: that crate's own client and
//! server own the socket (rustls only), while a line here may be TCP, TLS or TLS-PSK
//! (OpenSSL) and is shared by the redundancy and group logic above.
//!
//! [`Link::next`] is cancel-safe: it can sit in a `select!` with a caller's other work.
//! Outgoing frames go to a buffer that `next` drains, so no frame is ever half written.

pub mod frame;

use std::collections::VecDeque;

use bytes::{Buf, BytesMut};
use futures::StreamExt;
use iec104::apdu::{Frame, IFrame, SFrame, UFrame};
use iec104::asdu::Asdu;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

use crate::config::LinkParams;
use crate::error::LinkError;
use frame::{encode, ApduCodec};

/// Sequence numbers count modulo 2^15.
const MODULO: u16 = 1 << 15;

/// What arrived on a link.
#[derive(Debug)]
pub enum Event {
    /// An ASDU (its I-frame already accounted for).
    Asdu(Asdu),
    /// The peer asked to start data transfer; the link confirmed it.
    StartDt,
    /// The peer asked to stop data transfer; the link confirmed it.
    StopDt,
    /// The peer confirmed our STARTDT.
    StartDtCon,
    /// The peer confirmed our STOPDT.
    StopDtCon,
    /// The peer acknowledged I-frames (an S-frame): there may be room to send.
    Acked,
}

/// A U-frame of ours that waits for its confirmation.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pending {
    StartDt,
    StopDt,
    TestFr,
}

impl Pending {
    fn what(self) -> &'static str {
        match self {
            Pending::StartDt => "STARTDT",
            Pending::StopDt => "STOPDT",
            Pending::TestFr => "TESTFR",
        }
    }
}

/// Frame counters of a link.
#[derive(Debug, Default, Clone, Copy)]
pub struct LinkCounters {
    /// I-frames received.
    pub received: u64,
    /// I-frames sent.
    pub sent: u64,
}

/// One connection's link layer.
pub struct Link<S> {
    reader: FramedRead<ReadHalf<S>, ApduCodec>,
    writer: WriteHalf<S>,
    out: BytesMut,
    unflushed: bool,
    p: LinkParams,
    /// Next N(S).
    vs: u16,
    /// Next expected N(S) of the peer.
    vr: u16,
    /// Our I-frames not yet acknowledged: N(S) and when sent.
    sent: VecDeque<(u16, Instant)>,
    /// Received I-frames not yet acknowledged, and since when.
    unacked: u16,
    unacked_since: Option<Instant>,
    last_rx: Instant,
    pending: Option<(Pending, Instant)>,
    counters: LinkCounters,
}

impl<S: AsyncRead + AsyncWrite + Send + 'static> Link<S> {
    /// A link over a fresh connection.
    pub fn new(stream: S, p: LinkParams) -> Self {
        let (r, w) = tokio::io::split(stream);
        Self {
            reader: FramedRead::new(r, ApduCodec),
            writer: w,
            out: BytesMut::with_capacity(4096),
            unflushed: false,
            p,
            vs: 0,
            vr: 0,
            sent: VecDeque::new(),
            unacked: 0,
            unacked_since: None,
            last_rx: Instant::now(),
            pending: None,
            counters: LinkCounters::default(),
        }
    }

    /// Whether another I-frame may be sent now (fewer than k unacknowledged).
    pub fn can_send(&self) -> bool {
        self.sent.len() < usize::from(self.p.k)
    }

    /// Whether every I-frame sent was acknowledged.
    pub fn all_acked(&self) -> bool {
        self.sent.is_empty()
    }

    /// I-frames sent and not yet acknowledged by the peer.
    pub fn unacked(&self) -> usize {
        self.sent.len()
    }

    /// I-frames sent and received so far.
    pub fn counters(&self) -> LinkCounters {
        self.counters
    }

    /// Queues an ASDU as an I-frame; the caller checks [`Link::can_send`] first.
    pub fn send(&mut self, asdu: Asdu) -> Result<(), LinkError> {
        let bytes = encode(&Frame::I(IFrame { send_sequence_number: self.vs, receive_sequence_number: self.vr, asdu }))?;
        self.out.extend_from_slice(&bytes);
        self.sent.push_back((self.vs, Instant::now()));
        self.vs = (self.vs + 1) % MODULO;
        self.counters.sent += 1;
        // The I-frame carries our N(R): the received frames are acknowledged.
        self.unacked = 0;
        self.unacked_since = None;
        Ok(())
    }

    /// Queues STARTDT act; its confirmation arrives as [`Event::StartDtCon`].
    pub fn start_dt(&mut self) {
        self.u(UFrame { start_dt_activation: true, ..Default::default() });
        self.pending = Some((Pending::StartDt, Instant::now()));
    }

    /// Queues STOPDT act; its confirmation arrives as [`Event::StopDtCon`].
    pub fn stop_dt(&mut self) {
        self.u(UFrame { stop_dt_activation: true, ..Default::default() });
        self.pending = Some((Pending::StopDt, Instant::now()));
    }

    fn u(&mut self, u: UFrame) {
        // U-frames are four fixed octets: encoding cannot fail.
        if let Ok(b) = encode(&Frame::U(u)) {
            self.out.extend_from_slice(&b);
        }
    }

    fn ack(&mut self) {
        if let Ok(b) = encode(&Frame::S(SFrame { receive_sequence_number: self.vr })) {
            self.out.extend_from_slice(&b);
        }
        self.unacked = 0;
        self.unacked_since = None;
    }

    /// Takes the peer's N(R): drops our frames it acknowledges.
    fn acknowledged(&mut self, nr: u16) -> Result<(), LinkError> {
        let oldest = self.sent.front().map(|s| s.0).unwrap_or(self.vs);
        // N(R) must lie in oldest..=vs (modulo 2^15).
        let span = self.vs.wrapping_sub(oldest) % MODULO;
        let off = nr.wrapping_sub(oldest) % MODULO;
        if off > span {
            return Err(LinkError::Ack { got: nr, oldest, next: self.vs });
        }
        for _ in 0..off {
            self.sent.pop_front();
        }
        Ok(())
    }

    /// The earliest moment a timer needs attention.
    fn deadline(&self) -> Instant {
        let mut d = self.last_rx + self.p.t3;
        if let Some((_, t)) = self.sent.front() {
            d = d.min(*t + self.p.t1);
        }
        if let Some((_, t)) = self.pending {
            d = d.min(t + self.p.t1);
        }
        if let Some(t) = self.unacked_since {
            d = d.min(t + self.p.t2);
        }
        d
    }

    fn timers(&mut self) -> Result<(), LinkError> {
        let now = Instant::now();
        if let Some((_, t)) = self.sent.front() {
            if now >= *t + self.p.t1 {
                return Err(LinkError::t1("an I-frame", self.p.t1));
            }
        }
        if let Some((what, t)) = self.pending {
            if now >= t + self.p.t1 {
                return Err(LinkError::t1(what.what(), self.p.t1));
            }
        }
        if self.unacked_since.is_some_and(|t| now >= t + self.p.t2) {
            self.ack();
        }
        if now >= self.last_rx + self.p.t3 {
            if self.pending.is_none() {
                self.u(UFrame { test_fr_activation: true, ..Default::default() });
                self.pending = Some((Pending::TestFr, now));
            }
            // Do not send another before this one is confirmed or t1 closes the link.
            self.last_rx = now;
        }
        Ok(())
    }

    /// Handles one received frame; `Some` for what the caller must see.
    fn received(&mut self, f: Frame) -> Result<Option<Event>, LinkError> {
        self.last_rx = Instant::now();
        match f {
            Frame::I(i) => {
                if i.send_sequence_number != self.vr {
                    return Err(LinkError::Sequence { got: i.send_sequence_number, expected: self.vr });
                }
                self.acknowledged(i.receive_sequence_number)?;
                self.vr = (self.vr + 1) % MODULO;
                self.counters.received += 1;
                self.unacked += 1;
                self.unacked_since.get_or_insert(self.last_rx);
                if self.unacked >= self.p.w {
                    self.ack();
                }
                Ok(Some(Event::Asdu(i.asdu)))
            }
            Frame::S(s) => {
                self.acknowledged(s.receive_sequence_number)?;
                Ok(Some(Event::Acked))
            }
            Frame::U(u) => {
                if u.test_fr_activation {
                    self.u(UFrame { test_fr_confirmation: true, ..Default::default() });
                }
                if u.test_fr_confirmation && matches!(self.pending, Some((Pending::TestFr, _))) {
                    self.pending = None;
                }
                if u.start_dt_activation {
                    self.u(UFrame { start_dt_confirmation: true, ..Default::default() });
                    return Ok(Some(Event::StartDt));
                }
                if u.stop_dt_activation {
                    // Acknowledge what we received before confirming (§5.3).
                    if self.unacked > 0 {
                        self.ack();
                    }
                    self.u(UFrame { stop_dt_confirmation: true, ..Default::default() });
                    return Ok(Some(Event::StopDt));
                }
                if u.start_dt_confirmation && matches!(self.pending, Some((Pending::StartDt, _))) {
                    self.pending = None;
                    return Ok(Some(Event::StartDtCon));
                }
                if u.stop_dt_confirmation && matches!(self.pending, Some((Pending::StopDt, _))) {
                    self.pending = None;
                    return Ok(Some(Event::StopDtCon));
                }
                Ok(None)
            }
        }
    }

    /// Runs the link until something arrives the caller must see. Cancel-safe.
    pub async fn next(&mut self) -> Result<Event, LinkError> {
        loop {
            self.timers()?;
            let deadline = self.deadline();
            let writing = !self.out.is_empty();
            tokio::select! {
                f = self.reader.next() => match f {
                    None => return Err(LinkError::Closed),
                    Some(Err(e)) => return Err(e),
                    Some(Ok(f)) => {
                        if let Some(ev) = self.received(f)? {
                            return Ok(ev);
                        }
                    }
                },
                n = async {
                    if writing {
                        self.writer.write(&self.out).await.map(Some)
                    } else {
                        self.writer.flush().await.map(|_| None)
                    }
                }, if writing || self.unflushed => match n? {
                    Some(0) => return Err(LinkError::Closed),
                    Some(n) => {
                        self.out.advance(n);
                        self.unflushed = true;
                    }
                    None => self.unflushed = false,
                },
                _ = tokio::time::sleep_until(deadline) => {}
            }
        }
    }

    /// Writes what is queued (e.g. before closing), within `limit`.
    pub async fn flush(&mut self, limit: std::time::Duration) -> Result<(), LinkError> {
        let write = async {
            while !self.out.is_empty() {
                let n = self.writer.write(&self.out).await?;
                if n == 0 {
                    return Err(LinkError::Closed);
                }
                self.out.advance(n);
            }
            self.writer.flush().await?;
            Ok(())
        };
        tokio::time::timeout(limit, write).await.unwrap_or(Ok(()))
    }

    /// Closes the connection (after writing what is queued, within a second).
    pub async fn close(mut self) {
        let _ = self.flush(std::time::Duration::from_secs(1)).await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), self.writer.shutdown()).await;
    }
}

#[cfg(test)]
mod tests;
