//! `fxgate-load` — a reusable OPC UA load client (async-opcua 0.19 client).
//!
//! Connects to `--url`, collects a node list (fast browse of `--browse-path` with BrowseNext and
//! continuation points, or synthetic ids from `--nodes-from-ns-prefix`), then runs one scenario
//! for `--warmup-s` + `--duration-s` seconds and prints ONE JSON line on stdout (all figures are
//! for the measurement window only, warm-up excluded). Diagnostics go to stderr.
//!
//! * `read`: `--concurrency` request loops (spread over `--sessions` sessions) each sending Read
//!   requests of `--batch` Value attributes back to back, cycling through the node list.
//!   Latency = Read round trip as seen by the client. `--max-age-ms` sets the requests'
//!   maxAge (a caching server may answer from its cache); `value_age_*` = per response, the
//!   age of its oldest value (receive time − SourceTimestamp), which shows how current
//!   cached answers are.
//! * `subscribe`: one subscription (`--publishing-ms`) with `--items` monitored items
//!   (`--sampling-ms`), created in chunks of `--create-chunk`. Counts DataChange notifications
//!   per item and tracks the NotificationMessage sequence numbers (see `SubShared` for how
//!   "lost" is determined). Latency = client receive time − SourceTimestamp (same host clock).
//! * `write`: Write calls of one Value to `--write-node` (type `--write-type`), one after
//!   another: writes during `--warmup-s` are not counted, then `--writes` counted ones.
//!   Latency = Write round trip as seen by the client (for a gateway whose Write returns after
//!   the device answered, this is the OPC UA write → device latency). No browse. With
//!   `--write-pace-ms` the writes are spaced by random pauses (random arrival times).
//!
//! With `--server-pid`, the server's VmRSS (/proc/PID/status) is sampled before the client
//! connects ("idle") and every 100 ms during the run ("peak"), and its CPU usage is taken from
//! /proc/PID/stat utime+stime over the measurement window (100 % = one core). `--extra-pid
//! LABEL=PID` samples further processes the same way (e.g. a gateway's upstream server).
//!
//! Network input is never unwrapped: every failed request is counted in `errors` (by status code
//! in `error_codes`) and the run continues.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    path::PathBuf,
    str::FromStr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

#[path = "../json.rs"]
mod json;
use json::{codes_string, Json};

use clap::{Parser, ValueEnum};
use opcua::{
    client::{
        Client, ClientBuilder, IdentityToken, MonitoredItemMap, OnSubscriptionNotificationCore,
        Session,
    },
    crypto::SecurityPolicy,
    types::{
        AttributeId, BrowseDescription, BrowseDirection, BrowseResult, ByteString,
        DataChangeNotification, DataValue, DateTime, MessageSecurityMode,
        MonitoredItemCreateRequest, MonitoringMode, MonitoringParameters, NodeClass, NodeClassMask,
        NodeId, NotificationMessage, ReadValueId, ReferenceTypeId, StatusChangeNotification,
        StatusCode, TimestampsToReturn, Variant, WriteValue,
    },
};

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Read,
    Subscribe,
    Write,
}

/// The Variant type written by the write scenario.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum WriteType {
    #[value(name = "uint16")]
    UInt16,
    #[value(name = "int16")]
    Int16,
    #[value(name = "uint32")]
    UInt32,
    #[value(name = "int32")]
    Int32,
    #[value(name = "double")]
    Double,
}

#[derive(Parser, Debug)]
#[command(
    name = "fxgate-load",
    about = "OPC UA load client: read / subscribe / write benchmark, one JSON line on stdout"
)]
struct Args {
    /// Server endpoint URL, e.g. opc.tcp://127.0.0.1:48050/
    #[arg(long)]
    url: String,
    /// None | Basic256Sha256 | Aes128_Sha256_RsaOaep | Aes256_Sha256_RsaPss | Basic256 | Basic128Rsa15 (or a policy URI)
    #[arg(long, default_value = "None")]
    security_policy: String,
    /// None | Sign | SignAndEncrypt (default: None for policy None, SignAndEncrypt otherwise)
    #[arg(long)]
    security_mode: Option<String>,
    /// Client PKI directory (created with a self-signed certificate if missing; server
    /// certificates are trusted automatically).
    #[arg(long)]
    pki_dir: Option<PathBuf>,
    /// Folder whose Variable children form the node list. Elements are browse names, optionally
    /// with a namespace index ("2:Demo"); a leading "Objects" or "Root" is the standard folder.
    #[arg(long, default_value = "Objects/Demo")]
    browse_path: String,
    /// Also descend into Object/Folder children of the browse path.
    #[arg(long)]
    recursive: bool,
    /// Instead of browsing, generate node ids "`<prefix><n>`" for n in 0..--prefix-count.
    /// Prefix like "ns=2;s=Demo/T" or "nsu=urn:fxgate:tags;s=Demo/T".
    #[arg(long)]
    nodes_from_ns_prefix: Option<String>,
    /// Number of ids generated with --nodes-from-ns-prefix.
    #[arg(long, default_value_t = 10_000)]
    prefix_count: usize,
    /// Use only the first N nodes of the list.
    #[arg(long)]
    max_nodes: Option<usize>,
    #[arg(long, value_enum, default_value_t = Scenario::Read)]
    scenario: Scenario,
    /// Tags per Read request.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Measurement window in seconds.
    #[arg(long, default_value_t = 10.0)]
    duration_s: f64,
    /// Warm-up before the measurement window (not counted).
    #[arg(long, default_value_t = 2.0)]
    warmup_s: f64,
    /// Parallel request loops (read scenario).
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Number of sessions the request loops are spread over (read scenario).
    #[arg(long, default_value_t = 1)]
    sessions: usize,
    /// Monitored items (subscribe scenario).
    #[arg(long, default_value_t = 10_000)]
    items: usize,
    #[arg(long, default_value_t = 100.0)]
    sampling_ms: f64,
    #[arg(long, default_value_t = 100.0)]
    publishing_ms: f64,
    /// Monitored item queue size (default: ceil(publishing/sampling) + 1).
    #[arg(long)]
    queue_size: Option<u32>,
    /// MaxNotificationsPerPublish requested for the subscription (0 = server decides).
    #[arg(long, default_value_t = 1000)]
    max_notifications_per_publish: u32,
    /// Monitored items per CreateMonitoredItems request.
    #[arg(long, default_value_t = 1000)]
    create_chunk: usize,
    /// How often the source changes (ms); used for expected notifications and the
    /// timestamp-gap estimate. Default: --sampling-ms.
    #[arg(long)]
    source_interval_ms: Option<f64>,
    /// Write scenario: the node written, e.g. "ns=2;s=Dev0/W" or "nsu=urn:fxgate:tags;s=Dev0/W".
    #[arg(long)]
    write_node: Option<String>,
    /// Write scenario: counted writes (after the warm-up).
    #[arg(long, default_value_t = 1000)]
    writes: usize,
    /// Write scenario: Variant type of the written values (1, 2, 3, … cycling below 30,000).
    #[arg(long, value_enum, default_value_t = WriteType::UInt16)]
    write_type: WriteType,
    /// Write scenario: pause between writes, uniformly random in 0..2×N ms (mean N), so writes
    /// arrive at random moments relative to whatever the server does periodically (e.g. a poll
    /// cycle a write has to wait for). 0 = back to back.
    #[arg(long, default_value_t = 0.0)]
    write_pace_ms: f64,
    /// Server process to sample RSS/CPU from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// More processes to sample like --server-pid, as LABEL=PID (repeatable); reported as
    /// `<LABEL>_rss_kb_idle`, `<LABEL>_rss_kb_peak`, `<LABEL>_cpu_percent` (same window).
    #[arg(long, value_parser = parse_extra_pid)]
    extra_pid: Vec<(String, u32)>,
    /// Read scenario: maxAge of the Read requests in ms (0 = the server must read the source;
    /// a server with a cache may answer from it when its value is younger than this).
    #[arg(long, default_value_t = 0.0)]
    max_age_ms: f64,
    /// Free-form label copied into the JSON (e.g. "fxgate", "peer").
    #[arg(long, default_value = "")]
    label: String,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10)]
    request_timeout_s: u64,
    /// Tokio worker threads (default: number of CPUs).
    #[arg(long)]
    threads: Option<usize>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn parse_extra_pid(s: &str) -> Result<(String, u32), String> {
    let (label, pid) = s
        .split_once('=')
        .ok_or_else(|| format!("expected LABEL=PID, got {s:?}"))?;
    let ok = !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(format!("label {label:?}: use letters, digits and _"));
    }
    let pid = pid
        .parse::<u32>()
        .map_err(|e| format!("pid {pid:?}: {e}"))?;
    Ok((label.to_owned(), pid))
}

