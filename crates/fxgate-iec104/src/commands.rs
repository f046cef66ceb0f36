//! The control direction: a tag value ↔ a command's information object (C_SC, C_DC, C_RC,
//! C_SE_NA/NB/NC and C_BO, plain or with a CP56Time2a), and the ASDUs around them.

use iec104::asdu::Asdu;
use iec104::cot::Cot;
use iec104::types::commands::{Dco, Qu, Rco, Rcs, Sco};
use iec104::types::information_elements::{Dpi, SelectExecute, Spi};
use iec104::types::quality_descriptors::Qos;
use iec104::types::*;
use opcua::types::{DateTime, Variant};

use crate::config::CommandType;
use crate::error::CommandError;
use crate::time::to_cp56;

/// What a command carries, as the `iec104` codec needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Raw {
    Bool(bool),
    Dpi(u8),
    Norm(i16),
    Scaled(i16),
    Float(f32),
    Bits(u32),
}

fn number(v: &Variant) -> Option<f64> {
    Some(match v {
        Variant::Boolean(b) => f64::from(u8::from(*b)),
        Variant::SByte(x) => f64::from(*x),
        Variant::Byte(x) => f64::from(*x),
        Variant::Int16(x) => f64::from(*x),
        Variant::UInt16(x) => f64::from(*x),
        Variant::Int32(x) => f64::from(*x),
        Variant::UInt32(x) => f64::from(*x),
        Variant::Int64(x) => *x as f64,
        Variant::UInt64(x) => *x as f64,
        Variant::Float(x) => f64::from(*x),
        Variant::Double(x) => *x,
        _ => return None,
    })
}

