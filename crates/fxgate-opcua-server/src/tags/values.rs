//! Read, Write and monitored-item creation for the tags namespace. A tag's Value comes from
//! the store (no address-space lock); every other attribute is read from the node made for the
//! request with async-opcua's own attribute rules (`read_node_value`), so it answers exactly as a
//! materialised node would.

use fxgate_core::tag::with_timestamps;
use fxgate_core::{AccessMode, TagId};
use opcua::server::address_space::{read_node_value, validate_node_read, EventNotifier};
use opcua::server::node_manager::{ParsedReadValueId, RequestContext, WriteNode};
use opcua::server::CreateMonitoredItem;
use opcua::types::{AttributeId, DataEncoding, DataValue, StatusCode, TimestampsToReturn, Variant};

use super::{nodes, TagNode, TagNodeManager};

fn bad(status: StatusCode) -> DataValue {
    DataValue { status: Some(status), ..DataValue::null() }
}

impl TagNodeManager {
    /// The Value of a tag for a user who may (`may_read`) or may not read.
    fn read_tag(&self, id: TagId, node: &ParsedReadValueId, may_read: bool, ttr: TimestampsToReturn) -> DataValue {
        if !may_read {
            return bad(StatusCode::BadUserAccessDenied);
        }
        if !matches!(node.data_encoding, DataEncoding::Binary) {
            return bad(StatusCode::BadDataEncodingInvalid);
        }
        if node.index_range.has_range() {
            return bad(StatusCode::BadIndexRangeNoData);
        }
        match self.store.with_value(id, |v| v.to_data_value()) {
            Some(dv) => with_timestamps(dv, ttr),
            None => bad(StatusCode::BadNodeIdUnknown),
        }
    }

    /// Reads one attribute of one node.
    pub(super) fn read_one(
        &self,
        context: &RequestContext,
        rv: &ParsedReadValueId,
        max_age: f64,
        ttr: TimestampsToReturn,
    ) -> DataValue {
        let Some(node) = self.resolve(&rv.node_id) else {
            return bad(StatusCode::BadNodeIdUnknown);
        };
        if let (TagNode::Tag(id), AttributeId::Value) = (node, rv.attribute_id) {
            return self.read_tag(id, rv, self.auth.roles(&context.token).read, ttr);
        }
        let Some(made) = nodes::build(&self.index, &self.store, self.ns, node) else {
            return bad(StatusCode::BadNodeIdUnknown);
        };
        if let Err(e) = validate_node_read(&made, context, rv) {
            return bad(e);
        }
        read_node_value(&made, context, rv, max_age, ttr)
    }

    /// Writes: a tag's Value through the store to its source; anything else is not writable.
    pub(super) async fn write_many(&self, context: &RequestContext, nodes_to_write: &mut [&mut WriteNode]) {
        self.metrics.writes.inc_by(nodes_to_write.len() as u64);
        let roles = self.auth.roles(&context.token);
        let mut pending = Vec::new();
        for (i, w) in nodes_to_write.iter_mut().enumerate() {
            let v = w.value();
            let id = match self.resolve(&v.node_id) {
                None => {
                    w.set_status(StatusCode::BadNodeIdUnknown);
                    continue;
                }
                Some(TagNode::Tag(id)) => id,
                Some(_) => {
                    w.set_status(StatusCode::BadNotWritable);
                    continue;
                }
            };
            let writable = v.attribute_id == AttributeId::Value
                && self.store.def(id).map(|d| d.access) == Some(AccessMode::ReadWrite);
            let status = if !writable {
                Some(StatusCode::BadNotWritable)
            } else if !roles.write {
                Some(StatusCode::BadUserAccessDenied)
            } else if v.index_range.has_range() {
                Some(StatusCode::BadWriteNotSupported)
            } else if v.value.value.is_none() {
                Some(StatusCode::BadTypeMismatch)
            } else {
                None
            };
            match status {
                Some(s) => w.set_status(s),
                None => pending.push((i, id, v.value.value.clone().unwrap_or_default())),
            }
        }
        let caller = caller(context);
        let results = futures::future::join_all(pending.iter().map(|(_, id, value)| self.store.write_as(*id, value.clone(), Some(&caller)))).await;
        for ((i, id, _), status) in pending.into_iter().zip(results) {
            if !status.is_good() {
                tracing::info!(tag = ?self.store.def(id).map(|d| d.path()), %status, "write refused by source");
            }
            nodes_to_write[i].set_status(status);
        }
        for w in nodes_to_write.iter() {
            if !w.status().is_good() {
                self.metrics.write_errors.inc();
            }
        }
    }

    /// Creates one monitored item: on a tag's Value it is fed by the change pump; on anything
    /// else it gets the attribute's value once (they do not change), as async-opcua's
    /// in-memory node manager does.
    pub(super) fn create_item(&self, context: &RequestContext, item: &mut CreateMonitoredItem) {
        let rv = item.item_to_monitor();
        let attribute = rv.attribute_id;
        let Some(node) = self.resolve(&rv.node_id) else {
            item.set_status(StatusCode::BadNodeIdUnknown);
            return;
        };
        if let (TagNode::Tag(id), AttributeId::Value) = (node, attribute) {
            let value = self.read_tag(id, rv, self.auth.roles(&context.token).read, TimestampsToReturn::Both);
            if value.status() == StatusCode::BadUserAccessDenied {
                item.set_status(StatusCode::BadUserAccessDenied);
                return;
            }
            self.watched.add(id, &rv.node_id, item.handle());
            item.set_initial_value(value);
            item.set_status(StatusCode::Good);
            return;
        }
        let Some(made) = nodes::build(&self.index, &self.store, self.ns, node) else {
            item.set_status(StatusCode::BadNodeIdUnknown);
            return;
        };
        let value = match validate_node_read(&made, context, rv) {
            Ok(()) => read_node_value(&made, context, rv, 0.0, item.timestamps_to_return()),
            Err(e) => {
                item.set_status(e);
                return;
            }
        };
        if attribute == AttributeId::EventNotifier {
            // No node of the tags namespace is an event notifier.
            let subscribable = matches!(&value.value, Some(Variant::Byte(n))
                if EventNotifier::from_bits_truncate(*n).contains(EventNotifier::SUBSCRIBE_TO_EVENTS));
            item.set_status(if subscribable { StatusCode::BadNotSupported } else { StatusCode::BadAttributeIdInvalid });
            return;
        }
        if value.status() != StatusCode::BadAttributeIdInvalid {
            item.set_initial_value(value);
        }
        item.set_status(StatusCode::Good);
    }
}

/// The session's client application and user, for the store's write guard.
pub fn caller(context: &RequestContext) -> fxgate_core::Caller {
    let client = context.session.read().application_description().application_uri.as_ref().to_string();
    fxgate_core::Caller { client, user: context.token.0.clone() }
}
