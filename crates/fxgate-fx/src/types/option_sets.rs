//! The option sets (bit masks over unsigned integers) of the FX Data, AC and CM namespaces.

use super::ids::{ac, cm, data};

fx_option_set! {
    /// The commands an EstablishConnections call carries (FX Data).
    FxCommandMask: u32 = UInt32 (Data data::FX_COMMAND_MASK), OptionSetValues(1225) {
        VerifyAssetCmd = 0,
        VerifyFunctionalEntityCmd = 1,
        CreateConnectionEndpointCmd = 2,
        EstablishControlCmd = 3,
        SetConfigurationDataCmd = 4,
        ReassignControlCmd = 5,
        ReserveCommunicationIdsCmd = 6,
        SetCommunicationConfigurationCmd = 7,
        EnableCommunicationCmd = 8,
    }
}

fx_option_set! {
    /// The communication health of ConnectionEndpoints (FX AC).
    CommHealthOptionSet: u16 = UInt16 (Ac ac::COMM_HEALTH_OPTION_SET), OptionSetValues(6018) {
        CommInitial = 0, CommPreOperational = 1, CommError = 2,
    }
}

fx_option_set! {
    /// Aggregated device health of an AutomationComponent's assets (FX AC).
    DeviceHealthOptionSet: u16 = UInt16 (Ac ac::DEVICE_HEALTH_OPTION_SET), OptionSetValues(6019) {
        DeviceFailure = 0, DeviceCheckFunction = 1, DeviceMaintenanceRequired = 2, DeviceOffSpec = 3,
    }
}

fx_option_set! {
    /// Operational health of FunctionalEntities (FX AC). Bits 0–15 carry CommHealthOptionSet.
    OperationalHealthOptionSet: u32 = UInt32 (Ac ac::OPERATIONAL_HEALTH_OPTION_SET),
        OptionSetValues(6084) {
        OperationalWarning = 16, OperationalError = 17, SubOperationalWarning = 18,
        SubOperationalError = 19,
    }
}

fx_option_set! {
    /// What CloseAndUpdate does with a ConnectionConfigurationSet (FX CM).
    ConnectionConfigurationSetOperation: u8 = Byte
        (Cm cm::CONNECTION_CONFIGURATION_SET_OPERATION), OptionSetValues(16031) {
        ElementAdd = 0, ElementRemove = 1, ElementReplace = 2,
    }
}
