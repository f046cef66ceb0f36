//! The IEC 60870-5-101/104 type families a tag is mapped to, and their OPC UA data types.

use std::fmt;
use std::str::FromStr;

use fxgate_core::TagType;
use iec104::types_id::TypeId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A monitor-direction type family: a tag of the family accepts its plain and time-tagged
/// variants (`M_SP` takes M_SP_NA_1, M_SP_TA_1 and M_SP_TB_1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MonitorType {
    /// Single point (M_SP_NA_1/TB_1): Boolean.
    Single,
    /// Double point (M_DP_NA_1/TB_1): Byte holding the DPI (0 intermediate, 1 off, 2 on, 3 indeterminate).
    Double,
    /// Step position (M_ST_NA_1/TB_1): SByte (−64..63).
    Step,
    /// Bitstring of 32 bits (M_BO_NA_1/TB_1): UInt32.
    Bitstring,
    /// Normalized measured value (M_ME_NA_1/TD_1): Float, raw/32768.
    Normalized,
    /// Scaled measured value (M_ME_NB_1/TE_1): Int16.
    Scaled,
    /// Short floating point measured value (M_ME_NC_1/TF_1): Float.
    Float,
    /// Integrated totals (M_IT_NA_1/TB_1): Int32.
    Counter,
    /// Event of protection equipment (M_EP_TD_1): Byte holding the event state (DPI).
    Protection,
}

/// A command type (control direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandType {
    /// Single command (C_SC_NA_1/TA_1): Boolean.
    Single,
    /// Double command (C_DC_NA_1/TA_1): Byte 1 off / 2 on (or Boolean).
    Double,
    /// Regulating step command (C_RC_NA_1/TA_1): Byte 1 lower / 2 higher.
    Regulating,
    /// Set point, normalized (C_SE_NA_1/TA_1): Float −1..1.
    Normalized,
    /// Set point, scaled (C_SE_NB_1/TB_1): Int16.
    Scaled,
    /// Set point, short float (C_SE_NC_1/TC_1): Float.
    Float,
    /// Bitstring of 32 bits (C_BO_NA_1/TA_1): UInt32.
    Bitstring,
}

const MONITOR_NAMES: &[(&str, MonitorType)] = &[
    ("M_SP", MonitorType::Single),
    ("M_DP", MonitorType::Double),
    ("M_ST", MonitorType::Step),
    ("M_BO", MonitorType::Bitstring),
    ("M_ME_NA", MonitorType::Normalized),
    ("M_ME_TD", MonitorType::Normalized),
    ("M_ME_NB", MonitorType::Scaled),
    ("M_ME_TE", MonitorType::Scaled),
    ("M_ME_NC", MonitorType::Float),
    ("M_ME_TF", MonitorType::Float),
    ("M_IT", MonitorType::Counter),
    ("M_EP", MonitorType::Protection),
    ("M_EP_TD", MonitorType::Protection),
];

const COMMAND_NAMES: &[(&str, CommandType)] = &[
    ("C_SC", CommandType::Single),
    ("C_DC", CommandType::Double),
    ("C_RC", CommandType::Regulating),
    ("C_SE_NA", CommandType::Normalized),
    ("C_SE_TA", CommandType::Normalized),
    ("C_SE_NB", CommandType::Scaled),
    ("C_SE_TB", CommandType::Scaled),
    ("C_SE_NC", CommandType::Float),
    ("C_SE_TC", CommandType::Float),
    ("C_BO", CommandType::Bitstring),
];

/// `M_DP`, `M_DP_NA_1`, `M_DP_TB_1` → `M_DP`; `M_ME_NC_1` → `M_ME_NC`.
fn family(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    let base = upper.strip_suffix("_1").unwrap_or(&upper);
    let parts: Vec<&str> = base.split('_').collect();
    match parts.as_slice() {
        // M_xx_yy: the family is M_xx unless it is a measured value / set point (M_ME_xx, C_SE_xx).
        [d, t, v] if !matches!((*d, *t), ("M", "ME") | ("C", "SE") | ("M", "EP")) && v.len() == 2 => format!("{d}_{t}"),
        [d, t, v] if (*d, *t) == ("M", "EP") && v.len() == 2 => format!("{d}_{t}_{v}"),
        _ => base.to_string(),
    }
}

/// A type name that is no family of its direction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownType {
    /// Not a monitor-direction family.
    #[error("unknown monitor type `{0}`; one of M_SP, M_DP, M_ST, M_BO, M_ME_NA, M_ME_NB, M_ME_NC, M_IT, M_EP_TD")]
    Monitor(String),
    /// Not a command-direction family.
    #[error("unknown command type `{0}`; one of C_SC, C_DC, C_RC, C_SE_NA, C_SE_NB, C_SE_NC, C_BO")]
    Command(String),
}

