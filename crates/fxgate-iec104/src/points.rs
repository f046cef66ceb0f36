//! The monitor direction: information objects ↔ (IOA, value, quality, time).
//!
//! Values: M_SP Boolean; M_DP Byte (DPI 0..3); M_ST SByte; M_BO UInt32; M_ME_NA Float
//! (raw/32768); M_ME_NB Int16; M_ME_NC Float; M_IT Int32; M_EP_TD Byte (event state).

use iec104::types::information_elements::{Diq, Dpi, EventState, Sep, Siq, Spi, Vti};
use iec104::types::quality_descriptors::{Qds, SeqQd};
use iec104::types::time::{Cp16Time2a, Cp56Time2a};
use iec104::types::*;
use iec104::types_id::TypeId;
use opcua::types::{DateTime, Variant};

use crate::config::MonitorType;
use crate::quality::Quality;
use crate::time::{from_cp56, to_cp56};

/// The time a point carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Stamp {
    /// None (plain types, and CP24 times, which have no date): the receive time applies.
    None,
    /// A valid CP56Time2a.
    At(DateTime),
    /// A CP56Time2a marked invalid.
    Invalid,
}

/// One received monitored value.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Information object address.
    pub ioa: u32,
    /// Its type family.
    pub family: MonitorType,
    /// The value as its tag holds it.
    pub value: Variant,
    /// Quality bits.
    pub quality: Quality,
    /// Its time.
    pub stamp: Stamp,
}

fn qds(q: &Qds) -> Quality {
    Quality { iv: q.iv, nt: q.nt, sb: q.sb, bl: q.bl, ov: q.ov }
}

fn stamp(t: &Cp56Time2a) -> Stamp {
    from_cp56(t).map(Stamp::At).unwrap_or(Stamp::Invalid)
}

fn siq(s: &Siq) -> (Variant, Quality) {
    (Variant::Boolean(s.spi == Spi::On), Quality { iv: s.iv, nt: s.nt, sb: s.sb, bl: s.bl, ov: false })
}

fn diq(d: &Diq) -> (Variant, Quality) {
    (Variant::Byte(d.dpi as u8), Quality { iv: d.iv, nt: d.nt, sb: d.sb, bl: d.bl, ov: false })
}

fn vti(v: &Vti) -> (Variant, Quality) {
    (Variant::SByte(v.value), qds(&v.qds))
}

fn sep(s: &Sep) -> (Variant, Quality) {
    (Variant::Byte(s.es as u8), Quality { iv: s.iv, nt: s.nt, sb: s.sb, bl: s.bl, ov: false })
}

fn counter(bcr: i32, q: &SeqQd) -> (Variant, Quality) {
    (Variant::Int32(bcr), Quality { iv: q.iv, ov: q.cy, ..Default::default() })
}

fn normalized(nva: i16) -> Variant {
    Variant::Float(f32::from(nva) / 32768.0)
}

