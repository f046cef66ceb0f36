//! The Modbus TCP client: one connection per line (alternating between primary and
//! backup), every device on the line polled by its plan, writes sent between polls.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use crate::config::address::Area;
use fxgate_config::LineConfig;
use crate::config::DeviceConfig;
use fxgate_core::store::StoreError;
use fxgate_core::{
    BuildError, Component, ComponentContext, Declared, RunningComponent, TagStore, TagStoreBuilder, TagValue, WriteReceiver,
    WriteRequest,
};
use fxgate_lines::{LineClient, LineMetrics, LineState, LineStatus};
use opcua::types::{DateTime, StatusCode, Variant};
use tokio::time::Instant;
use tokio_modbus::client::Context;
use tokio_modbus::prelude::SlaveContext;
use tokio_modbus::{ExceptionCode, Request, Response, Slave};
use tokio_util::sync::CancellationToken;

use crate::error::{RequestError, SetupError};
use crate::codec::{encode_registers, to_bool};
use crate::device::{self, Device};
use crate::plan::{Block, Item};
use crate::status::exception_status;

/// A client line with the Modbus devices on it.
pub struct ModbusClientLine {
    line: LineConfig,
    devices: Vec<DeviceConfig>,
    config_dir: PathBuf,
    status: LineStatus,
}

impl ModbusClientLine {
    /// The line `line` with `devices`; `config_dir` (the configuration file's directory) expands `#APPDIR#` in TLS paths.
    pub fn new(line: LineConfig, devices: Vec<DeviceConfig>, config_dir: PathBuf, metrics: LineMetrics) -> Self {
        let status = LineStatus::new(&line.name, metrics);
        Self { line, devices, config_dir, status }
    }
}

impl Component for ModbusClientLine {
    fn kind(&self) -> &'static str {
        "modbus client line"
    }

    fn name(&self) -> String {
        self.line.name.clone()
    }

    fn declare(&self, b: &mut TagStoreBuilder) -> Result<Declared, StoreError> {
        let mut tags = self.status.declare(b)?;
        let first = b.len();
        let mut writers = Vec::new();
        for d in &self.devices {
            if device::declare(d, b)? {
                writers.push(d.name.as_str());
            }
        }
        let last = b.len();
        tags.extend((first..last).map(|i| i as fxgate_core::TagId));
        let writes = if writers.is_empty() { None } else { Some(b.add_writer_for(&writers)?) };
        Ok(Declared { tags, writes })
    }

    fn build(self: Box<Self>, cx: ComponentContext) -> BoxFuture<'static, Result<RunningComponent, BuildError>> {
        async move {
            let this = *self;
            let (status_ids, rest) = cx.tags.split_at(4.min(cx.tags.len()));
            this.status.attach(cx.store.clone(), status_ids);
            let mut devices = Vec::new();
            let mut at = 0;
            for d in &this.devices {
                let n = device::tag_count(d);
                let ids = rest.get(at..at + n).ok_or(BuildError::protocol(SetupError::TagIds))?;
                devices.push(Device::new(d, ids));
                at += n;
            }
            let client = LineClient::new(this.line.clone(), &this.config_dir, this.status.clone())
                .map_err(|e| BuildError::protocol(SetupError::Line { line: this.line.name.clone(), reason: e.to_string() }))?;
            let health = this.status.health();
            let driver = Driver {
                line: client,
                devices,
                store: cx.store.clone(),
                writes: cx.writes,
                shutdown: cx.shutdown.clone(),
                connect_timeout: Duration::from_millis(this.line.connect_timeout_ms),
            };
            Ok(RunningComponent { task: driver.run().boxed(), health })
        }
        .boxed()
    }
}

/// Why the poll loop ended.
enum End {
    Shutdown,
    Broken(RequestError),
}

struct Driver {
    line: LineClient,
    devices: Vec<Device>,
    store: Arc<TagStore>,
    writes: Option<WriteReceiver>,
    shutdown: CancellationToken,
    connect_timeout: Duration,
}

async fn recv(rx: &mut Option<WriteReceiver>) -> Option<WriteRequest> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// A request's outcome: data, a Modbus exception, or a broken connection.
type Outcome<T> = Result<Result<T, ExceptionCode>, RequestError>;

