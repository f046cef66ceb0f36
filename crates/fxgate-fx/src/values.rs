//! Values of FX structure types the instance model shows.

use opcua::types::{ExtensionObject, Variant};

use crate::types::{AggregatedHealthDataType, DeviceHealthOptionSet, FxVersion, OperationalHealthOptionSet};

/// An FxVersion {Major, Minor, Build, SubBuild}.
pub fn fx_version(v: [u16; 4]) -> Variant {
    ExtensionObject::from_message(FxVersion { major: v[0], minor: v[1], build: v[2], sub_build: v[3] }).into()
}

/// An AggregatedHealthDataType of the two option sets' bits.
pub fn aggregated_health(device: u16, operational: u32) -> Variant {
    ExtensionObject::from_message(AggregatedHealthDataType {
        aggregated_device_health: DeviceHealthOptionSet::from_bits_retain(device),
        aggregated_operational_health: OperationalHealthOptionSet::from_bits_retain(operational),
    })
    .into()
}
