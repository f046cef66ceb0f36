//! Values of FX structure types the instance model shows.

use opcua::types::{Array, DynEncodable, ExtensionObject, Variant, VariantScalarTypeId};

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

/// An array of structures as an ExtensionObject[] value (typed even when empty).
pub fn structure_array<T: DynEncodable>(list: Vec<T>) -> Variant {
    object_array(list.into_iter().map(ExtensionObject::from_message).collect())
}

/// An ExtensionObject[] Variant of `list` (elements of several structure types).
pub fn object_array(list: Vec<ExtensionObject>) -> Variant {
    let values: Vec<Variant> = list.into_iter().map(Variant::from).collect();
    match Array::new(VariantScalarTypeId::ExtensionObject, values) {
        Ok(a) => Variant::Array(Box::new(a)),
        Err(_) => Variant::Empty,
    }
}
