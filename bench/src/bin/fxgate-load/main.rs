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
//! * `watch`: for soak runs; one subscription over the `--group`s, one JSON line per
//!   `--report-ms` with each group's Good/Bad counts and proven losses (see `watch`).
//!
//! With `--server-pid`, the server's VmRSS (/proc/PID/status) is sampled before the client
//! connects ("idle") and every 100 ms during the run ("peak"), and its CPU usage is taken from
//! /proc/PID/stat utime+stime over the measurement window (100 % = one core). `--extra-pid
//! LABEL=PID` samples further processes the same way (e.g. a gateway's upstream server).
//!
//! Network input is never unwrapped: every failed request is counted in `errors` (by status code
//! in `error_codes`) and the run continues.
//!
//! Modules: `args` (the command line), `session` (security and the OPC UA sessions), `browse`
//! (the node list), `probe` (the server processes' RSS and CPU), one per scenario (`read`,
//! `subscribe`, `write`); this file runs them and writes the JSON line.

mod args;
mod browse;
mod probe;
mod read;
mod session;
mod subscribe;
mod watch;
mod write;

use std::time::{Duration, Instant};

use clap::Parser;
use fxgate_bench::json::Json;
use fxgate_bench::procfs::rss_kb;
use fxgate_bench::runtime::{self, Threads};
use fxgate_bench::summary::Latencies;

use args::{Args, Scenario};
use browse::BrowseStats;
use probe::{Probe, ProbeResult};

/// Any error that ends the run (printed as `fxgate-load: error: …`).
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
    let threads = Threads::Multi(args.threads.map(|t| t.max(1)));
    let rt = runtime::start("fxgate-load", threads);
    runtime::report_and_exit(rt, "fxgate-load", Duration::from_secs(2), run(args));
}

/// Connects, collects the node list, runs the scenario with the probe and returns the JSON line.
async fn run(args: Args) -> Result<String, BoxError> {
    let (policy, mode) = session::parse_security(&args)?;
    let idle_rss = args.server_pid.and_then(rss_kb);
    if args.server_pid.is_some() && idle_rss.is_none() {
        tracing::warn!("cannot read /proc/{:?}/status", args.server_pid);
    }
    let extra_idle: Vec<Option<u64>> = args.extra_pid.iter().map(|(_, pid)| rss_kb(*pid)).collect();

    let mut client = session::build_client(&args)?;
    let n_sessions = match args.scenario {
        Scenario::Read => args.sessions.clamp(1, args.concurrency.max(1)),
        Scenario::Subscribe | Scenario::Write | Scenario::Watch => 1,
    };
    let mut sessions = Vec::with_capacity(n_sessions);
    for _ in 0..n_sessions {
        sessions.push(session::connect(&mut client, &args.url, policy, mode).await?);
    }
    let session = sessions[0].clone();
    if args.scenario == Scenario::Watch {
        let line = watch::run_watch(&args, &session).await;
        let _ = tokio::time::timeout(Duration::from_secs(3), session.disconnect()).await;
        return line;
    }

    let t_browse = Instant::now();
    let mut bstats = BrowseStats::default();
    let nodes = if args.scenario == Scenario::Write {
        let spec = args
            .write_node
            .as_deref()
            .ok_or("--scenario write needs --write-node")?;
        vec![browse::resolve_node_id(&session, spec).await?]
    } else if let Some(prefix) = &args.nodes_from_ns_prefix {
        let count = args
            .max_nodes
            .map_or(args.prefix_count, |m| m.min(args.prefix_count));
        browse::nodes_from_prefix(&session, prefix, count).await?
    } else {
        let folder = browse::resolve_browse_path(&session, &args.browse_path, &mut bstats).await?;
        browse::collect_variables(
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
            Scenario::Watch => "watch",
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
        Scenario::Read => read::run_read(&args, &sessions, nodes, &probe, &mut j).await?,
        Scenario::Subscribe => {
            subscribe::run_subscribe(&args, &session, nodes, &probe, &mut j).await?
        }
        Scenario::Write => write::run_write(&args, &session, &nodes[0], &probe, &mut j).await?,
        Scenario::Watch => return Err("the watch scenario runs before the node list".into()),
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

/// The keys the read and subscribe lines share, in this order: `duration_s` (`secs`),
/// `requests` and `requests_per_s`, `latency_{p50,p99,max}_us` (of `lat`), `values`,
/// `values_per_s` and `bad_values`.
pub(crate) fn add_rates(
    j: &mut Json,
    secs: f64,
    requests: u64,
    lat: Latencies,
    values: u64,
    bad_values: u64,
) {
    j.num("duration_s", secs);
    j.num("requests", requests as f64);
    j.num("requests_per_s", requests as f64 / secs);
    lat.add_to(j, "latency");
    j.num("values", values as f64);
    j.num("values_per_s", values as f64 / secs);
    j.num("bad_values", bad_values as f64);
}

/// The subscribe scenario's `notifications`, `expected_notifications` and `lost`, `null` in the
/// other scenarios' lines so that every line has the same keys.
pub(crate) fn add_no_subscription(j: &mut Json) {
    j.opt("notifications", None);
    j.opt("expected_notifications", None);
    j.opt("lost", None);
}
