//! `ws-sink` — a fast WebSocket server that receives a tag-change stream (fxgate's `[[websocket]]`
//! messages, or `ws-push`'s identical ones) and measures it. Prints ONE JSON line on stdout at the
//! end; diagnostics go to stderr.
//!
//! Messages are `{"seq":N,"ts":"…","values":[{"tag":"Sim/T0","v":1.5,"q":"Good","st":"…"}]}`
//! (JSON text; see docs/interfaces.md "WebSocket client").
//!
//! * The opening handshake is done here (so the raw socket can be wrapped): the subprotocol the
//!   client offers is echoed (fxgate's CheckProtocol wants exactly its own back), and
//!   permessage-deflate is accepted when offered unless `--no-deflate`. Frames are yawc's (the
//!   same WebSocket library as fxgate), server role.
//! * Wire bytes = raw TCP bytes read from the socket (a counting `AsyncRead` under yawc), so the
//!   effect of permessage-deflate is visible next to the payload bytes (decompressed messages).
//! * Latency per value = receive time of its message − `st` (source timestamp, RFC 3339 with
//!   milliseconds, truncated by the sender: figures read up to 1 ms high). Same host clock.
//!   Also, per message: receive − `ts` (the sender's message time: send + transport) and, per
//!   value, `ts` − `st` (time spent waiting to be published).
//! * Loss: `seq` must grow by one per message from the first one seen (over every connection,
//!   warm-up included): `seq_gaps` = numbers skipped and never seen, `seq_late` = skipped ones that
//!   came later (out of order), `seq_duplicates` = numbers seen twice. Per tag, a source-timestamp step of
//!   ≥ 1.5 × `--interval-ms` counts round(step/interval) − 1 missed changes (an estimate that
//!   assumes every tag changes every interval, as a random simulator tag does). A step of the
//!   newest source timestamp of all tags of ≥ 1.5 intervals means the source itself skipped a
//!   tick (a late timer with MissedTickBehavior::Skip, in fxgate's simulator and in ws-push, or a
//!   whole batch lost on the way): `source_ticks_skipped`; `lost_changes_est` = missed changes
//!   beyond those whole ticks.
//! * The measurement window starts `--warmup-s` after the first data message and lasts
//!   `--duration-s`. With `--peer-pid`/`--peer-pid-file` the sender's CPU (utime+stime from
//!   /proc/PID/stat, in cores) and RSS (VmRSS, sampled every 100 ms) are taken over the window.
//!
//! Network input is never unwrapped: a bad message is counted and the run continues.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use clap::Parser;
use serde::Deserialize;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use yawc::frame::OpCode;
use yawc::{Options, Role, WebSocket};

use fxgate_bench::clock::{now_us, parse_rfc3339_us};
use fxgate_bench::procfs::pid_arg;
use fxgate_bench::runtime::{self, Threads};
use fxgate_bench::summary::{ms3, pct, r2, us_to_ms};
use fxgate_bench::ticks;
use fxgate_bench::window::{wait_for_data, Counts, Phase, Window};
use fxgate_bench::wire::SampleIn;

#[derive(Parser, Debug)]
#[command(
    name = "ws-sink",
    about = "WebSocket sink measuring a tag-change stream; one JSON line on stdout"
)]
struct Args {
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Listen port.
    #[arg(long)]
    port: u16,
    /// Refuse permessage-deflate even when offered.
    #[arg(long)]
    no_deflate: bool,
    /// Seconds after the first data message before the window starts.
    #[arg(long, default_value_t = 3.0)]
    warmup_s: f64,
    /// Length of the measurement window in seconds.
    #[arg(long, default_value_t = 30.0)]
    duration_s: f64,
    /// Give up when no data message came within this many seconds of starting.
    #[arg(long, default_value_t = 120.0)]
    wait_s: f64,
    /// Tags the sender streams (for expected values; 0 = unknown).
    #[arg(long, default_value_t = 0)]
    tags: u64,
    /// Interval at which every tag changes, ms (for expected values and missed changes; 0 = unknown).
    #[arg(long, default_value_t = 0)]
    interval_ms: u64,
    /// PID of the sender, for its CPU and RSS over the window.
    #[arg(long)]
    peer_pid: Option<u32>,
    /// File holding the sender's PID (read when the window starts; for senders started later).
    #[arg(long)]
    peer_pid_file: Option<PathBuf>,
    /// Clock ticks per second of /proc/PID/stat (getconf CLK_TCK).
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
    /// Label copied into the JSON.
    #[arg(long, default_value = "")]
    label: String,
}

