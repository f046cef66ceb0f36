//! `modbus-peer` — a fast Modbus TCP server for benchmarking (tokio-modbus 0.17 server).
//!
//! Serves 65,536 holding registers and 65,536 coils from memory to any unit id; input registers
//! and discrete inputs read the same memory (read-only). With `--change-every-ms N` every
//! register changes every N ms (the whole memory is offset by a generation counter, so a change
//! costs O(1)): register i reads `base[i] + generation` (wrapping), coil i reads
//! `base[i] XOR (generation is odd)`. A register or coil that has been written keeps the written
//! value from then on (like a set point) and no longer takes part in the change.
//!
//! Supported function codes: 1, 2, 3, 4, 5, 6, 15, 16, 22, 23; anything else gets exception 1.
//! Quantities beyond the protocol limits get exception 3, addresses past 65535 exception 2.
//!
//! Every request served is counted. Writes (fc 5/6/15/16/22/23) are recorded in memory (time,
//! function, address, quantity, first value; up to `--max-write-log` records).
//!
//! Output on stdout, one JSON line each:
//! * on SIGUSR1: `{"event":"stats",...}` with the counters so far (so a script can take a rate
//!   over a window without stopping the server);
//! * on SIGTERM / SIGINT / end of `--run-s`: `{"event":"exit",...}`, then the process exits 0.
//!
//! stderr: `modbus-peer ready on <addr>` once the listener is bound, and diagnostics.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use clap::Parser;
use fxgate_bench::runtime::{self, Threads};
use tokio::net::TcpListener;
use tokio_modbus::{
    prelude::{ExceptionCode, Request, Response, SlaveRequest},
    server::tcp::{accept_tcp_connection, Server},
};

const SIZE: usize = 65_536;
const MAX_READ_REGISTERS: u16 = 125;
const MAX_READ_BITS: u16 = 2000;
const MAX_WRITE_REGISTERS: usize = 123;
const MAX_WRITE_BITS: usize = 1968;
const MAX_RW_READ_REGISTERS: u16 = 125;
const MAX_RW_WRITE_REGISTERS: usize = 121;

#[derive(Parser, Debug)]
#[command(
    name = "modbus-peer",
    about = "Fast in-memory Modbus TCP server (65,536 holding registers and coils) for benchmarks"
)]
struct Args {
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Listen port (0: any free port; the ready line names it).
    #[arg(long, default_value_t = 5020)]
    port: u16,
    /// Change every register and coil every N ms (0: values never change by themselves).
    #[arg(long, default_value_t = 0)]
    change_every_ms: u64,
    /// Initial register values: `index` (register i = i) or `zero`.
    #[arg(long, default_value = "index")]
    init: String,
    /// Most write records kept in memory (the counters go on beyond it).
    #[arg(long, default_value_t = 1_000_000)]
    max_write_log: usize,
    /// Exit on its own after this many seconds (0: run until SIGTERM/SIGINT).
    #[arg(long, default_value_t = 0.0)]
    run_s: f64,
    /// Tokio worker threads; 0 = a current-thread runtime (the fastest for a few connections).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

// ---------------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------------

struct Memory {
    hr: Box<[AtomicU16]>,
    hr_pinned: Box<[AtomicBool]>,
    coils: Box<[AtomicBool]>,
    coils_pinned: Box<[AtomicBool]>,
    generation: AtomicU64,
}

impl Memory {
    fn new(index_init: bool) -> Self {
        Memory {
            hr: (0..SIZE)
                .map(|i| AtomicU16::new(if index_init { i as u16 } else { 0 }))
                .collect(),
            hr_pinned: (0..SIZE).map(|_| AtomicBool::new(false)).collect(),
            coils: (0..SIZE)
                .map(|i| AtomicBool::new(index_init && i % 2 == 1))
                .collect(),
            coils_pinned: (0..SIZE).map(|_| AtomicBool::new(false)).collect(),
            generation: AtomicU64::new(0),
        }
    }

    #[inline]
    fn reg(&self, i: usize, gen: u64) -> u16 {
        if self.hr_pinned[i].load(Ordering::Acquire) {
            // Written: the stored value is the written value.
            self.hr[i].load(Ordering::Relaxed)
        } else {
            self.hr[i].load(Ordering::Relaxed).wrapping_add(gen as u16)
        }
    }