fn main() {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,opcua_client::config=error")
            }),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(t) = args.threads {
        rt.worker_threads(t.max(1));
    }
    let rt = match rt.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fxgate-load: cannot start runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = rt.block_on(async {
        match run(args).await {
            Ok(json) => {
                println!("{json}");
                0
            }
            Err(e) => {
                eprintln!("fxgate-load: error: {e}");
                1
            }
        }
    });
    rt.shutdown_timeout(Duration::from_secs(2));
    std::process::exit(code);
}

// ---------------------------------------------------------------------------------------------
// Server process probe (/proc)
// ---------------------------------------------------------------------------------------------

fn read_rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat; the command name in
/// field 2 may contain spaces, so parse after the last ')').
fn read_cpu_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime = field 14 -> index 11, stime = field 15 -> index 12
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn clock_ticks_per_s() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .unwrap_or(100.0)
}

#[derive(Default, Debug)]
struct ProbeResult {
    rss_peak_kb: Option<u64>,
    cpu_percent: Option<f64>,
}

/// Samples the RSS of each process every 100 ms until `stop`, and its CPU ticks at the window
/// start/end (one result per pid, in order).
struct Probe {
    stop: Arc<AtomicBool>,
    window: Arc<Mutex<Option<(Instant, Instant)>>>,
    task: tokio::task::JoinHandle<Vec<ProbeResult>>,
}

impl Probe {
    fn start(pids: Vec<u32>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let window: Arc<Mutex<Option<(Instant, Instant)>>> = Arc::new(Mutex::new(None));
        let (stop2, window2) = (stop.clone(), window.clone());
        let task = tokio::spawn(async move {
            if pids.is_empty() {
                return Vec::new();
            }
            let clk = clock_ticks_per_s();
            let n = pids.len();
            let mut peak: Vec<Option<u64>> = vec![None; n];
            let mut cpu_start: Option<(Instant, Vec<Option<u64>>)> = None;
            let mut cpu_end: Option<(Instant, Vec<Option<u64>>)> = None;
            let ticks = || pids.iter().map(|p| read_cpu_ticks(*p)).collect::<Vec<_>>();
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                for (k, pid) in pids.iter().enumerate() {
                    if let Some(r) = read_rss_kb(*pid) {
                        peak[k] = Some(peak[k].map_or(r, |p| p.max(r)));
                    }
                }
                let win = window2.lock().ok().and_then(|w| *w);
                let now = Instant::now();
                if let Some((t0, t1)) = win {
                    if cpu_start.is_none() && now >= t0 {
                        cpu_start = Some((now, ticks()));
                    }
                    if cpu_start.is_some() && cpu_end.is_none() && now >= t1 {
                        cpu_end = Some((now, ticks()));
                    }
                }
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
            }
            if cpu_end.is_none() {
                cpu_end = Some((Instant::now(), ticks()));
            }
            (0..n)
                .map(|k| {
                    let cpu_percent = match (&cpu_start, &cpu_end) {
                        (Some((a, ca)), Some((b, cb))) if b > a => match (ca[k], cb[k]) {
                            (Some(ca), Some(cb)) => Some(
                                cb.saturating_sub(ca) as f64 / clk / (*b - *a).as_secs_f64()
                                    * 100.0,
                            ),
                            _ => None,
                        },
                        _ => None,
                    };
                    ProbeResult {
                        rss_peak_kb: peak[k],
                        cpu_percent,
                    }
                })
                .collect()
        });
        Probe { stop, window, task }
    }

    fn set_window(&self, t0: Instant, t1: Instant) {
        if let Ok(mut w) = self.window.lock() {
            *w = Some((t0, t1));
        }
    }

    async fn finish(self) -> Vec<ProbeResult> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// Connection
// ---------------------------------------------------------------------------------------------

fn parse_security(args: &Args) -> Result<(SecurityPolicy, MessageSecurityMode), BoxError> {
    let policy = match args.security_policy.as_str() {
        "none" | "NONE" => SecurityPolicy::None,
        s => SecurityPolicy::from_str(s).map_err(|_| format!("unknown security policy {s:?}"))?,
    };
    if policy == SecurityPolicy::Unknown {
        return Err(format!("unknown security policy {:?}", args.security_policy).into());
    }
    let mode = match args.security_mode.as_deref() {
        None if policy == SecurityPolicy::None => MessageSecurityMode::None,
        None => MessageSecurityMode::SignAndEncrypt,
        Some(m) => match m.to_ascii_lowercase().as_str() {
            "none" => MessageSecurityMode::None,
            "sign" => MessageSecurityMode::Sign,
            "signandencrypt" | "sign_and_encrypt" | "sign-and-encrypt" => {
                MessageSecurityMode::SignAndEncrypt
            }
            _ => return Err(format!("unknown security mode {m:?}").into()),
        },
    };
    Ok((policy, mode))
}

