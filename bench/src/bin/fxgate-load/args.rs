//! The command line of `fxgate-load`: the options of every scenario (see the binary's doc).

use std::fmt;
use std::num::ParseIntError;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Scenario {
    Read,
    Subscribe,
    Write,
    Watch,
}

/// The Variant type written by the write scenario.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum WriteType {
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
pub(crate) struct Args {
    /// Server endpoint URL, e.g. opc.tcp://127.0.0.1:48050/
    #[arg(long)]
    pub(crate) url: String,
    /// None | Basic256Sha256 | Aes128_Sha256_RsaOaep | Aes256_Sha256_RsaPss | Basic256 | Basic128Rsa15 (or a policy URI)
    #[arg(long, default_value = "None")]
    pub(crate) security_policy: String,
    /// None | Sign | SignAndEncrypt (default: None for policy None, SignAndEncrypt otherwise)
    #[arg(long)]
    pub(crate) security_mode: Option<String>,
    /// Client PKI directory (created with a self-signed certificate if missing; server
    /// certificates are trusted automatically).
    #[arg(long)]
    pub(crate) pki_dir: Option<PathBuf>,
    /// Folder whose Variable children form the node list. Elements are browse names, optionally
    /// with a namespace index ("2:Demo"); a leading "Objects" or "Root" is the standard folder.
    #[arg(long, default_value = "Objects/Demo")]
    pub(crate) browse_path: String,
    /// Also descend into Object/Folder children of the browse path.
    #[arg(long)]
    pub(crate) recursive: bool,
    /// Instead of browsing, generate node ids "`<prefix><n>`" for n in 0..--prefix-count.
    /// Prefix like "ns=2;s=Demo/T" or "nsu=urn:fxgate:tags;s=Demo/T".
    #[arg(long)]
    pub(crate) nodes_from_ns_prefix: Option<String>,
    /// Number of ids generated with --nodes-from-ns-prefix.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) prefix_count: usize,
    /// Use only the first N nodes of the list.
    #[arg(long)]
    pub(crate) max_nodes: Option<usize>,
    #[arg(long, value_enum, default_value_t = Scenario::Read)]
    pub(crate) scenario: Scenario,
    /// Tags per Read request.
    #[arg(long, default_value_t = 1)]
    pub(crate) batch: usize,
    /// Measurement window in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) duration_s: f64,
    /// Warm-up before the measurement window (not counted).
    #[arg(long, default_value_t = 2.0)]
    pub(crate) warmup_s: f64,
    /// Parallel request loops (read scenario).
    #[arg(long, default_value_t = 1)]
    pub(crate) concurrency: usize,
    /// Number of sessions the request loops are spread over (read scenario).
    #[arg(long, default_value_t = 1)]
    pub(crate) sessions: usize,
    /// Monitored items (subscribe scenario).
    #[arg(long, default_value_t = 10_000)]
    pub(crate) items: usize,
    #[arg(long, default_value_t = 100.0)]
    pub(crate) sampling_ms: f64,
    #[arg(long, default_value_t = 100.0)]
    pub(crate) publishing_ms: f64,
    /// Monitored item queue size (default: ceil(publishing/sampling) + 1).
    #[arg(long)]
    pub(crate) queue_size: Option<u32>,
    /// MaxNotificationsPerPublish requested for the subscription (0 = server decides).
    #[arg(long, default_value_t = 1000)]
    pub(crate) max_notifications_per_publish: u32,
    /// Monitored items per CreateMonitoredItems request.
    #[arg(long, default_value_t = 1000)]
    pub(crate) create_chunk: usize,
    /// How often the source changes (ms); used for expected notifications and the
    /// timestamp-gap estimate. Default: --sampling-ms.
    #[arg(long)]
    pub(crate) source_interval_ms: Option<f64>,
    /// Write scenario: the node written, e.g. "ns=2;s=Dev0/W" or "nsu=urn:fxgate:tags;s=Dev0/W".
    #[arg(long)]
    pub(crate) write_node: Option<String>,
    /// Write scenario: counted writes (after the warm-up).
    #[arg(long, default_value_t = 1000)]
    pub(crate) writes: usize,
    /// Write scenario: Variant type of the written values (1, 2, 3, … cycling below 30,000).
    #[arg(long, value_enum, default_value_t = WriteType::UInt16)]
    pub(crate) write_type: WriteType,
    /// Write scenario: pause between writes, uniformly random in 0..2×N ms (mean N), so writes
    /// arrive at random moments relative to whatever the server does periodically (e.g. a poll
    /// cycle a write has to wait for). 0 = back to back.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) write_pace_ms: f64,
    /// Server process to sample RSS/CPU from /proc.
    #[arg(long)]
    pub(crate) server_pid: Option<u32>,
    /// More processes to sample like --server-pid, as LABEL=PID (repeatable); reported as
    /// `<LABEL>_rss_kb_idle`, `<LABEL>_rss_kb_peak`, `<LABEL>_cpu_percent` (same window).
    #[arg(long, value_parser = parse_extra_pid)]
    pub(crate) extra_pid: Vec<(String, u32)>,
    /// Read scenario: maxAge of the Read requests in ms (0 = the server must read the source;
    /// a server with a cache may answer from it when its value is younger than this).
    #[arg(long, default_value_t = 0.0)]
    pub(crate) max_age_ms: f64,
    /// Free-form label copied into the JSON (e.g. "fxgate", "peer").
    #[arg(long, default_value = "")]
    pub(crate) label: String,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10)]
    pub(crate) request_timeout_s: u64,
    /// Watch scenario: a group of nodes, `LABEL,COUNT,SOURCE_INTERVAL_MS,PREFIX` (repeatable):
    /// the ids `<PREFIX><n>` for n in 0..COUNT, e.g. `b,10000,1000,nsu=b/urn:x;s=Demo/T`.
    #[arg(long, value_parser = parse_group)]
    pub(crate) group: Vec<Group>,
    /// Watch scenario: milliseconds between report lines.
    #[arg(long, default_value_t = 200)]
    pub(crate) report_ms: u64,
    /// Tokio worker threads (default: number of CPUs).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
}

