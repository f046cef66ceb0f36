//! `uadp-probe`: the measuring ends of `run_pubsub.sh`.
//!
//! - `capture`: joins the multicast groups a publisher sends to (one port per connection),
//!   decodes every datagram as UADP and reports, per connection, the inter-arrival jitter
//!   against the publishing interval, lost NetworkMessages (gaps in the group sequence
//!   numbers) and late ones (arriving more than one interval after they were due), and, for
//!   DataValue fields, the time from the field's source timestamp (the publisher's tag-store
//!   write) to arrival here.
//! - `floor-send` / `floor-recv`: the physical floor, a minimal sender and receiver moving
//!   datagrams of the same size at the same interval over the same kind of sockets: the
//!   receiver reports latency (send time embedded in the datagram), jitter and losses.
//!
//! Every command prints one JSON object on stdout.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket as StdUdp};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use fxgate_pubsub::uadp::{decode, Payload};
use parking_lot::Mutex;
use serde_json::json;
use tokio::net::UdpSocket;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Listen to a publisher's groups and report jitter, losses and latency to arrival.
    Capture(Common),
    /// Send the floor's datagrams.
    FloorSend {
        #[command(flatten)]
        common: Common,
        /// Datagram size in bytes (at least 16).
        #[arg(long)]
        size: usize,
    },
    /// Receive the floor's datagrams and report latency, jitter and losses.
    FloorRecv(Common),
}

#[derive(clap::Args, Clone)]
struct Common {
    /// The multicast group (one port per connection).
    #[arg(long)]
    group: Ipv4Addr,
    /// The first port; connection i uses first_port + i.
    #[arg(long)]
    first_port: u16,
    /// Number of connections.
    #[arg(long)]
    connections: u16,
    /// The publishing interval, ms.
    #[arg(long, default_value_t = 10)]
    interval_ms: u64,
    /// How long to run, s.
    #[arg(long)]
    seconds: u64,
}

fn realtime_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// Microseconds since 1970 of an OPC UA DateTime (100 ns ticks since 1601).
fn opcua_us(ticks: i64) -> i64 {
    ticks / 10 - 11_644_473_600_000_000
}

fn join(group: Ipv4Addr, port: u16) -> std::io::Result<UdpSocket> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    s.set_reuse_address(true)?;
    let _ = s.set_recv_buffer_size(4 << 20);
    s.bind(&SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port).into())?;
    s.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST)?;
    s.set_nonblocking(true)?;
    UdpSocket::from_std(StdUdp::from(s))
}

#[derive(Default)]
struct Stats {
    /// |arrival interval − publishing interval|, µs.
    jitter: Vec<u32>,
    /// Source timestamp (or send time) → arrival, µs.
    latency: Vec<u32>,
    messages: u64,
    lost: u64,
    late: u64,
    decode_errors: u64,
    bytes: u64,
}

fn pct(v: &mut [u32], p: f64) -> serde_json::Value {
    if v.is_empty() {
        return serde_json::Value::Null;
    }
    v.sort_unstable();
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    json!(f64::from(v[i]) / 1000.0)
}

fn report(mut s: Stats, interval_ms: u64, seconds: u64, connections: u16) -> serde_json::Value {
    let expected = (1000 / interval_ms.max(1)) * seconds * u64::from(connections);
    json!({
        "messages": s.messages,
        "expected_messages": expected,
        "lost": s.lost,
        "late": s.late,
        "decode_errors": s.decode_errors,
        "mean_datagram_bytes": s.bytes.checked_div(s.messages),
        "jitter_ms": {"p50": pct(&mut s.jitter, 0.5), "p99": pct(&mut s.jitter, 0.99), "max": pct(&mut s.jitter, 1.0)},
        "latency_ms": {"p50": pct(&mut s.latency, 0.5), "p99": pct(&mut s.latency, 0.99), "max": pct(&mut s.latency, 1.0)},
        "latency_samples": s.latency.len(),
    })
}

/// Per connection: the last arrival and sequence number.
struct Track {
    last: Option<(Instant, u16)>,
}

impl Track {
    fn arrive(&mut self, now: Instant, seq: u16, interval: Duration, s: &mut Stats) {
        if let Some((t, last)) = self.last {
            let gap = seq.wrapping_sub(last);
            if gap == 0 || gap > 30_000 {
                return; // a repeat or an older one
            }
            s.lost += u64::from(gap - 1);
            let due = interval * u32::from(gap);
            let since = now.duration_since(t);
            let off = since.abs_diff(due);
            s.jitter.push(off.as_micros().min(u128::from(u32::MAX)) as u32);
            if since > due + interval {
                s.late += 1;
            }
        }
        self.last = Some((now, seq));
    }
}