impl FromStr for MonitorType {
    type Err = UnknownType;
    fn from_str(s: &str) -> Result<Self, UnknownType> {
        let f = family(s);
        MONITOR_NAMES.iter().find(|(n, _)| *n == f).map(|(_, t)| *t).ok_or_else(|| UnknownType::Monitor(s.to_string()))
    }
}

impl FromStr for CommandType {
    type Err = UnknownType;
    fn from_str(s: &str) -> Result<Self, UnknownType> {
        let f = family(s);
        COMMAND_NAMES.iter().find(|(n, _)| *n == f).map(|(_, t)| *t).ok_or_else(|| UnknownType::Command(s.to_string()))
    }
}

impl MonitorType {
    /// The family's name.
    pub fn name(self) -> &'static str {
        match self {
            MonitorType::Single => "M_SP",
            MonitorType::Double => "M_DP",
            MonitorType::Step => "M_ST",
            MonitorType::Bitstring => "M_BO",
            MonitorType::Normalized => "M_ME_NA",
            MonitorType::Scaled => "M_ME_NB",
            MonitorType::Float => "M_ME_NC",
            MonitorType::Counter => "M_IT",
            MonitorType::Protection => "M_EP_TD",
        }
    }

    /// The OPC UA type of its tags.
    pub fn tag_type(self) -> TagType {
        match self {
            MonitorType::Single => TagType::Boolean,
            MonitorType::Double | MonitorType::Protection => TagType::Byte,
            MonitorType::Step => TagType::SByte,
            MonitorType::Bitstring => TagType::UInt32,
            MonitorType::Normalized | MonitorType::Float => TagType::Float,
            MonitorType::Scaled => TagType::Int16,
            MonitorType::Counter => TagType::Int32,
        }
    }

    /// The family a received type id belongs to.
    pub fn of(type_id: TypeId) -> Option<Self> {
        use TypeId::*;
        Some(match type_id {
            M_SP_NA_1 | M_SP_TA_1 | M_SP_TB_1 => MonitorType::Single,
            M_DP_NA_1 | M_DP_TA_1 | M_DP_TB_1 => MonitorType::Double,
            M_ST_NA_1 | M_ST_TA_1 | M_ST_TB_1 => MonitorType::Step,
            M_BO_NA_1 | M_BO_TB_1 => MonitorType::Bitstring,
            M_ME_NA_1 | M_ME_TA_1 | M_ME_TD_1 | M_ME_ND_1 => MonitorType::Normalized,
            M_ME_NB_1 | M_ME_TB_1 | M_ME_TE_1 => MonitorType::Scaled,
            M_ME_NC_1 | M_ME_TC_1 | M_ME_TF_1 => MonitorType::Float,
            M_IT_NA_1 | M_IT_TB_1 => MonitorType::Counter,
            M_EP_TA_1 | M_EP_TD_1 => MonitorType::Protection,
            _ => return None,
        })
    }

    /// The type id sent without time (general interrogation answers); M_EP has none.
    pub fn plain_id(self) -> TypeId {
        match self {
            MonitorType::Single => TypeId::M_SP_NA_1,
            MonitorType::Double => TypeId::M_DP_NA_1,
            MonitorType::Step => TypeId::M_ST_NA_1,
            MonitorType::Bitstring => TypeId::M_BO_NA_1,
            MonitorType::Normalized => TypeId::M_ME_NA_1,
            MonitorType::Scaled => TypeId::M_ME_NB_1,
            MonitorType::Float => TypeId::M_ME_NC_1,
            MonitorType::Counter => TypeId::M_IT_NA_1,
            MonitorType::Protection => TypeId::M_EP_TD_1,
        }
    }

    /// The type id with a CP56Time2a (spontaneous changes).
    pub fn timed_id(self) -> TypeId {
        match self {
            MonitorType::Single => TypeId::M_SP_TB_1,
            MonitorType::Double => TypeId::M_DP_TB_1,
            MonitorType::Step => TypeId::M_ST_TB_1,
            MonitorType::Bitstring => TypeId::M_BO_TB_1,
            MonitorType::Normalized => TypeId::M_ME_TD_1,
            MonitorType::Scaled => TypeId::M_ME_TE_1,
            MonitorType::Float => TypeId::M_ME_TF_1,
            MonitorType::Counter => TypeId::M_IT_TB_1,
            MonitorType::Protection => TypeId::M_EP_TD_1,
        }
    }
}

