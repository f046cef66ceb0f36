//! The `VT_BSTR` text forms of UA values that have no VARIANT type of their own
//! (OPC 10000-8 Table A.36 maps them to `VT_BSTR`): ExpandedNodeId in the OPC 10000-6
//! string form, and QualifiedName as `ns:name`. Both directions, so that a value read
//! through the Proxy can be written back.

use std::str::FromStr;

use opcua::types::{ExpandedNodeId, NodeId, QualifiedName};

/// The OPC 10000-6 text of an ExpandedNodeId: the plain NodeId text for a local NodeId
/// with a namespace index, else `svr=<index>;[ns=<index>|nsu=<uri>];<id>`.
pub(super) fn expanded_node_id_text(id: &ExpandedNodeId) -> String {
    if id.server_index == 0 && id.namespace_uri.is_empty() {
        id.node_id.to_string()
    } else {
        id.to_string()
    }
}

/// Parses the forms [`expanded_node_id_text`] writes (and `svr=<index>;<NodeId>`).
pub(super) fn parse_expanded_node_id(text: &str) -> Option<ExpandedNodeId> {
    if let Ok(id) = ExpandedNodeId::from_str(text) {
        return Some(id);
    }
    let (server_index, node_id) = match text.strip_prefix("svr=") {
        Some(rest) => {
            let (svr, node_id) = rest.split_once(';')?;
            (svr.parse().ok()?, node_id)
        }
        None => (0, text),
    };
    let mut id = ExpandedNodeId::new(NodeId::from_str(node_id).ok()?);
    id.server_index = server_index;
    Some(id)
}

/// `ns:name` (ns a decimal UInt16) or `name` in namespace 0, the form
/// [`ua_to_da_value`](super::ua_to_da_value) writes.
pub(super) fn parse_qualified_name(text: &str) -> QualifiedName {
    if let Some((ns, name)) = text.split_once(':') {
        if !ns.is_empty() && ns.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(ns) = ns.parse::<u16>() {
                return QualifiedName::new(ns, name);
            }
        }
    }
    QualifiedName::new(0, text)
}
