//! The runtime's bounds and bookkeeping: ids filled in and given back, the limit on run-time
//! writer groups.


use opcua::types::{
    DatagramWriterGroupTransport2DataType, ExtensionObject, NetworkAddressUrlDataType, PubSubConfiguration2DataType,
    PubSubConfigurationRefDataType, PubSubConfigurationRefMask as M, PubSubConnectionDataType, WriterGroupDataType,
};
use tokio_util::sync::CancellationToken;

use fxgate_plugin::{ApplyError, ApplyRequest, FxPubSub};

use super::{Attached, FxRuntime, MAX_WRITER_GROUPS};
use crate::config::PubSubConfig;
use crate::control::Controls;

fn heartbeat_groups(n: usize) -> PubSubConfiguration2DataType {
    let group = WriterGroupDataType {
        publishing_interval: 1000.0,
        transport_settings: ExtensionObject::from_message(DatagramWriterGroupTransport2DataType {
            address: ExtensionObject::from_message(NetworkAddressUrlDataType { url: "opc.udp://127.0.0.1:9".into(), ..Default::default() }),
            ..Default::default()
        }),
        ..Default::default()
    };
    PubSubConfiguration2DataType {
        connections: Some(vec![PubSubConnectionDataType { writer_groups: Some(vec![group; n]), ..Default::default() }]),
        ..Default::default()
    }
}

fn refs(n: usize) -> Vec<PubSubConfigurationRefDataType> {
    (0..n)
        .map(|i| PubSubConfigurationRefDataType {
            configuration_mask: M::ElementAdd | M::ReferenceWriterGroup,
            element_index: 0,
            connection_index: 0,
            group_index: i as u16,
        })
        .collect()
}

#[tokio::test]
async fn writer_groups_are_bounded_and_their_ids_come_back() {
    let c: PubSubConfig = toml::from_str("name = \"FxNet\"\npublisher_id = 5\nfx = true\n").expect("config");
    let rt = FxRuntime::new(&c, Controls::new(std::slice::from_ref(&c)));
    let shutdown = CancellationToken::new();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let store = fxgate_core::TagStoreBuilder::new().build();
    rt.attach(Attached { store, counters: Default::default(), shutdown: shutdown.clone(), readers: tx, interface: None, ttl: 1 });
    let resolve = |_: &opcua::types::NodeId| None;

    let two = heartbeat_groups(2);
    let r = refs(2);
    let applied = rt.apply(&ApplyRequest { configuration: &two, references: &r, published: &resolve, targets: &resolve }).expect("two groups");
    assert_eq!(applied.writers.len(), 0, "groups without writers");
    let ids: Vec<_> = applied.values.iter().map(|v| v.identifier.clone()).collect();
    assert_eq!(ids, vec![opcua::types::Variant::UInt16(1), opcua::types::Variant::UInt16(2)], "WriterGroupIds filled in");

    let many = heartbeat_groups(MAX_WRITER_GROUPS);
    let r = refs(MAX_WRITER_GROUPS);
    let e = rt.apply(&ApplyRequest { configuration: &many, references: &r, published: &resolve, targets: &resolve }).err();
    assert_eq!(e, Some(ApplyError::Exhausted), "the limit counts the groups that exist");
    assert_eq!(rt.snapshot().groups.len(), 2, "nothing of the refused configuration was made");
    shutdown.cancel();
}
