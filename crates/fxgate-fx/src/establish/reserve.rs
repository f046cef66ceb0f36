//! ReserveCommunicationIdsCmd requests in either version: the v1.00.02
//! PubSubReserveCommunicationIdsDataType, or the v1.00.03 PubSubReserveCommunicationIds2DataType
//! that may ask for the transport-specific info (for UDP-UADP the UDP port the component
//! receives unicast traffic on). Each result is answered in the request's version.

use opcua::types::{ExtensionObject, Variant};

use crate::types::{
    body, PubSubReserveCommunicationIds2DataType, PubSubReserveCommunicationIdsDataType,
    PubSubReserveCommunicationIdsResult2DataType, PubSubReserveCommunicationIdsResultDataType,
};

/// A request as received.
#[derive(Debug, Clone)]
pub struct ReserveRequest {
    /// What to reserve.
    pub ids: PubSubReserveCommunicationIdsDataType,
    /// For the second version: whether the transport-specific info was asked for.
    pub v2: Option<bool>,
}

/// The request in `eo`, None if it holds neither version.
pub fn parse(eo: &ExtensionObject) -> Option<ReserveRequest> {
    if let Ok(r) = body::<PubSubReserveCommunicationIds2DataType>(eo) {
        return Some(ReserveRequest { ids: r.into(), v2: Some(r.request_transport_specific_info) });
    }
    body::<PubSubReserveCommunicationIdsDataType>(eo).ok().map(|r| ReserveRequest { ids: r.clone(), v2: None })
}

/// The TransportSpecificInfo of a second-version answer: the port when asked for and known,
/// else null; None for a first-version request.
pub fn info(v2: Option<bool>, port: Option<u16>) -> Option<Variant> {
    v2.map(|asked| match (asked, port) {
        (true, Some(p)) => Variant::UInt16(p),
        _ => Variant::Empty,
    })
}

/// The result element of one request: the first version, or Result2 with `info`.
pub fn result_object(r: &PubSubReserveCommunicationIdsResultDataType, info: Option<&Variant>) -> ExtensionObject {
    match info {
        None => ExtensionObject::from_message(r.clone()),
        Some(i) => ExtensionObject::from_message(PubSubReserveCommunicationIdsResult2DataType {
            result: r.result,
            default_publisher_id: r.default_publisher_id.clone(),
            writer_group_ids: r.writer_group_ids.clone(),
            data_set_writer_ids: r.data_set_writer_ids.clone(),
            transport_specific_info: i.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_versions_are_read_and_answered_in_kind() {
        let v1 = PubSubReserveCommunicationIdsDataType { transport_profile_uri: "u".into(), num_req_writer_group_ids: 1, num_req_data_set_writer_ids: 2 };
        let v2 = PubSubReserveCommunicationIds2DataType {
            transport_profile_uri: "u".into(),
            num_req_writer_group_ids: 1,
            num_req_data_set_writer_ids: 2,
            request_transport_specific_info: true,
        };
        let p1 = parse(&ExtensionObject::from_message(v1.clone())).expect("v1");
        let p2 = parse(&ExtensionObject::from_message(v2)).expect("v2");
        assert_eq!((p1.ids, p1.v2), (v1.clone(), None));
        assert_eq!((p2.ids, p2.v2), (v1, Some(true)));
        assert_eq!(info(Some(true), Some(4840)), Some(Variant::UInt16(4840)));
        assert_eq!(info(Some(false), Some(4840)), Some(Variant::Empty), "not asked: null");
        assert_eq!(info(None, Some(4840)), None);
        let r = PubSubReserveCommunicationIdsResultDataType::default();
        assert!(result_object(&r, None).inner_as::<PubSubReserveCommunicationIdsResultDataType>().is_some());
        let two = result_object(&r, Some(&Variant::UInt16(1)));
        assert_eq!(two.inner_as::<PubSubReserveCommunicationIdsResult2DataType>().map(|x| x.transport_specific_info.clone()), Some(Variant::UInt16(1)));
        assert!(parse(&ExtensionObject::null()).is_none());
    }
}
