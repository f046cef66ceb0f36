//! `mqtt-sink` — an MQTT subscriber (rumqttc, MQTT 3.1.1) that receives a tag-change stream from a
//! broker (fxgate's `[[mqtt]]` JSON or Sparkplug B messages, or `mqtt-push`'s identical ones) and
//! measures it. Prints ONE JSON line on stdout at the end; diagnostics go to stderr.
//!
//! Understood payloads (chosen per message by topic):
//! * JSON per tag: `{"tag":"Sim/T0","v":1.5,"q":"Good","st":"…"}` (one sample per message);
//! * JSON batch: `{"seq":N,"ts":"…","values":[{"tag","v","q","st"},…]}`; `seq` must grow by one;
//! * Sparkplug B (topics `spBv1.0/…`): the protobuf payload (declared by hand in
//!   `fxgate_mqtt::sparkplug::proto`); NBIRTH/DBIRTH/DDATA/NDATA `seq` must count 0..255 from the
//!   NBIRTH (which is 0); DDATA/NDATA metrics are the values (key: alias, else name), their
//!   `timestamp` the source time.
//!
//! Per value: latency = receipt time (when rumqttc's event loop hands over the PUBLISH) − the
//! value's source timestamp (`st`, RFC 3339 with ms, or the metric's `timestamp` in ms: both
//! truncated to ms by the sender, so figures read up to 1 ms high). Same host clock.
//!
//! Loss (the stream is a simulator whose every tag changes once per interval, all tags of a tick
//! stamped with the same source time): per tag, a step between consecutive source timestamps of
//! ≥ 1.5 × `--interval-ms` counts round(step/interval) − 1 `missed_values_est`. Not all of those are
//! lost: a late timer makes the source itself skip ticks (fxgate's simulator and mqtt-push skip
//! missed ticks). So `lost_values_est` counts, per such step, only the ticks that exist: source
//! timestamps strictly inside the step that any other tag delivered during the run (evaluated at
//! the end). Ticks nobody delivered are `source_ticks_skipped` (steps ≥ 1.5 intervals between
//! consecutive distinct source timestamps in the window) — or whole messages lost on the way,
//! which `seq_gaps` proves for JSON batches and Sparkplug.
//!
//! Bytes: every PUBLISH packet as it came from the broker (MQTT 3.1.1): 1 + length of the
//! remaining-length varint + 2 + topic + 2 (packet id, QoS > 0) + payload; PUBACKs are not counted.
//!
//! The window starts `--warmup-s` after the first data message and lasts `--duration-s`. With
//! `--peer-pid`/`--peer-pid-file` the sender's CPU (utime+stime from /proc/PID/stat, in cores) and
//! RSS (VmRSS, sampled every 100 ms) are taken over the window, with `--broker-pid` the broker's.
//!
//! Network input is never unwrapped: a bad message is counted and the run continues.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use prost::Message as _;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, SubscribeFilter, SubscribeReasonCode};
use serde::Deserialize;
use serde_json::json;

use fxgate_bench::clock::{now_us, parse_rfc3339_us};
use fxgate_bench::mqtt::qos;
use fxgate_bench::procfs::{pid_arg, Watched};
use fxgate_bench::runtime::{self, Threads};
use fxgate_bench::summary::r2;
use fxgate_bench::ticks;
use fxgate_bench::window::{wait_for_data, Counts, Phase, Window};
use fxgate_bench::wire::SampleIn;
use fxgate_mqtt::sparkplug::proto::Payload;