fn raw(cmd: CommandType, v: &Variant) -> Result<Raw, CommandError> {
    let n = number(v).ok_or(CommandError::Value("not a number or Boolean"))?;
    Ok(match cmd {
        CommandType::Single if n == 0.0 => Raw::Bool(false),
        CommandType::Single if n == 1.0 => Raw::Bool(true),
        CommandType::Single => return Err(CommandError::Value("a single command is true or false")),
        CommandType::Double | CommandType::Regulating => match (v, n) {
            (Variant::Boolean(b), _) => Raw::Dpi(1 + u8::from(*b)),
            (_, x) if x == 1.0 || x == 2.0 => Raw::Dpi(x as u8),
            _ => return Err(CommandError::Value("a double or regulating-step command is 1 (off/lower) or 2 (on/higher)")),
        },
        CommandType::Normalized => {
            if !(-1.0..=1.0).contains(&n) {
                return Err(CommandError::Value("a normalized set point is −1 to 1"));
            }
            Raw::Norm((n * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        }
        CommandType::Scaled => {
            if n.fract() != 0.0 || !(-32768.0..=32767.0).contains(&n) {
                return Err(CommandError::Value("a scaled set point is an integer −32768 to 32767"));
            }
            Raw::Scaled(n as i16)
        }
        CommandType::Float => {
            if !n.is_finite() || n.abs() > f64::from(f32::MAX) {
                return Err(CommandError::Value("a float set point is a finite 32-bit number"));
            }
            Raw::Float(n as f32)
        }
        CommandType::Bitstring => {
            if n.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&n) {
                return Err(CommandError::Value("a bitstring is 0 to 4294967295"));
            }
            Raw::Bits(n as u32)
        }
    })
}

/// A command to send.
#[derive(Debug, Clone, Copy)]
pub struct Command {
    /// Its type family.
    pub kind: CommandType,
    /// Time-tagged variant.
    pub timed: bool,
    /// IOA.
    pub ioa: u32,
    /// QU (0..=31) or QL (0..=127).
    pub qualifier: u8,
}

/// Station addressing of the ASDUs a client sends.
#[derive(Debug, Clone, Copy)]
pub struct Addressing {
    /// Common address.
    pub ca: u16,
    /// Originator address.
    pub oa: u8,
}

fn se(select: bool) -> SelectExecute {
    SelectExecute::from_bool(select)
}

fn dpi(x: u8) -> Dpi {
    if x == 2 {
        Dpi::On
    } else {
        Dpi::Off
    }
}

fn rcs(x: u8) -> Rcs {
    if x == 2 {
        Rcs::Increment
    } else {
        Rcs::Decrement
    }
}

/// The ASDU (COT 6, activation) of `cmd` with `value`; `select` for the select step of
/// select-before-operate.
pub fn asdu(cmd: &Command, value: &Variant, select: bool, at: Addressing) -> Result<Asdu, CommandError> {
    use InformationObjects as I;
    let r = raw(cmd.kind, value)?;
    let qu = Qu::from_byte(cmd.qualifier & 0x1F);
    let qos = Qos { se: se(select), ql: cmd.qualifier & 0x7F };
    let time = to_cp56(&DateTime::now());
    macro_rules! g {
        ($o:expr) => {
            vec![GenericObject { address: cmd.ioa, object: $o }]
        };
    }
    let objs = match (cmd.kind, cmd.timed, r) {
        (CommandType::Single, false, Raw::Bool(b)) => I::CScNa1(g!(CScNa1 { sco: Sco { se: se(select), qu, scs: if b { Spi::On } else { Spi::Off } } })),
        (CommandType::Single, true, Raw::Bool(b)) => I::CScTa1(g!(CScTa1 { sco: Sco { se: se(select), qu, scs: if b { Spi::On } else { Spi::Off } }, time })),
        (CommandType::Double, false, Raw::Dpi(x)) => I::CdcNa1(g!(CdcNa1 { dco: Dco { se: se(select), qu, dcs: dpi(x) } })),
        (CommandType::Double, true, Raw::Dpi(x)) => I::CdcTa1(g!(CdcTa1 { dco: Dco { se: se(select), qu, dcs: dpi(x) }, time })),
        (CommandType::Regulating, false, Raw::Dpi(x)) => I::CrcNa1(g!(CrcNa1 { rco: Rco { se: se(select), qu, rcs: rcs(x) } })),
        (CommandType::Regulating, true, Raw::Dpi(x)) => I::CrcTa1(g!(CrcTa1 { rco: Rco { se: se(select), qu, rcs: rcs(x) }, time })),
        (CommandType::Normalized, false, Raw::Norm(x)) => I::CSeNa1(g!(CSeNa1 { nva: x, qos })),
        (CommandType::Normalized, true, Raw::Norm(x)) => I::CSeTa1(g!(CSeTa1 { nva: x, qos, time })),
        (CommandType::Scaled, false, Raw::Scaled(x)) => I::CSeNb1(g!(CSeNb1 { sva: x, qos })),
        (CommandType::Scaled, true, Raw::Scaled(x)) => I::CSeTb1(g!(CSeTb1 { sva: x, qos, time })),
        (CommandType::Float, false, Raw::Float(x)) => I::CSeNc1(g!(CSeNc1 { value: x, qos })),
        (CommandType::Float, true, Raw::Float(x)) => I::CSeTc1(g!(CSeTc1 { value: x, qos, time })),
        (CommandType::Bitstring, false, Raw::Bits(x)) => I::CBoNa1(g!(CBoNa1 { bsi: x })),
        (CommandType::Bitstring, true, Raw::Bits(x)) => I::CBoTa1(g!(CBoTa1 { bsi: x, time })),
        _ => return Err(CommandError::Value("the value does not fit the command")),
    };
    Ok(Asdu {
        type_id: cmd.kind.id(cmd.timed),
        cot: Cot::Activation,
        originator_address: at.oa,
        address_field: at.ca,
        sequence: false,
        test: false,
        negative: false,
        information_objects: objs,
    })
}

/// A command received by fxgate's server.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// IOA.
    pub ioa: u32,
    /// Its family.
    pub kind: CommandType,
    /// The value, in the type of a command-only tag of the family.
    pub value: Variant,
    /// The select step of select-before-operate.
    pub select: bool,
}

