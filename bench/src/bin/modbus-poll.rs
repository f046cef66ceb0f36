//! `modbus-poll` — the baseline for fxgate's Modbus client: the same poll plan with nothing else.
//!
//! A minimal tokio-modbus TCP client on ONE connection (like fxgate's line). The plan:
//! `--groups` G groups of `--registers` R consecutive uint16 registers, each group polled every
//! `--interval-ms` I, split into reads of at most `--max-registers` (125). Modbus has 65,536
//! addresses per table, so 100 × 1,000 distinct registers do not fit into the holding registers
//! alone: with K = floor(`--address-span` / R) groups per table, groups 0..K-1 are holding
//! registers at g × R (fc 3), groups K..2K-1 input registers at (g − K) × R (fc 4); more groups
//! are refused. bench/run_modbus.sh gives fxgate the same addresses. `--extra-register A` adds
//! one more holding register polled at the same interval (fxgate's writable tag `W`).
//! Requests are sent one after another; each response is decoded into f64 (and compared with
//! the previous value, to count changes); nothing else is done with the values.
//!
//! Groups are polled when due; if the connection cannot keep up, a group's next poll is moved to
//! the next interval boundary (counted in `overruns`). On a transport error or timeout the
//! connection is re-established after `--reconnect-ms`.
//!
//! `--write-latency N`: instead of polling, N sequential `write_single_register` calls to
//! `--write-address` (after `--warmup-writes` uncounted ones), the direct Modbus write round trip;
//! with `--write-pace-ms` spaced by random pauses (as fxgate-load does for OPC UA writes).
//!
//! Prints ONE JSON line on stdout (figures of the measurement window only, warm-up excluded).

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    time::{Duration, Instant},
};

use clap::Parser;
use fxgate_bench::json::{codes_string, Json};
use fxgate_bench::runtime::{self, Threads};
use fxgate_bench::sim::Pace;
use fxgate_bench::summary::Latencies;
use tokio_modbus::{client::Context, prelude::*};

#[derive(Parser, Debug)]
#[command(
    name = "modbus-poll",
    about = "Baseline Modbus TCP poller (same plan as fxgate, nothing else); one JSON line on stdout"
)]
struct Args {
    /// Modbus server host (IP address or name).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 5020)]
    port: u16,
    /// Unit id (slave id).
    #[arg(long, default_value_t = 1)]
    unit: u8,
    /// Poll groups.
    #[arg(long, default_value_t = 100)]
    groups: usize,
    /// Registers per group.
    #[arg(long, default_value_t = 1000)]
    registers: usize,
    /// Poll interval of every group, ms.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// Most registers per read request (<= 125).
    #[arg(long, default_value_t = 125)]
    max_registers: u16,
    /// Addresses per table used by the groups (groups per table = this / --registers).
    #[arg(long, default_value_t = 65_000)]
    address_span: usize,
    /// One more holding register polled every --interval-ms (as fxgate polls its tag `W`).
    #[arg(long)]
    extra_register: Option<u16>,
    /// Measurement window, s.
    #[arg(long, default_value_t = 30.0)]
    duration_s: f64,
    /// Warm-up before the window (not counted), s.
    #[arg(long, default_value_t = 3.0)]
    warmup_s: f64,
    /// Response timeout per request, ms (like fxgate's device timeout_ms).
    #[arg(long, default_value_t = 1000)]
    timeout_ms: u64,
    /// Wait before reconnecting after an error, ms.
    #[arg(long, default_value_t = 1000)]
    reconnect_ms: u64,
    /// Write mode: N sequential write_single_register calls; report p50/p99 µs.
    #[arg(long)]
    write_latency: Option<usize>,
    /// Register written in write mode.
    #[arg(long, default_value_t = 65_500)]
    write_address: u16,
    /// Write mode: pause between writes, uniformly random in 0..2×N ms (mean N); 0 = back to back.
    #[arg(long, default_value_t = 0.0)]
    write_pace_ms: f64,
    /// Uncounted writes before the measured ones.
    #[arg(long, default_value_t = 50)]
    warmup_writes: usize,
    /// Free-form label copied into the JSON.
    #[arg(long, default_value = "modbus-poll")]
    label: String,
    /// Tokio worker threads; 0 = a current-thread runtime (the minimum for one connection).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    let args = Args::parse();
    let rt = runtime::start("modbus-poll", Threads::from_count(args.threads));
    let report = async {
        if args.write_latency.is_some() {
            run_write(&args).await
        } else {
            run_poll(&args).await
        }
    };
    runtime::report_and_exit(rt, "modbus-poll", Duration::from_millis(500), report);
}

