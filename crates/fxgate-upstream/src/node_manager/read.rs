//! Read (OPC 10000-4 §5.10.2): the gateway's own nodes are answered here, an upstream's in
//! one Read per upstream; a young enough cached value answers a `maxAge` read, and while an
//! upstream is unreachable its last values are answered with Bad_NoCommunication.

use fxgate_core::tag::with_timestamps;
use opcua::client::{services::Read, UARequest};
use opcua::server::address_space::AccessLevel;
use opcua::server::node_manager::{ParsedReadValueId, ReadNode, RequestContext};
use opcua::types::{
    AttributeId, DataValue, DateTime, NodeId, NumericRange, QualifiedName, ReadValueId, StatusCode,
    TimestampsToReturn,
};

use super::route::{Groups, Target};
use super::ForwardNodeManager;
use crate::local::Local;
use crate::upstream::{service_failure, Live, Upstream};

/// A value carrying only the Bad status `s`.
fn bad(s: StatusCode) -> DataValue {
    DataValue {
        status: Some(s),
        server_timestamp: Some(DateTime::now()),
        ..Default::default()
    }
}

/// The value to answer with while the upstream is unreachable: the last value with
/// Bad_NoCommunication and its source timestamp, for the Value; the cached attribute
/// otherwise (attributes other than Value do not change).
fn offline_value(up: &Upstream, node: &NodeId, attr: AttributeId) -> DataValue {
    match up.cache.get(node, attr) {
        Some((dv, _)) if attr != AttributeId::Value => dv,
        Some((dv, _)) => DataValue {
            value: dv.value,
            status: Some(StatusCode::BadNoCommunication),
            source_timestamp: dv.source_timestamp,
            server_timestamp: Some(DateTime::now()),
            ..Default::default()
        },
        None => bad(StatusCode::BadNoCommunication),
    }
}

impl ForwardNodeManager {
    /// Read (OPC 10000-4 §5.10.2): the gateway's own nodes are answered here, upstream nodes
    /// in one Read per upstream.
    pub(super) async fn read_nodes(
        &self,
        context: &RequestContext,
        max_age: f64,
        ttr: TimestampsToReturn,
        nodes_to_read: &mut [&mut ReadNode],
    ) -> Result<(), StatusCode> {
        let mut groups = Groups::default();
        for (i, n) in nodes_to_read.iter_mut().enumerate() {
            let node = n.node();
            if node.node_id.namespace == self.ns {
                if let Some(Target::Local(local)) = self.target(&node.node_id) {
                    let dv = self.read_local(context, &local, node.attribute_id);
                    n.set_result(with_timestamps(dv, ttr));
                }
                continue;
            }
            let Some(group) = groups.of(&self.agg, node.node_id.namespace) else { continue };
            if node.attribute_id == AttributeId::Value && !self.may(context, &node.node_id, AccessLevel::CURRENT_READ) {
                n.set_result(bad(StatusCode::BadUserAccessDenied));
                continue;
            }
            group.push(i);
        }
        for (up, idx) in groups.groups {
            let items: Vec<ReadItem> = idx.iter().map(|i| ReadItem::of(nodes_to_read[*i].node())).collect();
            let values = self.read_upstream(&up, &items, max_age).await;
            for (i, dv) in idx.into_iter().zip(values) {
                nodes_to_read[i].set_result(with_timestamps(dv, ttr));
            }
        }
        Ok(())
    }

    /// Reads an attribute of one of the gateway's own nodes.
    pub(super) fn read_local(&self, context: &RequestContext, local: &Local, attr: AttributeId) -> DataValue {
        if attr == AttributeId::UserExecutable && matches!(local, Local::Method(_)) {
            let may = context.authenticator.is_user_executable(&context.token, &local.node_id(self.ns));
            return DataValue::value_only(opcua::types::Variant::Boolean(may));
        }
        let desc = self.description(local);
        local.read(self.ns, attr, &desc, || match local {
            Local::Diag(n, v) => match self.agg.get(n) {
                Some(u) => v.value(&u.status(), u.items.live()),
                None => opcua::types::Variant::Empty,
            },
            Local::Servers => self.agg.servers_value(),
            _ => opcua::types::Variant::Empty,
        })
    }

    /// The Description attribute of one of the gateway's own nodes.
    fn description(&self, local: &Local) -> String {
        match local {
            Local::UpstreamFolder(n) => self
                .agg
                .get(n)
                .map(|u| format!("Upstream OPC UA server {}", u.config.endpoint_url))
                .unwrap_or_default(),
            Local::Upstreams => "Connection state of the aggregated OPC UA servers".into(),
            Local::DiagFolder(n) => format!("Connection state of upstream {n}"),
            other => other.fixed_description().unwrap_or_default().to_string(),
        }
    }

