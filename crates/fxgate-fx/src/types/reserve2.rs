//! The second versions of the ReserveCommunicationIds structures (OPC 10000-81 v1.00.03
//! §10.43.4 PubSubReserveCommunicationIds2DataType, §10.44.4
//! PubSubReserveCommunicationIdsResult2DataType): a request may ask for the transport-specific
//! information, for UDP-UADP the UDP port the AutomationComponent receives unicast traffic on.
//! The v1.00.02 NodeSets at hand lack them, so, like the diagnostics types, they live in fxgate's
//! own namespace with fxgate's NodeIds, as subtypes of the v1.00.02 types they extend; names and
//! fields (the inherited ones first) are the text's.

use opcua::types::{DataTypeId, StatusCode, UAString, Variant};

use super::def::{ARRAY, SCALAR};
use super::ids::{data, fxgate};

fx_structure! {
    /// A PubSub ReserveCommunicationIds request that may ask for the transport-specific info.
    PubSubReserveCommunicationIds2DataType (Fxgate fxgate::PUB_SUB_RESERVE_COMMUNICATION_IDS2_DATA_TYPE)
        : Data(data::PUB_SUB_RESERVE_COMMUNICATION_IDS_DATA_TYPE), encodings(12, 13, 14), abstract false {
        transport_profile_uri: UAString => "TransportProfileUri": Ua(DataTypeId::String), SCALAR, Plain;
        num_req_writer_group_ids: u16 => "NumReqWriterGroupIds": Ua(DataTypeId::UInt16), SCALAR, Plain;
        num_req_data_set_writer_ids: u16
            => "NumReqDataSetWriterIds": Ua(DataTypeId::UInt16), SCALAR, Plain;
        request_transport_specific_info: bool
            => "RequestTransportSpecificInfo": Ua(DataTypeId::Boolean), SCALAR, Plain;
    }
}

fx_structure! {
    /// The ids reserved and, when asked for, the transport-specific info (a UInt16 UDP port for
    /// UDP-UADP; null otherwise).
    PubSubReserveCommunicationIdsResult2DataType
        (Fxgate fxgate::PUB_SUB_RESERVE_COMMUNICATION_IDS_RESULT2_DATA_TYPE)
        : Data(data::PUB_SUB_RESERVE_COMMUNICATION_IDS_RESULT_DATA_TYPE), encodings(16, 17, 18), abstract false {
        result: StatusCode => "Result": Ua(DataTypeId::StatusCode), SCALAR, Plain;
        default_publisher_id: Variant => "DefaultPublisherId": Ua(DataTypeId::BaseDataType), SCALAR, Plain;
        writer_group_ids: Option<Vec<u16>> => "WriterGroupIds": Ua(DataTypeId::UInt16), ARRAY, Plain;
        data_set_writer_ids: Option<Vec<u16>> => "DataSetWriterIds": Ua(DataTypeId::UInt16), ARRAY, Plain;
        transport_specific_info: Variant
            => "TransportSpecificInfo": Ua(DataTypeId::BaseDataType), SCALAR, Plain;
    }
}

impl From<&PubSubReserveCommunicationIds2DataType> for super::PubSubReserveCommunicationIdsDataType {
    fn from(r: &PubSubReserveCommunicationIds2DataType) -> Self {
        Self {
            transport_profile_uri: r.transport_profile_uri.clone(),
            num_req_writer_group_ids: r.num_req_writer_group_ids,
            num_req_data_set_writer_ids: r.num_req_data_set_writer_ids,
        }
    }
}