// ------------------------------------------------------------------------------------------------
// Counting socket
// ------------------------------------------------------------------------------------------------

struct Counting<S> {
    inner: S,
    read: Arc<AtomicU64>,
    written: Arc<AtomicU64>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counting<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &r {
            self.read
                .fetch_add((buf.filled().len() - before) as u64, Ordering::Relaxed);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counting<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = &r {
            self.written.fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

// ------------------------------------------------------------------------------------------------
// Stats
// ------------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Msg<'a> {
    seq: Option<u64>,
    #[serde(borrow)]
    ts: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    values: Vec<SampleIn<'a>>,
}

#[derive(Default)]
struct TagState {
    last_st_us: Option<i64>,
}

#[derive(Default)]
struct Stats {
    phase: Phase,
    first_data: Option<Instant>,
    connections: u64,
    extensions: Option<String>,
    subprotocol: Option<String>,
    // whole connection
    seq_first: Option<u64>,
    seq_last: Option<u64>,
    next_seq: Option<u64>,
    /// Numbers skipped and not (yet) seen: lost unless they arrive late.
    seq_missing: BTreeSet<u64>,
    seq_gap_events: u64,
    seq_late: u64,
    seq_duplicates: u64,
    total_messages: u64,
    total_values: u64,
    parse_errors: u64,
    other_frames: u64,
    tags: HashMap<String, TagState>,
    // window
    counts: Counts,
    payload_bytes: u64,
    max_message_bytes: u64,
    send_lag_us: Vec<i64>,
    publish_wait_us: Vec<i64>,
    missed_changes: u64,
    /// Latest source timestamp seen (any tag), for ticks the source skipped.
    max_st_us: Option<i64>,
    source_ticks_skipped: u64,
    tag_backwards: u64,
    bad_quality: u64,
    no_st: u64,
}

impl Stats {
    fn on_message(&mut self, payload: &[u8], recv_us: i64, interval_us: i64) {
        let msg: Msg<'_> = match serde_json::from_slice(payload) {
            Ok(m) => m,
            Err(e) => {
                if self.parse_errors < 5 {
                    eprintln!("ws-sink: unparsable message ({} bytes): {e}", payload.len());
                }
                self.parse_errors += 1;
                return;
            }
        };
        let Some(seq) = msg.seq else {
            self.other_frames += 1;
            return;
        };
        if self.first_data.is_none() {
            self.first_data = Some(Instant::now());
            eprintln!(
                "ws-sink: first data message seq {seq} with {} values",
                msg.values.len()
            );
        }
        self.seq_first.get_or_insert(seq);
        match self.next_seq {
            Some(n) if seq < n => {
                if self.seq_missing.remove(&seq) {
                    self.seq_late += 1;
                } else {
                    self.seq_duplicates += 1;
                }
            }
            Some(n) if seq > n => {
                self.seq_missing.extend(n..seq.min(n + 1_000_000));
                self.seq_gap_events += 1;
                if self.seq_gap_events <= 5 {
                    eprintln!("ws-sink: seq gap: expected {n}, got {seq}");
                }
            }
            _ => {}
        }
        self.next_seq = Some(self.next_seq.map_or(seq + 1, |n| n.max(seq + 1)));
        self.seq_last = Some(seq);
        self.total_messages += 1;
        self.total_values += msg.values.len() as u64;
        let window = self.phase == Phase::Window;
        let ts_us = msg.ts.as_deref().and_then(parse_rfc3339_us);
        if window {
            self.counts.message(msg.values.len() as u64);
            self.payload_bytes += payload.len() as u64;
            self.max_message_bytes = self.max_message_bytes.max(payload.len() as u64);
            if let Some(ts) = ts_us {
                self.send_lag_us.push(recv_us - ts);
            }
        }
        for v in &msg.values {
            let st = v.st_us();
            if !self.tags.contains_key(v.tag.as_ref()) {
                self.tags.insert(v.tag.to_string(), TagState::default());
            }
            let Some(state) = self.tags.get_mut(v.tag.as_ref()) else {
                continue;
            };
            let prev = state.last_st_us;
            if let Some(st) = st {
                state.last_st_us = Some(prev.map_or(st, |p| p.max(st)));
            }
            if !window {
                continue;
            }
            if !v.good() {
                self.bad_quality += 1;
            }
            let Some(st) = st else {
                self.no_st += 1;
                continue;
            };
            self.counts.latency_us.push(recv_us - st);
            match self.max_st_us {
                Some(m) if st > m => {
                    self.source_ticks_skipped += ticks::skipped(st - m, interval_us).unwrap_or(0);
                    self.max_st_us = Some(st);
                }
                None => self.max_st_us = Some(st),
                _ => {}
            }
            if let Some(ts) = ts_us {
                self.publish_wait_us.push(ts - st);
            }
            if let Some(p) = prev {
                let step = st - p;
                if step < 0 {
                    self.tag_backwards += 1;
                } else if let Some(n) = ticks::skipped(step, interval_us) {
                    self.missed_changes += n;
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Connection
// ------------------------------------------------------------------------------------------------

fn accept_key(key: &str) -> String {
    use base64::Engine;
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// Reads the upgrade request (byte by byte, so no frame bytes are consumed) and answers it.
/// Returns the agreed extensions.
async fn server_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    allow_deflate: bool,
    stats: &Mutex<Stats>,
) -> io::Result<Option<String>> {
    let mut head = Vec::with_capacity(1024);
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head over 16 KiB",
            ));
        }
        if io.read(&mut b).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed during the handshake",
            ));
        }
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let (mut key, mut ext_offer, mut proto_offer) = (None, None, None);
    for line in lines.filter(|l| !l.is_empty()) {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim().to_string();
            match name.trim().to_ascii_lowercase().as_str() {
                "sec-websocket-key" => key = Some(value),
                "sec-websocket-extensions" => ext_offer = Some(value),
                "sec-websocket-protocol" => proto_offer = Some(value),
                _ => {}
            }
        }
    }
    let Some(key) = key else {
        io.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await?;
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not a WebSocket upgrade: {request_line}"),
        ));
    };
    let deflate_offered = ext_offer.as_deref().is_some_and(|e| {
        e.split(',').any(|o| {
            o.split(';')
                .next()
                .is_some_and(|n| n.trim() == "permessage-deflate")
        })
    });
    let extensions = (allow_deflate && deflate_offered).then(|| "permessage-deflate".to_string());
    let protocol = proto_offer
        .as_deref()
        .and_then(|p| p.split(',').next())
        .map(|p| p.trim().to_string());
    let mut resp = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        accept_key(&key)
    );
    if let Some(p) = &protocol {
        resp += &format!("Sec-WebSocket-Protocol: {p}\r\n");
    }
    if let Some(e) = &extensions {
        resp += &format!("Sec-WebSocket-Extensions: {e}\r\n");
    }
    resp += "\r\n";
    io.write_all(resp.as_bytes()).await?;
    io.flush().await?;
    eprintln!(
        "ws-sink: upgraded `{request_line}`; extensions offered {ext_offer:?}, agreed {extensions:?}; subprotocol {protocol:?}"
    );
    let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
    s.extensions = extensions.clone();
    s.subprotocol = protocol;
    Ok(extensions)
}

