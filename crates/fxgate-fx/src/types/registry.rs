//! The lists of every FX DataType this crate defines, for the type loaders and the model.

use opcua::types::{binary_decode_to_enc, TypeLoaderInstance};

use super::abstract_types;
use super::ac::*;
use super::cm::*;
use super::cm_conf::*;
use super::data::*;
use super::diagnostics::*;
use super::def::{EnumDef, FxStructure, Ns, StructDef};
use super::enums::*;
use super::option_sets::*;
use super::reserve2::*;

/// Lists the structured types once: `STRUCTURES` for the model, `register_binary` for the type
/// loaders.
macro_rules! structures {
    ($($ty:ident),* $(,)?) => {
        /// Every structure and union with a Rust type, in the order the model inserts them.
        pub const STRUCTURES: &[StructDef] = &[$($ty::DEF),*];

        /// Registers the binary decoders of the types of namespace `ns`.
        pub(crate) fn register_binary(ns: Ns, instance: &mut TypeLoaderInstance) {
            $( register::<$ty>(ns, instance); )*
        }
    };
}

structures![
    // FX Data
    NodeIdArray,
    NodeIdValuePair,
    AssetVerificationDataType,
    AssetVerificationResultDataType,
    RelatedEndpointDataType,
    ConnectionEndpointParameterDataType,
    PubSubConnectionEndpointParameterDataType,
    ConnectionEndpointDefinitionDataType,
    PubSubCommunicationLinkConfigurationDataType,
    ConnectionEndpointConfigurationDataType,
    ConnectionEndpointConfigurationResultDataType,
    PubSubCommunicationConfigurationDataType,
    PubSubCommunicationConfigurationResultDataType,
    PubSubReserveCommunicationIdsDataType,
    PubSubReserveCommunicationIdsResultDataType,
    // FX AC
    AggregatedHealthDataType,
    ApplicationId,
    ApplicationIdentifierDataType,
    FxVersion,
    IntervalRange,
    PublisherQosDataType,
    SubscriberQosDataType,
    // FX CM
    PortableKeyValuePair,
    ServerAddressDataType,
    PortableRelativePathElement,
    PortableRelativePath,
    PortableNodeIdentifier,
    PortableNodeIdentifierValuePair,
    NodeIdTranslationDataType,
    NodeIdentifier,
    NodeIdentifierValuePair,
    NodeIdTranslationConfDataType,
    CommunicationFlowQosDataType,
    SecurityKeyServerAddressDataType,
    AddressSelectionDataType,
    ReceiveQosSelectionDataType,
    PubSubCommunicationModelConfigurationDataType,
    AssetVerificationConfDataType,
    ServerAddressConfDataType,
    SecurityKeyServerAddressConfDataType,
    SubscriberConfigurationConfDataType,
    PubSubCommunicationFlowConfigurationConfDataType,
    AutomationComponentConfigurationConfDataType,
    ConnectionEndpointConfigurationConfDataType,
    ConnectionConfigurationConfDataType,
    ConnectionConfigurationSetConfDataType,
    // fxgate's own (v1.00.03 types missing from the NodeSets)
    ConnectionDiagnosticsDataType,
    PubSubReserveCommunicationIds2DataType,
    PubSubReserveCommunicationIdsResult2DataType,
];

/// The abstract structures without fields (no Rust type).
pub const ABSTRACT_STRUCTURES: [StructDef; 7] = abstract_types::ALL;

/// Every enumeration and option set.
pub const ENUMERATIONS: &[EnumDef] = &[
    AssetVerificationModeEnum::DEF,
    AssetVerificationResultEnum::DEF,
    FunctionalEntityVerificationResultEnum::DEF,
    PubSubConnectionEndpointModeEnum::DEF,
    FxCommandMask::DEF,
    ClampKindEnum::DEF,
    ConnectionEndpointStatusEnum::DEF,
    FxTimeUnitsEnum::DEF,
    SocketKindEnum::DEF,
    CommHealthOptionSet::DEF,
    DeviceHealthOptionSet::DEF,
    OperationalHealthOptionSet::DEF,
    FxEditEnum::DEF,
    FxProcessEnum::DEF,
    ConnectionConfigurationSetOperation::DEF,
    DeviceHealthEnumeration::DEF,
    ConnectionStateEnum::DEF,
    FxErrorEnum::DEF,
    LastActivityMask::DEF,
];

fn register<T: FxStructure>(ns: Ns, instance: &mut TypeLoaderInstance) {
    let def = T::DEF;
    if def.id.ns != ns {
        return;
    }
    if let Some(encodings) = def.encodings {
        instance.add_binary_type(def.id.id, encodings.binary, binary_decode_to_enc::<T>);
    }
}
