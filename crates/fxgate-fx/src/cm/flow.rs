//! The PubSub side of a set's run (§6.7.3, Annex E.2.2) for connections with `pubsub`: the id
//! handshake — ReserveCommunicationIdsCmd on Endpoint1's component, then Endpoint2's call with
//! its reader on the reserved ids and its own writer ids null (filled in by its component and
//! returned in ConfigurationValues), then Endpoint1's call with its writer on the reserved ids
//! and its reader on Endpoint2's — each endpoint call carrying SetCommunicationConfigurationCmd
//! (and EnableCommunicationCmd for ActionEstablishConnectionsEnabled).
//!
//! The communication model is generated from the configuration: per publishing end one writer
//! group (`publishing_interval_ms`) with one writer whose PublishedDataItems are the end's
//! OutputVariables, sent to the other end's `address`; per subscribing end one reader group with
//! one reader whose TargetVariables are the end's InputVariables (field i → input i), on a
//! connection with a null name and PublisherId (ElementAdd + ElementMatch, §6.16.3).

use std::collections::HashMap;

use opcua::types::{
    ConfigurationVersionDataType, DataSetFieldContentMask, DataSetMetaDataType, DataSetReaderDataType, DataSetWriterDataType,
    DatagramWriterGroupTransport2DataType, ExtensionObject, FieldMetaData, FieldTargetDataType, NetworkAddressUrlDataType, NodeId,
    PubSubConfiguration2DataType, PubSubConfigurationRefDataType, PubSubConfigurationRefMask as M, PubSubConnectionDataType,
    PublishedDataItemsDataType, PublishedDataSetDataType, PublishedVariableDataType, ReaderGroupDataType, TargetVariablesDataType,
    Variant, WriterGroupDataType,
};

use super::calls::At;
use super::plan::Call;
use super::remote::set::Which;
use crate::config::cm::{ConnectionSetConfig, EndpointConfig, EndpointModeConfig, PubSubFlowConfig};
use crate::establish::{Outcome, Request};
use crate::types::{
    body, FxCommandMask, PubSubCommunicationConfigurationDataType, PubSubCommunicationLinkConfigurationDataType,
    PubSubConnectionEndpointParameterDataType, PubSubReserveCommunicationIdsDataType,
};

use fxgate_plugin::UDP_UADP;

/// What a step of a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A call as planned (asset verification, an endpoint without PubSub).
    Plain,
    /// ReserveCommunicationIdsCmd on Endpoint1's component (connection j).
    Reserve(usize),
    /// An endpoint's call with SetCommunicationConfigurationCmd (connection j, which end).
    Configure(usize, Which),
}

/// Why a flow could not be set up.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FlowError {
    /// The component did not return the ids the other end needs.
    #[error("connection {connection}: {what}")]
    Ids {
        /// The connection's index.
        connection: usize,
        /// What is missing.
        what: String,
    },
}

/// A writer's ids: PublisherId, WriterGroupId, DataSetWriterId.
type WriterIds = (Variant, u16, u16);

/// The writer ids each publishing end got during a run.
#[derive(Default)]
pub struct Flows {
    ids: HashMap<(usize, Which), WriterIds>,
}

fn publishes(e: &EndpointConfig) -> bool {
    e.mode != EndpointModeConfig::Subscriber
}

fn subscribes(e: &EndpointConfig) -> bool {
    e.mode != EndpointModeConfig::Publisher
}

/// The run's steps: each PubSub connection's two endpoint calls in handshake order, after a
/// reservation on Endpoint1's component when it publishes; everything else as planned.
pub fn sequence(set: &ConnectionSetConfig, calls: Vec<(At, Call)>) -> Vec<(At, Stage, Call)> {
    let mut out = Vec::with_capacity(calls.len() + set.connection.len());
    let mut it = calls.into_iter().peekable();
    while let Some((at, call)) = it.next() {
        let flow = match at {
            Some((j, Which::One)) => set.connection.get(j).filter(|c| c.pubsub.is_some() && c.endpoint2.is_some()).map(|c| (j, c)),
            _ => None,
        };
        let pair = flow.filter(|(j, _)| matches!(it.peek(), Some((Some((k, Which::Two)), _)) if k == j));
        let (Some((j, c)), Some((at2, call2))) = (pair, pair.and_then(|_| it.next())) else {
            out.push((at, Stage::Plain, call));
            continue;
        };
        if publishes(&c.endpoint1) {
            let reserve = Call { target: call.target.clone(), request: reserve_request() };
            out.push((at, Stage::Reserve(j), reserve));
        }
        out.push((at2, Stage::Configure(j, Which::Two), call2));
        out.push((at, Stage::Configure(j, Which::One), call));
    }
    out
}