async fn serve(tcp: TcpStream, args: Arc<Args>, stats: Arc<Mutex<Stats>>, wire: Arc<AtomicU64>) {
    let _ = tcp.set_nodelay(true);
    let mut io = Counting {
        inner: tcp,
        read: wire,
        written: Arc::new(AtomicU64::new(0)),
    };
    let ext = match server_handshake(&mut io, !args.no_deflate, &stats).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("ws-sink: handshake failed: {e}");
            return;
        }
    };
    let mut options = Options::default().with_limits(256 << 20, 512 << 20);
    options = if ext.is_some() {
        options.with_balanced_compression()
    } else {
        options.without_compression()
    };
    let mut ws =
        match WebSocket::from_stream_with_extensions(io, Role::Server, ext.as_deref(), options) {
            Ok(ws) => ws,
            Err(e) => {
                eprintln!("ws-sink: cannot set up the WebSocket: {e}");
                return;
            }
        };
    let interval_us = args.interval_ms as i64 * 1000;
    loop {
        let frame = match ws.next_frame().await {
            Ok(f) => f,
            Err(e) => {
                eprintln!("ws-sink: connection ended: {e}");
                return;
            }
        };
        let recv_us = now_us();
        match frame.opcode() {
            OpCode::Text | OpCode::Binary => {
                let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
                if s.phase == Phase::Done {
                    continue;
                }
                if frame.opcode() == OpCode::Binary {
                    s.other_frames += 1; // CBOR is not decoded here
                    continue;
                }
                s.on_message(frame.payload().as_ref(), recv_us, interval_us);
            }
            OpCode::Close => {
                eprintln!("ws-sink: client closed ({:?})", frame.close_code());
                return;
            }
            _ => {} // pings are answered by yawc
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Main
// ------------------------------------------------------------------------------------------------

fn main() {
    let args = Arc::new(Args::parse());
    let rt = runtime::start("ws-sink", Threads::Current);
    let code = rt.block_on(run(args));
    std::process::exit(code);
}

async fn run(args: Arc<Args>) -> i32 {
    let listener = match TcpListener::bind((args.host.as_str(), args.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ws-sink: cannot listen on {}:{}: {e}", args.host, args.port);
            return 1;
        }
    };
    eprintln!("ws-sink ready on {}:{}", args.host, args.port);
    let stats = Arc::new(Mutex::new(Stats::default()));
    let wire = Arc::new(AtomicU64::new(0));
    {
        let (args, stats, wire) = (args.clone(), stats.clone(), wire.clone());
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((tcp, peer)) => {
                        let n = {
                            let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
                            s.connections += 1;
                            s.connections
                        };
                        eprintln!("ws-sink: connection {n} from {peer}");
                        tokio::spawn(serve(tcp, args.clone(), stats.clone(), wire.clone()));
                    }
                    Err(e) => {
                        eprintln!("ws-sink: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
    }

    // Wait for the first data message.
    let first = || stats.lock().unwrap_or_else(|e| e.into_inner()).first_data;
    if !wait_for_data("ws-sink", &args.label, args.wait_s, args.warmup_s, first).await {
        return 2;
    }

    // Window.
    let peer_pid = pid_arg(args.peer_pid, args.peer_pid_file.as_deref());
    let (mut window, wire0) = Window::open(peer_pid, args.clk_tck, || {
        stats.lock().unwrap_or_else(|e| e.into_inner()).phase = Phase::Window;
        wire.load(Ordering::Relaxed)
    });
    window.run(args.duration_s, || {}).await;
    let wire1 = window.close(|| {
        stats.lock().unwrap_or_else(|e| e.into_inner()).phase = Phase::Done;
        wire.load(Ordering::Relaxed)
    });
    let window_s = window.window_s;

    let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
    s.send_lag_us.sort_unstable();
    s.publish_wait_us.sort_unstable();
    let wire_bytes = wire1 - wire0;
    let values = s.counts.values.max(1) as f64;
    let out = json!({
        "label": args.label,
        "connections": s.connections,
        "extensions": s.extensions,
        "deflate": s.extensions.is_some(),
        "subprotocol": s.subprotocol,
        "max_message_bytes": s.max_message_bytes,
        "wire_bytes": wire_bytes,
        "wire_bytes_per_s": r2(wire_bytes as f64 / window_s),
        "wire_bytes_per_value": r2(wire_bytes as f64 / values),
        "payload_bytes": s.payload_bytes,
        "payload_bytes_per_s": r2(s.payload_bytes as f64 / window_s),
        "payload_bytes_per_value": r2(s.payload_bytes as f64 / values),
        "compression_ratio": r2(s.payload_bytes as f64 / wire_bytes.max(1) as f64),
        "publish_wait_p50_ms": ms3(pct(&s.publish_wait_us, 50.0)),
        "publish_wait_p99_ms": ms3(pct(&s.publish_wait_us, 99.0)),
        "send_lag_p50_ms": ms3(pct(&s.send_lag_us, 50.0)),
        "send_lag_p99_ms": ms3(pct(&s.send_lag_us, 99.0)),
        "send_lag_max_ms": ms3(us_to_ms(s.send_lag_us.last())),
        "seq_first": s.seq_first,
        "seq_last": s.seq_last,
        "seq_gaps": s.seq_missing.len(),
        "seq_gap_events": s.seq_gap_events,
        "seq_late": s.seq_late,
        "seq_duplicates": s.seq_duplicates,
        "missed_changes_est": s.missed_changes,
        "source_ticks_skipped": s.source_ticks_skipped,
        "lost_changes_est": s.missed_changes.saturating_sub(s.source_ticks_skipped * s.tags.len() as u64),
        "tag_backwards": s.tag_backwards,
        "tags_seen": s.tags.len(),
        "bad_quality": s.bad_quality,
        "values_without_st": s.no_st,
        "parse_errors": s.parse_errors,
        "other_frames": s.other_frames,
        "total_messages": s.total_messages,
        "total_values": s.total_values,
    });
    window.print(out, &mut s.counts, args.tags, args.interval_ms);
    0
}
