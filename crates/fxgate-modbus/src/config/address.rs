//! Modbus addressing and value encoding shared by `[[device]]` (protocol `modbus`) and
//! `[[modbus_server]]`: where a value lives (`address`), how it is encoded (`type`,
//! `word_order`, `byte_order`, `length`) and how it is scaled (`scale`, `offset`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The four Modbus data tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    /// Coils (0x, read/write bits; functions 1, 5, 15).
    Coil,
    /// Discrete inputs (1x, read-only bits; function 2).
    DiscreteInput,
    /// Input registers (3x, read-only words; function 4).
    InputRegister,
    /// Holding registers (4x, read/write words; functions 3, 6, 16, 22).
    HoldingRegister,
}

impl Area {
    /// Whether the table holds bits (coils, discrete inputs).
    pub fn is_bits(self) -> bool {
        matches!(self, Area::Coil | Area::DiscreteInput)
    }

    /// Whether a Modbus client may write the table.
    pub fn is_writable(self) -> bool {
        matches!(self, Area::Coil | Area::HoldingRegister)
    }

    /// Short prefix used in addresses and logs.
    pub fn prefix(self) -> &'static str {
        match self {
            Area::Coil => "coil",
            Area::DiscreteInput => "di",
            Area::InputRegister => "ir",
            Area::HoldingRegister => "hr",
        }
    }
}

/// A parsed Modbus address: table, 0-based protocol address, optional bit of a register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address {
    /// The table.
    pub area: Area,
    /// 0-based address as sent on the wire.
    pub offset: u16,
    /// Bit 0..=15 of a register (`hr:10.3`), for Boolean tags in registers.
    pub bit: Option<u8>,
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.area.prefix(), self.offset)?;
        if let Some(b) = self.bit {
            write!(f, ".{b}")?;
        }
        Ok(())
    }
}

/// Why [`Address::parse`] rejects a text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Neither `<table>:<number>` nor a 5- or 6-digit Modicon reference.
    #[error("`{0}` is not a Modbus address (coil:N, di:N, ir:N, hr:N, hr:N.B, or Modicon 40001/400001)")]
    Syntax(String),
    /// A bit above 15, or a bit of a coil or discrete input (which are bits already).
    #[error("`{0}`: a bit (0-15) can only be given for a register")]
    Bit(String),
    /// A Modicon reference numbered 0 or above 65536 (they count from 1: 40001 is
    /// holding register 0 on the wire).
    #[error("`{0}`: Modicon references count from 1 to 65536")]
    ModiconRange(String),
}

impl From<AddressError> for String {
    fn from(e: AddressError) -> Self {
        e.to_string()
    }
}

impl Address {
    /// Parses `coil:N`, `di:N`, `ir:N`, `hr:N` (0-based, `hr:N.B` for a bit), or a
    /// Modicon reference with 5 or 6 digits, 1-based (`40001`/`400001` = `hr:0`,
    /// `30001` = `ir:0`, `10001` = `di:0`, `00001` = `coil:0`).
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        let s = s.trim();
        let err = || AddressError::Syntax(s.to_string());
        if let Some((prefix, rest)) = s.split_once(':') {
            let area = match prefix.to_ascii_lowercase().as_str() {
                "coil" | "co" | "c" => Area::Coil,
                "di" | "discrete" => Area::DiscreteInput,
                "ir" | "input" => Area::InputRegister,
                "hr" | "holding" => Area::HoldingRegister,
                _ => return Err(err()),
            };
            let (num, bit) = match rest.split_once('.') {
                Some((n, b)) => (n, Some(b)),
                None => (rest, None),
            };
            let offset: u16 = num.trim().parse().map_err(|_| err())?;
            let bit = match bit {
                None => None,
                Some(b) => {
                    let b: u8 = b.trim().parse().map_err(|_| err())?;
                    if b > 15 || area.is_bits() {
                        return Err(AddressError::Bit(s.to_string()));
                    }
                    Some(b)
                }
            };
            return Ok(Self { area, offset, bit });
        }
        if !(s.len() == 5 || s.len() == 6) || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let area = match s.as_bytes()[0] {
            b'0' => Area::Coil,
            b'1' => Area::DiscreteInput,
            b'3' => Area::InputRegister,
            b'4' => Area::HoldingRegister,
            _ => return Err(err()),
        };
        let n: u32 = s[1..].parse().map_err(|_| err())?;
        if n == 0 || n > 65536 {
            return Err(AddressError::ModiconRange(s.to_string()));
        }
        Ok(Self {
            area,
            offset: (n - 1) as u16,
            bit: None,
        })
    }
}