/// The monitored values of an ASDU; empty for other types.
pub fn decode(objs: &InformationObjects) -> Vec<Point> {
    use InformationObjects as I;
    use MonitorType as M;
    macro_rules! map {
        ($v:expr, $fam:expr, |$o:ident| $vq:expr, |$t:ident| $st:expr) => {
            $v.iter()
                .map(|g| {
                    let $o = &g.object;
                    let (value, quality) = $vq;
                    let $t = $o;
                    Point { ioa: g.address, family: $fam, value, quality, stamp: $st }
                })
                .collect()
        };
    }
    match objs {
        I::MSpNa1(v) => map!(v, M::Single, |o| siq(&o.siq), |_t| Stamp::None),
        I::MSpTa1(v) => map!(v, M::Single, |o| siq(&o.siq), |_t| Stamp::None),
        I::MSpTb1(v) => map!(v, M::Single, |o| siq(&o.siq), |t| stamp(&t.time)),
        I::MDpNa1(v) => map!(v, M::Double, |o| diq(&o.diq), |_t| Stamp::None),
        I::MDpTa1(v) => map!(v, M::Double, |o| diq(&o.diq), |_t| Stamp::None),
        I::MDpTb1(v) => map!(v, M::Double, |o| diq(&o.diq), |t| stamp(&t.time)),
        I::MStNa1(v) => map!(v, M::Step, |o| vti(&o.vti), |_t| Stamp::None),
        I::MStTa1(v) => map!(v, M::Step, |o| vti(&o.vti), |_t| Stamp::None),
        I::MStTb1(v) => map!(v, M::Step, |o| vti(&o.vti), |t| stamp(&t.time)),
        I::MBoNa1(v) => map!(v, M::Bitstring, |o| (Variant::UInt32(o.bsi), qds(&o.qds)), |_t| Stamp::None),
        I::MBoTb1(v) => map!(v, M::Bitstring, |o| (Variant::UInt32(o.bsi), qds(&o.qds)), |t| stamp(&t.time)),
        I::MMeNa1(v) => map!(v, M::Normalized, |o| (normalized(o.nva), qds(&o.qds)), |_t| Stamp::None),
        I::MMeTa1(v) => map!(v, M::Normalized, |o| (normalized(o.nva), qds(&o.qds)), |_t| Stamp::None),
        I::MMeTd1(v) => map!(v, M::Normalized, |o| (normalized(o.nva), qds(&o.qds)), |t| stamp(&t.time)),
        I::MMeNd1(v) => map!(v, M::Normalized, |o| (normalized(o.nva), Quality::default()), |_t| Stamp::None),
        I::MMeNb1(v) => map!(v, M::Scaled, |o| (Variant::Int16(o.sva), qds(&o.qds)), |_t| Stamp::None),
        I::MMeTb1(v) => map!(v, M::Scaled, |o| (Variant::Int16(o.sva), qds(&o.qds)), |_t| Stamp::None),
        I::MMeTe1(v) => map!(v, M::Scaled, |o| (Variant::Int16(o.sva), qds(&o.qds)), |t| stamp(&t.time)),
        I::MMeNc1(v) => map!(v, M::Float, |o| (Variant::Float(o.value), qds(&o.qds)), |_t| Stamp::None),
        I::MMeTc1(v) => map!(v, M::Float, |o| (Variant::Float(o.value), qds(&o.qds)), |_t| Stamp::None),
        I::MMeTf1(v) => map!(v, M::Float, |o| (Variant::Float(o.value), qds(&o.qds)), |t| stamp(&t.time)),
        I::MItNa1(v) => map!(v, M::Counter, |o| counter(o.bcr, &o.sqd), |_t| Stamp::None),
        I::MItTb1(v) => map!(v, M::Counter, |o| counter(o.bcr, &o.sqd), |t| stamp(&t.time)),
        I::MEpTa1(v) => map!(v, M::Protection, |o| sep(&o.sep), |_t| Stamp::None),
        I::MEpTd1(v) => map!(v, M::Protection, |o| sep(&o.sep), |t| stamp(&t.time)),
        _ => Vec::new(),
    }
}

/// A value to send, as fxgate's server holds it.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Information object address.
    pub ioa: u32,
    /// The value (converted to the family's type).
    pub value: Variant,
    /// Quality bits.
    pub quality: Quality,
    /// Its source time.
    pub time: DateTime,
}

