//! The Modbus TCP server: exposes tags of the store (any source) as coils, discrete
//! inputs and registers on a server line; writes go back to the owning source.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use crate::config::address::{Address, Area, Encoding};
use fxgate_config::LineConfig;
use crate::config::ModbusServerConfig;
use fxgate_core::store::StoreError;
use fxgate_core::{BuildError, Component, ComponentContext, Declared, RunningComponent, TagId, TagStore, TagStoreBuilder};

use crate::error::SetupError;
use fxgate_lines::{LineMetrics, LineServer, LineStatus};
use opcua::types::Variant;
use tokio_modbus::ExceptionCode;
use tokio_util::sync::CancellationToken;

use crate::codec::{decode_registers, encode_registers, to_bool, to_tag_type};
use crate::frame::{self, Req, Resp};
use crate::status::write_exception;

/// A server line with a Modbus server on it.
pub struct ModbusServerLine {
    line: LineConfig,
    server: ModbusServerConfig,
    config_dir: PathBuf,
    status: LineStatus,
}

impl ModbusServerLine {
    /// The Modbus server `server` on `line`.
    pub fn new(line: LineConfig, server: ModbusServerConfig, config_dir: PathBuf, metrics: LineMetrics) -> Self {
        let status = LineStatus::new(&line.name, metrics);
        Self { line, server, config_dir, status }
    }
}

/// One mapped tag.
#[derive(Debug, Clone)]
struct Entry {
    tag: TagId,
    addr: Address,
    enc: Encoding,
}

impl Entry {
    fn registers(&self) -> u16 {
        self.enc.data_type.registers(self.enc.length)
    }
}

/// The server's tables: which entry covers each address.
#[derive(Default)]
struct Tables {
    entries: Vec<Entry>,
    /// (area, address) → (entry, word within the entry) for whole-register mappings.
    words: HashMap<(Area, u16), (usize, u16)>,
    /// (area, address) → bit entries of a register.
    reg_bits: HashMap<(Area, u16), Vec<usize>>,
    /// (area, address) → entry for coils and discrete inputs.
    bits: HashMap<(Area, u16), usize>,
}

impl Tables {
    fn add(&mut self, e: Entry) {
        let idx = self.entries.len();
        let key = (e.addr.area, e.addr.offset);
        if e.addr.area.is_bits() {
            self.bits.insert(key, idx);
        } else if e.addr.bit.is_some() {
            self.reg_bits.entry(key).or_default().push(idx);
        } else {
            for k in 0..e.registers() {
                if let Some(a) = e.addr.offset.checked_add(k) {
                    self.words.insert((e.addr.area, a), (idx, k));
                }
            }
        }
        self.entries.push(e);
    }
}

struct Service {
    store: Arc<TagStore>,
    tables: Arc<Tables>,
    units: Arc<[u8]>,
    serve_bad: bool,
    status: LineStatus,
}

impl Service {
    /// The current value of an entry, if it may be served.
    fn value(&self, e: &Entry) -> Result<Variant, ExceptionCode> {
        let v = self.store.get(e.tag).ok_or(ExceptionCode::ServerDeviceFailure)?;
        if matches!(v.value, Variant::Empty) || (!v.status.is_good() && !self.serve_bad) {
            return Err(ExceptionCode::GatewayTargetDevice);
        }
        Ok(v.value)
    }

    fn read_words(&self, area: Area, start: u16, count: u16) -> Result<Vec<u16>, ExceptionCode> {
        let mut cache: HashMap<usize, Vec<u16>> = HashMap::new();
        let mut out = Vec::with_capacity(usize::from(count));
        for k in 0..count {
            let a = start.checked_add(k).ok_or(ExceptionCode::IllegalDataAddress)?;
            if let Some(&(idx, word)) = self.tables.words.get(&(area, a)) {
                if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(idx) {
                    let e = &self.tables.entries[idx];
                    let words = encode_registers(&self.value(e)?, &e.enc).map_err(|_| ExceptionCode::ServerDeviceFailure)?;
                    slot.insert(words);
                }
                out.push(cache[&idx].get(usize::from(word)).copied().unwrap_or(0));
            } else if let Some(list) = self.tables.reg_bits.get(&(area, a)) {
                let mut w = 0u16;
                for &idx in list {
                    let e = &self.tables.entries[idx];
                    let on = to_bool(&self.value(e)?).map_err(|_| ExceptionCode::ServerDeviceFailure)?;
                    w |= u16::from(on) << e.addr.bit.unwrap_or(0);
                }
                out.push(w);
            } else {
                return Err(ExceptionCode::IllegalDataAddress);
            }
        }
        Ok(out)
    }