async fn call<T>(
    fut: impl std::future::Future<Output = tokio_modbus::Result<T>>,
    timeout: Duration,
) -> Outcome<T> {
    match tokio::time::timeout(timeout, fut).await {
        Err(_) => Err(RequestError::Timeout(timeout.as_millis())),
        Ok(Err(e)) => Err(RequestError::Transport(e.to_string())),
        Ok(Ok(r)) => Ok(r),
    }
}

/// Sends one request. The answer is checked here, not by tokio-modbus's typed helpers:
/// those assert (and panic in debug builds) when a device answers with the wrong count.
async fn request(ctx: &mut Context, req: Request<'_>, timeout: Duration) -> Outcome<Response> {
    call(tokio_modbus::client::Client::call(ctx, req), timeout).await
}

async fn read(ctx: &mut Context, unit: u8, area: Area, start: u16, count: u16, timeout: Duration) -> Outcome<Vec<u16>> {
    ctx.set_slave(Slave(unit));
    let req = match area {
        Area::Coil => Request::ReadCoils(start, count),
        Area::DiscreteInput => Request::ReadDiscreteInputs(start, count),
        Area::InputRegister => Request::ReadInputRegisters(start, count),
        Area::HoldingRegister => Request::ReadHoldingRegisters(start, count),
    };
    let words: Vec<u16> = match request(ctx, req, timeout).await? {
        Err(exc) => return Ok(Err(exc)),
        Ok(Response::ReadCoils(v) | Response::ReadDiscreteInputs(v)) => v.into_iter().map(u16::from).collect(),
        Ok(Response::ReadInputRegisters(v) | Response::ReadHoldingRegisters(v)) => v,
        Ok(other) => return Err(RequestError::UnexpectedResponse(format!("{other:?}"))),
    };
    // Bits come in whole bytes; registers must match exactly.
    let fits = if area.is_bits() { words.len() >= usize::from(count) } else { words.len() == usize::from(count) };
    if !fits {
        return Err(RequestError::WrongCount { got: words.len(), asked: count });
    }
    Ok(Ok(words.into_iter().take(usize::from(count)).collect()))
}

/// Sends a write; any well-formed write response is success.
async fn write_request(ctx: &mut Context, req: Request<'_>, timeout: Duration) -> Outcome<()> {
    match request(ctx, req, timeout).await? {
        Err(exc) => Ok(Err(exc)),
        Ok(
            Response::WriteSingleCoil(..)
            | Response::WriteMultipleCoils(..)
            | Response::WriteSingleRegister(..)
            | Response::WriteMultipleRegisters(..)
            | Response::MaskWriteRegister(..),
        ) => Ok(Ok(())),
        Ok(other) => Err(RequestError::UnexpectedResponse(format!("{other:?}"))),
    }
}


impl Driver {
    fn all_tags(&self) -> Vec<fxgate_core::TagId> {
        self.devices.iter().flat_map(|d| d.tags.iter().copied()).collect()
    }

    /// Marks every tag `Bad_NoCommunication` (last value and timestamp kept) and forgets the
    /// last reads, so everything is published again on reconnect.
    fn lost(&mut self) {
        self.store.set_status(&self.all_tags(), StatusCode::BadNoCommunication);
        for d in &mut self.devices {
            for g in &mut d.groups {
                for b in &mut g.blocks {
                    b.last.clear();
                    b.status.iter_mut().for_each(|s| *s = StatusCode::BadNoCommunication);
                }
            }
        }
    }

    async fn run(mut self) -> fxgate_core::ComponentResult {
        let mut first = true;
        loop {
            let conn = {
                let timer = tokio::time::sleep(self.connect_timeout);
                tokio::pin!(timer);
                let mut marked = !first;
                let connect = self.line.connect(&self.shutdown);
                tokio::pin!(connect);
                loop {
                    tokio::select! {
                        c = &mut connect => break c,
                        Some(req) = recv(&mut self.writes) => req.answer(StatusCode::BadNoCommunication),
                        _ = &mut timer, if !marked => {
                            marked = true;
                            self.store.set_status(&self.devices.iter().flat_map(|d| d.tags.iter().copied()).collect::<Vec<_>>(), StatusCode::BadNoCommunication);
                        }
                    }
                }
            };
            first = false;
            let Some(conn) = conn else {
                self.line.status().set(LineState::Stopped, "");
                return Ok(());
            };
            let mut ctx = tokio_modbus::client::tcp::attach(conn.stream);
            let now = Instant::now();
            for d in &mut self.devices {
                d.groups.iter_mut().for_each(|g| g.due = now);
            }
            match self.poll_loop(&mut ctx).await {
                End::Shutdown => {
                    let _ = tokio::time::timeout(Duration::from_secs(1), tokio_modbus::client::Client::disconnect(&mut ctx)).await;
                    self.line.status().set(LineState::Stopped, "");
                    return Ok(());
                }
                End::Broken(reason) => {
                    self.line.broken(&reason.to_string());
                    self.lost();
                }
            }
        }
    }