fn to_f64(v: &Variant) -> f64 {
    match v {
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
        Variant::String(s) => s.as_ref().trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

fn to_qds(q: Quality) -> Qds {
    Qds { iv: q.iv, nt: q.nt, sb: q.sb, bl: q.bl, ov: q.ov }
}

/// The DPI of a value: Boolean true → on (2), false → off (1); numbers 0..=3 as they are.
fn dpi(v: &Variant) -> u8 {
    match v {
        Variant::Boolean(b) => 1 + u8::from(*b),
        other => to_f64(other).clamp(0.0, 3.0) as u8,
    }
}

/// The largest number of objects of `type_id` one ASDU (249 octets) carries.
pub fn max_objects(type_id: TypeId) -> usize {
    ((249 - 6) / (3 + type_id.size())).min(127)
}

/// The information objects of `items`, all sent as `family`: its CP56 variant when
/// `timed`, else the plain one.
pub fn encode(family: MonitorType, timed: bool, items: &[Outgoing]) -> (TypeId, InformationObjects) {
    use InformationObjects as I;
    use MonitorType as M;
    macro_rules! objs {
        ($variant:ident, |$o:ident| $build:expr) => {
            I::$variant(items.iter().map(|$o| GenericObject { address: $o.ioa, object: $build }).collect())
        };
    }
    let t = |o: &Outgoing| to_cp56(&o.time);
    let type_id = if timed { family.timed_id() } else { family.plain_id() };
    let objs = match (family, timed) {
        (M::Single, false) => objs!(MSpNa1, |o| MSpNa1 { siq: siq_of(o) }),
        (M::Single, true) => objs!(MSpTb1, |o| MSpTb1 { siq: siq_of(o), time: t(o) }),
        (M::Double, false) => objs!(MDpNa1, |o| MDpNa1 { diq: diq_of(o) }),
        (M::Double, true) => objs!(MDpTb1, |o| MDpTb1 { diq: diq_of(o), time: t(o) }),
        (M::Step, false) => objs!(MStNa1, |o| MStNa1 { vti: vti_of(o) }),
        (M::Step, true) => objs!(MStTb1, |o| MStTb1 { vti: vti_of(o), time: t(o) }),
        (M::Bitstring, false) => objs!(MBoNa1, |o| MBoNa1 { bsi: bits(&o.value), qds: to_qds(o.quality) }),
        (M::Bitstring, true) => objs!(MBoTb1, |o| MBoTb1 { bsi: bits(&o.value), qds: to_qds(o.quality), time: t(o) }),
        (M::Normalized, false) => objs!(MMeNa1, |o| MMeNa1 { nva: nva(&o.value), qds: to_qds(o.quality) }),
        (M::Normalized, true) => objs!(MMeTd1, |o| MMeTd1 { nva: nva(&o.value), qds: to_qds(o.quality), time: t(o) }),
        (M::Scaled, false) => objs!(MMeNb1, |o| MMeNb1 { sva: sva(&o.value), qds: to_qds(o.quality) }),
        (M::Scaled, true) => objs!(MMeTe1, |o| MMeTe1 { sva: sva(&o.value), qds: to_qds(o.quality), time: t(o) }),
        (M::Float, false) => objs!(MMeNc1, |o| MMeNc1 { value: to_f64(&o.value) as f32, qds: to_qds(o.quality) }),
        (M::Float, true) => objs!(MMeTf1, |o| MMeTf1 { value: to_f64(&o.value) as f32, qds: to_qds(o.quality), time: t(o) }),
        (M::Counter, false) => objs!(MItNa1, |o| MItNa1 { bcr: bcr(&o.value), sqd: sqd_of(o) }),
        (M::Counter, true) => objs!(MItTb1, |o| MItTb1 { bcr: bcr(&o.value), sqd: sqd_of(o), time: t(o) }),
        (M::Protection, _) => objs!(MEpTd1, |o| MEpTd1 { sep: sep_of(o), elapsed: Cp16Time2a::default(), time: t(o) }),
    };
    (type_id, objs)
}

fn siq_of(o: &Outgoing) -> Siq {
    let q = o.quality;
    let on = to_f64(&o.value) != 0.0;
    Siq { iv: q.iv, nt: q.nt, sb: q.sb, bl: q.bl, spi: if on { Spi::On } else { Spi::Off } }
}

fn diq_of(o: &Outgoing) -> Diq {
    let q = o.quality;
    let dpi = match dpi(&o.value) {
        1 => Dpi::Off,
        2 => Dpi::On,
        3 => Dpi::Invalid,
        _ => Dpi::Indeterminate,
    };
    Diq { iv: q.iv, nt: q.nt, sb: q.sb, bl: q.bl, dpi }
}

fn vti_of(o: &Outgoing) -> Vti {
    Vti { value: to_f64(&o.value).round().clamp(-64.0, 63.0) as i8, transient: false, qds: to_qds(o.quality) }
}

fn sep_of(o: &Outgoing) -> Sep {
    let q = o.quality;
    let es = match dpi(&o.value) {
        1 => EventState::Off,
        2 => EventState::On,
        3 => EventState::Invalid,
        _ => EventState::Indeterminate,
    };
    Sep { iv: q.iv, nt: q.nt, sb: q.sb, bl: q.bl, ei: false, es }
}

fn sqd_of(o: &Outgoing) -> SeqQd {
    SeqQd { iv: o.quality.iv, ca: false, cy: o.quality.ov, seq: 0 }
}

fn bits(v: &Variant) -> u32 {
    match v {
        Variant::UInt32(x) => *x,
        Variant::Int32(x) => *x as u32,
        Variant::UInt64(x) => *x as u32,
        Variant::Int64(x) => *x as u32,
        other => to_f64(other).clamp(0.0, f64::from(u32::MAX)) as u32,
    }
}

fn nva(v: &Variant) -> i16 {
    (to_f64(v) * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

fn sva(v: &Variant) -> i16 {
    to_f64(v).round().clamp(-32768.0, 32767.0) as i16
}

fn bcr(v: &Variant) -> i32 {
    to_f64(v).round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(value: Variant, quality: Quality) -> Outgoing {
        Outgoing { ioa: 7, value, quality, time: DateTime::from(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 1, 2, 3, 4, 5).unwrap()) }
    }

    #[test]
    fn every_family_round_trips_through_the_wire_types() {
        let q = Quality { nt: true, ..Default::default() };
        let cases = [
            (MonitorType::Single, Variant::Boolean(true)),
            (MonitorType::Double, Variant::Byte(2)),
            (MonitorType::Step, Variant::SByte(-5)),
            (MonitorType::Bitstring, Variant::UInt32(0xDEAD_BEEF)),
            (MonitorType::Normalized, Variant::Float(0.5)),
            (MonitorType::Scaled, Variant::Int16(-1234)),
            (MonitorType::Float, Variant::Float(3.25)),
            (MonitorType::Counter, Variant::Int32(123_456)),
            (MonitorType::Protection, Variant::Byte(1)),
        ];
        for (family, value) in cases {
            for timed in [false, true] {
                let o = out(value.clone(), if family == MonitorType::Protection { Quality { nt: true, ..Default::default() } } else { q });
                let (id, objs) = encode(family, timed, std::slice::from_ref(&o));
                assert_eq!(MonitorType::of(id), Some(family));
                let mut bytes = Vec::new();
                objs.to_bytes(&mut bytes).unwrap();
                let back = InformationObjects::from_bytes(id, false, 1, &bytes).unwrap();
                let p = decode(&back);
                assert_eq!(p.len(), 1, "{family} {timed}");
                assert_eq!(p[0].ioa, 7);
                assert_eq!(p[0].family, family);
                assert_eq!(p[0].value, value, "{family} {timed}");
                let expect_q = if family == MonitorType::Counter { Quality::default() } else { q };
                assert_eq!(p[0].quality, expect_q, "{family} {timed}");
                let timed_wire = timed || family == MonitorType::Protection;
                assert_eq!(p[0].stamp, if timed_wire { Stamp::At(o.time) } else { Stamp::None }, "{family} {timed}");
            }
        }
    }

    #[test]
    fn booleans_are_double_points_off_and_on() {
        assert_eq!(dpi(&Variant::Boolean(false)), 1);
        assert_eq!(dpi(&Variant::Boolean(true)), 2);
        assert_eq!(nva(&Variant::Float(2.0)), 32767);
        assert_eq!(max_objects(TypeId::M_ME_TF_1), 243 / 15);
    }
}
