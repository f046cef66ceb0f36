//! `ws-push` — the baseline for fxgate's WebSocket client: the same message stream with no
//! gateway behind it.
//!
//! `--tags` Double tags `<prefix>0 … <prefix>N-1` change every `--interval-ms` (uniformly random in
//! 0…100 from the same xorshift64* as fxgate's `random` simulator waveform, all tags of a tick
//! stamped with one source time, as fxgate's simulator does). Changes are collected and sent every
//! `--publish-interval-ms` as one message, exactly in fxgate's format:
//! `{"seq":N,"ts":"…","values":[{"tag":"Sim/T0","v":1.5,"q":"Good","st":"…"}]}` (RFC 3339 UTC with
//! milliseconds; the first message holds every tag's current value). The connection is opened like
//! fxgate opens it (own handshake, same permessage-deflate offer with `--deflate`, TCP_NODELAY) and
//! uses the same WebSocket library (yawc) with fxgate's default options (16 KiB send frames,
//! balanced compression). One thread (tokio current-thread runtime).
//!
//! Runs for `--duration-s` (0: until killed) or until the server goes away (exit status 0).
//! Diagnostics on stderr.

use std::fmt;
use std::io;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::Parser;
use futures::SinkExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::MissedTickBehavior;
use yawc::frame::{Frame, OpCode};
use yawc::{Options, Role, WebSocket, WebSocketError};

use fxgate_bench::clock::rfc3339;
use fxgate_bench::runtime::{self, Threads};
use fxgate_bench::sim::Tag;
use fxgate_bench::wire::{Batch, Sample};

#[derive(Parser, Debug)]
#[command(
    name = "ws-push",
    about = "Baseline WebSocket client streaming fxgate-format tag changes"
)]
struct Args {
    /// ws://host:port/path of the server.
    #[arg(long)]
    url: String,
    /// Number of tags.
    #[arg(long, default_value_t = 1000)]
    tags: u32,
    /// Every tag changes every this many ms.
    #[arg(long, default_value_t = 50)]
    interval_ms: u64,
    /// Changes are collected into one message per this many ms.
    #[arg(long, default_value_t = 10)]
    publish_interval_ms: u64,
    /// Tag path prefix.
    #[arg(long, default_value = "Sim/T")]
    prefix: String,
    /// Offer permessage-deflate.
    #[arg(long)]
    deflate: bool,
    /// Subprotocol to offer (empty: none).
    #[arg(long, default_value = "")]
    subprotocol: String,
    /// Largest frame sent (larger messages are fragmented), as fxgate's max_send_frame_size.
    #[arg(long, default_value_t = 16384)]
    max_send_frame_size: usize,
    /// Seconds to run (0: until killed).
    #[arg(long, default_value_t = 0.0)]
    duration_s: f64,
}

/// Why the client stopped.
#[derive(Debug)]
enum PushError {
    /// The URL is not `ws://…`.
    NotWs,
    /// The TCP connection to this authority could not be made.
    Connect(String, io::Error),
    /// Sending the upgrade request or reading the answer failed.
    Io(io::Error),
    /// The answer's head was over 16 KiB, or the connection closed before its end.
    BadResponse,
    /// The server did not switch protocols: its status line.
    Refused(String),
    /// The WebSocket could not be set up over the connection.
    WebSocket(WebSocketError),
    /// A message could not be encoded.
    Encode(serde_json::Error),
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::NotWs => write!(f, "only ws:// URLs"),
            PushError::Connect(authority, e) => write!(f, "{authority}: {e}"),
            PushError::Io(e) => write!(f, "{e}"),
            PushError::BadResponse => write!(f, "bad handshake response"),
            PushError::Refused(status) => write!(f, "server answered `{status}`"),
            PushError::WebSocket(e) => write!(f, "{e}"),
            PushError::Encode(e) => write!(f, "{e}"),
        }
    }
}

