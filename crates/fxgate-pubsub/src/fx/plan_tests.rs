//! The plan of a SetCommunicationConfiguration: what is made from which references, and what is
//! refused before anything is made.

use opcua::types::{
    DataSetMetaDataType, DataSetReaderDataType, DataSetWriterDataType, DatagramWriterGroupTransport2DataType, ExtensionObject,
    FieldMetaData, FieldTargetDataType, NetworkAddressUrlDataType, NodeId, PubSubConfiguration2DataType, PubSubConfigurationRefDataType,
    PubSubConfigurationRefMask as M, PubSubConnectionDataType, PublishedDataItemsDataType, PublishedDataSetDataType,
    PublishedVariableDataType, ReaderGroupDataType, TargetVariablesDataType, Variant, WriterGroupDataType,
};

use fxgate_core::TagId;
use fxgate_plugin::{ApplyError, ApplyRequest};

use super::plan::{plan, FxConnection};
use crate::config::EncodingConfig;
use crate::uadp::PublisherId;

fn tag(n: u32) -> NodeId {
    NodeId::new(2, format!("T{n}"))
}

fn resolve(node: &NodeId) -> Option<TagId> {
    match &node.identifier {
        opcua::types::Identifier::String(s) => s.as_ref().strip_prefix('T').and_then(|n| n.parse().ok()).map(|n: u32| n as TagId),
        _ => None,
    }
}

fn r(mask: M, connection: u16, group: u16, element: u16) -> PubSubConfigurationRefDataType {
    PubSubConfigurationRefDataType { configuration_mask: mask, element_index: element, connection_index: connection, group_index: group }
}