    #[inline]
    fn coil(&self, i: usize, gen: u64) -> bool {
        if self.coils_pinned[i].load(Ordering::Acquire) {
            self.coils[i].load(Ordering::Relaxed)
        } else {
            self.coils[i].load(Ordering::Relaxed) ^ (gen & 1 == 1)
        }
    }

    fn set_reg(&self, i: usize, v: u16) {
        self.hr[i].store(v, Ordering::Relaxed);
        self.hr_pinned[i].store(true, Ordering::Release);
    }

    fn set_coil(&self, i: usize, v: bool) {
        self.coils[i].store(v, Ordering::Relaxed);
        self.coils_pinned[i].store(true, Ordering::Release);
    }

    fn read_regs(&self, addr: u16, cnt: u16) -> Vec<u16> {
        let gen = self.generation.load(Ordering::Relaxed);
        (addr as usize..addr as usize + cnt as usize)
            .map(|i| self.reg(i, gen))
            .collect()
    }

    fn read_bits(&self, addr: u16, cnt: u16) -> Vec<bool> {
        let gen = self.generation.load(Ordering::Relaxed);
        (addr as usize..addr as usize + cnt as usize)
            .map(|i| self.coil(i, gen))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Counters and the write log
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    read_requests: AtomicU64,
    write_requests: AtomicU64,
    registers_read: AtomicU64,
    bits_read: AtomicU64,
    exceptions: AtomicU64,
    connections: AtomicU64,
    connections_open: AtomicU64,
    changes: AtomicU64,
    fc: [AtomicU64; 24],
}

struct WriteRecord {
    t_us: u64,
    fc: u8,
    addr: u16,
    qty: u16,
    first: u16,
}

struct WriteLog {
    start: Instant,
    max: usize,
    records: Mutex<Vec<WriteRecord>>,
    dropped: AtomicU64,
}

impl WriteLog {
    fn record(&self, fc: u8, addr: u16, qty: u16, first: u16) {
        let t_us = self.start.elapsed().as_micros() as u64;
        if let Ok(mut r) = self.records.lock() {
            if r.len() < self.max {
                r.push(WriteRecord {
                    t_us,
                    fc,
                    addr,
                    qty,
                    first,
                });
                return;
            }
        }
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------

struct Peer {
    mem: Memory,
    stats: Stats,
    writes: WriteLog,
}

/// One per connection (not Clone: its drop counts the connection as closed).
struct Svc(Arc<Peer>);

impl Drop for Svc {
    fn drop(&mut self) {
        // One Svc per connection (the server drops it when the connection ends).
        self.0
            .stats
            .connections_open
            .fetch_sub(1, Ordering::Relaxed);
    }
}

fn range_ok(addr: u16, cnt: usize) -> bool {
    addr as usize + cnt <= SIZE
}

impl Peer {
    fn handle(&self, req: Request<'static>) -> Result<Response, ExceptionCode> {
        use ExceptionCode::{IllegalDataAddress, IllegalDataValue, IllegalFunction};
        let st = &self.stats;
        match req {
            Request::ReadHoldingRegisters(a, n) | Request::ReadInputRegisters(a, n) => {
                st.read_requests.fetch_add(1, Ordering::Relaxed);
                if n == 0 || n > MAX_READ_REGISTERS {
                    return Err(IllegalDataValue);
                }
                if !range_ok(a, n as usize) {
                    return Err(IllegalDataAddress);
                }
                st.registers_read.fetch_add(n as u64, Ordering::Relaxed);
                let v = self.mem.read_regs(a, n);
                Ok(if matches!(req, Request::ReadHoldingRegisters(..)) {
                    Response::ReadHoldingRegisters(v)
                } else {
                    Response::ReadInputRegisters(v)
                })
            }
            Request::ReadCoils(a, n) | Request::ReadDiscreteInputs(a, n) => {
                st.read_requests.fetch_add(1, Ordering::Relaxed);
                if n == 0 || n > MAX_READ_BITS {
                    return Err(IllegalDataValue);
                }
                if !range_ok(a, n as usize) {
                    return Err(IllegalDataAddress);
                }
                st.bits_read.fetch_add(n as u64, Ordering::Relaxed);
                let v = self.mem.read_bits(a, n);
                Ok(if matches!(req, Request::ReadCoils(..)) {
                    Response::ReadCoils(v)
                } else {
                    Response::ReadDiscreteInputs(v)
                })
            }
            Request::WriteSingleRegister(a, v) => {
                st.write_requests.fetch_add(1, Ordering::Relaxed);
                self.mem.set_reg(a as usize, v);
                self.writes.record(6, a, 1, v);
                Ok(Response::WriteSingleRegister(a, v))
            }
            Request::WriteSingleCoil(a, v) => {
                st.write_requests.fetch_add(1, Ordering::Relaxed);
                self.mem.set_coil(a as usize, v);
                self.writes.record(5, a, 1, v as u16);
                Ok(Response::WriteSingleCoil(a, v))
            }
            Request::WriteMultipleRegisters(a, words) => {
                st.write_requests.fetch_add(1, Ordering::Relaxed);
                if words.is_empty() || words.len() > MAX_WRITE_REGISTERS {
                    return Err(IllegalDataValue);
                }
                if !range_ok(a, words.len()) {
                    return Err(IllegalDataAddress);
                }
                for (k, w) in words.iter().enumerate() {
                    self.mem.set_reg(a as usize + k, *w);
                }
                self.writes.record(16, a, words.len() as u16, words[0]);
                Ok(Response::WriteMultipleRegisters(a, words.len() as u16))
            }
            Request::WriteMultipleCoils(a, bits) => {
                st.write_requests.fetch_add(1, Ordering::Relaxed);
                if bits.is_empty() || bits.len() > MAX_WRITE_BITS {
                    return Err(IllegalDataValue);
                }
                if !range_ok(a, bits.len()) {
                    return Err(IllegalDataAddress);
                }
                for (k, b) in bits.iter().enumerate() {
                    self.mem.set_coil(a as usize + k, *b);
                }
                self.writes.record(15, a, bits.len() as u16, bits[0] as u16);
                Ok(Response::WriteMultipleCoils(a, bits.len() as u16))
            }
            Request::MaskWriteRegister(a, and, or) => {
                st.write_requests.fetch_add(1, Ordering::Relaxed);
                let gen = self.mem.generation.load(Ordering::Relaxed);
                let cur = self.mem.reg(a as usize, gen);
                let new = (cur & and) | (or & !and);
                self.mem.set_reg(a as usize, new);
                self.writes.record(22, a, 1, new);
                Ok(Response::MaskWriteRegister(a, and, or))
            }
            Request::ReadWriteMultipleRegisters(ra, rn, wa, words) => {
                st.read_requests.fetch_add(1, Ordering::Relaxed);
                st.write_requests.fetch_add(1, Ordering::Relaxed);
                if rn == 0
                    || rn > MAX_RW_READ_REGISTERS
                    || words.is_empty()
                    || words.len() > MAX_RW_WRITE_REGISTERS
                {
                    return Err(IllegalDataValue);
                }
                if !range_ok(ra, rn as usize) || !range_ok(wa, words.len()) {
                    return Err(IllegalDataAddress);
                }
                // The write happens before the read (Modbus Application Protocol 6.17).
                for (k, w) in words.iter().enumerate() {
                    self.mem.set_reg(wa as usize + k, *w);
                }
                self.writes.record(23, wa, words.len() as u16, words[0]);
                st.registers_read.fetch_add(rn as u64, Ordering::Relaxed);
                Ok(Response::ReadWriteMultipleRegisters(
                    self.mem.read_regs(ra, rn),
                ))
            }
            _ => Err(IllegalFunction),
        }
    }
}

impl tokio_modbus::server::Service for Svc {
    type Request = SlaveRequest<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = std::future::Ready<Result<Response, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let st = &self.0.stats;
        st.requests.fetch_add(1, Ordering::Relaxed);
        let fc = req.request.function_code().value() as usize;
        if let Some(c) = st.fc.get(fc) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let res = self.0.handle(req.request);
        if res.is_err() {
            st.exceptions.fetch_add(1, Ordering::Relaxed);
        }
        std::future::ready(res)
    }
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

fn stats_json(peer: &Peer, event: &str, start: Instant, change_ms: u64) -> String {
    let st = &peer.stats;
    let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let fcs: Vec<String> = st
        .fc
        .iter()
        .enumerate()
        .filter(|(_, c)| g(c) > 0)
        .map(|(i, c)| format!("\"{i}\":{}", g(c)))
        .collect();
    let (logged, last) = match peer.writes.records.lock() {
        Ok(r) => {
            let last: Vec<String> = r
                .iter()
                .rev()
                .take(5)
                .rev()
                .map(|w| {
                    format!(
                        "{{\"t_ms\":{:.3},\"fc\":{},\"addr\":{},\"qty\":{},\"value\":{}}}",
                        w.t_us as f64 / 1000.0,
                        w.fc,
                        w.addr,
                        w.qty,
                        w.first
                    )
                })
                .collect();
            (r.len(), last.join(","))
        }
        Err(_) => (0, String::new()),
    };
    format!(
        "{{\"tool\":\"modbus-peer\",\"event\":\"{event}\",\"t_s\":{:.3},\"requests\":{},\
         \"read_requests\":{},\"write_requests\":{},\"registers_read\":{},\"bits_read\":{},\
         \"exceptions\":{},\"connections\":{},\"connections_open\":{},\"change_every_ms\":{},\
         \"changes\":{},\"by_function\":{{{}}},\"writes_logged\":{},\"writes_not_logged\":{},\
         \"last_writes\":[{}]}}",
        start.elapsed().as_secs_f64(),
        g(&st.requests),
        g(&st.read_requests),
        g(&st.write_requests),
        g(&st.registers_read),
        g(&st.bits_read),
        g(&st.exceptions),
        g(&st.connections),
        g(&st.connections_open),
        change_ms,
        g(&st.changes),
        fcs.join(","),
        logged,
        g(&peer.writes.dropped),
        last
    )
}

fn print_line(s: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{s}");
    let _ = out.flush();
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

fn main() {
    let args = Args::parse();
    let rt = runtime::start("modbus-peer", Threads::from_count(args.threads));
    let code = rt.block_on(async {
        match run(args).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("modbus-peer: error: {e}");
                1
            }
        }
    });
    rt.shutdown_timeout(Duration::from_millis(500));
    std::process::exit(code);
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    use tokio::signal::unix::{signal, SignalKind};

    let index_init = match args.init.as_str() {
        "index" => true,
        "zero" => false,
        s => return Err(format!("--init: expected index or zero, not {s:?}").into()),
    };
    let start = Instant::now();
    let peer = Arc::new(Peer {
        mem: Memory::new(index_init),
        stats: Stats::default(),
        writes: WriteLog {
            start,
            max: args.max_write_log,
            records: Mutex::new(Vec::new()),
            dropped: AtomicU64::new(0),
        },
    });

    // Signals first, so a TERM right after the ready line is never lost.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut usr1 = signal(SignalKind::user_defined1())?;

    let addr: SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .or_else(|_| {
            // A host name such as "localhost".
            std::net::ToSocketAddrs::to_socket_addrs(&(args.host.as_str(), args.port))
                .ok()
                .and_then(|mut a| a.next())
                .ok_or("cannot resolve --host")
        })?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;

    if args.change_every_ms > 0 {
        let p = peer.clone();
        let period = Duration::from_millis(args.change_every_ms);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                p.mem.generation.fetch_add(1, Ordering::Relaxed);
                p.stats.changes.fetch_add(1, Ordering::Relaxed);
            }
        });
    }

