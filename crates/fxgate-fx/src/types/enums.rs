//! The enumerations of the FX Data, AC and CM namespaces, and DI's DeviceHealthEnumeration.

use super::ids::{ac, cm, data, di};

fx_enum! {
    /// How VerifyAsset compares an asset with the expectation (FX Data).
    AssetVerificationModeEnum (Data data::ASSET_VERIFICATION_MODE_ENUM), EnumValues(6327) {
        AssetCompatibility = 0, AssetIdentity = 1, AssetIdentityAndCompatibility = 2,
    }
}

fx_enum! {
    /// The outcome of VerifyAsset (FX Data).
    AssetVerificationResultEnum (Data data::ASSET_VERIFICATION_RESULT_ENUM), EnumValues(6326) {
        NotSet = 0, Match = 1, Compatible = 2, Mismatch = 3,
    }
}

fx_enum! {
    /// The outcome of a FunctionalEntity's Verify (FX Data).
    FunctionalEntityVerificationResultEnum
        (Data data::FUNCTIONAL_ENTITY_VERIFICATION_RESULT_ENUM), EnumValues(6532) {
        NotSet = 0, Match = 1, Mismatch = 2,
    }
}

fx_enum! {
    /// Which PubSub references a PubSubConnectionEndpoint needs (FX Data). Starts at 1.
    PubSubConnectionEndpointModeEnum (Data data::PUB_SUB_CONNECTION_ENDPOINT_MODE_ENUM),
        EnumValues(6240) {
        PublisherSubscriber = 1, Publisher = 2, Subscriber = 3,
    }
}

fx_enum! {
    /// The kind of a clamp connector (FX AC).
    ClampKindEnum (Ac ac::CLAMP_KIND_ENUM), EnumValues(6011) { Screw = 0, Thumb = 1 }
}

fx_enum! {
    /// The status of a ConnectionEndpoint (FX AC).
    ConnectionEndpointStatusEnum (Ac ac::CONNECTION_ENDPOINT_STATUS_ENUM), EnumValues(6050) {
        Initial = 0, Ready = 1, PreOperational = 2, Operational = 3, Error = 4,
    }
}

fx_enum! {
    /// Time units of an IntervalRange (FX AC).
    FxTimeUnitsEnum (Ac ac::FX_TIME_UNITS_ENUM), EnumStrings(6078) {
        Nanosecond = 0, Microsecond = 1, Millisecond = 2, Second = 3,
    }
}

fx_enum! {
    /// The kind of a socket connector (FX AC).
    SocketKindEnum (Ac ac::SOCKET_KIND_ENUM), EnumStrings(6029) { RJ45 = 0, M12 = 1 }
}

fx_enum! {
    /// The Action of EditConnectionConfigurationSets (FX CM).
    FxEditEnum (Cm cm::FX_EDIT_ENUM), EnumValues(6090) {
        StartEditing = 0, CommitUpdates = 1, DiscardUpdates = 2,
    }
}

fx_enum! {
    /// The Action of ProcessConnectionConfigurationSets (FX CM).
    FxProcessEnum (Cm cm::FX_PROCESS_ENUM), EnumValues(6156) {
        ActionEstablishConnectionsEnabled = 0,
        ActionEstablishConnectionsDisabled = 1,
        ActionEstablishConnections = 2,
        ActionRemoveConnections = 3,
        ActionEnableConnections = 4,
        ActionDisableConnections = 5,
    }
}

fx_enum! {
    /// NAMUR NE 107 device health (DI).
    #[allow(non_camel_case_types)]
    DeviceHealthEnumeration (Di di::DEVICE_HEALTH_ENUMERATION), EnumStrings(6450) {
        NORMAL = 0, FAILURE = 1, CHECK_FUNCTION = 2, OFF_SPEC = 3, MAINTENANCE_REQUIRED = 4,
    }
}
