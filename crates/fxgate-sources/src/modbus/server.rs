//! The Modbus TCP server: exposes tags of the store (any source) as coils, discrete
//! inputs and registers on a server line; writes go back to the owning source.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use fxgate_config::modbus::{Address, Area, Encoding};
use fxgate_config::{LineConfig, ModbusServerConfig};
use fxgate_core::store::StoreError;
use fxgate_core::{Component, ComponentContext, Declared, RunningComponent, TagId, TagStore, TagStoreBuilder};
use fxgate_lines::{LineMetrics, LineServer, LineStatus};
use opcua::types::Variant;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};

use super::codec::{decode_registers, encode_registers, to_bool, to_tag_type};
use super::status::write_exception;

/// A server line with a Modbus server on it.
pub struct ModbusServerLine {
    line: LineConfig,
    server: ModbusServerConfig,
    app_dir: PathBuf,
    status: LineStatus,
}

impl ModbusServerLine {
    /// The Modbus server `server` on `line`.
    pub fn new(line: LineConfig, server: ModbusServerConfig, app_dir: PathBuf, metrics: LineMetrics) -> Self {
        let status = LineStatus::new(&line.name, metrics);
        Self { line, server, app_dir, status }
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
                if !cache.contains_key(&idx) {
                    let e = &self.tables.entries[idx];
                    let words = encode_registers(&self.value(e)?, &e.enc).map_err(|_| ExceptionCode::ServerDeviceFailure)?;
                    cache.insert(idx, words);
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

    fn handle(&self, req: SlaveRequest<'static>) -> BoxFuture<'static, Result<Response, ExceptionCode>> {
        if !self.units.is_empty() && !self.units.contains(&req.slave) {
            return futures::future::ready(Err(ExceptionCode::GatewayPathUnavailable)).boxed();
        }
        let ready = |r| futures::future::ready(r).boxed();
        match req.request {
            Request::ReadCoils(a, n) => ready(self.read_bits(Area::Coil, a, n).map(Response::ReadCoils)),
            Request::ReadDiscreteInputs(a, n) => {
                ready(self.read_bits(Area::DiscreteInput, a, n).map(Response::ReadDiscreteInputs))
            }
            Request::ReadHoldingRegisters(a, n) => {
                ready(self.read_words(Area::HoldingRegister, a, n).map(Response::ReadHoldingRegisters))
            }
            Request::ReadInputRegisters(a, n) => {
                ready(self.read_words(Area::InputRegister, a, n).map(Response::ReadInputRegisters))
            }
            Request::WriteSingleCoil(a, v) => self.write_coils(a, vec![v], Response::WriteSingleCoil(a, v)),
            Request::WriteMultipleCoils(a, coils) => {
                let n = coils.len() as u16;
                self.write_coils(a, coils.into_owned(), Response::WriteMultipleCoils(a, n))
            }
            Request::WriteSingleRegister(a, w) => self.write_registers(a, vec![w], Response::WriteSingleRegister(a, w)),
            Request::WriteMultipleRegisters(a, words) => {
                let n = words.len() as u16;
                self.write_registers(a, words.into_owned(), Response::WriteMultipleRegisters(a, n))
            }
            _ => ready(Err(ExceptionCode::IllegalFunction)),
        }
    }

    fn write_coils(&self, start: u16, coils: Vec<bool>, ok: Response) -> BoxFuture<'static, Result<Response, ExceptionCode>> {
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

    fn write_registers(&self, start: u16, words: Vec<u16>, ok: Response) -> BoxFuture<'static, Result<Response, ExceptionCode>> {
        let plan = self.plan_register_writes(start, &words);
        self.run_writes(plan, ok)
    }

    fn run_writes(&self, plan: Result<Vec<(TagId, Variant)>, ExceptionCode>, ok: Response) -> BoxFuture<'static, Result<Response, ExceptionCode>> {
        let store = self.store.clone();
        async move {
            Self::apply(store, plan?).await?;
            Ok(ok)
        }
        .boxed()
    }
}

impl tokio_modbus::server::Service for Service {
    type Request = SlaveRequest<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = BoxFuture<'static, Result<Response, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let status = self.status.clone();
        let fut = self.handle(req);
        async move {
            let r = fut.await;
            status.requests(u64::from(r.is_ok()), u64::from(r.is_err()));
            r
        }
        .boxed()
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

    fn build(self: Box<Self>, cx: ComponentContext) -> BoxFuture<'static, Result<RunningComponent, String>> {
        async move {
            let this = *self;
            this.status.attach(cx.store.clone(), &cx.tags);
            let mut tables = Tables::default();
            for (j, m) in this.server.map.iter().enumerate() {
                let tag = cx
                    .store
                    .id_of(&m.tag)
                    .ok_or_else(|| format!("modbus_server `{}`: map[{j}]: no tag `{}`", this.server.name, m.tag))?;
                let addr = Address::parse(&m.address).map_err(|e| format!("map[{j}]: {e}"))?;
                tables.add(Entry { tag, addr, enc: m.encoding() });
            }
            let server = LineServer::new(this.line.clone(), &this.app_dir, this.status.clone())
                .map_err(|e| format!("line `{}`: {e}", this.line.name))?;
            let listener = server.bind().map_err(|e| format!("line `{}`: {e}", this.line.name))?;
            let tables = Arc::new(tables);
            let units: Arc<[u8]> = this.server.unit_ids.clone().into();
            let store = cx.store.clone();
            let serve_bad = this.server.serve_bad_values;
            let status = this.status.clone();
            let shutdown = cx.shutdown.clone();
            let line_name = this.line.name.clone();
            let task = async move {
                let on_connected = |tcp: tokio::net::TcpStream, peer: std::net::SocketAddr| {
                    let service = Service {
                        store: store.clone(),
                        tables: tables.clone(),
                        units: units.clone(),
                        serve_bad,
                        status: status.clone(),
                    };
                    let stream = server.wrap(tcp, peer);
                    tracing::debug!(line = %line_name, %peer, "Modbus client connected");
                    async move { Ok(Some((service, stream))) }
                };
                let line = line_name.clone();
                let on_error = move |e: std::io::Error| tracing::info!(%line, error = %e, "Modbus client connection ended");
                let srv = tokio_modbus::server::tcp::Server::new(listener);
                tokio::select! {
                    _ = shutdown.cancelled() => Ok(()),
                    r = srv.serve(&on_connected, on_error) => r.map_err(|e| format!("Modbus server stopped: {e}")),
                }
            }
            .boxed();
            Ok(RunningComponent { task, health: Arc::new(|| Ok(())) })
        }
        .boxed()
    }
}