fn configuration(published: NodeId, target: NodeId) -> PubSubConfiguration2DataType {
    let pds = PublishedDataSetDataType {
        name: "Out".into(),
        data_set_source: ExtensionObject::from_message(PublishedDataItemsDataType {
            published_data: Some(vec![PublishedVariableDataType { published_variable: published, attribute_id: 13, ..Default::default() }]),
        }),
        ..Default::default()
    };
    let writer = DataSetWriterDataType { data_set_name: "Out".into(), enabled: true, ..Default::default() };
    let heartbeat = DataSetWriterDataType { name: "HB".into(), data_set_writer_id: 9, ..Default::default() };
    let group = WriterGroupDataType {
        publishing_interval: 10.0,
        writer_group_id: 0,
        transport_settings: ExtensionObject::from_message(DatagramWriterGroupTransport2DataType {
            address: ExtensionObject::from_message(NetworkAddressUrlDataType { url: "opc.udp://127.0.0.1:4840".into(), ..Default::default() }),
            ..Default::default()
        }),
        data_set_writers: Some(vec![writer, heartbeat]),
        ..Default::default()
    };
    let reader = DataSetReaderDataType {
        name: "R".into(),
        publisher_id: Variant::UInt32(77),
        writer_group_id: 3,
        data_set_writer_id: 4,
        message_receive_timeout: 250.0,
        data_set_meta_data: DataSetMetaDataType {
            fields: Some(vec![FieldMetaData { name: "F".into(), built_in_type: 11, ..Default::default() }]),
            ..Default::default()
        },
        subscribed_data_set: ExtensionObject::from_message(TargetVariablesDataType {
            target_variables: Some(vec![FieldTargetDataType { target_node_id: target, attribute_id: 13, ..Default::default() }]),
        }),
        ..Default::default()
    };
    PubSubConfiguration2DataType {
        published_data_sets: Some(vec![pds]),
        connections: Some(vec![PubSubConnectionDataType {
            writer_groups: Some(vec![group]),
            reader_groups: Some(vec![ReaderGroupDataType { data_set_readers: Some(vec![reader]), ..Default::default() }]),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

const FX: FxConnection<'static> = FxConnection { name: "FxNet", publisher_id: None };

#[test]
fn groups_writers_and_readers_are_planned_from_their_references() {
    let cfg = configuration(tag(1), tag(2));
    let refs = [
        r(M::ElementAdd | M::ElementMatch | M::ReferenceConnection, 0, 0, 0),
        r(M::ElementAdd | M::ReferenceWriterGroup, 0, 0, 0),
        r(M::ElementAdd | M::ReferenceWriter, 0, 0, 0), // also through its group: made once
        r(M::ElementAdd | M::ReferenceReader, 0, 0, 0),
    ];
    let p = plan(&ApplyRequest { configuration: &cfg, references: &refs, published: &resolve, targets: &resolve }, &FX).expect("plan");
    assert_eq!(p.connections.len(), 1);
    let [g] = p.groups.as_slice() else { panic!("one group: {:?}", p.groups) };
    assert_eq!((g.id, g.interval_ms, g.destination.as_str(), g.enabled), (0, 10, "opc.udp://127.0.0.1:4840", false));
    assert_eq!(g.writers.len(), 2);
    assert_eq!((g.writers[0].tags.clone(), g.writers[0].encoding, g.writers[0].enabled), (vec![1 as TagId], EncodingConfig::Variant, true));
    assert!(g.writers[1].tags.is_empty(), "a writer without a DataSet is a heartbeat");
    let [rd] = p.readers.as_slice() else { panic!("one reader") };
    assert_eq!((rd.key.clone(), rd.timeout_ms, rd.targets.clone()), ((PublisherId::UInt32(77), 3, 4), 250, vec![2 as TagId]));
}

#[test]
fn what_cannot_be_made_is_refused_with_its_reference() {
    let cfg = configuration(tag(1), tag(2));
    let req = |refs: &[PubSubConfigurationRefDataType]| {
        plan(&ApplyRequest { configuration: &cfg, references: refs, published: &resolve, targets: &resolve }, &FX).err()
    };
    assert_eq!(req(&[]), Some(ApplyError::NothingToDo));
    assert!(matches!(req(&[r(M::ElementModify | M::ReferenceWriterGroup, 0, 0, 0)]), Some(ApplyError::Unsupported { index: 0, .. })));
    assert!(matches!(
        req(&[r(M::ElementAdd | M::ReferenceWriterGroup, 0, 0, 0), r(M::ElementRemove | M::ReferenceReader, 0, 0, 0)]),
        Some(ApplyError::Unsupported { index: 1, .. })
    ));
    assert!(matches!(req(&[r(M::ReferenceWriterGroup, 0, 0, 0)]), Some(ApplyError::Invalid { .. })), "neither add nor match");
    assert!(matches!(req(&[r(M::ElementAdd | M::ReferenceWriterGroup, 0, 5, 0)]), Some(ApplyError::Invalid { .. })), "no group 5");
    assert!(matches!(req(&[r(M::ElementAdd | M::ReferenceReader, 1, 0, 0)]), Some(ApplyError::Invalid { .. })), "no connection 1");

    // A variable that is not one of the component's: nothing is planned.
    let other = configuration(NodeId::new(2, "elsewhere"), tag(2));
    let refs = [r(M::ElementAdd | M::ReferenceWriterGroup, 0, 0, 0)];
    let e = plan(&ApplyRequest { configuration: &other, references: &refs, published: &resolve, targets: &resolve }, &FX).err();
    assert!(matches!(e, Some(ApplyError::Invalid { index: 0, ref detail }) if detail.contains("elsewhere")), "{e:?}");

    // Another connection than the one set aside for FX.
    let mut named = configuration(tag(1), tag(2));
    if let Some(c) = named.connections.as_mut().and_then(|c| c.first_mut()) {
        c.name = "Other".into();
    }
    let refs = [r(M::ElementAdd | M::ReferenceConnection, 0, 0, 0)];
    let e = plan(&ApplyRequest { configuration: &named, references: &refs, published: &resolve, targets: &resolve }, &FX).err();
    assert!(matches!(e, Some(ApplyError::Unsupported { .. })), "{e:?}");
}
