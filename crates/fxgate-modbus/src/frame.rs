//! Modbus TCP server framing (MBAP header + request PDU), checked as the MODBUS
//! Application Protocol V1.1b3 §6 says: quantities and byte counts first (exception 3),
//! then addresses (exception 2); unknown functions are exception 1.
//!
//! Why not tokio-modbus's server: its request decoder closes the connection on a request
//! whose byte count disagrees with its quantity (the protocol wants exception 3), it
//! answers quantity 0 or 2001 as if they were legal, and its accept loop ends the server on
//! the first accept error. The client side still uses tokio-modbus.

use crate::config::address::Area;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_modbus::ExceptionCode;

/// A request the server understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Req {
    /// Functions 1 and 2: `qty` bits of `area` from `addr`.
    #[allow(missing_docs)]
    ReadBits { area: Area, addr: u16, qty: u16 },
    /// Functions 3 and 4: `qty` registers of `area` from `addr`.
    #[allow(missing_docs)]
    ReadWords { area: Area, addr: u16, qty: u16 },
    /// Function 5: coil `addr` on or off.
    #[allow(missing_docs)]
    WriteCoil { addr: u16, on: bool },
    /// Function 6: register `addr` set to `value`.
    #[allow(missing_docs)]
    WriteRegister { addr: u16, value: u16 },
    /// Function 15: coils from `addr`.
    #[allow(missing_docs)]
    WriteCoils { addr: u16, coils: Vec<bool> },
    /// Function 16: registers from `addr`.
    #[allow(missing_docs)]
    WriteRegisters { addr: u16, words: Vec<u16> },
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resp {
    /// Functions 1 and 2.
    Bits(Vec<bool>),
    /// Functions 3 and 4.
    Words(Vec<u16>),
    /// Functions 5, 6, 15, 16: the echo the protocol defines.
    Echo([u8; 4]),
}

fn u16_at(pdu: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*pdu.get(i)?, *pdu.get(i + 1)?]))
}

fn range_ok(addr: u16, qty: u16) -> bool {
    u32::from(addr) + u32::from(qty) <= 65536
}

/// Parses a request PDU (function code first).
pub fn parse(pdu: &[u8]) -> Result<Req, ExceptionCode> {
    use ExceptionCode::{IllegalDataAddress as Addr, IllegalDataValue as Value, IllegalFunction};
    let fc = *pdu.first().ok_or(IllegalFunction)?;
    let field = |i| u16_at(pdu, i).ok_or(Value);
    match fc {
        1..=4 => {
            let (addr, qty) = (field(1)?, field(3)?);
            let bits = fc <= 2;
            let max = if bits { 2000 } else { 125 };
            if pdu.len() != 5 || qty == 0 || qty > max {
                return Err(Value);
            }
            if !range_ok(addr, qty) {
                return Err(Addr);
            }
            let area = match fc {
                1 => Area::Coil,
                2 => Area::DiscreteInput,
                3 => Area::HoldingRegister,
                _ => Area::InputRegister,
            };
            Ok(if bits { Req::ReadBits { area, addr, qty } } else { Req::ReadWords { area, addr, qty } })
        }
        5 => {
            let (addr, v) = (field(1)?, field(3)?);
            if pdu.len() != 5 || (v != 0xFF00 && v != 0x0000) {
                return Err(Value);
            }
            Ok(Req::WriteCoil { addr, on: v == 0xFF00 })
        }
        6 => {
            if pdu.len() != 5 {
                return Err(Value);
            }
            Ok(Req::WriteRegister { addr: field(1)?, value: field(3)? })
        }
        15 => {
            let (addr, qty) = (field(1)?, field(3)?);
            let count = usize::from(*pdu.get(5).ok_or(Value)?);
            if qty == 0 || qty > 1968 || count != usize::from(qty).div_ceil(8) || pdu.len() != 6 + count {
                return Err(Value);
            }
            if !range_ok(addr, qty) {
                return Err(Addr);
            }
            let coils = (0..usize::from(qty)).map(|i| pdu[6 + i / 8] >> (i % 8) & 1 == 1).collect();
            Ok(Req::WriteCoils { addr, coils })
        }
        16 => {
            let (addr, qty) = (field(1)?, field(3)?);
            let count = usize::from(*pdu.get(5).ok_or(Value)?);
            if qty == 0 || qty > 123 || count != 2 * usize::from(qty) || pdu.len() != 6 + count {
                return Err(Value);
            }
            if !range_ok(addr, qty) {
                return Err(Addr);
            }
            let words = (0..usize::from(qty)).filter_map(|i| u16_at(pdu, 6 + 2 * i)).collect();
            Ok(Req::WriteRegisters { addr, words })
        }
        _ => Err(IllegalFunction),
    }
}

/// The echo of a write request: its address and value/quantity fields.
pub fn echo(pdu: &[u8]) -> [u8; 4] {
    let mut e = [0u8; 4];
    for (i, b) in pdu.iter().skip(1).take(4).enumerate() {
        e[i] = *b;
    }
    e
}