    fn read_bits(&self, area: Area, start: u16, count: u16) -> Result<Vec<bool>, ExceptionCode> {
        (0..count)
            .map(|k| {
                let a = start.checked_add(k).ok_or(ExceptionCode::IllegalDataAddress)?;
                let idx = *self.tables.bits.get(&(area, a)).ok_or(ExceptionCode::IllegalDataAddress)?;
                to_bool(&self.value(&self.tables.entries[idx])?).map_err(|_| ExceptionCode::ServerDeviceFailure)
            })
            .collect()
    }

    /// The writes `words` at `start` make: whole entries only.
    fn plan_register_writes(&self, start: u16, words: &[u16]) -> Result<Vec<(TagId, Variant)>, ExceptionCode> {
        let mut out = Vec::new();
        let mut k = 0usize;
        while k < words.len() {
            let a = start.checked_add(k as u16).ok_or(ExceptionCode::IllegalDataAddress)?;
            let key = (Area::HoldingRegister, a);
            if let Some(&(idx, word)) = self.tables.words.get(&key) {
                let e = &self.tables.entries[idx];
                let n = usize::from(e.registers());
                if word != 0 || k + n > words.len() {
                    // Part of a multi-register value: refuse rather than write half a number.
                    return Err(ExceptionCode::IllegalDataValue);
                }
                let v = decode_registers(&words[k..k + n], &e.enc).map_err(|_| ExceptionCode::IllegalDataValue)?;
                out.push((e.tag, self.typed(e.tag, v)?));
                k += n;
            } else if let Some(list) = self.tables.reg_bits.get(&key) {
                for &idx in list {
                    let e = &self.tables.entries[idx];
                    let on = words[k] >> e.addr.bit.unwrap_or(0) & 1 == 1;
                    out.push((e.tag, self.typed(e.tag, Variant::Boolean(on))?));
                }
                k += 1;
            } else {
                return Err(ExceptionCode::IllegalDataAddress);
            }
        }
        Ok(out)
    }

    fn typed(&self, tag: TagId, v: Variant) -> Result<Variant, ExceptionCode> {
        let def = self.store.def(tag).ok_or(ExceptionCode::ServerDeviceFailure)?;
        to_tag_type(&v, def.data_type).map_err(|_| ExceptionCode::IllegalDataValue)
    }

    async fn apply(store: Arc<TagStore>, writes: Vec<(TagId, Variant)>) -> Result<(), ExceptionCode> {
        for (tag, value) in writes {
            let status = store.write(tag, value).await;
            if !status.is_good() {
                return Err(write_exception(status));
            }
        }
        Ok(())
    }

    fn handle(&self, unit: u8, pdu: &[u8]) -> BoxFuture<'static, Result<Resp, ExceptionCode>> {
        let ready = |r| futures::future::ready(r).boxed();
        if !self.units.is_empty() && !self.units.contains(&unit) {
            return ready(Err(ExceptionCode::GatewayPathUnavailable));
        }
        let req = match frame::parse(pdu) {
            Ok(r) => r,
            Err(e) => return ready(Err(e)),
        };
        let echo = Resp::Echo(frame::echo(pdu));
        match req {
            Req::ReadBits { area, addr, qty } => ready(self.read_bits(area, addr, qty).map(Resp::Bits)),
            Req::ReadWords { area, addr, qty } => ready(self.read_words(area, addr, qty).map(Resp::Words)),
            Req::WriteCoil { addr, on } => self.write_coils(addr, vec![on], echo),
            Req::WriteCoils { addr, coils } => self.write_coils(addr, coils, echo),
            Req::WriteRegister { addr, value } => self.write_registers(addr, vec![value], echo),
            Req::WriteRegisters { addr, words } => self.write_registers(addr, words, echo),
        }
    }

    fn write_coils(&self, start: u16, coils: Vec<bool>, ok: Resp) -> BoxFuture<'static, Result<Resp, ExceptionCode>> {
        let plan: Result<Vec<(TagId, Variant)>, ExceptionCode> = coils
            .iter()
            .enumerate()
            .map(|(k, &on)| {
                let a = start.checked_add(k as u16).ok_or(ExceptionCode::IllegalDataAddress)?;
                let idx = *self.tables.bits.get(&(Area::Coil, a)).ok_or(ExceptionCode::IllegalDataAddress)?;
                let tag = self.tables.entries[idx].tag;
                Ok((tag, self.typed(tag, Variant::Boolean(on))?))
            })
            .collect();
        self.run_writes(plan, ok)
    }

    fn write_registers(&self, start: u16, words: Vec<u16>, ok: Resp) -> BoxFuture<'static, Result<Resp, ExceptionCode>> {
        let plan = self.plan_register_writes(start, &words);
        self.run_writes(plan, ok)
    }

    fn run_writes(&self, plan: Result<Vec<(TagId, Variant)>, ExceptionCode>, ok: Resp) -> BoxFuture<'static, Result<Resp, ExceptionCode>> {
        let store = self.store.clone();
        async move {
            Self::apply(store, plan?).await?;
            Ok(ok)
        }
        .boxed()
    }
}

