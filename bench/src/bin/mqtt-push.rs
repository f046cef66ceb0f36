//! `mqtt-push` — the baseline for fxgate's MQTT client: the same message stream published to a
//! broker with a minimal rumqttc client (its own event loop, MQTT 3.1.1) and no gateway.
//!
//! `--tags` Double tags `<prefix>0 … <prefix>N-1` change every `--interval-ms` (uniformly random in
//! 0…100 from the same xorshift64* as fxgate's `random` simulator waveform, all tags of a tick
//! stamped with one source time, as fxgate's simulator does; missed ticks are skipped). Formats,
//! as fxgate's `[[mqtt]]` writes them (docs/interfaces.md "MQTT client"):
//! * `per-tag`: each change at once as `{"tag","v","q","st"}` on `--topic` with `{path}` (the tag's
//!   path, `Sim/T7`), `{source}` and `{name}` replaced;
//! * `batch`: the changes of each `--publish-interval-ms` as one
//!   `{"seq","ts","values":[{"tag","v","q","st"},…]}` on the fixed `--topic`;
//! * `sparkplug`: a Sparkplug B edge node `--node` in group `--group` whose device is the source
//!   (`Sim`): NBIRTH (seq 0, bdSeq 0, `Node Control/Rebirth` false) and DBIRTH (every metric with
//!   name, alias = index + 1, datatype Double, value, timestamp) after each CONNACK, then a DDATA
//!   by alias (value and source timestamp in ms) per tick (`--publish-interval-ms` 0) or per
//!   interval, `seq` counting 0..255 over the session; the Will is the NDEATH with bdSeq 0.
//!
//! The publish interval's timer runs 1 ms behind the generator's (each tick leaves with the next
//! publish tick: the best phase). RFC 3339 times are UTC with milliseconds (truncated). `--qos` for everything; `--inflight`
//! QoS ≥ 1 messages unacknowledged at most (rumqttc's default 100). One thread (tokio
//! current-thread runtime). Runs for `--duration-s` (0: until killed). Diagnostics on stderr.

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use prost::Message as _;
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use fxgate_bench::clock::{ms_since_epoch, rfc3339};
use fxgate_bench::mqtt::qos;
use fxgate_bench::runtime::{self, Threads};
use fxgate_bench::sim::Tag;
use fxgate_bench::wire::{Batch, Sample};
use fxgate_mqtt::sparkplug::proto::{DataType, Metric, MetricValue, Payload};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// One message per change on the tag's topic.
    PerTag,
    /// One message per publish interval on one topic.
    Batch,
    /// Sparkplug B births and DDATA.
    Sparkplug,
}

#[derive(Parser, Debug)]
#[command(
    name = "mqtt-push",
    about = "Baseline MQTT publisher (rumqttc) of fxgate-format tag changes"
)]
struct Args {
    /// Broker address.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Broker port.
    #[arg(long, default_value_t = 1883)]
    port: u16,
    /// Client identifier.
    #[arg(long, default_value = "mqtt-push")]
    client_id: String,
    /// Number of tags.
    #[arg(long, default_value_t = 10000)]
    tags: u32,
    /// Every tag changes every this many ms.
    #[arg(long, default_value_t = 100)]
    interval_ms: u64,
    /// Message format.
    #[arg(long, value_enum, default_value_t = Mode::PerTag)]
    mode: Mode,
    /// batch: changes are collected into one message per this many ms; sparkplug: 0 = one DDATA
    /// per tick, > 0 = per interval; per-tag: unused (each change at once).
    #[arg(long, default_value_t = 100)]
    publish_interval_ms: u64,
    /// per-tag: topic template ({path}, {source}, {name}); batch: the topic.
    #[arg(long, default_value = "bench/{path}")]
    topic: String,
    /// Tag path prefix: `<source>/<name prefix>`.
    #[arg(long, default_value = "Sim/T")]
    prefix: String,
    /// QoS of every message (0, 1, 2).
    #[arg(long, default_value_t = 0)]
    qos: u8,
    /// Most QoS ≥ 1 messages unacknowledged.
    #[arg(long, default_value_t = 100)]
    inflight: u16,
    /// Sparkplug group id.
    #[arg(long, default_value = "G")]
    group: String,
    /// Sparkplug edge node id.
    #[arg(long, default_value = "gw")]
    node: String,
    /// Seconds to run (0: until killed).
    #[arg(long, default_value_t = 0.0)]
    duration_s: f64,
}