#[derive(Parser, Debug)]
#[command(
    name = "mqtt-sink",
    about = "MQTT subscriber measuring a tag-change stream; one JSON line on stdout"
)]
struct Args {
    /// Broker address.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Broker port.
    #[arg(long, default_value_t = 1883)]
    port: u16,
    /// Topic filter to subscribe to (repeatable).
    #[arg(long, required = true)]
    filter: Vec<String>,
    /// QoS of the subscription (0, 1, 2): the broker delivers min(publish QoS, this).
    #[arg(long, default_value_t = 0)]
    qos: u8,
    /// Client identifier.
    #[arg(long, default_value = "mqtt-sink")]
    client_id: String,
    /// Seconds after the first data message before the window starts.
    #[arg(long, default_value_t = 3.0)]
    warmup_s: f64,
    /// Length of the measurement window in seconds.
    #[arg(long, default_value_t = 30.0)]
    duration_s: f64,
    /// Give up when no data message came within this many seconds of subscribing.
    #[arg(long, default_value_t = 120.0)]
    wait_s: f64,
    /// Tags the sender streams (for expected values; 0 = unknown).
    #[arg(long, default_value_t = 0)]
    tags: u64,
    /// Interval at which every tag changes, ms (for expected and missed values; 0 = unknown).
    #[arg(long, default_value_t = 0)]
    interval_ms: u64,
    /// PID of the sender, for its CPU and RSS over the window.
    #[arg(long)]
    peer_pid: Option<u32>,
    /// File holding the sender's PID (read when the window starts; for senders started later).
    #[arg(long)]
    peer_pid_file: Option<PathBuf>,
    /// PID of the broker, for its CPU and RSS over the window.
    #[arg(long)]
    broker_pid: Option<u32>,
    /// Clock ticks per second of /proc/PID/stat (getconf CLK_TCK).
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
    /// Label copied into the JSON.
    #[arg(long, default_value = "")]
    label: String,
}

// ------------------------------------------------------------------------------------------------
// Stats
// ------------------------------------------------------------------------------------------------

/// A JSON message: per tag (`tag`, `q`, `st` at the top) or a batch (`seq`, `ts`, `values`).
/// `v` is skipped.
#[derive(Deserialize)]
struct JsonMsg<'a> {
    seq: Option<u64>,
    #[serde(default, borrow)]
    values: Option<Vec<SampleIn<'a>>>,
    #[serde(default, borrow)]
    tag: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    q: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    st: Option<Cow<'a, str>>,
}

/// A tag's identity: its path (JSON, Sparkplug births), or a Sparkplug alias.
#[derive(Hash, PartialEq, Eq)]
enum Key {
    Name(Box<str>),
    Alias(u64),
}

#[derive(Default)]
struct Stats {
    phase: Phase,
    first_data: Option<Instant>,
    connections: u64,
    subscribed: bool,
    subscribe_refused: u64,
    // whole run
    total_messages: u64,
    total_values: u64,
    parse_errors: u64,
    other_messages: u64,
    /// Last source timestamp (µs) per tag.
    tags: HashMap<Key, i64>,
    /// Next JSON batch `seq`.
    batch_next: Option<u64>,
    /// Next Sparkplug `seq` (after an NBIRTH: 1).
    spb_next: Option<u64>,
    seq_gaps_total: u64,
    seq_gap_events: u64,
    seq_out_of_order: u64,
    births: u64,
    deaths: u64,
    // window
    counts: Counts,
    packet_bytes: u64,
    payload_bytes: u64,
    max_payload_bytes: u64,
    seq_gaps: u64,
    missed_values: u64,
    /// Per-tag steps of ≥ 1.5 intervals in the window: (previous, this) source timestamp, µs.
    gaps: Vec<(i64, i64)>,
    /// Every distinct source timestamp (tick) seen during the run, µs.
    ticks: BTreeSet<i64>,
    /// The same, inside the window.
    window_ticks: BTreeSet<i64>,
    duplicate_values: u64,
    tag_backwards: u64,
    bad_quality: u64,
    no_st: u64,
    historical: u64,
}

/// Bytes of a PUBLISH packet (MQTT 3.1.1, no properties).
fn publish_packet_len(topic: usize, payload: usize, qos: QoS) -> u64 {
    let rem = 2 + topic + if qos == QoS::AtMostOnce { 0 } else { 2 } + payload;
    let varint = match rem {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    };
    (1 + varint + rem) as u64
}

impl Stats {
    fn window(&self) -> bool {
        self.phase == Phase::Window
    }