async fn receive(c: Common, floor: bool) -> serde_json::Value {
    let stats = Arc::new(Mutex::new(Stats::default()));
    let interval = Duration::from_millis(c.interval_ms);
    let end = Instant::now() + Duration::from_secs(c.seconds);
    let mut tasks = Vec::new();
    for i in 0..c.connections {
        let sock = match join(c.group, c.first_port + i) {
            Ok(s) => s,
            Err(e) => return json!({"error": format!("join {}:{}: {e}", c.group, c.first_port + i)}),
        };
        let stats = stats.clone();
        tasks.push(tokio::spawn(async move {
            let ctx = fxgate_pubsub::uadp::wire_context();
            let mut buf = vec![0u8; 65_536];
            let mut track = Track { last: None };
            loop {
                let left = end.saturating_duration_since(Instant::now());
                let Ok(Ok((n, _))) = tokio::time::timeout(left, sock.recv_from(&mut buf)).await else { return };
                let now = Instant::now();
                let now_us = realtime_us();
                let mut s = stats.lock();
                s.messages += 1;
                s.bytes += n as u64;
                if floor {
                    if n < 16 {
                        s.decode_errors += 1;
                        continue;
                    }
                    let sent = i64::from_le_bytes(buf[0..8].try_into().unwrap_or_default());
                    let seq = u16::from_le_bytes([buf[8], buf[9]]);
                    s.latency.push((now_us - sent).clamp(0, i64::from(u32::MAX)) as u32);
                    track.arrive(now, seq, interval, &mut s);
                    continue;
                }
                let Ok(msg) = decode(&buf[..n], &ctx.context()) else {
                    s.decode_errors += 1;
                    continue;
                };
                let seq = msg.group.and_then(|g| g.sequence_number).unwrap_or(0);
                track.arrive(now, seq, interval, &mut s);
                // One latency sample per message: its first DataValue field.
                if let Some(Payload::Fields(f)) = msg.messages.first().map(|m| &m.payload) {
                    if let Some(ts) = f.first().and_then(|d| d.source_timestamp) {
                        s.latency.push((now_us - opcua_us(ts.checked_ticks())).clamp(0, i64::from(u32::MAX)) as u32);
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let s = std::mem::take(&mut *stats.lock());
    report(s, c.interval_ms, c.seconds, c.connections)
}

async fn send(c: Common, size: usize) -> serde_json::Value {
    let size = size.max(16);
    let mut tasks = Vec::new();
    let end = Instant::now() + Duration::from_secs(c.seconds);
    for i in 0..c.connections {
        let to = SocketAddr::new(c.group.into(), c.first_port + i);
        let made = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, Some(socket2::Protocol::UDP)).and_then(|s| {
            s.bind(&SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0).into())?;
            s.set_multicast_if_v4(&Ipv4Addr::LOCALHOST)?;
            s.set_multicast_loop_v4(true)?;
            s.set_nonblocking(true)?;
            Ok(StdUdp::from(s))
        });
        let s = match made {
            Ok(s) => s,
            Err(e) => return json!({"error": format!("socket: {e}")}),
        };
        let Ok(sock) = UdpSocket::from_std(s) else { return json!({"error": "tokio socket"}) };
        let interval = Duration::from_millis(c.interval_ms);
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut buf = vec![0u8; size];
            let mut seq: u16 = 0;
            let mut sent = 0u64;
            while Instant::now() < end {
                tick.tick().await;
                seq = seq.wrapping_add(1);
                buf[0..8].copy_from_slice(&realtime_us().to_le_bytes());
                buf[8..10].copy_from_slice(&seq.to_le_bytes());
                if sock.send_to(&buf, to).await.is_ok() {
                    sent += 1;
                }
            }
            sent
        }));
    }
    let mut sent = 0;
    for t in tasks {
        sent += t.await.unwrap_or(0);
    }
    json!({"sent": sent})
}

fn main() {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("uadp-probe: no runtime: {e}");
            std::process::exit(1);
        }
    };
    let out = rt.block_on(async move {
        match cli.cmd {
            Cmd::Capture(c) => receive(c, false).await,
            Cmd::FloorRecv(c) => receive(c, true).await,
            Cmd::FloorSend { common, size } => send(common, size).await,
        }
    });
    println!("{out}");
}