/// Why an `--extra-pid` value was refused.
#[derive(Debug)]
pub(crate) enum ExtraPidError {
    /// No `=` in the value (the value).
    NoEquals(String),
    /// The label is empty or has other characters than letters, digits and `_` (the label).
    Label(String),
    /// The PID is not a number (the PID as given).
    Pid(String, ParseIntError),
}

impl fmt::Display for ExtraPidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtraPidError::NoEquals(s) => write!(f, "expected LABEL=PID, got {s:?}"),
            ExtraPidError::Label(label) => write!(f, "label {label:?}: use letters, digits and _"),
            ExtraPidError::Pid(pid, e) => write!(f, "pid {pid:?}: {e}"),
        }
    }
}

impl std::error::Error for ExtraPidError {}

/// An `--extra-pid` value: `LABEL=PID`.
fn parse_extra_pid(s: &str) -> Result<(String, u32), ExtraPidError> {
    let (label, pid) = s
        .split_once('=')
        .ok_or_else(|| ExtraPidError::NoEquals(s.to_owned()))?;
    let ok = !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(ExtraPidError::Label(label.to_owned()));
    }
    let pid = pid
        .parse::<u32>()
        .map_err(|e| ExtraPidError::Pid(pid.to_owned(), e))?;
    Ok((label.to_owned(), pid))
}

/// A `--group` of the watch scenario.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    /// Prefix of the group's keys in the report lines.
    pub(crate) label: String,
    /// Number of nodes.
    pub(crate) count: usize,
    /// How often the source changes, ms (the gap rule).
    pub(crate) interval_ms: f64,
    /// Node id prefix, as `--nodes-from-ns-prefix`.
    pub(crate) prefix: String,
}

/// Why a `--group` value was refused.
#[derive(Debug)]
pub(crate) struct GroupError(String);

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expected LABEL,COUNT,SOURCE_INTERVAL_MS,PREFIX: {}",
            self.0
        )
    }
}

impl std::error::Error for GroupError {}

fn parse_group(s: &str) -> Result<Group, GroupError> {
    let mut parts = s.splitn(4, ',');
    let (Some(label), Some(count), Some(interval), Some(prefix)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(GroupError(format!("{s:?} has fewer than 4 parts")));
    };
    let ok = !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(GroupError(format!(
            "label {label:?}: use letters, digits and _"
        )));
    }
    let count = count
        .parse()
        .map_err(|e| GroupError(format!("count {count:?}: {e}")))?;
    let interval_ms = interval
        .parse()
        .map_err(|e| GroupError(format!("interval {interval:?}: {e}")))?;
    Ok(Group {
        label: label.to_owned(),
        count,
        interval_ms,
        prefix: prefix.to_owned(),
    })
}