    let server = Server::new(listener);
    let p = peer.clone();
    let new_service = move |_addr: SocketAddr| -> std::io::Result<Option<Svc>> {
        p.stats.connections.fetch_add(1, Ordering::Relaxed);
        p.stats.connections_open.fetch_add(1, Ordering::Relaxed);
        Ok(Some(Svc(p.clone())))
    };
    let on_connected = move |stream: tokio::net::TcpStream, addr: SocketAddr| {
        let _ = stream.set_nodelay(true);
        let svc = new_service.clone();
        async move { accept_tcp_connection(stream, addr, svc) }
    };
    let on_error = |e: std::io::Error| eprintln!("modbus-peer: connection error: {e}");

    eprintln!(
        "modbus-peer ready on {local} (65536 holding registers and coils, change every {} ms)",
        args.change_every_ms
    );

    let deadline = async {
        if args.run_s > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(args.run_s)).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(deadline);
    let serve = server.serve(&on_connected, on_error);
    tokio::pin!(serve);
    loop {
        tokio::select! {
            r = &mut serve => {
                r.map_err(|e| format!("listener failed: {e}"))?;
                break;
            }
            _ = usr1.recv() => print_line(&stats_json(&peer, "stats", start, args.change_every_ms)),
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = &mut deadline => break,
        }
    }
    print_line(&stats_json(&peer, "exit", start, args.change_every_ms));
    Ok(())
}