/// How a value is encoded in the Modbus tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModbusType {
    /// One bit (coil, discrete input, or a bit of a register).
    Bool,
    /// One register, signed.
    Int16,
    /// One register, unsigned.
    Uint16,
    /// Two registers, signed.
    Int32,
    /// Two registers, unsigned.
    Uint32,
    /// Two registers, IEEE 754 single.
    Float32,
    /// Four registers, signed.
    Int64,
    /// Four registers, unsigned.
    Uint64,
    /// Four registers, IEEE 754 double.
    Float64,
    /// `length` registers of text, two bytes per register, NUL-padded.
    String,
}

impl ModbusType {
    /// Registers the type takes (`length` for strings; 0 for a bit).
    pub fn registers(self, length: u16) -> u16 {
        match self {
            ModbusType::Bool => 0,
            ModbusType::Int16 | ModbusType::Uint16 => 1,
            ModbusType::Int32 | ModbusType::Uint32 | ModbusType::Float32 => 2,
            ModbusType::Int64 | ModbusType::Uint64 | ModbusType::Float64 => 4,
            ModbusType::String => length,
        }
    }

    /// Whether the type is a number (scaling applies).
    pub fn is_numeric(self) -> bool {
        !matches!(self, ModbusType::Bool | ModbusType::String)
    }
}

/// Order of bytes inside a register, or of registers inside a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Most significant first (the Modbus standard; `AB`, `ABCD`).
    #[default]
    Big,
    /// Least significant first (`BA`; for words: `CDAB`).
    Little,
}

/// The encoding of one mapped value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Encoding {
    /// Wire type.
    pub data_type: ModbusType,
    /// Order of registers in a multi-register value.
    pub word_order: Order,
    /// Order of the two bytes in each register.
    pub byte_order: Order,
    /// Registers of a string.
    pub length: u16,
    /// `value = raw * scale + offset`.
    pub scale: f64,
    /// See `scale`.
    pub offset: f64,
}

impl Encoding {
    /// Whether scaling changes the value (then the tag is a Double).
    pub fn is_scaled(&self) -> bool {
        self.scale != 1.0 || self.offset != 0.0
    }
}

/// The fields of a Modbus mapping as they appear in the config, checked together.
pub fn check_mapping(
    address: &str,
    data_type: ModbusType,
    length: u16,
    scale: f64,
    offset: f64,
    g: &dyn Fn(&str) -> String,
    errs: &mut Vec<fxgate_config::Invalid>,
) -> Option<Address> {
    let addr = match Address::parse(address) {
        Ok(a) => a,
        Err(e) => {
            errs.push(fxgate_config::Invalid::new(g("address"), e));
            return None;
        }
    };
    let bit = addr.area.is_bits() || addr.bit.is_some();
    if bit != (data_type == ModbusType::Bool) {
        let msg = if bit {
            format!("{addr} holds a bit: the type must be bool, not {data_type:?}")
        } else {
            format!("{addr} is a register: type bool needs a bit (e.g. {}.0) or a coil/discrete input", addr)
        };
        errs.push(fxgate_config::Invalid::new(g("type"), msg));
    }
    if data_type == ModbusType::String && !(1..=125).contains(&length) {
        errs.push(fxgate_config::Invalid::new(g("length"), "a string needs length = 1 to 125 registers"));
    }
    if data_type != ModbusType::String && length != 0 {
        errs.push(fxgate_config::Invalid::new(g("length"), "length is only for type string"));
    }
    let regs = u32::from(data_type.registers(length));
    if u32::from(addr.offset) + regs > 65536 {
        errs.push(fxgate_config::Invalid::new(g("address"), format!("{addr} + {regs} registers runs past 65535")));
    }
    if !data_type.is_numeric() && (scale != 1.0 || offset != 0.0) {
        errs.push(fxgate_config::Invalid::new(g("scale"), format!("scaling needs a numeric type, not {data_type:?}")));
    }
    if scale == 0.0 || !scale.is_finite() || !offset.is_finite() {
        errs.push(fxgate_config::Invalid::new(g("scale"), "scale must be a finite number other than 0, offset finite"));
    }
    Some(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse() {
        let a = |s| Address::parse(s).unwrap();
        assert_eq!(a("hr:0"), Address { area: Area::HoldingRegister, offset: 0, bit: None });
        assert_eq!(a("40001"), a("hr:0"));
        assert_eq!(a("400001"), a("hr:0"));
        assert_eq!(a("465536").offset, 65535);
        assert_eq!(a("30010"), Address { area: Area::InputRegister, offset: 9, bit: None });
        assert_eq!(a("10001").area, Area::DiscreteInput);
        assert_eq!(a("00001").area, Area::Coil);
        assert_eq!(a("coil:7").offset, 7);
        assert_eq!(a("HR:10.3").bit, Some(3));
        for bad in ["", "hr:", "hr:65536", "x:1", "40000", "50001", "hr:1.16", "coil:1.1", "4001", "hr:-1"] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in ["coil:5", "di:0", "ir:65535", "hr:12.15"] {
            assert_eq!(Address::parse(s).unwrap().to_string(), s);
        }
    }
}