fn build_client(args: &Args) -> Result<Client, BoxError> {
    let pki = args
        .pki_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("fxgate-load-pki"));
    std::fs::create_dir_all(&pki)?;
    ClientBuilder::new()
        .application_name("fxgate-load")
        .application_uri("urn:fxgate-bench:fxgate-load")
        .product_uri("urn:fxgate-bench:fxgate-load")
        .pki_dir(pki)
        .create_sample_keypair(true)
        .trust_server_certs(true)
        .verify_server_certs(false)
        .session_retry_limit(3)
        .session_retry_initial(Duration::from_millis(200))
        .request_timeout(Duration::from_secs(args.request_timeout_s.max(1)))
        .session_timeout(60_000)
        .max_array_length(1_000_000)
        .max_message_size(64 * 1024 * 1024)
        .max_chunk_count(4096)
        .client()
        .map_err(|e| format!("invalid client configuration: {}", e.join("; ")).into())
}

async fn connect(
    client: &mut Client,
    url: &str,
    policy: SecurityPolicy,
    mode: MessageSecurityMode,
) -> Result<Arc<Session>, BoxError> {
    let fut =
        client.connect_to_matching_endpoint((url, policy.to_uri(), mode), IdentityToken::Anonymous);
    let (session, event_loop) = tokio::time::timeout(Duration::from_secs(15), fut)
        .await
        .map_err(|_| format!("timed out getting endpoints from {url}"))?
        .map_err(|e| format!("connect to {url} ({policy:?}/{mode:?}): {e}"))?;
    // The event loop must be driven for anything (incl. publish responses) to be processed.
    event_loop.spawn();
    match tokio::time::timeout(Duration::from_secs(15), session.wait_for_connection()).await {
        Ok(true) => Ok(session),
        Ok(false) => Err(format!("session to {url} failed to connect").into()),
        Err(_) => Err(format!("timed out activating session on {url}").into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Node discovery
// ---------------------------------------------------------------------------------------------

const BROWSE_NODES_PER_REQUEST: usize = 100;

fn browse_desc(node_id: NodeId, class_mask: u32) -> BrowseDescription {
    BrowseDescription {
        node_id,
        browse_direction: BrowseDirection::Forward,
        reference_type_id: ReferenceTypeId::HierarchicalReferences.into(),
        include_subtypes: true,
        node_class_mask: class_mask,
        // ReferenceTypeId | IsForward | NodeClass | BrowseName
        result_mask: 0b1111,
    }
}

/// Browse many nodes at once and follow every continuation point with BrowseNext (batched),
/// returning (parent index, reference) pairs.
async fn browse_all(
    session: &Session,
    nodes: &[NodeId],
    class_mask: u32,
    stats: &mut BrowseStats,
) -> Result<Vec<(usize, opcua::types::ReferenceDescription)>, BoxError> {
    let mut out = Vec::new();
    for (chunk_no, chunk) in nodes.chunks(BROWSE_NODES_PER_REQUEST).enumerate() {
        let base = chunk_no * BROWSE_NODES_PER_REQUEST;
        let descs: Vec<_> = chunk
            .iter()
            .map(|n| browse_desc(n.clone(), class_mask))
            .collect();
        // 0 = let the server choose how many references per node it returns per call.
        let results = session.browse(&descs, 0, None).await?;
        stats.requests += 1;
        let mut pending: Vec<(usize, ByteString)> = Vec::new();
        collect_results(results, base, &mut out, &mut pending, stats);
        while !pending.is_empty() {
            let cps: Vec<ByteString> = pending.iter().map(|p| p.1.clone()).collect();
            let owners: Vec<usize> = pending.iter().map(|p| p.0).collect();
            let results = session.browse_next(false, &cps).await?;
            stats.requests += 1;
            stats.browse_next += 1;
            pending.clear();
            // BrowseNext results are in continuation point order.
            for (owner, r) in owners.into_iter().zip(results) {
                collect_results(vec![r], owner, &mut out, &mut pending, stats);
            }
        }
    }
    Ok(out)
}

fn collect_results(
    results: Vec<BrowseResult>,
    base: usize,
    out: &mut Vec<(usize, opcua::types::ReferenceDescription)>,
    pending: &mut Vec<(usize, ByteString)>,
    stats: &mut BrowseStats,
) {
    for (i, r) in results.into_iter().enumerate() {
        if !r.status_code.is_good() {
            stats.bad_results += 1;
            tracing::warn!("browse result {}: {}", base + i, r.status_code);
            continue;
        }
        for rd in r.references.into_iter().flatten() {
            out.push((base + i, rd));
        }
        if !r.continuation_point.is_null() && !r.continuation_point.is_empty() {
            pending.push((base + i, r.continuation_point));
        }
    }
}

#[derive(Default, Debug)]
struct BrowseStats {
    requests: u64,
    browse_next: u64,
    bad_results: u64,
}

fn name_matches(element: &str, bn: &opcua::types::QualifiedName) -> bool {
    if let Some((ns, name)) = element.split_once(':') {
        if let Ok(ns) = ns.parse::<u16>() {
            return bn.namespace_index == ns && bn.name.as_ref() == name;
        }
    }
    bn.name.as_ref() == element
}

async fn resolve_browse_path(
    session: &Session,
    path: &str,
    stats: &mut BrowseStats,
) -> Result<NodeId, BoxError> {
    let mut elements: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut current = NodeId::objects_folder_id();
    match elements.first().copied() {
        Some("Objects") => {
            elements.remove(0);
        }
        Some("Root") => {
            elements.remove(0);
            current = NodeId::root_folder_id();
        }
        _ => {}
    }
    for el in elements {
        let refs = browse_all(session, std::slice::from_ref(&current), 0, stats).await?;
        let found = refs
            .into_iter()
            .find(|(_, rd)| name_matches(el, &rd.browse_name))
            .ok_or_else(|| format!("browse path {path:?}: no child {el:?} under {current}"))?;
        current = found.1.node_id.node_id;
    }
    Ok(current)
}

async fn collect_variables(
    session: &Session,
    root: NodeId,
    recursive: bool,
    limit: Option<usize>,
    stats: &mut BrowseStats,
) -> Result<Vec<NodeId>, BoxError> {
    let mask = (NodeClassMask::OBJECT | NodeClassMask::VARIABLE).bits();
    let mut seen: HashSet<NodeId> = HashSet::new();
    let mut vars = Vec::new();
    let mut level = vec![root.clone()];
    seen.insert(root);
    while !level.is_empty() {
        let refs = browse_all(session, &level, mask, stats).await?;
        let mut next = Vec::new();
        for (_, rd) in refs {
            let id = rd.node_id.node_id;
            if rd.node_id.server_index != 0 || !seen.insert(id.clone()) {
                continue;
            }
            match rd.node_class {
                NodeClass::Variable => vars.push(id),
                NodeClass::Object if recursive => next.push(id),
                _ => {}
            }
        }
        if limit.is_some_and(|l| vars.len() >= l) {
            break;
        }
        level = next;
    }
    if let Some(l) = limit {
        vars.truncate(l);
    }
    Ok(vars)
}

/// A NodeId in the usual string form, or with `nsu=<uri>;` instead of `ns=<index>;` (the index
/// is looked up in the server's namespace array).
async fn resolve_node_id(session: &Session, spec: &str) -> Result<NodeId, BoxError> {
    let s = if let Some(rest) = spec.strip_prefix("nsu=") {
        let (uri, id) = rest
            .split_once(';')
            .ok_or("expected nsu=<uri>;<identifier>")?;
        let idx = session
            .get_namespace_index(uri)
            .await
            .map_err(|e| format!("namespace {uri:?}: {e}"))?;
        format!("ns={idx};{id}")
    } else {
        spec.to_owned()
    };
    NodeId::from_str(&s).map_err(|e| format!("bad node id {s:?}: {e:?}").into())
}

async fn nodes_from_prefix(
    session: &Session,
    prefix: &str,
    count: usize,
) -> Result<Vec<NodeId>, BoxError> {
    let prefix = if let Some(rest) = prefix.strip_prefix("nsu=") {
        let (uri, id) = rest
            .split_once(';')
            .ok_or("--nodes-from-ns-prefix: expected nsu=<uri>;<id prefix>")?;
        let idx = session
            .get_namespace_index(uri)
            .await
            .map_err(|e| format!("namespace {uri:?}: {e}"))?;
        format!("ns={idx};{id}")
    } else {
        prefix.to_owned()
    };
    (0..count)
        .map(|i| {
            let s = format!("{prefix}{i}");
            NodeId::from_str(&s).map_err(|e| format!("bad node id {s:?}: {e:?}").into())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Statistics helpers
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Latencies(Vec<u32>);

impl Latencies {
    fn push(&mut self, us: u64) {
        self.0.push(us.min(u32::MAX as u64) as u32);
    }
    fn summary(mut self) -> (Option<u64>, Option<u64>, Option<u64>) {
        if self.0.is_empty() {
            return (None, None, None);
        }
        self.0.sort_unstable();
        let n = self.0.len();
        let pick = |p: f64| self.0[((p * n as f64).ceil() as usize).clamp(1, n) - 1] as u64;
        (
            Some(pick(0.50)),
            Some(pick(0.99)),
            self.0.last().map(|v| *v as u64),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Main flow
// ---------------------------------------------------------------------------------------------

async fn run(args: Args) -> Result<String, BoxError> {
    let (policy, mode) = parse_security(&args)?;
    let idle_rss = args.server_pid.and_then(read_rss_kb);
    if args.server_pid.is_some() && idle_rss.is_none() {
        tracing::warn!("cannot read /proc/{:?}/status", args.server_pid);
    }
    let extra_idle: Vec<Option<u64>> = args
        .extra_pid
        .iter()
        .map(|(_, pid)| read_rss_kb(*pid))
        .collect();

    let mut client = build_client(&args)?;
    let n_sessions = match args.scenario {
        Scenario::Read => args.sessions.clamp(1, args.concurrency.max(1)),
        Scenario::Subscribe | Scenario::Write => 1,
    };
    let mut sessions = Vec::with_capacity(n_sessions);
    for _ in 0..n_sessions {
        sessions.push(connect(&mut client, &args.url, policy, mode).await?);
    }
    let session = sessions[0].clone();

    let t_browse = Instant::now();
    let mut bstats = BrowseStats::default();
    let nodes = if args.scenario == Scenario::Write {
        let spec = args
            .write_node
            .as_deref()
            .ok_or("--scenario write needs --write-node")?;
        vec![resolve_node_id(&session, spec).await?]
    } else if let Some(prefix) = &args.nodes_from_ns_prefix {
        let count = args
            .max_nodes
            .map_or(args.prefix_count, |m| m.min(args.prefix_count));
        nodes_from_prefix(&session, prefix, count).await?
    } else {
        let folder = resolve_browse_path(&session, &args.browse_path, &mut bstats).await?;
        collect_variables(
            &session,
            folder,
            args.recursive,
            args.max_nodes,
            &mut bstats,
        )
        .await?
    };
    let browse_ms = t_browse.elapsed().as_secs_f64() * 1000.0;
    if nodes.is_empty() {
        return Err("node list is empty".into());
    }
    if args.scenario != Scenario::Write {
        eprintln!(
            "fxgate-load: {} nodes in {:.0} ms ({} browse requests, {} BrowseNext)",
            nodes.len(),
            browse_ms,
            bstats.requests,
            bstats.browse_next
        );
    }

    let mut j = Json::new();
    j.str("tool", "fxgate-load");
    j.str("label", &args.label);
    j.str(
        "scenario",
        match args.scenario {
            Scenario::Read => "read",
            Scenario::Subscribe => "subscribe",
            Scenario::Write => "write",
        },
    );
    j.str("url", &args.url);
    j.str("security_policy", policy.to_str());
    j.str("security_mode", &format!("{mode:?}"));
    j.num("nodes", nodes.len() as f64);
    j.num("browse_ms", browse_ms.round());
    j.num("browse_requests", bstats.requests as f64);

    let mut pids: Vec<u32> = args.server_pid.into_iter().collect();
    pids.extend(args.extra_pid.iter().map(|(_, p)| *p));
    let probe = Probe::start(pids);
    match args.scenario {
        Scenario::Read => run_read(&args, &sessions, nodes, &probe, &mut j).await?,
        Scenario::Subscribe => run_subscribe(&args, &session, nodes, &probe, &mut j).await?,
        Scenario::Write => run_write(&args, &session, &nodes[0], &probe, &mut j).await?,
    }
    let mut results = probe.finish().await.into_iter();
    let pr = if args.server_pid.is_some() {
        results.next().unwrap_or_default()
    } else {
        ProbeResult::default()
    };
    j.opt("server_pid", args.server_pid.map(|p| p as f64));
    j.opt("server_rss_kb_idle", idle_rss.map(|v| v as f64));
    j.opt("server_rss_kb_peak", pr.rss_peak_kb.map(|v| v as f64));
    j.opt("server_cpu_percent", pr.cpu_percent);
    for ((label, pid), idle) in args.extra_pid.iter().zip(extra_idle) {
        let r = results.next().unwrap_or_default();
        j.num(&format!("{label}_pid"), *pid as f64);
        j.opt(&format!("{label}_rss_kb_idle"), idle.map(|v| v as f64));
        j.opt(
            &format!("{label}_rss_kb_peak"),
            r.rss_peak_kb.map(|v| v as f64),
        );
        j.opt(&format!("{label}_cpu_percent"), r.cpu_percent);
    }

    for s in &sessions {
        let _ = tokio::time::timeout(Duration::from_secs(3), s.disconnect()).await;
    }
    Ok(j.render())
}

// ---------------------------------------------------------------------------------------------
// Read scenario
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct LoopStats {
    requests: u64,
    values: u64,
    bad_values: u64,
    short_responses: u64,
    errors: u64,
    codes: BTreeMap<String, u64>,
    lat: Latencies,
    /// Read: per response, the age of its oldest value (receive time − SourceTimestamp).
    age: Latencies,
    /// Read: values without a SourceTimestamp.
    no_source_ts: u64,
    /// Read: requests sent, warm-up included.
    sent_total: u64,
}

async fn run_read(
    args: &Args,
    sessions: &[Arc<Session>],
    nodes: Vec<NodeId>,
    probe: &Probe,
    j: &mut Json,
) -> Result<(), BoxError> {
    let batch = args.batch.max(1);
    // Pre-build the request bodies: consecutive batches cycling through the node list.
    let n_batches = nodes.len().div_ceil(batch).max(1);
    let batches: Arc<Vec<Vec<ReadValueId>>> = Arc::new(
        (0..n_batches)
            .map(|b| {
                (0..batch)
                    .map(|k| ReadValueId::from(&nodes[(b * batch + k) % nodes.len()]))
                    .collect()
            })
            .collect(),
    );
    let start = Instant::now();
    let t0 = start + Duration::from_secs_f64(args.warmup_s.max(0.0));
    let t1 = t0 + Duration::from_secs_f64(args.duration_s.max(0.1));
    probe.set_window(t0, t1);

    let conc = args.concurrency.max(1);
    let max_age = args.max_age_ms.max(0.0);
    let mut tasks = Vec::with_capacity(conc);
    for l in 0..conc {
        let session = sessions[l % sessions.len()].clone();
        let batches = batches.clone();
        tasks.push(tokio::spawn(async move {
            let mut st = LoopStats::default();
            let mut idx = (l * batches.len()) / conc;
            loop {
                let sent = Instant::now();
                if sent >= t1 {
                    break;
                }
                let req = &batches[idx % batches.len()];
                idx += 1;
                let res = session.read(req, TimestampsToReturn::Both, max_age).await;
                st.sent_total += 1;
                let done = Instant::now();
                let in_window = sent >= t0 && done <= t1;
                match res {
                    Ok(values) => {
                        if in_window {
                            let now_ticks = DateTime::now().ticks();
                            let mut oldest: Option<i64> = None;
                            for v in &values {
                                match v.source_timestamp {
                                    Some(ts) => {
                                        let t = ts.ticks();
                                        oldest = Some(oldest.map_or(t, |o| o.min(t)));
                                    }
                                    None => st.no_source_ts += 1,
                                }
                            }
                            if let Some(o) = oldest {
                                // 100 ns ticks -> µs; a timestamp in the future counts as 0.
                                st.age.push(((now_ticks - o).max(0) / 10) as u64);
                            }
                            st.requests += 1;
                            st.values += values.len() as u64;
                            st.bad_values +=
                                values.iter().filter(|v| !v.status().is_good()).count() as u64;
                            if values.len() != req.len() {
                                st.short_responses += 1;
                            }
                            st.lat.push((done - sent).as_micros() as u64);
                        }
                    }
                    Err(e) => {
                        if sent >= t0 {
                            st.errors += 1;
                            *st.codes.entry(e.status().to_string()).or_default() += 1;
                        }
                        tracing::debug!("read failed: {e}");
                        // Avoid a hot loop while the connection is down.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            st
        }));
    }
    let mut total = LoopStats::default();
    for t in tasks {
        match t.await {
            Ok(st) => {
                total.requests += st.requests;
                total.values += st.values;
                total.bad_values += st.bad_values;
                total.short_responses += st.short_responses;
                total.errors += st.errors;
                total.no_source_ts += st.no_source_ts;
                total.sent_total += st.sent_total;
                for (k, v) in st.codes {
                    *total.codes.entry(k).or_default() += v;
                }
                total.lat.0.extend(st.lat.0);
                total.age.0.extend(st.age.0);
            }
            Err(e) => {
                total.errors += 1;
                *total.codes.entry(format!("task:{e}")).or_default() += 1;
            }
        }
    }
    let secs = (t1 - t0).as_secs_f64();
    let (p50, p99, max) = std::mem::take(&mut total.lat).summary();
    let (a50, a99, amax) = std::mem::take(&mut total.age).summary();
    j.num("batch", batch as f64);
    j.num("max_age_ms", max_age);
    j.num("concurrency", conc as f64);
    j.num("sessions", sessions.len() as f64);
    j.num("duration_s", secs);
    j.num("requests", total.requests as f64);
    j.num("requests_per_s", total.requests as f64 / secs);
    j.opt("latency_p50_us", p50.map(|v| v as f64));
    j.opt("latency_p99_us", p99.map(|v| v as f64));
    j.opt("latency_max_us", max.map(|v| v as f64));
    j.num("values", total.values as f64);
    j.num("values_per_s", total.values as f64 / secs);
    j.num("bad_values", total.bad_values as f64);
    j.num("short_responses", total.short_responses as f64);
    j.num("errors", total.errors as f64);
    j.str("error_codes", &codes_string(&total.codes));
    j.opt("value_age_p50_us", a50.map(|v| v as f64));
    j.opt("value_age_p99_us", a99.map(|v| v as f64));
    j.opt("value_age_max_us", amax.map(|v| v as f64));
    j.num("values_without_source_ts", total.no_source_ts as f64);
    j.num("requests_total", total.sent_total as f64);
    // Subscription-only fields, kept so every line has the same keys.
    j.opt("notifications", None);
    j.opt("expected_notifications", None);
    j.opt("lost", None);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Write scenario
// ---------------------------------------------------------------------------------------------

fn write_variant(t: WriteType, i: usize) -> Variant {
    // 1, 2, …, 29,999, 1, … : every write changes the value and fits every type.
    let v = (i % 29_999) + 1;
    match t {
        WriteType::UInt16 => Variant::UInt16(v as u16),
        WriteType::Int16 => Variant::Int16(v as i16),
        WriteType::UInt32 => Variant::UInt32(v as u32),
        WriteType::Int32 => Variant::Int32(v as i32),
        WriteType::Double => Variant::Double(v as f64),
    }
}

async fn run_write(
    args: &Args,
    session: &Arc<Session>,
    node: &NodeId,
    probe: &Probe,
    j: &mut Json,
) -> Result<(), BoxError> {
    let n = args.writes.max(1);
    let warmup = Duration::from_secs_f64(args.warmup_s.max(0.0));
    let start = Instant::now();
    let mut st = LoopStats::default();
    let mut warmup_writes = 0u64;
    let mut last_good: Option<usize> = None;
    let mut t0: Option<Instant> = None;
    let mut i = 0usize;
    // Bounded: the warm-up, then n counted attempts (failures count as attempts too).
    let mut attempts = 0usize;
    // xorshift64 for the pauses (no rand crate in the workspace); seeded from the clock.
    let mut rng = (DateTime::now().ticks() as u64) | 1;
    let pace = args.write_pace_ms.max(0.0);
    while attempts < n {
        let measuring = match t0 {
            Some(_) => true,
            None if start.elapsed() >= warmup => {
                let now = Instant::now();
                t0 = Some(now);
                probe.set_window(now, now + Duration::from_secs(365 * 86_400));
                true
            }
            None => false,
        };
        let wv = WriteValue {
            node_id: node.clone(),
            attribute_id: AttributeId::Value as u32,
            index_range: Default::default(),
            value: DataValue::value_only(write_variant(args.write_type, i)),
        };
        let sent = Instant::now();
        let res = session.write(std::slice::from_ref(&wv)).await;
        let us = sent.elapsed().as_micros() as u64;
        if measuring {
            attempts += 1;
        } else {
            warmup_writes += 1;
        }
        match res {
            Ok(codes) => {
                let code = codes
                    .first()
                    .copied()
                    .unwrap_or(StatusCode::BadUnexpectedError);
                if code.is_good() {
                    last_good = Some(i);
                    if measuring {
                        st.requests += 1;
                        st.lat.push(us);
                    }
                } else if measuring {
                    st.errors += 1;
                    *st.codes.entry(code.to_string()).or_default() += 1;
                } else {
                    tracing::debug!("warm-up write: {code}");
                }
            }
            Err(e) => {
                if measuring {
                    st.errors += 1;
                    *st.codes.entry(e.status().to_string()).or_default() += 1;
                }
                tracing::debug!("write failed: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        i += 1;
        if pace > 0.0 && attempts < n {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let u = (rng >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
            tokio::time::sleep(Duration::from_secs_f64(2.0 * pace * u / 1000.0)).await;
        }
    }
    let secs = t0.map_or(0.0, |t| t.elapsed().as_secs_f64());
    let all: Vec<u32> = st.lat.0.clone();
    let mean = if all.is_empty() {
        None
    } else {
        Some(all.iter().map(|v| *v as f64).sum::<f64>() / all.len() as f64)
    };
    let (p50, p99, max) = std::mem::take(&mut st.lat).summary();
    j.str("write_node", &node.to_string());
    j.str("write_type", &format!("{:?}", args.write_type));
    j.num("warmup_writes", warmup_writes as f64);
    j.num("write_pace_ms", pace);
    j.num("duration_s", secs);
    j.num("requests", st.requests as f64);
    j.num(
        "requests_per_s",
        if secs > 0.0 {
            st.requests as f64 / secs
        } else {
            0.0
        },
    );
    j.opt("latency_p50_us", p50.map(|v| v as f64));
    j.opt("latency_p99_us", p99.map(|v| v as f64));
    j.opt("latency_max_us", max.map(|v| v as f64));
    j.opt("latency_mean_us", mean);
    j.num("values", st.requests as f64);
    j.num("errors", st.errors as f64);
    j.str("error_codes", &codes_string(&st.codes));
    // The last value written with a Good result (to check against the device).
    match last_good {
        Some(i) => j.str(
            "last_value",
            &format!("{}", write_variant(args.write_type, i)),
        ),
        None => j.opt("last_value", None),
    }
    j.opt("notifications", None);
    j.opt("expected_notifications", None);
    j.opt("lost", None);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Subscribe scenario
// ---------------------------------------------------------------------------------------------

/// Shared state of the subscription collector.
///
/// How "lost" is determined (only what the client can prove):
///
/// 1. Sequence numbers. Every NotificationMessage that carries notifications consumes the next
///    sequence number of the subscription (1, 2, 3, ...); keep-alive messages carry the *next*
///    number without consuming it, so a keep-alive with number K proves that 1..K-1 were all
///    sent. Publish responses can be processed slightly out of order (several publish requests
///    are outstanding), so a number that is missing is only acted upon after a grace period
///    (`REPUBLISH_GRACE`): the client then asks for it with Republish. If the server returns it,
///    its notifications are counted normally (`republished`); if it answers
///    BadMessageNotAvailable (or keeps failing), the message is proven lost (`lost_messages`).
///    A lost message contained at least one notification (empty messages do not consume a
///    number), so each counts as >= 1 lost notification.
/// 2. Overflow bit. When a monitored item's queue overflows, the server drops a value and sets
///    the Overflow info bit on the next one it delivers (Part 4, 7.20). Each flagged value proves
///    >= 1 dropped value (`overflow`).
///
/// `lost` = lost_messages + overflow: a lower bound on notifications the server produced (or
/// should have) but the client never received.
///
/// Not part of `lost`, reported separately as an estimate: `missed_updates_est` — per item,
/// consecutive SourceTimestamps further apart than 1.5 source intervals imply
/// round(gap / interval) − 1 skipped updates. This depends on the server honouring the sampling
/// interval and on the source really changing every interval, so it is a heuristic, not proof.
/// `silent_items` = items that received nothing during the window. `expected_notifications` =
/// items × window / max(revised sampling interval, source interval).
struct SubShared {
    measuring: AtomicBool,
    stats: Mutex<SubStats>,
}

#[derive(Default)]
struct SubStats {
    received: BTreeSet<u32>,
    max_known_seq: u32,
    pending_since: HashMap<u32, Instant>,
    republish_attempts: HashMap<u32, u32>,
    resolved_upto: u32,
    lost_seqs: BTreeSet<u32>,
    republished: u64,
    data_messages_total: u64,
    data_messages_window: u64,
    keepalives: u64,
    status_changes: u64,
    notifications_total: u64,
    notifications_window: u64,
    per_item_window: Vec<u32>,
    last_source_ticks: Vec<i64>,
    overflow: u64,
    bad_values: u64,
    unknown_handles: u64,
    missed_est: u64,
    lat: Latencies,
    period_ticks: i64,
}

const REPUBLISH_GRACE: Duration = Duration::from_millis(500);
const REPUBLISH_MAX_ATTEMPTS: u32 = 3;

impl SubShared {
    fn process(&self, msg: NotificationMessage, republished: bool) {
        let now_ticks = DateTime::now().ticks();
        let measuring = self.measuring.load(Ordering::Relaxed);
        let Ok(mut guard) = self.stats.lock() else {
            return;
        };
        let st = &mut *guard;
        let seq = msg.sequence_number;
        let data = msg.notification_data.unwrap_or_default();
        if data.is_empty() {
            // Keep-alive: proves that every number below `seq` was sent.
            st.keepalives += 1;
            st.max_known_seq = st.max_known_seq.max(seq.saturating_sub(1));
            return;
        }
        st.received.insert(seq);
        st.pending_since.remove(&seq);
        st.max_known_seq = st.max_known_seq.max(seq);
        st.data_messages_total += 1;
        if republished {
            st.republished += 1;
        }
        if measuring {
            st.data_messages_window += 1;
        }
        let n_items = st.per_item_window.len();
        for obj in data {
            if let Some(dcn) = obj.inner_as::<DataChangeNotification>() {
                for n in dcn.monitored_items.iter().flatten() {
                    let h = n.client_handle as usize;
                    if h == 0 || h > n_items {
                        st.unknown_handles += 1;
                        continue;
                    }
                    let i = h - 1;
                    st.notifications_total += 1;
                    let status = n.value.status.unwrap_or(StatusCode::Good);
                    if measuring {
                        if status.overflow() {
                            st.overflow += 1;
                        }
                        if !status.is_good() {
                            st.bad_values += 1;
                        }
                        st.notifications_window += 1;
                        st.per_item_window[i] += 1;
                    }
                    if let Some(ts) = n.value.source_timestamp {
                        let t = ts.ticks();
                        if measuring {
                            // 100 ns ticks -> µs; a timestamp in the future counts as 0.
                            st.lat.push(((now_ticks - t).max(0) / 10) as u64);
                            let prev = st.last_source_ticks[i];
                            if prev > 0 && st.period_ticks > 0 {
                                let gap = t - prev;
                                if gap * 2 >= st.period_ticks * 3 {
                                    let steps = (gap + st.period_ticks / 2) / st.period_ticks;
                                    st.missed_est += (steps - 1).max(0) as u64;
                                }
                            }
                        }
                        if t > st.last_source_ticks[i] {
                            st.last_source_ticks[i] = t;
                        }
                    }
                }
            } else if let Some(sc) = obj.inner_as::<StatusChangeNotification>() {
                st.status_changes += 1;
                tracing::warn!("subscription status change: {}", sc.status);
            }
        }
    }

    /// Sequence numbers that have been missing for longer than the grace period (or all
    /// missing ones when `final_sweep`), excluding those already given up on.
    fn due_for_republish(&self, final_sweep: bool) -> Vec<u32> {
        let Ok(mut st) = self.stats.lock() else {
            return Vec::new();
        };
        let now = Instant::now();
        let mut due = Vec::new();
        // Advance the watermark over received / lost numbers.
        while st.resolved_upto < st.max_known_seq {
            let next = st.resolved_upto + 1;
            if st.received.contains(&next) || st.lost_seqs.contains(&next) {
                st.resolved_upto = next;
            } else {
                break;
            }
        }
        let from = st.resolved_upto + 1;
        let to = st.max_known_seq;
        for s in from..=to {
            if st.received.contains(&s) || st.lost_seqs.contains(&s) {
                continue;
            }
            let since = *st.pending_since.entry(s).or_insert(now);
            if final_sweep || now.duration_since(since) >= REPUBLISH_GRACE {
                due.push(s);
            }
        }
        due
    }

    fn republish_failed(&self, seq: u32, definitive: bool) {
        if let Ok(mut st) = self.stats.lock() {
            let attempts = {
                let a = st.republish_attempts.entry(seq).or_insert(0);
                *a += 1;
                *a
            };
            if definitive || attempts >= REPUBLISH_MAX_ATTEMPTS {
                st.lost_seqs.insert(seq);
                st.pending_since.remove(&seq);
            }
        }
    }
}

struct Collector(Arc<SubShared>);

impl OnSubscriptionNotificationCore for Collector {
    fn on_subscription_notification(
        &mut self,
        notification: NotificationMessage,
        _monitored_items: MonitoredItemMap<'_>,
    ) {
        // Called by the session's publish loop with the subscription state locked: keep it cheap.
        self.0.process(notification, false);
    }
}

async fn republish_round(session: &Session, sub_id: u32, shared: &SubShared, final_sweep: bool) {
    for seq in shared.due_for_republish(final_sweep) {
        match session.republish(sub_id, seq).await {
            Ok(msg) => {
                let msg = NotificationMessage {
                    sequence_number: seq,
                    ..msg
                };
                if msg.notification_data.as_ref().is_none_or(|d| d.is_empty()) {
                    shared.republish_failed(seq, true);
                } else {
                    shared.process(msg, true);
                }
            }
            Err(e) => {
                let definitive = e.status() == StatusCode::BadMessageNotAvailable;
                tracing::warn!("republish seq {seq}: {e}");
                shared.republish_failed(seq, definitive || final_sweep);
            }
        }
    }
}

async fn run_subscribe(
    args: &Args,
    session: &Arc<Session>,
    nodes: Vec<NodeId>,
    probe: &Probe,
    j: &mut Json,
) -> Result<(), BoxError> {
    let items = args.items.min(nodes.len()).max(1);
    if args.items > nodes.len() {
        tracing::warn!("only {} nodes available, subscribing {items}", nodes.len());
    }
    let sampling = args.sampling_ms.max(0.0);
    let publishing = args.publishing_ms.max(1.0);
    let queue_size = args
        .queue_size
        .unwrap_or_else(|| (publishing / sampling.max(1.0)).ceil() as u32 + 1)
        .max(1);

    let shared = Arc::new(SubShared {
        measuring: AtomicBool::new(false),
        stats: Mutex::new(SubStats {
            per_item_window: vec![0; items],
            last_source_ticks: vec![0; items],
            ..Default::default()
        }),
    });
    let keep_alive = ((1000.0 / publishing).ceil() as u32).max(1); // ~1 s keep-alive
    let sub_id = session
        .create_subscription(
            Duration::from_secs_f64(publishing / 1000.0),
            keep_alive * 30, // lifetime ~30 s without publish requests
            keep_alive,
            args.max_notifications_per_publish,
            0,
            true,
            Collector(shared.clone()),
        )
        .await
        .map_err(|e| format!("CreateSubscription: {e}"))?;

    let t_create = Instant::now();
    let mut create_errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut created = 0usize;
    let mut revised_sampling: Option<f64> = None;
    for (c, chunk) in nodes[..items].chunks(args.create_chunk.max(1)).enumerate() {
        let base = c * args.create_chunk.max(1);
        let reqs: Vec<MonitoredItemCreateRequest> = chunk
            .iter()
            .enumerate()
            .map(|(k, id)| MonitoredItemCreateRequest {
                item_to_monitor: ReadValueId::from(id),
                monitoring_mode: MonitoringMode::Reporting,
                requested_parameters: MonitoringParameters {
                    client_handle: (base + k + 1) as u32,
                    sampling_interval: sampling,
                    queue_size,
                    discard_oldest: true,
                    ..Default::default()
                },
            })
            .collect();
        match session
            .create_monitored_items(sub_id, TimestampsToReturn::Both, reqs)
            .await
        {
            Ok(results) => {
                for r in results {
                    if r.result.status_code.is_good() {
                        created += 1;
                        revised_sampling.get_or_insert(r.result.revised_sampling_interval);
                    } else {
                        *create_errors
                            .entry(r.result.status_code.to_string())
                            .or_default() += 1;
                    }
                }
            }
            Err(e) => {
                *create_errors.entry(e.status().to_string()).or_default() += chunk.len() as u64;
                tracing::warn!("CreateMonitoredItems: {e}");
            }
        }
    }
    let create_ms = t_create.elapsed().as_secs_f64() * 1000.0;
    eprintln!(
        "fxgate-load: subscription {sub_id}: {created}/{items} monitored items in {create_ms:.0} ms"
    );
    if created == 0 {
        return Err(format!(
            "no monitored item could be created ({})",
            codes_string(&create_errors)
        )
        .into());
    }
    let eff_sampling = revised_sampling.unwrap_or(sampling);
    let source_interval = args.source_interval_ms.unwrap_or(sampling);
    let period_ms = eff_sampling.max(source_interval).max(1.0);
    if let Ok(mut st) = shared.stats.lock() {
        st.period_ticks = (period_ms * 10_000.0) as i64;
    }

    let t0 = Instant::now() + Duration::from_secs_f64(args.warmup_s.max(0.0));
    let t1 = t0 + Duration::from_secs_f64(args.duration_s.max(0.1));
    probe.set_window(t0, t1);

    // Republish task: runs during warm-up and the window.
    let stop = Arc::new(AtomicBool::new(false));
    let rp = {
        let (session, shared, stop) = (session.clone(), shared.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(250)).await;
                republish_round(&session, sub_id, &shared, false).await;
            }
        })
    };

    // SIGTERM ends the window early (the report is still printed): lets a script keep a
    // subscription running in the background exactly as long as it needs it.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(terminated);
    let mut stopped_early = false;
    tokio::select! {
        _ = tokio::time::sleep_until(t0.into()) => {}
        _ = &mut terminated => stopped_early = true,
    }
    shared.measuring.store(true, Ordering::Relaxed);
    let t0_actual = Instant::now();
    if !stopped_early {
        tokio::select! {
            _ = tokio::time::sleep_until(t1.into()) => {}
            _ = &mut terminated => stopped_early = true,
        }
    }
    if stopped_early {
        eprintln!("fxgate-load: SIGTERM: window ended early");
    }
    shared.measuring.store(false, Ordering::Relaxed);
    let secs = t0_actual.elapsed().as_secs_f64();

    // Let in-flight publish responses land, then resolve every remaining gap.
    tokio::time::sleep(REPUBLISH_GRACE + Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let rp_abort = rp.abort_handle();
    if tokio::time::timeout(Duration::from_secs(10), rp)
        .await
        .is_err()
    {
        rp_abort.abort();
    }
    // Bounded, even if the server stopped answering.
    let _ = tokio::time::timeout(
        Duration::from_secs(10),
        republish_round(session, sub_id, &shared, true),
    )
    .await;
    // The subscription is deleted by the session close in `run` (deleting it here would only
    // make the still-outstanding publish requests fail with BadNoSubscription).

    let mut st = shared
        .stats
        .lock()
        .map_err(|_| "collector state poisoned")?;
    // Every number up to the highest one known to exist that never arrived (directly or via
    // Republish) is lost — including any the final sweep could not resolve in time.
    let lost_messages = (1..=st.max_known_seq)
        .filter(|s| !st.received.contains(s))
        .count() as u64;
    let silent = st.per_item_window.iter().filter(|c| **c == 0).count();
    let min_per_item = st.per_item_window.iter().copied().min().unwrap_or(0);
    let max_per_item = st.per_item_window.iter().copied().max().unwrap_or(0);
    let expected = created as f64 * (secs * 1000.0 / period_ms).floor();
    let (p50, p99, max) = std::mem::take(&mut st.lat).summary();

    j.num("items", items as f64);
    j.num("items_created", created as f64);
    j.num("stopped_early", if stopped_early { 1.0 } else { 0.0 });
    j.str("create_errors", &codes_string(&create_errors));
    j.num("create_ms", create_ms.round());
    j.num("sampling_ms", sampling);
    j.num("revised_sampling_ms", eff_sampling);
    j.num("publishing_ms", publishing);
    j.num("queue_size", queue_size);
    j.num("duration_s", secs);
    j.num("requests", st.data_messages_window as f64);
    j.num("requests_per_s", st.data_messages_window as f64 / secs);
    j.opt("latency_p50_us", p50.map(|v| v as f64));
    j.opt("latency_p99_us", p99.map(|v| v as f64));
    j.opt("latency_max_us", max.map(|v| v as f64));
    j.num("values", st.notifications_window as f64);
    j.num("values_per_s", st.notifications_window as f64 / secs);
    j.num("bad_values", st.bad_values as f64);
    j.num("errors", st.unknown_handles as f64);
    j.str("error_codes", "");
    j.num("notifications", st.notifications_window as f64);
    j.num("notifications_total", st.notifications_total as f64);
    j.num("expected_notifications", expected);
    j.num("lost", (lost_messages + st.overflow) as f64);
    j.num("lost_messages", lost_messages as f64);
    j.num("overflow", st.overflow as f64);
    j.num("republished", st.republished as f64);
    j.num("max_sequence", st.max_known_seq as f64);
    j.num("data_messages_total", st.data_messages_total as f64);
    j.num("keepalives", st.keepalives as f64);
    j.num("status_changes", st.status_changes as f64);
    j.num("missed_updates_est", st.missed_est as f64);
    j.num("silent_items", silent as f64);
    j.num("min_per_item", min_per_item as f64);
    j.num("max_per_item", max_per_item as f64);
    Ok(())
}
