//! Modbus TCP: request frames a client sends to fxgate's Modbus server, and the answers a
//! device sends to fxgate's Modbus client.

use fxgate_modbus::config::address::{Address, Area, Encoding, ModbusType, Order};
use fxgate_modbus::frame::{self, Req, Resp};
use fxgate_modbus::plan::Item;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_modbus::client::Client;
use tokio_modbus::{Request, Response, Slave};

/// Largest Modbus PDU (MODBUS Application Protocol V1.1b3 §4.1).
const MAX_PDU: usize = 253;

/// A byte stream from a Modbus TCP client, cut into frames as the server does; every request
/// is parsed, answered (zeros for reads, the echo for writes) and the answer encoded. An
/// answer must fit in one PDU.
pub fn request(data: &[u8]) {
    let mut stream = data;
    let _ = crate::runtime::block_on(async move {
        while let Ok(Some(f)) = frame::read_frame(&mut stream).await {
            let Some(&fc) = f.pdu.first() else { continue };
            let answer = frame::parse(&f.pdu).map(|req| match req {
                Req::ReadBits { qty, .. } => Resp::Bits(vec![true; usize::from(qty)]),
                Req::ReadWords { qty, .. } => Resp::Words(vec![0xFFFF; usize::from(qty)]),
                Req::WriteCoil { .. } | Req::WriteRegister { .. } | Req::WriteCoils { .. } | Req::WriteRegisters { .. } => {
                    Resp::Echo(frame::echo(&f.pdu))
                }
            });
            let pdu = frame::encode(fc, &answer);
            assert!(pdu.len() <= MAX_PDU, "a {}-byte answer to {:?}", pdu.len(), f.pdu);
            let mut out = Vec::new();
            let written = frame::write_frame(&mut out, f.tid, f.unit, &pdu).await;
            assert!(written.is_ok() && out.len() == 7 + pdu.len(), "a {}-byte frame for a {}-byte answer", out.len(), pdu.len());
        }
    });
}

/// The items a response is decoded into: every encoding, both orders, a bit of a register.
fn items(area: Area, count: u16) -> Vec<Item> {
    let enc = |data_type, word_order, byte_order, length| Encoding { data_type, word_order, byte_order, length, scale: 0.5, offset: -3.0 };
    let types = [
        (ModbusType::Int16, 1),
        (ModbusType::Uint16, 1),
        (ModbusType::Int32, 2),
        (ModbusType::Uint32, 2),
        (ModbusType::Float32, 2),
        (ModbusType::Int64, 4),
        (ModbusType::Uint64, 4),
        (ModbusType::Float64, 4),
        (ModbusType::String, 3),
    ];
    let mut out = Vec::new();
    for offset in 0..count.min(8) {
        for (i, (t, len)) in types.iter().enumerate() {
            for (w, b) in [(Order::Big, Order::Big), (Order::Little, Order::Little), (Order::Little, Order::Big)] {
                let addr = Address { area, offset, bit: None };
                out.push(Item { tag: i as u32, addr, enc: enc(*t, w, b, *len) });
            }
        }
        let addr = Address { area, offset, bit: (!area.is_bits()).then_some(15) };
        out.push(Item { tag: 99, addr, enc: enc(ModbusType::Bool, Order::Big, Order::Big, 1) });
    }
    out
}

/// A device's answer to one read, through tokio-modbus's client (the client fxgate uses)
/// over an in-memory stream, then decoded into values as fxgate's poller does. The first
/// two bytes choose the table and the quantity asked; the rest is what the device sends (its
/// transaction id is set to the request's).
pub fn response(data: &[u8]) {
    let [sel, qty, rest @ ..] = data else { return };
    let area = [Area::Coil, Area::DiscreteInput, Area::InputRegister, Area::HoldingRegister][usize::from(sel & 3)];
    let count = u16::from(*qty).max(1);
    let start = u16::from(sel >> 2);
    let mut answer = rest.to_vec();
    let _ = crate::runtime::block_on(async move {
        let (client_io, mut device) = tokio::io::duplex(4096);
        let device_task = async move {
            let mut head = [0u8; 7];
            if device.read_exact(&mut head).await.is_err() {
                return;
            }
            let len = usize::from(u16::from_be_bytes([head[4], head[5]]));
            let mut pdu = vec![0u8; len.saturating_sub(1)];
            if device.read_exact(&mut pdu).await.is_err() {
                return;
            }
            if let Some(tid) = answer.get_mut(..2) {
                tid.copy_from_slice(&head[..2]);
            }
            let _ = device.write_all(&answer).await;
            let _ = device.shutdown().await;
        };
        let client_task = async move {
            let mut ctx = tokio_modbus::client::tcp::attach_slave(client_io, Slave(1));
            let req = match area {
                Area::Coil => Request::ReadCoils(start, count),
                Area::DiscreteInput => Request::ReadDiscreteInputs(start, count),
                Area::InputRegister => Request::ReadInputRegisters(start, count),
                Area::HoldingRegister => Request::ReadHoldingRegisters(start, count),
            };
            let call = tokio::time::timeout(std::time::Duration::from_secs(5), ctx.call(req));
            let Ok(Ok(Ok(resp))) = call.await else { return };
            let words: Vec<u16> = match resp {
                Response::ReadCoils(v) | Response::ReadDiscreteInputs(v) => v.into_iter().map(u16::from).collect(),
                Response::ReadInputRegisters(v) | Response::ReadHoldingRegisters(v) => v,
                _ => return,
            };
            for item in items(area, count) {
                let _ = item.value(start, &words);
                let _ = item.value(start + 1, &words);
            }
        };
        tokio::join!(device_task, client_task);
    });
}
