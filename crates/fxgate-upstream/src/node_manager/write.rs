//! Write (OPC 10000-4 §5.10.4): values written to upstream nodes are mapped to the upstream's
//! namespace indexes and sent in one Write per upstream; the gateway's own nodes are not
//! writable.

use std::collections::HashMap;
use std::sync::Arc;

use opcua::server::address_space::AccessLevel;
use opcua::server::node_manager::{RequestContext, WriteNode};
use opcua::types::{StatusCode, WriteValue};

use super::route::Target;
use super::ForwardNodeManager;
use crate::upstream::{service_failure, Upstream};

impl ForwardNodeManager {
    /// Write (OPC 10000-4 §5.10.4): one Write per upstream; the gateway's own nodes are not writable.
    pub(super) async fn write_nodes(
        &self,
        context: &RequestContext,
        nodes_to_write: &mut [&mut WriteNode],
    ) -> Result<(), StatusCode> {
        let mut groups: HashMap<String, (Arc<Upstream>, Vec<usize>)> = HashMap::new();
        for (i, w) in nodes_to_write.iter_mut().enumerate() {
            let id = w.value().node_id.clone();
            match self.target(&id) {
                Some(Target::Local(_)) => w.set_status(StatusCode::BadNotWritable),
                Some(Target::Upstream(up)) => {
                    if !self.may(context, &id, AccessLevel::CURRENT_WRITE) {
                        w.set_status(StatusCode::BadUserAccessDenied);
                        continue;
                    }
                    groups.entry(up.name.clone()).or_insert_with(|| (up.clone(), Vec::new())).1.push(i);
                }
                None => {}
            }
        }
        for (_, (up, idx)) in groups {
            let Some(live) = up.live() else {
                for i in idx {
                    nodes_to_write[i].set_status(StatusCode::BadNoCommunication);
                }
                continue;
            };
            let mut values = Vec::new();
            let mut sent = Vec::new();
            for i in idx {
                let v = nodes_to_write[i].value();
                let Some(id) = live.map.node_to_up(&v.node_id) else {
                    nodes_to_write[i].set_status(StatusCode::BadNodeIdUnknown);
                    continue;
                };
                let mut dv = v.value.clone();
                if let Some(x) = dv.value.take() {
                    dv.value = Some(live.map.variant_to_up(x));
                }
                values.push(WriteValue {
                    node_id: id,
                    attribute_id: v.attribute_id as u32,
                    index_range: v.index_range.clone(),
                    value: dv,
                });
                sent.push(i);
            }
            if values.is_empty() {
                continue;
            }
            self.metrics_request(&up);
            match live.session.write(&values).await {
                Ok(statuses) => {
                    for (i, s) in sent.into_iter().zip(statuses) {
                        if s.is_good() {
                            // a maxAge read must not see the value from before the write
                            let v = nodes_to_write[i].value();
                            up.cache.forget(&v.node_id, v.attribute_id);
                        }
                        nodes_to_write[i].set_status(s);
                    }
                }
                Err(e) => {
                    for i in sent {
                        nodes_to_write[i].set_status(service_failure(e.status()));
                    }
                }
            }
        }
        Ok(())
    }
}