fn reserve_request() -> Request {
    let r = PubSubReserveCommunicationIdsDataType {
        transport_profile_uri: UDP_UADP.into(),
        num_req_writer_group_ids: 1,
        num_req_data_set_writer_ids: 1,
    };
    Request {
        mask: FxCommandMask::ReserveCommunicationIdsCmd,
        assets: vec![],
        endpoints: vec![],
        reserve: vec![ExtensionObject::from_message(r)],
        communication: vec![],
    }
}

impl Flows {
    /// Adds the communication model to the call of `stage` (`action`: the FxProcessEnum value;
    /// 0 also enables, 0 and 1 configure the readers and writers disabled).
    pub fn prepare(&self, set: &ConnectionSetConfig, stage: Stage, call: &mut Call, action: i32) -> Result<(), FlowError> {
        let Stage::Configure(j, which) = stage else { return Ok(()) };
        let Some((conn, Some(e2))) = set.connection.get(j).map(|c| (c, c.endpoint2.as_ref())) else { return Ok(()) };
        let Some(flow) = &conn.pubsub else { return Ok(()) };
        let (me, other, other_which) = match which {
            Which::One => (&conn.endpoint1, e2, Which::Two),
            Which::Two => (e2, &conn.endpoint1, Which::One),
        };
        let missing = |what: &str| FlowError::Ids { connection: j, what: what.to_string() };
        let Some(config) = call.request.endpoints.first_mut() else { return Err(missing("no endpoint in the call")) };
        let (inputs, outputs) = match &config.connection_endpoint {
            crate::types::ConnectionEndpointDefinitionDataType::Parameter(p) => body::<PubSubConnectionEndpointParameterDataType>(p)
                .map(|p| (p.input_variable_ids.clone().unwrap_or_default(), p.output_variable_ids.clone().unwrap_or_default()))
                .map_err(|_| missing("the endpoint's parameters"))?,
            _ => return Err(missing("the endpoint's parameters")),
        };
        let writer = publishes(me).then(|| {
            let ids = self.ids.get(&(j, which)).map(|(_, g, w)| (*g, *w)).unwrap_or((0, 0));
            (ids, other.address.clone(), outputs)
        });
        let reader = match subscribes(me) {
            false => None,
            true => {
                let ids = self.ids.get(&(j, other_which)).cloned().ok_or_else(|| missing("the other end's writer ids"))?;
                Some((ids, inputs))
            }
        };
        let enabled = action == 2;
        let model = model(flow, &conn.name, writer, reader, enabled);
        config.communication_links = ExtensionObject::from_message(links(publishes(me), subscribes(me)));
        call.request.mask |= FxCommandMask::SetCommunicationConfigurationCmd;
        if action == 0 {
            call.request.mask |= FxCommandMask::EnableCommunicationCmd;
        }
        call.request.communication = vec![ExtensionObject::from_message(model)];
        Ok(())
    }

    /// Takes the ids a step's answer holds: the reservation, or the writer ids a component filled in.
    pub fn record(&mut self, set: &ConnectionSetConfig, stage: Stage, out: &Outcome) -> Result<(), FlowError> {
        match stage {
            Stage::Plain => Ok(()),
            Stage::Reserve(j) => {
                let r = out.reserve.first().filter(|r| r.result.is_good());
                let ids = r.and_then(|r| {
                    let g = r.writer_group_ids.as_ref()?.first()?;
                    let w = r.data_set_writer_ids.as_ref()?.first()?;
                    Some((r.default_publisher_id.clone(), *g, *w))
                });
                let ids = ids.ok_or_else(|| FlowError::Ids { connection: j, what: "no reserved ids".into() })?;
                self.ids.insert((j, Which::One), ids);
                Ok(())
            }
            Stage::Configure(j, which) => {
                let me = match which {
                    Which::One => set.connection.get(j).map(|c| &c.endpoint1),
                    Which::Two => set.connection.get(j).and_then(|c| c.endpoint2.as_ref()),
                };
                if me.is_none_or(|e| !publishes(e)) || self.ids.contains_key(&(j, which)) {
                    return Ok(());
                }
                let values = out.communication.first().and_then(|c| c.configuration_values.clone()).unwrap_or_default();
                let of = |mask: M| values.iter().find(|v| v.configuration_element.configuration_mask == mask).map(|v| v.identifier.clone());
                let ids = match (of(M::ReferenceConnection), of(M::ReferenceWriterGroup), of(M::ReferenceWriter)) {
                    (Some(p), Some(Variant::UInt16(g)), Some(Variant::UInt16(w))) if !p.is_empty() => (p, g, w),
                    _ => return Err(FlowError::Ids { connection: j, what: format!("no filled-in writer ids in ConfigurationValues {values:?}") }),
                };
                self.ids.insert((j, which), ids);
                Ok(())
            }
        }
    }
}

fn element(mask: M) -> PubSubConfigurationRefDataType {
    PubSubConfigurationRefDataType { configuration_mask: mask, element_index: 0, connection_index: 0, group_index: 0 }
}