/// What the publisher counts.
#[derive(Default)]
struct Sent {
    messages: u64,
    values: u64,
    payload_bytes: u64,
}

/// The Sparkplug edge node's session.
struct Edge {
    group: String,
    node: String,
    device: String,
    /// Metric names (the tag names without the source).
    names: Vec<String>,
    seq: u64,
}

impl Edge {
    fn topic(&self, kind: &str, device: bool) -> String {
        if device {
            format!(
                "spBv1.0/{}/{kind}/{}/{}",
                self.group, self.node, self.device
            )
        } else {
            format!("spBv1.0/{}/{kind}/{}", self.group, self.node)
        }
    }

    fn next_seq(&mut self) -> u64 {
        let s = self.seq;
        self.seq = (self.seq + 1) % 256;
        s
    }

    fn bdseq() -> Metric {
        Metric {
            name: Some("bdSeq".into()),
            timestamp: Some(ms_since_epoch(SystemTime::now())),
            datatype: Some(DataType::Int64 as u32),
            value: Some(MetricValue::LongValue(0)),
            ..Default::default()
        }
    }

    fn death(&self) -> Bytes {
        let p = Payload {
            timestamp: Some(ms_since_epoch(SystemTime::now())),
            metrics: vec![Self::bdseq()],
            ..Default::default()
        };
        Bytes::from(p.encode_to_vec())
    }

    /// NBIRTH and DBIRTH (current values, stamped `st`), seq from 0.
    fn births(&mut self, tags: &[Tag], st: u64) -> Vec<(String, Bytes)> {
        self.seq = 0;
        let now = ms_since_epoch(SystemTime::now());
        let nbirth = Payload {
            timestamp: Some(now),
            metrics: vec![
                Self::bdseq(),
                Metric {
                    name: Some("Node Control/Rebirth".into()),
                    timestamp: Some(now),
                    datatype: Some(DataType::Boolean as u32),
                    value: Some(MetricValue::BooleanValue(false)),
                    ..Default::default()
                },
            ],
            seq: Some(self.next_seq()),
            ..Default::default()
        };
        let metrics = tags
            .iter()
            .enumerate()
            .map(|(i, t)| Metric {
                name: Some(self.names[i].clone()),
                alias: Some(i as u64 + 1),
                timestamp: Some(st),
                datatype: Some(DataType::Double as u32),
                value: Some(MetricValue::DoubleValue(t.value)),
                ..Default::default()
            })
            .collect();
        let dbirth = Payload {
            timestamp: Some(now),
            metrics,
            seq: Some(self.next_seq()),
            ..Default::default()
        };
        vec![
            (
                self.topic("NBIRTH", false),
                Bytes::from(nbirth.encode_to_vec()),
            ),
            (
                self.topic("DBIRTH", true),
                Bytes::from(dbirth.encode_to_vec()),
            ),
        ]
    }

    /// A DDATA of `changes` (index, value, source ms).
    fn ddata(&mut self, changes: &[(u32, f64, u64)]) -> (String, Bytes) {
        let metrics = changes
            .iter()
            .map(|&(i, v, st)| Metric {
                alias: Some(u64::from(i) + 1),
                timestamp: Some(st),
                value: Some(MetricValue::DoubleValue(v)),
                ..Default::default()
            })
            .collect();
        let p = Payload {
            timestamp: Some(ms_since_epoch(SystemTime::now())),
            metrics,
            seq: Some(self.next_seq()),
            ..Default::default()
        };
        (self.topic("DDATA", true), Bytes::from(p.encode_to_vec()))
    }
}

fn main() {
    let args = Args::parse();
    let rt = runtime::start("mqtt-push", Threads::Current);
    runtime::run_or_exit(rt, "mqtt-push", run(args));
}

/// Why the publisher stopped.
#[derive(Debug)]
enum PushError {
    /// No CONNACK within 30 s.
    NoConnAck,
    /// rumqttc's event loop ended.
    LoopEnded,
    /// A publish could not be queued.
    Client(rumqttc::ClientError),
    /// A JSON message could not be encoded.
    Encode(serde_json::Error),
}

