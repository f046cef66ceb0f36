//! HistoryRead of raw or modified values (OPC 10000-4 §5.10.3, OPC 10000-11 §6.4.3) of
//! upstream nodes, forwarded node by node; the upstream's continuation points are kept in
//! the gateway's (OPC 10000-4 §7.9).

use opcua::server::node_manager::{HistoryNode, RequestContext};
use opcua::server::ContinuationPoint;
use opcua::types::{
    ByteString, HistoryData, HistoryReadValueId, QualifiedName, ReadRawModifiedDetails, StatusCode,
    TimestampsToReturn,
};

use super::route::Target;
use super::ForwardNodeManager;
use crate::upstream::service_failure;

/// A continuation point of a forwarded HistoryRead.
struct UpstreamHistoryCp {
    /// The upstream's continuation point.
    cp: ByteString,
}

impl ForwardNodeManager {
    /// HistoryRead of raw or modified values (OPC 10000-4 §5.10.3, OPC 10000-11 §6.4.3),
    /// forwarded node by node with the upstream's continuation points.
    pub(super) async fn history_raw_modified(
        &self,
        _context: &RequestContext,
        details: &ReadRawModifiedDetails,
        nodes: &mut [&mut HistoryNode],
        timestamps_to_return: TimestampsToReturn,
    ) -> Result<(), StatusCode> {
        for n in nodes.iter_mut() {
            let Some(Target::Upstream(up)) = self.target(n.node_id()) else {
                n.set_status(StatusCode::BadHistoryOperationUnsupported);
                continue;
            };
            let Some(live) = up.live() else {
                n.set_status(StatusCode::BadNoCommunication);
                continue;
            };
            let Some(id) = live.map.node_to_up(n.node_id()) else {
                n.set_status(StatusCode::BadNodeIdUnknown);
                continue;
            };
            let cp = n
                .continuation_point()
                .and_then(|c| c.get::<UpstreamHistoryCp>())
                .map(|c| c.cp.clone())
                .unwrap_or_default();
            let req = HistoryReadValueId {
                node_id: id,
                index_range: n.index_range().clone(),
                data_encoding: QualifiedName::null(),
                continuation_point: cp,
            };
            self.metrics_request(&up);
            let action = opcua::client::HistoryReadAction::ReadRawModifiedDetails(details.clone());
            match live.session.history_read(action, timestamps_to_return, false, &[req]).await {
                Ok(mut results) if !results.is_empty() => {
                    let r = results.remove(0);
                    if r.status_code.is_bad() {
                        n.set_status(r.status_code);
                        continue;
                    }
                    let mut data = r
                        .history_data
                        .inner_as::<HistoryData>()
                        .cloned()
                        .unwrap_or(HistoryData { data_values: None });
                    if let Some(values) = data.data_values.take() {
                        data.data_values = Some(values.into_iter().map(|dv| live.map.data_value_to_gw(dv)).collect());
                    }
                    if !r.continuation_point.is_null() {
                        n.set_next_continuation_point(Some(ContinuationPoint::new(Box::new(UpstreamHistoryCp {
                            cp: r.continuation_point,
                        }))));
                    }
                    n.set_result(data);
                    n.set_status(r.status_code);
                }
                Ok(_) => n.set_status(StatusCode::BadUnexpectedError),
                Err(e) => n.set_status(service_failure(e.status())),
            }
        }
        Ok(())
    }
}