    /// A sequence number `seq` where `next` was expected: numbers skipped count as gaps.
    fn check_seq(&mut self, seq: u64, next: Option<u64>, modulo: Option<u64>) {
        let Some(n) = next else { return };
        let skipped = match modulo {
            Some(m) => (seq + m - n % m) % m,
            None if seq >= n => seq - n,
            None => {
                self.seq_out_of_order += 1;
                return;
            }
        };
        if skipped > 0 {
            self.seq_gaps_total += skipped;
            self.seq_gap_events += 1;
            if self.window() {
                self.seq_gaps += skipped;
            }
            if self.seq_gap_events <= 5 {
                eprintln!("mqtt-sink: seq gap: expected {n}, got {seq}");
            }
        }
    }

    fn data_message(&mut self, topic: usize, payload: usize, qos: QoS, values: usize) {
        if self.first_data.is_none() {
            self.first_data = Some(Instant::now());
            eprintln!("mqtt-sink: first data message, {values} values");
        }
        self.total_messages += 1;
        self.total_values += values as u64;
        if self.window() {
            self.counts.message(values as u64);
            self.packet_bytes += publish_packet_len(topic, payload, qos);
            self.payload_bytes += payload as u64;
            self.max_payload_bytes = self.max_payload_bytes.max(payload as u64);
        }
    }

    /// One value of tag `key` with source time `st` (µs), received at `recv_us`.
    fn value(&mut self, key: Key, st: Option<i64>, good: bool, recv_us: i64, interval_us: i64) {
        let window = self.window();
        let Some(st) = st else {
            if window {
                self.no_st += 1;
            }
            return;
        };
        self.ticks.insert(st);
        let prev = match self.tags.get_mut(&key) {
            Some(last) => {
                let p = *last;
                *last = p.max(st);
                Some(p)
            }
            None => {
                self.tags.insert(key, st);
                None
            }
        };
        if !window {
            return;
        }
        if !good {
            self.bad_quality += 1;
        }
        self.counts.latency_us.push(recv_us - st);
        self.window_ticks.insert(st);
        if let Some(p) = prev {
            let step = st - p;
            if step < 0 {
                self.tag_backwards += 1;
            } else if step == 0 {
                self.duplicate_values += 1;
            } else if let Some(n) = ticks::skipped(step, interval_us) {
                self.missed_values += n;
                self.gaps.push((p, st));
            }
        }
    }

    /// Values lost: per-tag steps over ticks that exist (some tag delivered them).
    fn lost_values(&self) -> u64 {
        self.gaps
            .iter()
            .map(|&(a, b)| self.ticks.range(a + 1..b).count() as u64)
            .sum()
    }

    /// Steps of ≥ 1.5 intervals between consecutive ticks seen in the window.
    fn source_ticks_skipped(&self, interval_us: i64) -> u64 {
        if interval_us <= 0 {
            return 0;
        }
        let t: Vec<i64> = self.window_ticks.iter().copied().collect();
        t.windows(2)
            .filter_map(|w| ticks::skipped(w[1] - w[0], interval_us))
            .sum()
    }

    fn on_publish(&mut self, p: &rumqttc::Publish, recv_us: i64, interval_us: i64) {
        if self.phase == Phase::Done {
            return;
        }
        if p.topic.starts_with("spBv1.0/") {
            self.on_sparkplug(p, recv_us, interval_us);
        } else {
            self.on_json(p, recv_us, interval_us);
        }
    }