impl std::fmt::Display for PushError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushError::NoConnAck => write!(f, "no CONNACK within 30 s"),
            PushError::LoopEnded => write!(f, "the event loop ended"),
            PushError::Client(e) => write!(f, "{e}"),
            PushError::Encode(e) => write!(f, "{e}"),
        }
    }
}

impl From<serde_json::Error> for PushError {
    fn from(e: serde_json::Error) -> Self {
        PushError::Encode(e)
    }
}

impl From<rumqttc::ClientError> for PushError {
    fn from(e: rumqttc::ClientError) -> Self {
        PushError::Client(e)
    }
}

async fn run(args: Args) -> Result<(), PushError> {
    let q = qos(args.qos);
    let (source, name_prefix) = args.prefix.split_once('/').unwrap_or(("", &args.prefix));
    let paths: Vec<String> = (0..args.tags)
        .map(|i| format!("{}{i}", args.prefix))
        .collect();
    let topics: Vec<String> = match args.mode {
        Mode::PerTag => (0..args.tags)
            .map(|i| {
                args.topic
                    .replace("{path}", &paths[i as usize])
                    .replace("{source}", source)
                    .replace("{name}", &format!("{name_prefix}{i}"))
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut edge = (args.mode == Mode::Sparkplug).then(|| Edge {
        group: args.group.clone(),
        node: args.node.clone(),
        device: source.replace(['/', '+', '#'], "_"),
        names: (0..args.tags)
            .map(|i| format!("{name_prefix}{i}"))
            .collect(),
        seq: 0,
    });

    let mut opts = MqttOptions::new(args.client_id.clone(), args.host.clone(), args.port);
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_clean_session(true);
    opts.set_max_packet_size(1 << 20, 256 << 20);
    opts.set_inflight(args.inflight.max(1));
    if let Some(e) = &edge {
        opts.set_last_will(LastWill {
            topic: e.topic("NDEATH", false),
            message: e.death(),
            qos: QoS::AtMostOnce,
            retain: false,
        });
    }
    // Room for two ticks of per-tag messages before the generator waits.
    let cap = (args.tags as usize * 2).max(1024);
    let (client, mut eventloop) = AsyncClient::new(opts, cap);
    eventloop.network_options.set_tcp_nodelay(true);
    let (conn_tx, mut conn_rx) = mpsc::unbounded_channel::<u64>();
    tokio::spawn(async move {
        let mut n = 0u64;
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(c))) => {
                    n += 1;
                    eprintln!("mqtt-push: connected ({n}): {c:?}");
                    let _ = conn_tx.send(n);
                }
                Ok(_) => {}
                Err(e) => {
                    eprintln!("mqtt-push: connection: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    });

    let mut tags: Vec<Tag> = (0..args.tags).map(Tag::new).collect();
    // Wait for the first CONNACK (nothing is generated before: fxgate publishes its start image).
    let first = tokio::time::timeout(Duration::from_secs(30), conn_rx.recv())
        .await
        .map_err(|_| PushError::NoConnAck)?;
    if first.is_none() {
        return Err(PushError::LoopEnded);
    }
    let started = Instant::now();
    let deadline =
        (args.duration_s > 0.0).then(|| started + Duration::from_secs_f64(args.duration_s));
    let mut sent = Sent::default();

    // Source stamps of the ticks not yet published; pending values index into it.
    let st0 = SystemTime::now();
    let mut stamps: Vec<(String, u64)> = vec![(rfc3339(st0), ms_since_epoch(st0))];
    let mut pending: Vec<(u32, f64, u32)> = Vec::new();
    match args.mode {
        Mode::Sparkplug => {
            if let Some(e) = edge.as_mut() {
                for (topic, payload) in e.births(&tags, stamps[0].1) {
                    sent.payload_bytes += payload.len() as u64;
                    client.publish_bytes(topic, q, false, payload).await?;
                }
            }
        }
        // The start image, every tag's current value, goes with the first publish.
        _ => pending.extend(tags.iter().enumerate().map(|(i, t)| (i as u32, t.value, 0))),
    }
    let gen_start = tokio::time::Instant::now();
    let mut gen = tokio::time::interval_at(gen_start, Duration::from_millis(args.interval_ms));
    gen.set_missed_tick_behavior(MissedTickBehavior::Skip);
    gen.tick().await;
    let collect = match args.mode {
        Mode::PerTag => false,
        Mode::Batch => true,
        Mode::Sparkplug => args.publish_interval_ms > 0,
    };
    // The publish timer runs 1 ms behind the generator's: each tick's changes leave with the
    // next publish tick, at most 1 ms later (the best phase; two timers started together would
    // race, and a batch would randomly hold zero or two ticks).
    let every = Duration::from_millis(args.publish_interval_ms.max(1));
    let mut publish = tokio::time::interval_at(gen_start + every + Duration::from_millis(1), every);
    publish.set_missed_tick_behavior(MissedTickBehavior::Skip); // keeps the phase
    let mut batch_seq = 0u64;
    let mut per_tick: Vec<(u32, f64, u64)> = Vec::with_capacity(args.tags as usize);
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let due_publish = tokio::select! {
            // The generator first: when both timers are ready (the thread was busy), a tick's
            // changes must go with this publish tick, not wait for the next one.
            biased;
            _ = gen.tick() => {
                let t = SystemTime::now();
                let s = stamps.len() as u32;
                stamps.push((rfc3339(t), ms_since_epoch(t)));
                per_tick.clear();
                for (i, tag) in tags.iter_mut().enumerate() {
                    if tag.tick() {
                        if collect || args.mode == Mode::PerTag {
                            pending.push((i as u32, tag.value, s));
                        } else {
                            per_tick.push((i as u32, tag.value, stamps[s as usize].1));
                        }
                    }
                }
                if let (Some(e), false) = (edge.as_mut(), per_tick.is_empty()) {
                    let (topic, payload) = e.ddata(&per_tick);
                    sent.messages += 1;
                    sent.values += per_tick.len() as u64;
                    sent.payload_bytes += payload.len() as u64;
                    client.publish_bytes(topic, q, false, payload).await?;
                    stamps.clear();
                }
                args.mode == Mode::PerTag
            }
            _ = publish.tick(), if collect => true,
            c = conn_rx.recv() => {
                // A new session (clean): births again.
                let Some(n) = c else { return Err(PushError::LoopEnded) };
                eprintln!("mqtt-push: session {n}");
                if let Some(e) = edge.as_mut() {
                    for (topic, payload) in e.births(&tags, ms_since_epoch(SystemTime::now())) {
                        client.publish_bytes(topic, q, false, payload).await?;
                    }
                }
                false
            }
        };
        if !due_publish || pending.is_empty() {
            continue;
        }
        match args.mode {
            Mode::PerTag => {
                for &(i, v, s) in &pending {
                    let payload = serde_json::to_vec(&Sample {
                        tag: &paths[i as usize],
                        v,
                        q: "Good",
                        st: &stamps[s as usize].0,
                    })?;
                    sent.payload_bytes += payload.len() as u64;
                    client
                        .publish_bytes(topics[i as usize].clone(), q, false, Bytes::from(payload))
                        .await?;
                }
                sent.messages += pending.len() as u64;
                sent.values += pending.len() as u64;
            }
            Mode::Batch => {
                batch_seq += 1;
                let values: Vec<Sample<'_>> = pending
                    .iter()
                    .map(|&(i, v, s)| Sample {
                        tag: &paths[i as usize],
                        v,
                        q: "Good",
                        st: &stamps[s as usize].0,
                    })
                    .collect();
                let data = serde_json::to_vec(&Batch {
                    seq: batch_seq,
                    ts: rfc3339(SystemTime::now()),
                    values,
                })?;
                sent.messages += 1;
                sent.values += pending.len() as u64;
                sent.payload_bytes += data.len() as u64;
                client
                    .publish_bytes(args.topic.clone(), q, false, Bytes::from(data))
                    .await?;
            }
            Mode::Sparkplug => {
                let changes: Vec<(u32, f64, u64)> = pending
                    .iter()
                    .map(|&(i, v, s)| (i, v, stamps[s as usize].1))
                    .collect();
                if let Some(e) = edge.as_mut() {
                    let (topic, payload) = e.ddata(&changes);
                    sent.messages += 1;
                    sent.values += changes.len() as u64;
                    sent.payload_bytes += payload.len() as u64;
                    client.publish_bytes(topic, q, false, payload).await?;
                }
            }
        }
        pending.clear();
        stamps.clear(); // only pending values refer to them
    }
    eprintln!(
        "mqtt-push: done: {} messages, {} values, {} payload bytes",
        sent.messages, sent.values, sent.payload_bytes
    );
    Ok(())
}