/// The command in an ASDU's information objects (exactly one object), if it is one.
pub fn received(objs: &InformationObjects) -> Option<Received> {
    use InformationObjects as I;
    macro_rules! one {
        ($v:expr, $kind:expr, |$o:ident| ($value:expr, $select:expr)) => {{
            if $v.len() != 1 {
                return None;
            }
            let g = &$v[0];
            let $o = &g.object;
            Some(Received { ioa: g.address, kind: $kind, value: $value, select: $select })
        }};
    }
    let sel = |s: SelectExecute| s == SelectExecute::Select;
    match objs {
        I::CScNa1(v) => one!(v, CommandType::Single, |o| (Variant::Boolean(o.sco.scs == Spi::On), sel(o.sco.se))),
        I::CScTa1(v) => one!(v, CommandType::Single, |o| (Variant::Boolean(o.sco.scs == Spi::On), sel(o.sco.se))),
        I::CdcNa1(v) => one!(v, CommandType::Double, |o| (Variant::Byte(o.dco.dcs as u8), sel(o.dco.se))),
        I::CdcTa1(v) => one!(v, CommandType::Double, |o| (Variant::Byte(o.dco.dcs as u8), sel(o.dco.se))),
        I::CrcNa1(v) => one!(v, CommandType::Regulating, |o| (Variant::Byte(o.rco.rcs as u8), sel(o.rco.se))),
        I::CrcTa1(v) => one!(v, CommandType::Regulating, |o| (Variant::Byte(o.rco.rcs as u8), sel(o.rco.se))),
        I::CSeNa1(v) => one!(v, CommandType::Normalized, |o| (Variant::Float(f32::from(o.nva) / 32768.0), sel(o.qos.se))),
        I::CSeTa1(v) => one!(v, CommandType::Normalized, |o| (Variant::Float(f32::from(o.nva) / 32768.0), sel(o.qos.se))),
        I::CSeNb1(v) => one!(v, CommandType::Scaled, |o| (Variant::Int16(o.sva), sel(o.qos.se))),
        I::CSeTb1(v) => one!(v, CommandType::Scaled, |o| (Variant::Int16(o.sva), sel(o.qos.se))),
        I::CSeNc1(v) => one!(v, CommandType::Float, |o| (Variant::Float(o.value), sel(o.qos.se))),
        I::CSeTc1(v) => one!(v, CommandType::Float, |o| (Variant::Float(o.value), sel(o.qos.se))),
        I::CBoNa1(v) => one!(v, CommandType::Bitstring, |o| (Variant::UInt32(o.bsi), false)),
        I::CBoTa1(v) => one!(v, CommandType::Bitstring, |o| (Variant::UInt32(o.bsi), false)),
        _ => None,
    }
}

/// The IOA of the (first) information object of an ASDU.
pub fn first_ioa(objs: &InformationObjects) -> Option<u32> {
    let mut bytes = Vec::new();
    objs.to_bytes(&mut bytes).ok()?;
    (bytes.len() >= 3).then(|| u32::from_le_bytes([bytes[0], bytes[1], bytes[2], 0]))
}

/// `asdu` sent back with `cot` (and the P/N bit when `negative`), as a confirmation mirrors
/// the command it confirms.
pub fn mirror(asdu: &Asdu, cot: Cot, negative: bool) -> Asdu {
    Asdu { cot, negative, ..asdu.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: Addressing = Addressing { ca: 3, oa: 9 };

    #[test]
    fn commands_encode_and_come_back() {
        let cases = [
            (CommandType::Single, Variant::Boolean(true), Variant::Boolean(true)),
            (CommandType::Double, Variant::Boolean(false), Variant::Byte(1)),
            (CommandType::Double, Variant::Byte(2), Variant::Byte(2)),
            (CommandType::Regulating, Variant::Byte(1), Variant::Byte(1)),
            (CommandType::Normalized, Variant::Float(-0.5), Variant::Float(-0.5)),
            (CommandType::Scaled, Variant::Int16(-300), Variant::Int16(-300)),
            (CommandType::Float, Variant::Double(12.5), Variant::Float(12.5)),
            (CommandType::Bitstring, Variant::UInt32(0xA5A5_0001), Variant::UInt32(0xA5A5_0001)),
        ];
        for (kind, sent, back) in cases {
            for timed in [false, true] {
                for select in [false, true] {
                    let select = select && kind.can_select();
                    let cmd = Command { kind, timed, ioa: 4711, qualifier: 1 };
                    let a = asdu(&cmd, &sent, select, AT).unwrap();
                    assert_eq!((a.address_field, a.originator_address, a.cot), (3, 9, Cot::Activation));
                    let mut bytes = Vec::new();
                    a.to_bytes(&mut bytes).unwrap();
                    let parsed = Asdu::parse(&bytes).unwrap();
                    let r = received(&parsed.information_objects).unwrap();
                    assert_eq!(r, Received { ioa: 4711, kind, value: back.clone(), select }, "{kind} timed {timed}");
                    assert_eq!(first_ioa(&parsed.information_objects), Some(4711));
                }
            }
        }
    }

    #[test]
    fn values_that_do_not_fit_are_refused() {
        let c = |kind| Command { kind, timed: false, ioa: 1, qualifier: 0 };
        for (kind, v) in [
            (CommandType::Single, Variant::Int32(5)),
            (CommandType::Double, Variant::Byte(3)),
            (CommandType::Normalized, Variant::Float(1.5)),
            (CommandType::Scaled, Variant::Double(1.5)),
            (CommandType::Scaled, Variant::Int32(40_000)),
            (CommandType::Bitstring, Variant::Int32(-1)),
            (CommandType::Float, Variant::String("x".into())),
        ] {
            assert!(matches!(asdu(&c(kind), &v, false, AT), Err(CommandError::Value(_))), "{kind} {v:?}");
        }
    }
}
