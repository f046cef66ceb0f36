//! ItemIDs carry namespace indexes of the gateway's persisted, append-only namespace table
//! (A.4.2.3), not the server's current ones: this map translates between the two.

use std::collections::HashMap;

use fxgate_da::itemid::{item_id_to_node_id, node_id_to_item_id, ItemIdError};
use opcua::types::NodeId;

/// Translation for one session's view of the server's NamespaceArray.
#[derive(Debug, Default)]
pub struct NsMap {
    /// Server index → table index.
    to_table: Vec<u16>,
    /// Table index → server index.
    to_server: HashMap<u16, u16>,
}

/// A namespace index no server uses, for ItemIDs whose namespace the server does not have
/// (reads then answer "unknown item").
const NOWHERE: u16 = u16::MAX;

impl NsMap {
    /// From the server's NamespaceArray and the table (which must hold every entry of it).
    pub fn new(server: &[String], table: &fxgate_core::NamespaceTable) -> Self {
        let mut to_table = Vec::with_capacity(server.len());
        let mut to_server = HashMap::new();
        for (server_index, uri) in server.iter().enumerate() {
            let t = table.index_of(uri).unwrap_or(NOWHERE);
            to_table.push(t);
            to_server.insert(t, server_index as u16);
        }
        Self { to_table, to_server }
    }

    /// The ItemID of a server NodeId.
    pub fn item_id(&self, node: &NodeId) -> String {
        let mut n = node.clone();
        n.namespace = self.to_table.get(usize::from(node.namespace)).copied().unwrap_or(NOWHERE);
        node_id_to_item_id(&n)
    }

    /// The server NodeId of an ItemID.
    pub fn node_id(&self, item_id: &str) -> Result<NodeId, ItemIdError> {
        let mut n = item_id_to_node_id(item_id)?;
        n.namespace = self.to_server.get(&n.namespace).copied().unwrap_or(NOWHERE);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_both_ways() {
        let dir = std::env::temp_dir().join(format!("fxgate-nsmap-{}", std::process::id()));
        let path = dir.join("namespaces.toml");
        let mut table = fxgate_core::NamespaceTable::open(&path).unwrap();
        table.ensure(["urn:old", "urn:tags"]).unwrap();
        let server: Vec<String> = ["http://opcfoundation.org/UA/", "urn:server", "urn:tags"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        table.ensure(server.iter().map(String::as_str)).unwrap();
        let map = NsMap::new(&server, &table);
        let node = NodeId::new(2, "Demo/Sine");
        assert_eq!(map.item_id(&node), "ns-2;s-Demo/Sine");
        // urn:tags is table index 2 as well here; urn:server is 3 in the table, 1 on the server
        assert_eq!(map.item_id(&NodeId::new(1, 5u32)), "ns-3;i-5");
        assert_eq!(map.node_id("ns-3;i-5").unwrap(), NodeId::new(1, 5u32));
        // urn:old exists in the table but not on the server
        assert_eq!(map.node_id("ns-1;i-5").unwrap().namespace, NOWHERE);
        let _ = std::fs::remove_dir_all(dir);
    }
}