    /// Reads `nodes` (gateway ids) of one upstream; results in order.
    pub(super) async fn read_upstream(&self, up: &Upstream, nodes: &[ReadItem<'_>], max_age: f64) -> Vec<DataValue> {
        let Some(live) = up.live() else {
            return nodes.iter().map(|n| offline_value(up, n.node, n.attribute)).collect();
        };
        let mut out: Vec<Option<DataValue>> = vec![None; nodes.len()];
        // maxAge: a cached Value young enough is the answer (the gateway keeps the values
        // of monitored nodes current); other attributes never change.
        if max_age > 0.0 {
            let hits = answer_from_cache(up, nodes, max_age, &mut out);
            self.metrics_cache_hits(up, hits);
        }
        let mut ask = Vec::new();
        let mut ask_idx = Vec::new();
        for (i, n) in nodes.iter().enumerate() {
            if out[i].is_some() {
                continue;
            }
            match live.map.node_to_up(n.node) {
                Some(id) => {
                    ask.push(ReadValueId {
                        node_id: id,
                        attribute_id: n.attribute as u32,
                        index_range: n.index_range.clone(),
                        data_encoding: QualifiedName::null(),
                    });
                    ask_idx.push(i);
                }
                None => out[i] = Some(bad(StatusCode::BadNodeIdUnknown)),
            }
        }
        if !ask.is_empty() {
            self.metrics_request(up);
            match read_values(&live, ask, max_age).await {
                Ok(values) => {
                    for (i, dv) in ask_idx.iter().zip(values) {
                        out[*i] = Some(live.map.data_value_to_gw(dv));
                    }
                    up.cache.put_all(ask_idx.iter().filter_map(|&i| {
                        let dv = out[i].as_ref()?;
                        let keep = nodes[i].index_range.is_none() && dv.status.is_none_or(|s| !s.is_bad());
                        keep.then_some((nodes[i].node, nodes[i].attribute, dv))
                    }));
                }
                Err(e) => {
                    let s = service_failure(e.status());
                    for i in ask_idx {
                        out[i] = Some(if s == StatusCode::BadNoCommunication {
                            offline_value(up, nodes[i].node, nodes[i].attribute)
                        } else {
                            bad(s)
                        });
                    }
                }
            }
        }
        out.into_iter().map(|d| d.unwrap_or_else(|| bad(StatusCode::BadInternalError))).collect()
    }
}

/// One node of a Read (or of the initial read of new monitored items), borrowed from the
/// request: no copy of its NodeId is made before it is mapped to the upstream's.
pub(super) struct ReadItem<'a> {
    /// The node (gateway id).
    pub(super) node: &'a NodeId,
    /// The attribute.
    pub(super) attribute: AttributeId,
    /// The IndexRange (OPC 10000-4 §7.27).
    pub(super) index_range: &'a NumericRange,
}

impl<'a> ReadItem<'a> {
    /// The item of a parsed ReadValueId.
    pub(super) fn of(n: &'a ParsedReadValueId) -> Self {
        Self {
            node: &n.node_id,
            attribute: n.attribute_id,
            index_range: &n.index_range,
        }
    }
}

/// Puts into `out` the values the cache can answer for `max_age` (ms); returns how many.
fn answer_from_cache(up: &Upstream, nodes: &[ReadItem<'_>], max_age: f64, out: &mut [Option<DataValue>]) -> u64 {
    let cached = up.cache.values();
    let mut hits = 0;
    for (n, slot) in nodes.iter().zip(out.iter_mut()) {
        if !n.index_range.is_none() {
            continue;
        }
        let Some((dv, age)) = cached.get(n.node, n.attribute) else { continue };
        let good_enough = n.attribute != AttributeId::Value
            || (age.as_secs_f64() * 1000.0 <= max_age && dv.status.is_none_or(|s| !s.is_bad()));
        if good_enough {
            *slot = Some(dv);
            hits += 1;
        }
    }
    hits
}

/// Sends one Read to the upstream (without the copy of the request `Session::read` makes).
async fn read_values(live: &Live, ask: Vec<ReadValueId>, max_age: f64) -> Result<Vec<DataValue>, opcua::types::Error> {
    let response = Read::new(&live.session)
        .nodes_to_read(ask)
        .timestamps_to_return(TimestampsToReturn::Both)
        .max_age(max_age)
        .send(live.session.channel())
        .await?;
    Ok(response.results.unwrap_or_default())
}