// ---------------------------------------------------------------------------------------------
// Connection
// ---------------------------------------------------------------------------------------------

async fn resolve(args: &Args) -> Result<SocketAddr, BoxError> {
    tokio::net::lookup_host((args.host.as_str(), args.port))
        .await?
        .next()
        .ok_or_else(|| format!("cannot resolve {}", args.host).into())
}

async fn connect(addr: SocketAddr, unit: u8, timeout: Duration) -> Result<Context, BoxError> {
    let stream = tokio::time::timeout(timeout.max(Duration::from_secs(1)), async {
        tokio::net::TcpStream::connect(addr).await
    })
    .await
    .map_err(|_| format!("connect to {addr}: timed out"))?
    .map_err(|e| format!("connect to {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    Ok(tcp::attach_slave(stream, Slave(unit)))
}

// ---------------------------------------------------------------------------------------------
// Poll mode
// ---------------------------------------------------------------------------------------------

/// One read request of the plan.
struct Chunk {
    /// Input registers (fc 4) instead of holding registers (fc 3).
    input: bool,
    addr: u16,
    count: u16,
    /// Index of its first value in the group's value vector.
    offset: usize,
}

struct Group {
    chunks: Vec<Chunk>,
    values: Vec<f64>,
    next_due: Instant,
}

#[derive(Default)]
struct PollStats {
    requests: u64,
    registers: u64,
    changes: u64,
    polls: u64,
    errors: u64,
    exceptions: u64,
    overruns: u64,
    reconnects: u64,
    codes: BTreeMap<String, u64>,
    lat: Latencies,
}

fn build_plan(args: &Args, start: Instant) -> Result<Vec<Group>, BoxError> {
    let r = args.registers;
    if r == 0 || r > 65_536 {
        return Err("--registers must be 1 to 65536".into());
    }
    if args.max_registers == 0 || args.max_registers > 125 {
        return Err("--max-registers must be 1 to 125".into());
    }
    let per_table = args.address_span.min(65_536) / r;
    if per_table == 0 {
        return Err("--address-span is smaller than --registers".into());
    }
    if args.groups > 2 * per_table {
        return Err(format!(
            "{} groups of {r} registers do not fit into 2 × {} addresses",
            args.groups, args.address_span
        )
        .into());
    }
    let step = args.max_registers as usize;
    let mut groups: Vec<Group> = (0..args.groups.max(1))
        .map(|g| {
            let input = g >= per_table;
            let base = (g % per_table) * r;
            let chunks = (0..r)
                .step_by(step)
                .map(|off| Chunk {
                    input,
                    addr: (base + off) as u16,
                    count: step.min(r - off) as u16,
                    offset: off,
                })
                .collect();
            Group {
                chunks,
                values: vec![f64::NAN; r],
                next_due: start,
            }
        })
        .collect();
    if let Some(a) = args.extra_register {
        groups.push(Group {
            chunks: vec![Chunk {
                input: false,
                addr: a,
                count: 1,
                offset: 0,
            }],
            values: vec![f64::NAN],
            next_due: start,
        });
    }
    Ok(groups)
}

async fn run_poll(args: &Args) -> Result<String, BoxError> {
    let addr = resolve(args).await?;
    let timeout = Duration::from_millis(args.timeout_ms.max(1));
    let interval = Duration::from_millis(args.interval_ms.max(1));
    let mut ctx = connect(addr, args.unit, timeout).await?;

    let start = Instant::now();
    let mut groups = build_plan(args, start)?;
    let requests_per_cycle: usize = groups.iter().map(|g| g.chunks.len()).sum();
    let t0 = start + Duration::from_secs_f64(args.warmup_s.max(0.0));
    let t1 = t0 + Duration::from_secs_f64(args.duration_s.max(0.1));
    let mut st = PollStats::default();
    let mut connected = true;

    'outer: loop {
        // The group due first (ties: the lowest index, i.e. plan order).
        let Some((gi, due)) = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (i, g.next_due))
            .min_by_key(|(_, d)| *d)
        else {
            break 'outer; // --groups 0: nothing to poll
        };
        if due >= t1 {
            tokio::time::sleep_until(t1.into()).await;
            break;
        }
        tokio::time::sleep_until(due.into()).await;

        if !connected {
            st.reconnects += 1;
            match connect(addr, args.unit, timeout).await {
                Ok(c) => {
                    ctx = c;
                    connected = true;
                }
                Err(e) => {
                    eprintln!("modbus-poll: {e}");
                    tokio::time::sleep(Duration::from_millis(args.reconnect_ms)).await;
                    if Instant::now() >= t1 {
                        break 'outer;
                    }
                    continue;
                }
            }
        }

        let poll_start = Instant::now();
        let in_window = poll_start >= t0 && poll_start < t1;
        let g = &mut groups[gi];
        for c in &g.chunks {
            let sent = Instant::now();
            let res = if c.input {
                tokio::time::timeout(timeout, ctx.read_input_registers(c.addr, c.count)).await
            } else {
                tokio::time::timeout(timeout, ctx.read_holding_registers(c.addr, c.count)).await
            };
            let done = Instant::now();
            let count = in_window && done <= t1;
            match res {
                Ok(Ok(Ok(words))) => {
                    if count {
                        st.requests += 1;
                        st.registers += words.len() as u64;
                        st.lat.push((done - sent).as_micros() as u64);
                    }
                    let vals = &mut g.values[c.offset..c.offset + c.count as usize];
                    for (v, w) in vals.iter_mut().zip(words.iter()) {
                        let f = *w as f64;
                        if *v != f {
                            if count && !v.is_nan() {
                                st.changes += 1;
                            }
                            *v = f;
                        }
                    }
                }
                Ok(Ok(Err(exc))) => {
                    if count {
                        st.exceptions += 1;
                        *st.codes.entry(format!("exception:{exc}")).or_default() += 1;
                    }
                }
                Ok(Err(e)) => {
                    if count {
                        st.errors += 1;
                        *st.codes.entry(format!("transport:{e}")).or_default() += 1;
                    }
                    eprintln!("modbus-poll: read {}+{}: {e}", c.addr, c.count);
                    connected = false;
                    break;
                }
                Err(_) => {
                    if count {
                        st.errors += 1;
                        *st.codes.entry("timeout".into()).or_default() += 1;
                    }
                    eprintln!("modbus-poll: read {}+{}: timed out", c.addr, c.count);
                    connected = false;
                    break;
                }
            }
        }
        if in_window {
            st.polls += 1;
        }
        // Next poll: one interval later; if that is already past, the next boundary ahead.
        let mut next = g.next_due + interval;
        let now = Instant::now();
        if next <= now {
            if in_window {
                st.overruns += 1;
            }
            let behind = (now - next).as_nanos() / interval.as_nanos() + 1;
            next += interval * behind as u32;
        }
        g.next_due = next;
        if !connected {
            let _ = ctx.disconnect().await;
            tokio::time::sleep(Duration::from_millis(args.reconnect_ms)).await;
        }
    }
    if connected {
        let _ = tokio::time::timeout(Duration::from_secs(1), ctx.disconnect()).await;
    }

    let secs = (t1 - t0).as_secs_f64();
    let mut j = Json::new();
    j.str("tool", "modbus-poll");
    j.str("label", &args.label);
    j.str("mode", "poll");
    j.str("server", &addr.to_string());
    j.num("groups", args.groups as f64);
    j.opt("extra_register", args.extra_register.map(f64::from));
    j.num("registers_per_group", args.registers as f64);
    j.num("interval_ms", args.interval_ms as f64);
    j.num("requests_per_cycle", requests_per_cycle as f64);
    j.num(
        "planned_registers_per_s",
        (args.groups * args.registers) as f64 * 1000.0 / args.interval_ms.max(1) as f64,
    );
    j.num("duration_s", secs);
    j.num("requests", st.requests as f64);
    j.num("requests_per_s", st.requests as f64 / secs);
    j.num("registers", st.registers as f64);
    j.num("registers_per_s", st.registers as f64 / secs);
    j.num("changes_per_s", st.changes as f64 / secs);
    j.num("polls", st.polls as f64);
    std::mem::take(&mut st.lat).add_to(&mut j, "latency");
    j.num("errors", st.errors as f64);
    j.num("exceptions", st.exceptions as f64);
    j.str("error_codes", &codes_string(&st.codes));
    j.num("overruns", st.overruns as f64);
    j.num("reconnects", st.reconnects as f64);
    Ok(j.render())
}

