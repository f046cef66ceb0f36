//! The client's ASDUs: system commands (general and counter interrogation, clock
//! synchronisation) and the state of the one process command in flight.

use fxgate_core::{TagId, WriteRequest};
use iec104::asdu::Asdu;
use iec104::cot::Cot;
use iec104::types::commands::{Frz, Qoi, Rqt};
use iec104::types::{CCiNa1, CCsNa1, CIcNa1, GenericObject, InformationObjects};
use iec104::types_id::TypeId;
use opcua::types::DateTime;
use tokio::time::Instant;

use super::station::Station;
use crate::commands::Command;
use crate::time::to_cp56;

fn system(st: &Station, type_id: TypeId, objs: InformationObjects) -> Asdu {
    Asdu {
        type_id,
        cot: Cot::Activation,
        originator_address: st.oa,
        address_field: st.ca,
        sequence: false,
        test: false,
        negative: false,
        information_objects: objs,
    }
}

/// C_IC_NA_1, station interrogation (QOI 20).
pub fn interrogation(st: &Station) -> Asdu {
    system(st, TypeId::C_IC_NA_1, InformationObjects::CIcNa1(vec![GenericObject { address: 0, object: CIcNa1 { qoi: Qoi::Global } }]))
}

/// C_CI_NA_1, general counter interrogation (RQT 5, FRZ read).
pub fn counter_interrogation(st: &Station) -> Asdu {
    system(
        st,
        TypeId::C_CI_NA_1,
        InformationObjects::CCiNa1(vec![GenericObject { address: 0, object: CCiNa1 { rqt: Rqt::ReqCoGen, frz: Frz::Read } }]),
    )
}

/// C_CS_NA_1 with the current time (UTC).
pub fn clock_sync(st: &Station) -> Asdu {
    system(
        st,
        TypeId::C_CS_NA_1,
        InformationObjects::CCsNa1(vec![GenericObject { address: 0, object: CCsNa1 { time: to_cp56(&DateTime::now()) } }]),
    )
}

/// Where a command in flight is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The select was sent; its ACT_CON is awaited.
    Select,
    /// The execute was sent; its ACT_CON is awaited.
    Execute,
}

/// The process command in flight (one per line at a time, in order of arrival).
pub struct InFlight {
    /// The OPC UA write it answers.
    pub req: WriteRequest,
    /// The tag.
    pub tag: TagId,
    /// Its station (index).
    pub station: usize,
    /// The command.
    pub command: Command,
    /// Whether the tag has no monitored point.
    pub command_only: bool,
    /// The stage.
    pub stage: Stage,
    /// The type id confirmations come back with.
    pub type_id: TypeId,
    /// When t1 runs out for the confirmation.
    pub deadline: Instant,
    /// A negative ACT_CON arrived; a COT 47 may still follow it (lib60870 stations send
    /// both), which names the cause better.
    pub refused: bool,
}
