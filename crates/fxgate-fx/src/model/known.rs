//! The official NodeIds (OPC 10000-81 v1.00.03 and DI NodeSets) the instance model refers
//! to, as numeric identifiers in their namespace.

/// FX AC namespace (`http://opcfoundation.org/UA/FX/AC/`).
pub mod ac {
    /// AutomationComponentType.
    pub const AUTOMATION_COMPONENT_TYPE: u32 = 2;
    /// FxAssetType.
    pub const FX_ASSET_TYPE: u32 = 3;
    /// FunctionalEntityType.
    pub const FUNCTIONAL_ENTITY_TYPE: u32 = 4;
    /// ConnectionEndpointsFolderType.
    pub const CONNECTION_ENDPOINTS_FOLDER_TYPE: u32 = 20;
    /// HasConnectionEndpoint.
    pub const HAS_CONNECTION_ENDPOINT: u32 = 41;
    /// InputsFolderType.
    pub const INPUTS_FOLDER_TYPE: u32 = 1000;
    /// AutomationComponentCapabilitiesType.
    pub const AUTOMATION_COMPONENT_CAPABILITIES_TYPE: u32 = 1001;
    /// ConnectionEndpointType.
    pub const CONNECTION_ENDPOINT_TYPE: u32 = 1002;
    /// PubSubConnectionEndpointType.
    pub const PUBSUB_CONNECTION_ENDPOINT_TYPE: u32 = 1005;
    /// OutputsFolderType.
    pub const OUTPUTS_FOLDER_TYPE: u32 = 1019;
    /// ConfigurationDataFolderType.
    pub const CONFIGURATION_DATA_FOLDER_TYPE: u32 = 1041;
    /// AggregatedHealthType (VariableType).
    pub const AGGREGATED_HEALTH_TYPE: u32 = 2001;
    /// HasCapability.
    pub const HAS_CAPABILITY: u32 = 4002;
    /// AutomationComponentType.EstablishConnections.
    pub const ESTABLISH_CONNECTIONS: u32 = 292;
    /// AutomationComponentType.CloseConnections.
    pub const CLOSE_CONNECTIONS: u32 = 293;
    /// FunctionalEntityType.Verify.
    pub const FE_VERIFY: u32 = 301;
    /// IFunctionalEntityType.Verify.
    pub const IFE_VERIFY: u32 = 289;
    /// FxAssetType.VerifyAsset.
    pub const ASSET_VERIFY_ASSET: u32 = 1502;
    /// IAssetRevisionType.VerifyAsset.
    pub const IASSET_VERIFY_ASSET: u32 = 1476;
    /// AggregatedHealthDataType.
    pub const AGGREGATED_HEALTH_DATA_TYPE: u32 = 3003;
    /// CommHealthOptionSet (UInt16).
    pub const COMM_HEALTH_OPTION_SET: u32 = 3004;
    /// DeviceHealthOptionSet (UInt16).
    pub const DEVICE_HEALTH_OPTION_SET: u32 = 3005;
    /// ConnectionEndpointStatusEnum.
    pub const CONNECTION_ENDPOINT_STATUS_ENUM: u32 = 3007;
    /// OperationalHealthOptionSet (UInt32).
    pub const OPERATIONAL_HEALTH_OPTION_SET: u32 = 3010;
    /// FxVersion.
    pub const FX_VERSION: u32 = 25;
}

/// FX Data namespace (`http://opcfoundation.org/UA/FX/Data/`).
pub mod data {
    /// FxRoot, the folder of the FX model under Objects.
    pub const FX_ROOT: u32 = 71;
    /// PubSubConnectionEndpointModeEnum.
    pub const PUBSUB_CONNECTION_ENDPOINT_MODE_ENUM: u32 = 31;
    /// RelatedEndpointDataType.
    pub const RELATED_ENDPOINT_DATA_TYPE: u32 = 3003;
}

/// DI namespace (`http://opcfoundation.org/UA/DI/`).
pub mod di {
    /// DeviceHealthEnumeration.
    pub const DEVICE_HEALTH_ENUMERATION: u32 = 6244;
}