// ---------------------------------------------------------------------------------------------
// Write-latency mode
// ---------------------------------------------------------------------------------------------

async fn run_write(args: &Args) -> Result<String, BoxError> {
    let n = args.write_latency.unwrap_or(0).max(1);
    let addr = resolve(args).await?;
    let timeout = Duration::from_millis(args.timeout_ms.max(1));
    let mut ctx = connect(addr, args.unit, timeout).await?;
    let mut lat = Latencies::default();
    let mut errors = 0u64;
    let mut codes: BTreeMap<String, u64> = BTreeMap::new();
    let t_start = Instant::now();
    // Pauses seeded from the clock.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let pace = args.write_pace_ms.max(0.0);
    let mut pauses = Pace::new(seed, pace);
    for i in 0..args.warmup_writes + n {
        if pace > 0.0 && i > 0 {
            tokio::time::sleep(pauses.next_pause()).await;
        }
        let counted = i >= args.warmup_writes;
        let value = (i % 60_000) as u16 + 1;
        let sent = Instant::now();
        let res = tokio::time::timeout(
            timeout,
            ctx.write_single_register(args.write_address, value),
        )
        .await;
        let us = sent.elapsed().as_micros() as u64;
        match res {
            Ok(Ok(Ok(()))) => {
                if counted {
                    lat.push(us);
                }
            }
            Ok(Ok(Err(exc))) => {
                if counted {
                    errors += 1;
                    *codes.entry(format!("exception:{exc}")).or_default() += 1;
                }
            }
            Ok(Err(e)) => {
                errors += 1;
                *codes.entry(format!("transport:{e}")).or_default() += 1;
                eprintln!("modbus-poll: write: {e}; reconnecting");
                tokio::time::sleep(Duration::from_millis(args.reconnect_ms)).await;
                ctx = connect(addr, args.unit, timeout).await?;
            }
            Err(_) => {
                errors += 1;
                *codes.entry("timeout".into()).or_default() += 1;
                eprintln!("modbus-poll: write timed out; reconnecting");
                ctx = connect(addr, args.unit, timeout).await?;
            }
        }
    }
    let secs = t_start.elapsed().as_secs_f64();
    let _ = tokio::time::timeout(Duration::from_secs(1), ctx.disconnect()).await;
    let writes = lat.0.len();
    let mean = lat.mean();
    let mut j = Json::new();
    j.str("tool", "modbus-poll");
    j.str("label", &args.label);
    j.str("mode", "write-latency");
    j.str("server", &addr.to_string());
    j.num("write_address", args.write_address as f64);
    j.num("writes", writes as f64);
    j.num("warmup_writes", args.warmup_writes as f64);
    j.num("write_pace_ms", pace);
    j.num("duration_s", secs);
    lat.add_to(&mut j, "latency");
    j.opt("latency_mean_us", mean);
    j.num("errors", errors as f64);
    j.str("error_codes", &codes_string(&codes));
    Ok(j.render())
}