/// CommunicationLinks to the one reader and writer of [`model`].
fn links(writer: bool, reader: bool) -> PubSubCommunicationLinkConfigurationDataType {
    PubSubCommunicationLinkConfigurationDataType {
        data_set_reader_ref: element(if reader { M::ReferenceReader } else { M::empty() }),
        expected_subscribed_data_set_version: ConfigurationVersionDataType::default(),
        data_set_writer_ref: element(if writer { M::ReferenceWriter } else { M::empty() }),
        expected_published_data_set_version: ConfigurationVersionDataType::default(),
    }
}

fn fields(prefix: &str, n: usize) -> Option<Vec<FieldMetaData>> {
    Some(
        (0..n)
            .map(|i| FieldMetaData {
                name: format!("{prefix}{i}").into(),
                data_type: NodeId::new(0, 24u32), // BaseDataType: the target variable's type decides
                value_rank: -1,
                ..Default::default()
            })
            .collect(),
    )
}

/// The PubSubCommunicationConfigurationDataType of one end: its writer (ids, destination,
/// published variables) and its reader (the publisher's ids, target variables).
fn model(
    flow: &PubSubFlowConfig,
    connection: &str,
    writer: Option<((u16, u16), String, Vec<NodeId>)>,
    reader: Option<(WriterIds, Vec<NodeId>)>,
    enabled: bool,
) -> PubSubCommunicationConfigurationDataType {
    let version = ConfigurationVersionDataType { major_version: 1, minor_version: 1 };
    let mut refs = vec![element(M::ElementAdd | M::ElementMatch | M::ReferenceConnection)];
    let mut data_sets = Vec::new();
    let mut writer_groups = Vec::new();
    if let Some(((group_id, writer_id), destination, outputs)) = writer {
        let name = format!("{connection}.Out");
        data_sets.push(PublishedDataSetDataType {
            name: name.as_str().into(),
            data_set_meta_data: DataSetMetaDataType {
                name: name.as_str().into(),
                fields: fields("Out", outputs.len()),
                configuration_version: version.clone(),
                ..Default::default()
            },
            data_set_source: ExtensionObject::from_message(PublishedDataItemsDataType {
                published_data: Some(
                    outputs.into_iter().map(|n| PublishedVariableDataType { published_variable: n, attribute_id: 13, ..Default::default() }).collect(),
                ),
            }),
            ..Default::default()
        });
        writer_groups.push(WriterGroupDataType {
            enabled: true, // parents enabled, the writer as the action says (§6.7.3)
            writer_group_id: group_id,
            publishing_interval: flow.publishing_interval_ms as f64,
            keep_alive_time: flow.publishing_interval_ms as f64,
            max_network_message_size: 1472,
            transport_settings: ExtensionObject::from_message(DatagramWriterGroupTransport2DataType {
                address: ExtensionObject::from_message(NetworkAddressUrlDataType { url: destination.into(), ..Default::default() }),
                ..Default::default()
            }),
            data_set_writers: Some(vec![DataSetWriterDataType {
                enabled,
                data_set_writer_id: writer_id,
                data_set_field_content_mask: DataSetFieldContentMask::StatusCode | DataSetFieldContentMask::SourceTimestamp,
                key_frame_count: 1,
                data_set_name: name.as_str().into(),
                ..Default::default()
            }]),
            ..Default::default()
        });
        refs.push(element(M::ElementAdd | M::ReferencePubDataset));
        refs.push(element(M::ElementAdd | M::ReferenceWriterGroup));
    }
    let mut reader_groups = Vec::new();
    if let Some(((publisher_id, group_id, writer_id), inputs)) = reader {
        let n = inputs.len();
        reader_groups.push(ReaderGroupDataType {
            enabled: true,
            data_set_readers: Some(vec![DataSetReaderDataType {
                enabled,
                publisher_id,
                writer_group_id: group_id,
                data_set_writer_id: writer_id,
                data_set_meta_data: DataSetMetaDataType { fields: fields("In", n), configuration_version: version, ..Default::default() },
                message_receive_timeout: flow.message_receive_timeout_ms as f64,
                subscribed_data_set: ExtensionObject::from_message(TargetVariablesDataType {
                    target_variables: Some(
                        inputs.into_iter().map(|n| FieldTargetDataType { target_node_id: n, attribute_id: 13, ..Default::default() }).collect(),
                    ),
                }),
                ..Default::default()
            }]),
            ..Default::default()
        });
        refs.push(element(M::ElementAdd | M::ReferenceReaderGroup));
    }
    PubSubCommunicationConfigurationDataType {
        pub_sub_configuration: PubSubConfiguration2DataType {
            published_data_sets: Some(data_sets),
            connections: Some(vec![PubSubConnectionDataType {
                enabled: true,
                transport_profile_uri: UDP_UADP.into(),
                writer_groups: Some(writer_groups),
                reader_groups: Some(reader_groups),
                ..Default::default()
            }]),
            enabled: true,
            ..Default::default()
        },
        require_complete_update: false,
        configuration_references: Some(refs),
    }
}