/// Serves one client connection until it ends, breaks the framing, or shutdown.
async fn serve_connection(service: Arc<Service>, mut stream: fxgate_lines::ServerStream, peer: std::net::SocketAddr, line: String, shutdown: CancellationToken) {
    loop {
        let frame = tokio::select! {
            _ = shutdown.cancelled() => return,
            f = frame::read_frame(&mut stream) => f,
        };
        let f = match frame {
            Ok(Some(f)) => f,
            Ok(None) => {
                tracing::debug!(%line, %peer, "Modbus client disconnected");
                return;
            }
            Err(e) => {
                tracing::info!(%line, %peer, error = %e, "Modbus client connection ended");
                return;
            }
        };
        let fc = f.pdu.first().copied().unwrap_or(0);
        let r = service.handle(f.unit, &f.pdu).await;
        service.status.requests(u64::from(r.is_ok()), u64::from(r.is_err()));
        if let Err(e) = frame::write_frame(&mut stream, f.tid, f.unit, &frame::encode(fc, &r)).await {
            tracing::info!(%line, %peer, error = %e, "Modbus client connection ended");
            return;
        }
    }
}

impl Component for ModbusServerLine {
    fn kind(&self) -> &'static str {
        "modbus server line"
    }

    fn name(&self) -> String {
        self.line.name.clone()
    }

    fn declare(&self, b: &mut TagStoreBuilder) -> Result<Declared, StoreError> {
        Ok(Declared { tags: self.status.declare(b)?, writes: None })
    }

    fn build(self: Box<Self>, cx: ComponentContext) -> BoxFuture<'static, Result<RunningComponent, BuildError>> {
        async move {
            let this = *self;
            this.status.attach(cx.store.clone(), &cx.tags);
            let mut tables = Tables::default();
            for (j, m) in this.server.map.iter().enumerate() {
                let tag = cx
                    .store
                    .id_of(&m.tag)
                    .ok_or_else(|| BuildError::protocol(SetupError::UnknownTag { server: this.server.name.clone(), index: j, tag: m.tag.clone() }))?;
                let addr = Address::parse(&m.address).map_err(|e| BuildError::protocol(SetupError::Address { index: j, reason: e }))?;
                tables.add(Entry { tag, addr, enc: m.encoding() });
            }
            let server = LineServer::new(this.line.clone(), &this.config_dir, this.status.clone())
                .map_err(|e| BuildError::protocol(SetupError::Line { line: this.line.name.clone(), reason: e.to_string() }))?;
            let listener = server.bind().map_err(|e| BuildError::protocol(SetupError::Line { line: this.line.name.clone(), reason: e.to_string() }))?;
            let tables = Arc::new(tables);
            let units: Arc<[u8]> = this.server.unit_ids.clone().into();
            let store = cx.store.clone();
            let serve_bad = this.server.serve_bad_values;
            let status = this.status.clone();
            let shutdown = cx.shutdown.clone();
            let line_name = this.line.name.clone();
            let service = Arc::new(Service { store, tables, units, serve_bad, status });
            let task = async move {
                // The connections are this component's tasks too: joined, not detached.
                let mut connections = tokio::task::JoinSet::new();
                loop {
                    let (tcp, peer) = tokio::select! {
                        _ = shutdown.cancelled() => {
                            let drain = async { while connections.join_next().await.is_some() {} };
                            if tokio::time::timeout(std::time::Duration::from_secs(2), drain).await.is_err() {
                                connections.abort_all();
                            }
                            return Ok(());
                        }
                        Some(ended) = connections.join_next() => {
                            if let Err(e) = ended {
                                tracing::error!(line = %line_name, error = %e, "a Modbus connection task ended abnormally");
                            }
                            continue;
                        }
                        a = listener.accept() => match a {
                            Ok(a) => a,
                            Err(e) => {
                                // E.g. out of file descriptors: keep the server, try again shortly.
                                tracing::warn!(line = %line_name, error = %e, "cannot accept a Modbus client");
                                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                                continue;
                            }
                        },
                    };
                    tracing::debug!(line = %line_name, %peer, "Modbus client connected");
                    let stream = server.wrap(tcp, peer);
                    connections.spawn(serve_connection(service.clone(), stream, peer, line_name.clone(), shutdown.clone()));
                }
            }
            .boxed();
            Ok(RunningComponent { task, health: Arc::new(|| Ok(())) })
        }
        .boxed()
    }
}