    fn on_json(&mut self, p: &rumqttc::Publish, recv_us: i64, interval_us: i64) {
        let msg: JsonMsg<'_> = match serde_json::from_slice(&p.payload) {
            Ok(m) => m,
            Err(e) => {
                if self.parse_errors < 5 {
                    eprintln!(
                        "mqtt-sink: unparsable JSON on {} ({} bytes): {e}",
                        p.topic,
                        p.payload.len()
                    );
                }
                self.parse_errors += 1;
                return;
            }
        };
        if let Some(values) = msg.values {
            if let Some(seq) = msg.seq {
                self.check_seq(seq, self.batch_next, None);
                self.batch_next = Some(self.batch_next.map_or(seq + 1, |n| n.max(seq + 1)));
            }
            self.data_message(p.topic.len(), p.payload.len(), p.qos, values.len());
            for v in values {
                let (st, good) = (v.st_us(), v.good());
                self.value(Key::Name(v.tag.into()), st, good, recv_us, interval_us);
            }
        } else if let Some(tag) = msg.tag {
            self.data_message(p.topic.len(), p.payload.len(), p.qos, 1);
            let st = msg.st.as_deref().and_then(parse_rfc3339_us);
            let good = msg.q.as_deref().is_none_or(|q| q == "Good");
            self.value(Key::Name(tag.into()), st, good, recv_us, interval_us);
        } else {
            self.other_messages += 1;
        }
    }

    fn on_sparkplug(&mut self, p: &rumqttc::Publish, recv_us: i64, interval_us: i64) {
        // spBv1.0/<group>/<type>/<node>[/<device>]
        let kind = p.topic.split('/').nth(2).unwrap_or("");
        if kind == "STATE" || p.topic.starts_with("spBv1.0/STATE/") {
            self.other_messages += 1;
            return;
        }
        let payload = match Payload::decode(p.payload.as_ref()) {
            Ok(pl) => pl,
            Err(e) => {
                if self.parse_errors < 5 {
                    eprintln!(
                        "mqtt-sink: undecodable Sparkplug payload on {} ({} bytes): {e}",
                        p.topic,
                        p.payload.len()
                    );
                }
                self.parse_errors += 1;
                return;
            }
        };
        match kind {
            "NBIRTH" => {
                self.births += 1;
                if payload.seq.unwrap_or(0) != 0 {
                    eprintln!("mqtt-sink: NBIRTH with seq {:?}", payload.seq);
                }
                self.spb_next = Some(1);
                self.other_messages += 1;
            }
            "NDEATH" => {
                self.deaths += 1;
                self.other_messages += 1;
            }
            "DBIRTH" => {
                if let Some(seq) = payload.seq {
                    self.check_seq(seq, self.spb_next, Some(256));
                    self.spb_next = Some((seq + 1) % 256);
                }
                self.births += 1;
                self.other_messages += 1;
                // The births' values are where each tag starts (not counted as data).
                for m in &payload.metrics {
                    if let (Some(a), Some(t)) = (m.alias, m.timestamp) {
                        self.tags.insert(Key::Alias(a), t as i64 * 1000);
                        self.ticks.insert(t as i64 * 1000);
                    }
                }
            }
            "DDATA" | "NDATA" => {
                if let Some(seq) = payload.seq {
                    self.check_seq(seq, self.spb_next, Some(256));
                    self.spb_next = Some((seq + 1) % 256);
                }
                self.data_message(p.topic.len(), p.payload.len(), p.qos, payload.metrics.len());
                for m in payload.metrics {
                    if self.window() && m.is_historical == Some(true) {
                        self.historical += 1;
                    }
                    let key = match (m.alias, m.name) {
                        (Some(a), _) => Key::Alias(a),
                        (None, Some(n)) => Key::Name(n.into()),
                        (None, None) => Key::Alias(u64::MAX),
                    };
                    let st = m.timestamp.map(|t| t as i64 * 1000);
                    self.value(key, st, m.is_null != Some(true), recv_us, interval_us);
                }
            }
            _ => self.other_messages += 1,
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Main
// ------------------------------------------------------------------------------------------------

fn main() {
    let args = Args::parse();
    let rt = runtime::start("mqtt-sink", Threads::Current);
    let code = rt.block_on(run(args));
    std::process::exit(code);
}

async fn run(args: Args) -> i32 {
    let mut opts = MqttOptions::new(args.client_id.clone(), args.host.clone(), args.port);
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_clean_session(true);
    // A batch of 10,000 values is ~0.8 MB of JSON.
    opts.set_max_packet_size(256 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(opts, 64);
    eventloop.network_options.set_tcp_nodelay(true);
    let filters: Vec<SubscribeFilter> = args
        .filter
        .iter()
        .map(|f| SubscribeFilter::new(f.clone(), qos(args.qos)))
        .collect();
    if let Err(e) = client.subscribe_many(filters.clone()).await {
        eprintln!("mqtt-sink: cannot queue the subscription: {e}");
        return 1;
    }
    let stats = Arc::new(Mutex::new(Stats::default()));
    let interval_us = args.interval_ms as i64 * 1000;
    {
        let stats = stats.clone();
        let client = client.clone();
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let recv_us = now_us();
                        stats.lock().unwrap_or_else(|e| e.into_inner()).on_publish(
                            &p,
                            recv_us,
                            interval_us,
                        );
                    }
                    Ok(Event::Incoming(Packet::ConnAck(c))) => {
                        let n = {
                            let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
                            s.connections += 1;
                            s.connections
                        };
                        eprintln!("mqtt-sink: connected ({n}): {c:?}");
                        if n > 1 {
                            // A clean session forgets the subscription.
                            if let Err(e) = client.try_subscribe_many(filters.clone()) {
                                eprintln!("mqtt-sink: cannot subscribe again: {e}");
                            }
                        }
                    }
                    Ok(Event::Incoming(Packet::SubAck(a))) => {
                        let refused = a
                            .return_codes
                            .iter()
                            .filter(|c| matches!(c, SubscribeReasonCode::Failure))
                            .count();
                        let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
                        s.subscribe_refused += refused as u64;
                        if !s.subscribed {
                            s.subscribed = true;
                            eprintln!(
                                "mqtt-sink ready: subscribed {:?}, granted {:?}",
                                filters.iter().map(|f| &f.path).collect::<Vec<_>>(),
                                a.return_codes
                            );
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("mqtt-sink: connection: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        });
    }

    // Wait for the subscription, then for the first data message.
    let first = || stats.lock().unwrap_or_else(|e| e.into_inner()).first_data;
    if !wait_for_data("mqtt-sink", &args.label, args.wait_s, args.warmup_s, first).await {
        return 2;
    }

    // Window.
    let peer_pid = pid_arg(args.peer_pid, args.peer_pid_file.as_deref());
    let mut broker = Watched::start(args.broker_pid.map(|p| p.to_string()));
    let (mut window, ()) = Window::open(peer_pid, args.clk_tck, || {
        stats.lock().unwrap_or_else(|e| e.into_inner()).phase = Phase::Window;
    });
    window.run(args.duration_s, || broker.sample()).await;
    window.close(|| stats.lock().unwrap_or_else(|e| e.into_inner()).phase = Phase::Done);
    broker.end();
    let window_s = window.window_s;

    let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
    let tags_seen = s.tags.len() as u64;
    let lost_est = s.lost_values();
    let skipped = s.source_ticks_skipped(interval_us);
    let values = s.counts.values.max(1) as f64;
    let out = json!({
        "label": args.label,
        "connections": s.connections,
        "subscribe_refused": s.subscribe_refused,
        "qos": args.qos,
        "max_payload_bytes": s.max_payload_bytes,
        "packet_bytes": s.packet_bytes,
        "packet_bytes_per_s": r2(s.packet_bytes as f64 / window_s),
        "bytes_per_value": r2(s.packet_bytes as f64 / values),
        "payload_bytes": s.payload_bytes,
        "payload_bytes_per_value": r2(s.payload_bytes as f64 / values),
        "seq_gaps": s.seq_gaps,
        "seq_gaps_total": s.seq_gaps_total,
        "seq_gap_events": s.seq_gap_events,
        "seq_out_of_order": s.seq_out_of_order,
        "missed_values_est": s.missed_values,
        "source_ticks_skipped": skipped,
        "ticks_seen": s.window_ticks.len(),
        "lost_values_est": lost_est,
        "duplicate_values": s.duplicate_values,
        "tag_backwards": s.tag_backwards,
        "tags_seen": tags_seen,
        "bad_quality": s.bad_quality,
        "values_without_st": s.no_st,
        "historical_values": s.historical,
        "births": s.births,
        "deaths": s.deaths,
        "parse_errors": s.parse_errors,
        "other_messages": s.other_messages,
        "total_messages": s.total_messages,
        "total_values": s.total_values,
        "broker_cpu_cores": window.cores(&broker),
        "broker_rss_kb_peak": broker.rss_sampled_peak,
    });
    window.print(out, &mut s.counts, args.tags, args.interval_ms);
    0
}