async fn connect(args: &Args) -> Result<WebSocket<TcpStream>, PushError> {
    let url = args.url.strip_prefix("ws://").ok_or(PushError::NotWs)?;
    let (authority, path) = match url.find('/') {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, "/"),
    };
    let mut tcp = TcpStream::connect(authority)
        .await
        .map_err(|e| PushError::Connect(authority.to_string(), e))?;
    let _ = tcp.set_nodelay(true);
    let nonce: [u8; 16] = {
        let mut x = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64
            | 1;
        let mut n = [0u8; 16];
        for b in n.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        n
    };
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.encode(nonce);
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    );
    if !args.subprotocol.is_empty() {
        req += &format!("Sec-WebSocket-Protocol: {}\r\n", args.subprotocol);
    }
    if args.deflate {
        req += "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
    }
    req += "\r\n";
    tcp.write_all(req.as_bytes()).await.map_err(PushError::Io)?;
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 || tcp.read(&mut b).await.map_err(PushError::Io)? == 0 {
            return Err(PushError::BadResponse);
        }
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head);
    if !head.starts_with("HTTP/1.1 101") {
        return Err(PushError::Refused(
            head.lines().next().unwrap_or_default().to_string(),
        ));
    }
    let ext = head.split("\r\n").find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case("sec-websocket-extensions")
            .then(|| v.trim().to_string())
    });
    eprintln!("ws-push: connected to {}; extensions {ext:?}", args.url);
    let mut options = Options::default()
        .with_limits(0x10000, 0x100000)
        .with_max_fragment_size(args.max_send_frame_size)
        .with_utf8();
    options = if ext.is_some() {
        options.with_balanced_compression()
    } else {
        options.without_compression()
    };
    WebSocket::from_stream_with_extensions(tcp, Role::Client, ext.as_deref(), options)
        .map_err(PushError::WebSocket)
}

fn main() {
    let args = Args::parse();
    let rt = runtime::start("ws-push", Threads::Current);
    runtime::run_or_exit(rt, "ws-push", run(args));
}

async fn run(args: Args) -> Result<(), PushError> {
    let names: Vec<String> = (0..args.tags)
        .map(|i| format!("{}{i}", args.prefix))
        .collect();
    let mut tags: Vec<Tag> = (0..args.tags).map(Tag::new).collect();
    // Source stamps of the ticks not yet published; pending values index into it.
    let mut stamps: Vec<String> = vec![rfc3339(SystemTime::now())];
    let mut pending: Vec<(u32, f64, u32)> = tags
        .iter()
        .enumerate()
        .map(|(i, t)| (i as u32, t.value, 0))
        .collect();
    let mut ws = connect(&args).await?;
    let started = Instant::now();
    let deadline =
        (args.duration_s > 0.0).then(|| started + Duration::from_secs_f64(args.duration_s));
    let mut gen = tokio::time::interval(Duration::from_millis(args.interval_ms));
    gen.set_missed_tick_behavior(MissedTickBehavior::Skip);
    gen.tick().await;
    let mut publish = tokio::time::interval(Duration::from_millis(args.publish_interval_ms));
    publish.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut seq = 0u64;
    let (mut sent_values, mut sent_bytes) = (0u64, 0u64);
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        tokio::select! {
            _ = gen.tick() => {
                let s = stamps.len() as u32;
                stamps.push(rfc3339(SystemTime::now()));
                for (i, t) in tags.iter_mut().enumerate() {
                    if t.tick() {
                        pending.push((i as u32, t.value, s));
                    }
                }
            }
            _ = publish.tick() => {
                if pending.is_empty() {
                    continue;
                }
                seq += 1;
                let values: Vec<Sample<'_>> = pending
                    .iter()
                    .map(|&(i, v, s)| Sample { tag: &names[i as usize], v, q: "Good", st: &stamps[s as usize] })
                    .collect();
                let data = serde_json::to_vec(&Batch { seq, ts: rfc3339(SystemTime::now()), values })
                    .map_err(PushError::Encode)?;
                sent_values += pending.len() as u64;
                sent_bytes += data.len() as u64;
                pending.clear();
                stamps.clear(); // only pending values refer to them
                if let Err(e) = ws.feed(Frame::text(Bytes::from(data))).await {
                    eprintln!("ws-push: send: {e}");
                    break;
                }
                if let Err(e) = ws.flush().await {
                    eprintln!("ws-push: send: {e}");
                    break;
                }
            }
            // The server going away ends the run normally (ws-sink exits after its window).
            f = ws.next_frame() => match f {
                Ok(frame) if frame.opcode() == OpCode::Close => {
                    eprintln!("ws-push: server closed the connection");
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    eprintln!("ws-push: connection ended: {e}");
                    break;
                }
            },
        }
    }
    eprintln!("ws-push: done: {seq} messages, {sent_values} values, {sent_bytes} payload bytes");
    Ok(())
}
