//! The structures and unions of the FX AC namespace: health, versions, application identifiers
//! and QoS.

use opcua::types::{ByteString, DataTypeId, ExtensionObject, Guid, LocalizedText, UAString};

use super::def::{ARRAY, SCALAR};
use super::enums::FxTimeUnitsEnum;
use super::ids::ac;
use super::option_sets::{DeviceHealthOptionSet, OperationalHealthOptionSet};

fx_structure! {
    /// The AggregatedHealth of an AutomationComponent.
    AggregatedHealthDataType (Ac ac::AGGREGATED_HEALTH_DATA_TYPE) : Ua(DataTypeId::Structure),
    encodings(5004, 5005, 5006), abstract false {
        aggregated_device_health: DeviceHealthOptionSet
            => "AggregatedDeviceHealth": Ac(ac::DEVICE_HEALTH_OPTION_SET), SCALAR, Plain;
        aggregated_operational_health: OperationalHealthOptionSet
            => "AggregatedOperationalHealth": Ac(ac::OPERATIONAL_HEALTH_OPTION_SET), SCALAR, Plain;
    }
}

fx_structure! {
    /// A named identifier of the application a FunctionalEntity belongs to.
    ApplicationIdentifierDataType (Ac ac::APPLICATION_IDENTIFIER_DATA_TYPE)
        : Ua(DataTypeId::Structure), encodings(60, 62, 69), abstract false {
        name: LocalizedText => "Name": Ua(DataTypeId::LocalizedText), SCALAR, Plain;
        unique_identifier: ApplicationId
            => "UniqueIdentifier": Ac(ac::APPLICATION_ID), SCALAR, Plain;
    }
}

fx_structure! {
    /// A four-part version number.
    FxVersion (Ac ac::FX_VERSION) : Ua(DataTypeId::Structure), encodings(91, 92, 93), abstract false {
        major: u16 => "Major": Ua(DataTypeId::UInt16), SCALAR, Plain;
        minor: u16 => "Minor": Ua(DataTypeId::UInt16), SCALAR, Plain;
        build: u16 => "Build": Ua(DataTypeId::UInt16), SCALAR, Plain;
        sub_build: u16 => "SubBuild": Ua(DataTypeId::UInt16), SCALAR, Plain;
    }
}

fx_structure! {
    /// A range of supported intervals (e.g. publishing intervals).
    IntervalRange (Ac ac::INTERVAL_RANGE) : Ua(DataTypeId::Structure),
    encodings(5019, 5020, 5022), abstract false {
        min: u32 => "Min": Ua(DataTypeId::UInt32), SCALAR, Plain;
        max: u32 => "Max": Ua(DataTypeId::UInt32), SCALAR, Plain;
        increment: u16 => "Increment": Ua(DataTypeId::UInt16), SCALAR, Plain;
        multiplier: u16 => "Multiplier": Ua(DataTypeId::UInt16), SCALAR, Plain;
        unit: FxTimeUnitsEnum => "Unit": Ac(ac::FX_TIME_UNITS_ENUM), SCALAR, Plain;
    }
}

fx_structure! {
    /// A QoS category a publisher supports.
    PublisherQosDataType (Ac ac::PUBLISHER_QOS_DATA_TYPE) : Ua(DataTypeId::Structure),
    encodings(5024, 5025, 5026), abstract false {
        qos_category: UAString => "QosCategory": Ua(DataTypeId::String), SCALAR, Plain;
        /// Subtypes of TransmitQosDataType.
        datagram_qos: Option<Vec<ExtensionObject>>
            => "DatagramQos": Ua(DataTypeId::TransmitQosDataType), ARRAY, Subtyped;
    }
}

fx_structure! {
    /// A QoS category a subscriber supports.
    SubscriberQosDataType (Ac ac::SUBSCRIBER_QOS_DATA_TYPE) : Ua(DataTypeId::Structure),
    encodings(5027, 5028, 5029), abstract false {
        qos_category: UAString => "QosCategory": Ua(DataTypeId::String), SCALAR, Plain;
        /// Subtypes of ReceiveQosDataType.
        datagram_qos: Option<Vec<ExtensionObject>>
            => "DatagramQos": Ua(DataTypeId::ReceiveQosDataType), ARRAY, Subtyped;
    }
}

fx_union! {
    /// An application identifier of one of four kinds.
    ApplicationId (Ac ac::APPLICATION_ID), encodings(5003, 5021, 5038) {
        IdNumeric(u32) => Ua(DataTypeId::UInt32), SCALAR, Plain;
        IdString(UAString) => Ua(DataTypeId::String), SCALAR, Plain;
        IdGuid(Guid) => Ua(DataTypeId::Guid), SCALAR, Plain;
        IdByteString(ByteString) => Ua(DataTypeId::ByteString), SCALAR, Plain;
    }
}
