//! ItemIDs carry namespace indexes of the gateway's persisted, append-only namespace table
//! (A.4.2.3), not the server's current ones: this map translates between the two. It also
//! applies the ComAliases (seed 000 §4.8): string NodeIds of an aliased namespace have the
//! ItemID `<alias>.<identifier>`.

use std::collections::HashMap;

use fxgate_da::itemid::{alias_item_id, item_id_to_node_id, node_id_to_item_id, split_alias_item_id, ItemIdError};
use opcua::types::{Identifier, NodeId, UAString};

/// A ComAlias: the DA ItemIDs of string NodeIds in the gateway namespace `namespace_uri` are
/// `<alias>.<identifier>`. Aliases are matched exactly (with case), as the gateway writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComAlias {
    /// The prefix, e.g. `PLC1`.
    pub alias: String,
    /// The gateway namespace URI it stands for, e.g. `plc1/urn:beckhoff:PLC1` (an upstream
    /// namespace `U` of upstream `<name>` is `<name>/U`).
    pub namespace_uri: String,
}

/// Translation for one session's view of the server's NamespaceArray.
#[derive(Debug, Default)]
pub struct NsMap {
    /// Server index → table index.
    to_table: Vec<u16>,
    /// Table index → server index.
    to_server: HashMap<u16, u16>,
    /// Alias → server index of its namespace ([`NOWHERE`] when the server does not have it).
    alias_to_server: HashMap<String, u16>,
    /// Server index → alias of that namespace.
    server_to_alias: HashMap<u16, String>,
}

/// A namespace index no server uses, for ItemIDs whose namespace the server does not have
/// (reads then answer "unknown item").
const NOWHERE: u16 = u16::MAX;

impl NsMap {
    /// From the server's NamespaceArray, the table (which must hold every entry of it) and
    /// the configured aliases.
    pub fn new(server: &[String], table: &fxgate_core::NamespaceTable, aliases: &[ComAlias]) -> Self {
        let mut to_table = Vec::with_capacity(server.len());
        let mut to_server = HashMap::new();
        for (server_index, uri) in server.iter().enumerate() {
            let t = table.index_of(uri).unwrap_or(NOWHERE);
            to_table.push(t);
            to_server.insert(t, server_index as u16);
        }
        let (mut alias_to_server, mut server_to_alias) = (HashMap::new(), HashMap::new());
        for a in aliases {
            let index = server.iter().position(|u| *u == a.namespace_uri).map_or(NOWHERE, |i| i as u16);
            alias_to_server.insert(a.alias.clone(), index);
            if index != NOWHERE {
                server_to_alias.insert(index, a.alias.clone());
            }
        }
        Self {
            to_table,
            to_server,
            alias_to_server,
            server_to_alias,
        }
    }

    /// The ItemID of a server NodeId: `<alias>.<identifier>` for a string NodeId of an
    /// aliased namespace, else the A.4.2.3 form with the table's namespace index.
    pub fn item_id(&self, node: &NodeId) -> String {
        if let (Identifier::String(s), Some(alias)) = (&node.identifier, self.server_to_alias.get(&node.namespace)) {
            return alias_item_id(alias, s.as_ref());
        }
        let mut n = node.clone();
        n.namespace = self.to_table.get(usize::from(node.namespace)).copied().unwrap_or(NOWHERE);
        node_id_to_item_id(&n)
    }

    /// The server NodeId of an ItemID. An aliased ItemID whose alias is not configured, or
    /// whose namespace the server does not have, names a node of no namespace (unknown item).
    pub fn node_id(&self, item_id: &str) -> Result<NodeId, ItemIdError> {
        if let Some((alias, identifier)) = split_alias_item_id(item_id) {
            let namespace = self.alias_to_server.get(alias).copied().unwrap_or(NOWHERE);
            return Ok(NodeId::new(namespace, UAString::from(identifier)));
        }
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
        let map = NsMap::new(&server, &table, &[]);
        let node = NodeId::new(2, "Demo/Sine");
        assert_eq!(map.item_id(&node), "ns-2;s-Demo/Sine");
        // urn:tags is table index 2 as well here; urn:server is 3 in the table, 1 on the server
        assert_eq!(map.item_id(&NodeId::new(1, 5u32)), "ns-3;i-5");
        assert_eq!(map.node_id("ns-3;i-5").unwrap(), NodeId::new(1, 5u32));
        // urn:old exists in the table but not on the server
        assert_eq!(map.node_id("ns-1;i-5").unwrap().namespace, NOWHERE);
        let _ = std::fs::remove_dir_all(dir);
    }

    fn alias(alias: &str, namespace_uri: &str) -> ComAlias {
        ComAlias {
            alias: alias.into(),
            namespace_uri: namespace_uri.into(),
        }
    }

    #[test]
    fn aliases_translate_both_ways() {
        let dir = std::env::temp_dir().join(format!("fxgate-nsmap-alias-{}", std::process::id()));
        let mut table = fxgate_core::NamespaceTable::open(&dir.join("namespaces.toml")).unwrap();
        let server: Vec<String> = ["http://opcfoundation.org/UA/", "urn:server", "plc1/urn:plant", "plc1/urn:extra"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        table.ensure(["urn:old"]).unwrap();
        table.ensure(server.iter().map(String::as_str)).unwrap();
        // plc1/urn:plant: server index 2, table index 3
        let aliases = [alias("PLC1", "plc1/urn:plant"), alias("Gone", "plc9/urn:plant")];
        let map = NsMap::new(&server, &table, &aliases);
        // string NodeIds of the aliased namespace
        assert_eq!(map.item_id(&NodeId::new(2, "Plant.Counter")), "PLC1.Plant.Counter");
        assert_eq!(map.node_id("PLC1.Plant.Counter").unwrap(), NodeId::new(2, "Plant.Counter"));
        assert_eq!(map.item_id(&NodeId::new(2, "")), "PLC1.");
        assert_eq!(map.node_id("PLC1.").unwrap(), NodeId::new(2, ""));
        // identifiers keep every character, '.', '-', ';' and '=' included
        for s in ["a.b.c", "x-y;s=z", "ns-2;s-q", "ümlaut"] {
            let id = map.item_id(&NodeId::new(2, s));
            assert_eq!(id, format!("PLC1.{s}"));
            assert_eq!(map.node_id(&id).unwrap(), NodeId::new(2, s));
        }
        // other identifier types and other namespaces keep the normal form
        assert_eq!(map.item_id(&NodeId::new(2, 7u32)), "ns-3;i-7");
        assert_eq!(map.node_id("ns-3;i-7").unwrap(), NodeId::new(2, 7u32));
        assert_eq!(map.item_id(&NodeId::new(3, "Plant.Counter")), "ns-4;s-Plant.Counter");
        // the normal form of an aliased node still works
        assert_eq!(map.node_id("ns-3;s-Plant.Counter").unwrap(), NodeId::new(2, "Plant.Counter"));
        // unknown aliases, aliases with another case, aliases of namespaces the server lacks:
        // unknown items, not syntax errors
        for unknown in ["PLC9.Plant.Counter", "plc1.Plant.Counter", "Gone.Plant.Counter"] {
            assert_eq!(map.node_id(unknown).unwrap(), NodeId::new(NOWHERE, "Plant.Counter"), "{unknown}");
        }
        // not the alias form: the A.4.2.3 parser decides
        assert!(map.node_id("PLC-1.x").is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