impl CommandType {
    /// The family's name.
    pub fn name(self) -> &'static str {
        match self {
            CommandType::Single => "C_SC",
            CommandType::Double => "C_DC",
            CommandType::Regulating => "C_RC",
            CommandType::Normalized => "C_SE_NA",
            CommandType::Scaled => "C_SE_NB",
            CommandType::Float => "C_SE_NC",
            CommandType::Bitstring => "C_BO",
        }
    }

    /// The OPC UA type of a command-only tag.
    pub fn tag_type(self) -> TagType {
        match self {
            CommandType::Single => TagType::Boolean,
            CommandType::Double | CommandType::Regulating => TagType::Byte,
            CommandType::Normalized | CommandType::Float => TagType::Float,
            CommandType::Scaled => TagType::Int16,
            CommandType::Bitstring => TagType::UInt32,
        }
    }

    /// The type id: plain, or with a CP56Time2a (`timed`).
    pub fn id(self, timed: bool) -> TypeId {
        use TypeId::*;
        match (self, timed) {
            (CommandType::Single, false) => C_SC_NA_1,
            (CommandType::Single, true) => C_SC_TA_1,
            (CommandType::Double, false) => C_DC_NA_1,
            (CommandType::Double, true) => C_DC_TA_1,
            (CommandType::Regulating, false) => C_RC_NA_1,
            (CommandType::Regulating, true) => C_RC_TA_1,
            (CommandType::Normalized, false) => C_SE_NA_1,
            (CommandType::Normalized, true) => C_SE_TA_1,
            (CommandType::Scaled, false) => C_SE_NB_1,
            (CommandType::Scaled, true) => C_SE_TB_1,
            (CommandType::Float, false) => C_SE_NC_1,
            (CommandType::Float, true) => C_SE_TC_1,
            (CommandType::Bitstring, false) => C_BO_NA_1,
            (CommandType::Bitstring, true) => C_BO_TA_1,
        }
    }

    /// The family of a received command type id, and whether it carries a time tag.
    pub fn of(type_id: TypeId) -> Option<(Self, bool)> {
        use TypeId::*;
        Some(match type_id {
            C_SC_NA_1 => (CommandType::Single, false),
            C_SC_TA_1 => (CommandType::Single, true),
            C_DC_NA_1 => (CommandType::Double, false),
            C_DC_TA_1 => (CommandType::Double, true),
            C_RC_NA_1 => (CommandType::Regulating, false),
            C_RC_TA_1 => (CommandType::Regulating, true),
            C_SE_NA_1 => (CommandType::Normalized, false),
            C_SE_TA_1 => (CommandType::Normalized, true),
            C_SE_NB_1 => (CommandType::Scaled, false),
            C_SE_TB_1 => (CommandType::Scaled, true),
            C_SE_NC_1 => (CommandType::Float, false),
            C_SE_TC_1 => (CommandType::Float, true),
            C_BO_NA_1 => (CommandType::Bitstring, false),
            C_BO_TA_1 => (CommandType::Bitstring, true),
            _ => return None,
        })
    }

    /// Whether the command has a select/execute bit (C_BO has none).
    pub fn can_select(self) -> bool {
        self != CommandType::Bitstring
    }
}

impl fmt::Display for MonitorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for CommandType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

macro_rules! serde_by_name {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
serde_by_name!(MonitorType);
serde_by_name!(CommandType);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_take_every_spelling() {
        for (s, t) in [
            ("M_SP", MonitorType::Single),
            ("m_sp_tb_1", MonitorType::Single),
            ("M_DP_NA_1", MonitorType::Double),
            ("M_ME_NA", MonitorType::Normalized),
            ("M_ME_TD_1", MonitorType::Normalized),
            ("M_ME_NC_1", MonitorType::Float),
            ("M_ME_TF_1", MonitorType::Float),
            ("M_IT_TB_1", MonitorType::Counter),
            ("M_EP_TD_1", MonitorType::Protection),
            ("M_EP", MonitorType::Protection),
        ] {
            assert_eq!(s.parse::<MonitorType>(), Ok(t), "{s}");
        }
        for (s, t) in [
            ("C_SC", CommandType::Single),
            ("C_DC_NA_1", CommandType::Double),
            ("C_RC_TA_1", CommandType::Regulating),
            ("C_SE_NB", CommandType::Scaled),
            ("C_SE_TC_1", CommandType::Float),
            ("C_BO_NA_1", CommandType::Bitstring),
        ] {
            assert_eq!(s.parse::<CommandType>(), Ok(t), "{s}");
        }
        assert!("M_XX".parse::<MonitorType>().is_err());
        assert!("C_SE".parse::<CommandType>().is_err());
    }

    #[test]
    fn received_ids_map_to_their_family() {
        for m in [
            MonitorType::Single,
            MonitorType::Double,
            MonitorType::Step,
            MonitorType::Bitstring,
            MonitorType::Normalized,
            MonitorType::Scaled,
            MonitorType::Float,
            MonitorType::Counter,
            MonitorType::Protection,
        ] {
            assert_eq!(MonitorType::of(m.plain_id()), Some(m));
            assert_eq!(MonitorType::of(m.timed_id()), Some(m));
        }
        for c in [
            CommandType::Single,
            CommandType::Double,
            CommandType::Regulating,
            CommandType::Normalized,
            CommandType::Scaled,
            CommandType::Float,
            CommandType::Bitstring,
        ] {
            assert_eq!(CommandType::of(c.id(false)), Some((c, false)));
            assert_eq!(CommandType::of(c.id(true)), Some((c, true)));
        }
    }
}