/// Encodes the response PDU to a request with function `fc`.
pub fn encode(fc: u8, r: &Result<Resp, ExceptionCode>) -> Vec<u8> {
    match r {
        Err(e) => vec![fc | 0x80, u8::from(*e)],
        Ok(Resp::Bits(bits)) => {
            let mut out = vec![fc, bits.len().div_ceil(8) as u8];
            out.resize(2 + bits.len().div_ceil(8), 0);
            for (i, &b) in bits.iter().enumerate() {
                out[2 + i / 8] |= u8::from(b) << (i % 8);
            }
            out
        }
        Ok(Resp::Words(words)) => {
            let mut out = vec![fc, (words.len() * 2) as u8];
            words.iter().for_each(|w| out.extend_from_slice(&w.to_be_bytes()));
            out
        }
        Ok(Resp::Echo(e)) => {
            let mut out = vec![fc];
            out.extend_from_slice(e);
            out
        }
    }
}

/// One request frame: transaction id, unit id, PDU.
pub struct Frame {
    /// Transaction id, echoed.
    pub tid: u16,
    /// Unit id.
    pub unit: u8,
    /// The PDU.
    pub pdu: Vec<u8>,
}

/// Reads one frame; `Ok(None)` at a clean end of stream, `Err` for a stream that is not
/// Modbus TCP (then the connection must close: there is no way to find the next frame).
pub async fn read_frame<S: AsyncRead + Unpin>(s: &mut S) -> std::io::Result<Option<Frame>> {
    let mut head = [0u8; 7];
    match s.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let tid = u16::from_be_bytes([head[0], head[1]]);
    let pid = u16::from_be_bytes([head[2], head[3]]);
    let len = usize::from(u16::from_be_bytes([head[4], head[5]]));
    if pid != 0 || !(2..=254).contains(&len) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not a Modbus TCP frame (protocol id {pid}, length {len})"),
        ));
    }
    let mut pdu = vec![0u8; len - 1];
    s.read_exact(&mut pdu).await?;
    Ok(Some(Frame { tid, unit: head[6], pdu }))
}

/// Writes one response frame.
pub async fn write_frame<S: AsyncWrite + Unpin>(s: &mut S, tid: u16, unit: u8, pdu: &[u8]) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(7 + pdu.len());
    out.extend_from_slice(&tid.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&((pdu.len() + 1) as u16).to_be_bytes());
    out.push(unit);
    out.extend_from_slice(pdu);
    s.write_all(&out).await?;
    s.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quantities_and_byte_counts_are_checked_first() {
        use ExceptionCode::*;
        assert_eq!(parse(&[3, 0, 0, 0, 0]), Err(IllegalDataValue));
        assert_eq!(parse(&[3, 0, 0, 0, 126]), Err(IllegalDataValue));
        assert_eq!(parse(&[1, 0, 0, 0x07, 0xD1]), Err(IllegalDataValue));
        assert_eq!(parse(&[3, 0xFF, 0xFF, 0, 2]), Err(IllegalDataAddress));
        assert_eq!(parse(&[16, 0, 0, 0, 2, 2, 0, 7]), Err(IllegalDataValue));
        assert_eq!(parse(&[16, 0, 0, 0, 0, 0]), Err(IllegalDataValue));
        assert_eq!(parse(&[5, 0, 1, 0x12, 0x34]), Err(IllegalDataValue));
        assert_eq!(parse(&[8, 0, 0, 0x12, 0x34]), Err(IllegalFunction));
        assert_eq!(
            parse(&[16, 0, 10, 0, 2, 4, 0, 1, 0, 2]),
            Ok(Req::WriteRegisters { addr: 10, words: vec![1, 2] })
        );
        assert_eq!(
            parse(&[15, 0, 0, 0, 10, 2, 0b0000_0101, 0b10]),
            Ok(Req::WriteCoils { addr: 0, coils: vec![true, false, true, false, false, false, false, false, false, true] })
        );
        assert_eq!(parse(&[1, 0, 0, 0x07, 0xD0]), Ok(Req::ReadBits { area: Area::Coil, addr: 0, qty: 2000 }));
    }

    #[test]
    fn responses_encode() {
        assert_eq!(encode(3, &Ok(Resp::Words(vec![0x1234]))), [3, 2, 0x12, 0x34]);
        assert_eq!(encode(1, &Ok(Resp::Bits(vec![true, false, true, true, false, false, false, false, true]))), [1, 2, 0b1101, 1]);
        assert_eq!(encode(6, &Err(ExceptionCode::IllegalDataAddress)), [0x86, 2]);
        assert_eq!(encode(16, &Ok(Resp::Echo(echo(&[16, 0, 1, 0, 2, 4, 9, 9, 9, 9])))), [16, 0, 1, 0, 2]);
    }

    proptest! {
        #[test]
        fn any_pdu_parses_or_is_refused(pdu in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&pdu);
        }
    }
}
