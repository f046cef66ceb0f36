//! The ConnectionManager's diagnostics types (OPC 10000-81 v1.00.03 §10.19
//! ConnectionDiagnosticsDataType, §10.20 ConnectionStateEnum, §10.25 FxErrorEnum, §10.30
//! LastActivityMask). The v1.00.02 NodeSets at hand do not define them, so they live in fxgate's
//! own namespace ([`Ns::Fxgate`](super::def::Ns::Fxgate)) with fxgate's NodeIds; their names,
//! values and fields are those of the text.

use opcua::types::{DataTypeId, QualifiedName, StatusCode};

use super::def::SCALAR;
use super::ids::fxgate;

fx_enum! {
    /// The state of a Connection as the ConnectionManager sees it (§10.20).
    ConnectionStateEnum (Fxgate fxgate::CONNECTION_STATE_ENUM), EnumValues(6) {
        ConnectionNotMonitored = 0, ConnectionNotEstablished = 1, ConnectionInitial = 2,
        ConnectionReady = 3, ConnectionPreOperational = 4, ConnectionOperational = 5,
        ConnectionError = 6,
    }
}

fx_enum! {
    /// What went wrong with a Connection's endpoint (§10.25).
    FxErrorEnum (Fxgate fxgate::FX_ERROR_ENUM), EnumValues(8) {
        NoError = 0, UnknownStatus = 1, Rollback = 2, ProcessingStopped = 3,
        ConnectionConfigurationSetInvalid = 4, GdsConnectionError = 5, GdsProcessingError = 6,
        AliasNameProcessingError = 7, ExternalSksConnectionError = 8, ExternalSksProcessingError = 9,
        TargetServerConnectionError = 10, ResolvingNamespacesError = 11, ResolvingPathsError = 12,
        VerifyAssetError = 13, VerifyFunctionalEntityError = 14, CreateConnectionEndpointError = 15,
        EstablishControlError = 16, SetConfigurationDataError = 17, ReassignControlError = 18,
        ReserveCommunicationIdsError = 19, SetCommunicationConfigurationError = 20,
        EnableCommunicationError = 21, CloseConnectionError = 22, LocalSksKeyPushError = 23,
        RuntimeError = 24,
    }
}

fx_option_set! {
    /// The last activity of the ConnectionManager on a Connection (§10.30): one activity bit,
    /// and Error when it failed.
    LastActivityMask: u16 = UInt16 (Fxgate fxgate::LAST_ACTIVITY_MASK), OptionSetValues(10) {
        EstablishEnabled = 0, EstablishDisabled = 1, Establish = 2, Remove = 3, Enable = 4,
        Disable = 5, Error = 15,
    }
}

fx_structure! {
    /// The diagnostics of one Connection of a ConnectionConfigurationSet (§10.19).
    ConnectionDiagnosticsDataType (Fxgate fxgate::CONNECTION_DIAGNOSTICS_DATA_TYPE)
        : Ua(DataTypeId::Structure), encodings(2, 3, 4), abstract false {
        name: QualifiedName => "Name": Ua(DataTypeId::QualifiedName), SCALAR, Plain;
        last_activity: LastActivityMask
            => "LastActivity": Fxgate(fxgate::LAST_ACTIVITY_MASK), SCALAR, Plain;
        connection_state: ConnectionStateEnum
            => "ConnectionState": Fxgate(fxgate::CONNECTION_STATE_ENUM), SCALAR, Plain;
        error_endpoint1: FxErrorEnum => "ErrorEndpoint1": Fxgate(fxgate::FX_ERROR_ENUM), SCALAR, Plain;
        endpoint1_status: StatusCode => "Endpoint1Status": Ua(DataTypeId::StatusCode), SCALAR, Plain;
        error_endpoint2: FxErrorEnum => "ErrorEndpoint2": Fxgate(fxgate::FX_ERROR_ENUM), SCALAR, Plain;
        endpoint2_status: StatusCode => "Endpoint2Status": Ua(DataTypeId::StatusCode), SCALAR, Plain;
    }
}