    async fn poll_loop(&mut self, ctx: &mut Context) -> End {
        loop {
            let Some((d, g, due)) = self
                .devices
                .iter()
                .enumerate()
                .flat_map(|(d, dev)| dev.groups.iter().enumerate().map(move |(g, grp)| (d, g, grp.due)))
                .min_by_key(|x| x.2)
            else {
                // No tags at all: keep the line up and serve nothing but shutdown.
                tokio::select! {
                    _ = self.shutdown.cancelled() => return End::Shutdown,
                    Some(req) = recv(&mut self.writes) => req.answer(StatusCode::BadNodeIdUnknown),
                }
                continue;
            };
            tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return End::Shutdown,
                Some(req) = recv(&mut self.writes) => {
                    if let Err(reason) = self.write(ctx, req).await {
                        return End::Broken(reason);
                    }
                }
                _ = tokio::time::sleep_until(due) => {
                    if let Err(reason) = self.poll_group(ctx, d, g).await {
                        return End::Broken(reason);
                    }
                    let grp = &mut self.devices[d].groups[g];
                    let now = Instant::now();
                    grp.due += grp.interval;
                    if grp.due <= now {
                        // Overrun: skip the missed polls rather than bunching them.
                        grp.due = now + grp.interval;
                    }
                }
            }
        }
    }

    async fn poll_group(&mut self, ctx: &mut Context, d: usize, g: usize) -> Result<(), RequestError> {
        let (unit, timeout) = (self.devices[d].unit, self.devices[d].timeout);
        let mut updates: Vec<(fxgate_core::TagId, TagValue)> = Vec::new();
        let mut bi = 0;
        let (mut ok, mut failed) = (0u64, 0u64);
        let result = loop {
            // Writes go out between the requests of a poll, not after the whole poll: a large
            // plan would otherwise hold a write back for the full cycle.
            while let Some(req) = self.writes.as_mut().and_then(|w| w.try_recv().ok()) {
                self.write(ctx, req).await?;
            }
            let grp = &mut self.devices[d].groups[g];
            let Some(block) = grp.blocks.get(bi) else { break Ok(()) };
            let (area, start, count) = (block.area, block.start, block.count);
            match read(ctx, unit, area, start, count, timeout).await {
                Err(reason) => {
                    failed += 1;
                    break Err(reason);
                }
                Ok(Ok(words)) => {
                    ok += 1;
                    let stamp = DateTime::now();
                    let grp = &mut self.devices[d].groups[g];
                    publish(&grp.items, &mut grp.blocks[bi], words, stamp, &mut updates);
                    bi += 1;
                }
                Ok(Err(exc)) => {
                    failed += 1;
                    let dev = &mut self.devices[d];
                    let (dev, grp) = (&dev.name, &mut dev.groups[g]);
                    let block = &grp.blocks[bi];
                    if exc == ExceptionCode::IllegalDataAddress && block.items.len() > 1 {
                        tracing::warn!(device = %dev, range = %format!("{}:{}..{}", area.prefix(), start, u32::from(start) + u32::from(count)),
                            tags = block.items.len(), "the device refused the range (illegal data address); reading its tags one by one");
                        let parts = block.split(&grp.items);
                        grp.blocks.splice(bi..=bi, parts);
                        continue;
                    }
                    let status = exception_status(exc);
                    let block = &mut grp.blocks[bi];
                    let mut bad = Vec::new();
                    for (j, &i) in block.items.iter().enumerate() {
                        if block.status[j] != status {
                            block.status[j] = status;
                            bad.push(grp.items[i].tag);
                        }
                    }
                    block.last.clear();
                    if !bad.is_empty() {
                        tracing::warn!(device = %dev, range = %format!("{}:{}+{}", area.prefix(), start, count), exception = ?exc, %status, "Modbus exception");
                        self.store.set_status(&bad, status);
                    }
                    bi += 1;
                }
            }
        };
        self.line.status().requests(ok, failed);
        if !updates.is_empty() {
            self.store.update(updates);
        }
        result
    }

    /// Sends one write; `Err` when the connection broke.
    async fn write(&mut self, ctx: &mut Context, req: WriteRequest) -> Result<(), RequestError> {
        let Some((d, g, i)) = self
            .devices
            .iter()
            .enumerate()
            .find_map(|(d, dev)| dev.by_tag.get(&req.tag).map(|&(g, i)| (d, g, i)))
        else {
            req.answer(StatusCode::BadNodeIdUnknown);
            return Ok(());
        };
        let dev = &self.devices[d];
        let (unit, timeout) = (dev.unit, dev.timeout);
        let item = dev.groups[g].items[i].clone();
        ctx.set_slave(Slave(unit));
        let a = item.addr;
        let outcome: Outcome<()> = match (a.area, a.bit) {
            (Area::Coil, _) => match to_bool(&req.value) {
                Ok(v) => write_request(ctx, Request::WriteSingleCoil(a.offset, v), timeout).await,
                Err(s) => return answer(req, s),
            },
            (Area::HoldingRegister, Some(bit)) => match to_bool(&req.value) {
                Ok(v) => {
                    let req = Request::MaskWriteRegister(a.offset, !(1u16 << bit), u16::from(v) << bit);
                    write_request(ctx, req, timeout).await
                }
                Err(s) => return answer(req, s),
            },
            (Area::HoldingRegister, None) => match encode_registers(&req.value, &item.enc) {
                Ok(words) if words.len() == 1 => write_request(ctx, Request::WriteSingleRegister(a.offset, words[0]), timeout).await,
                Ok(words) => write_request(ctx, Request::WriteMultipleRegisters(a.offset, words.into()), timeout).await,
                Err(s) => return answer(req, s),
            },
            _ => return answer(req, StatusCode::BadNotWritable),
        };
        match outcome {
            Err(reason) => {
                self.line.status().requests(0, 1);
                req.answer(StatusCode::BadNoCommunication);
                Err(reason)
            }
            Ok(Err(exc)) => {
                self.line.status().requests(0, 1);
                let status = exception_status(exc);
                tracing::warn!(device = %dev.name, address = %a, exception = ?exc, %status, "write refused by the device");
                req.answer(status);
                Ok(())
            }
            Ok(Ok(())) => {
                self.line.status().requests(1, 0);
                req.answer(StatusCode::Good);
                // Read the tag back so clients see what the device holds now.
                match read(ctx, unit, a.area, a.offset, item.span(), timeout).await {
                    Ok(Ok(words)) => {
                        if let Ok(v) = item.value(a.offset, &words) {
                            self.store.update(vec![(item.tag, TagValue::good(v))]);
                        }
                        Ok(())
                    }
                    Ok(Err(_)) => Ok(()),
                    Err(reason) => Err(reason),
                }
            }
        }
    }
}

fn answer(req: WriteRequest, status: StatusCode) -> Result<(), RequestError> {
    req.answer(status);
    Ok(())
}

/// Publishes the items of `block` whose words or status changed.
fn publish(items: &[Item], block: &mut Block, words: Vec<u16>, stamp: DateTime, out: &mut Vec<(fxgate_core::TagId, TagValue)>) {
    let all_good = block.status.iter().all(|s| s.is_good());
    if all_good && block.last == words {
        return;
    }
    for (j, &i) in block.items.iter().enumerate() {
        let item = &items[i];
        let unchanged = block.status[j].is_good()
            && !block.last.is_empty()
            && item.words(block.start, &block.last) == item.words(block.start, &words);
        if unchanged {
            continue;
        }
        let (value, status) = match item.value(block.start, &words) {
            Ok(v) => (v, StatusCode::Good),
            Err(s) => (Variant::Empty, s),
        };
        block.status[j] = status;
        out.push((
            item.tag,
            TagValue { value, status, source_timestamp: stamp, server_timestamp: DateTime::null() },
        ));
    }
    block.last = words;
}
