//! COM DA ItemID ↔ OPC UA NodeId syntax of the COM UA Proxy (OPC 10000-8 A.4.2.3).
//!
//! A.4.2.3 says: "The NodeId of the OPC UA node is used as the ItemId for each Item
//! in the Data Access COM UA Proxy. But the '=' character is replaced with '-' in the
//! string", e.g. `ns=4;s=FL102` ↔ `ns-4;s-FL102`, and on Read/Write/CreateMonitoredItems
//! the Proxy "converts all the ItemIds … into valid NodeIds by replacing the '-' with '='".
//!
//! # The rule implemented here
//!
//! Taken literally ("replace every '=' by '-' and back every '-' by '='") the mapping is
//! not reversible: `s=FL-102` would come back as `s=FL=102`, and `s=a=b` and `s=a-b` would
//! both become the ItemID `s-a-b`. Only the two *syntactic* '=' characters of the
//! OPC 10000-6 NodeId string form — the one after `ns` and the one after the
//! identifier-type letter — are therefore replaced; the identifier itself is copied
//! verbatim, whatever it contains (`=`, `-`, `;`, `,`, unicode, nothing):
//!
//! ```text
//! ItemID     = [ "ns-" NsIndex ";" ] IdType "-" Identifier
//! NsIndex    = decimal UInt16, omitted when 0 (as in the NodeId string form)
//! IdType     = "i" | "s" | "g" | "b"
//! Identifier = i: decimal UInt32
//!              s: the string, verbatim (a null string is written as the empty string)
//!              g: the Guid, lower-case hyphenated (8-4-4-4-12)
//!              b: the ByteString, standard base64 with padding (which may contain '=')
//! ```
//!
//! Because the prefix has a fixed grammar that never looks inside the identifier, the
//! parser recognises the prefix and takes everything after `<IdType>-` as the identifier,
//! so `item_id_to_node_id(&node_id_to_item_id(n)) == n` for every NodeId (up to null vs
//! empty string/ByteString identifiers, which the NodeId string form cannot distinguish
//! either). The literal examples of A.4.2.3 are reproduced exactly.
//!
//! Parsing is lenient in three places that cannot collide with a generated ItemID:
//! the separators may also be '=' (so a client may paste a plain NodeId string), the
//! namespace may be terminated by ',' (the second example of A.4.2.3 is printed as
//! `ns-4,s-FL102`), and `ns-0;` is accepted. [`node_id_to_item_id`] always produces the
//! canonical form above.
//!
//! # ComAlias ItemIDs
//!
//! A namespace may have a ComAlias (the UaGateway's `ComAlias`, seed 000 §4.8), so that its
//! ItemIDs look like the TwinCAT OPC DA server's (`PLC1.MAIN.x`):
//!
//! ```text
//! AliasItemID = Alias "." Identifier      (string identifiers of the aliased namespace only)
//! Alias       = 1*( "A"-"Z" / "a"-"z" / "0"-"9" / "_" )
//! ```
//!
//! No ItemID of the grammar above has that form: its first '-' or '=' comes at byte 1
//! (`s-…`) or 2 (`ns-…`), before any '.', and neither is an alias character. So
//! [`split_alias_item_id`] recognises the form without knowing the configured aliases;
//! which namespace an alias stands for is the caller's business.
//!
//! # Namespace indices
//!
//! The namespace index in an ItemID is the *gateway's own*, from the Proxy's persisted,
//! append-only namespace table (A.4.2.3: "the Namespace Indices must never change"), not
//! the index of whichever server currently holds the node. This module performs no
//! namespace translation: callers convert between the persisted table and a server's
//! current NamespaceArray before calling [`node_id_to_item_id`] and after calling
//! [`item_id_to_node_id`].

use std::str::FromStr;

use opcua::types::{ByteString, Guid, Identifier, NodeId, UAString};

/// Why a COM DA ItemID is not the ItemID of a NodeId (see the [module](self) grammar).
///
/// Each variant carries the offending ItemID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemIdError {
    /// The `ns-<index>;` prefix is present but the index is not a decimal UInt16 or the
    /// prefix is not terminated by ';' (or ',').
    #[error("ItemID {0:?}: invalid namespace prefix (expected ns-<0..65535>;)")]
    InvalidNamespace(String),
    /// After the optional namespace there is no `i-`, `s-`, `g-` or `b-`.
    #[error("ItemID {0:?}: missing identifier type (expected i-, s-, g- or b-)")]
    MissingIdentifierType(String),
    /// An `i-` identifier that is not a decimal UInt32.
    #[error("ItemID {0:?}: numeric identifier is not a decimal UInt32")]
    InvalidNumeric(String),
    /// A `g-` identifier that is not a Guid.
    #[error("ItemID {0:?}: identifier is not a Guid")]
    InvalidGuid(String),
    /// A `b-` identifier that is not standard base64.
    #[error("ItemID {0:?}: identifier is not base64")]
    InvalidByteString(String),
}

/// The character that replaces the syntactic '=' of the NodeId string form (A.4.2.3).
const SEPARATOR: char = '-';

/// The ItemID the COM UA Proxy exposes for `node` (A.4.2.3), e.g. `ns=4;s=FL102` →
/// `ns-4;s-FL102`, `i=2258` → `i-2258`.
///
/// Only the '=' after `ns` and after the identifier type become '-'; the identifier is
/// copied verbatim (see the [module](self) documentation for why). The namespace index
/// is taken as is: it must already be the gateway's persisted index.
pub fn node_id_to_item_id(node: &NodeId) -> String {
    let mut out = String::new();
    if node.namespace != 0 {
        out.push_str("ns");
        out.push(SEPARATOR);
        out.push_str(&node.namespace.to_string());
        out.push(';');
    }
    match &node.identifier {
        Identifier::Numeric(n) => {
            out.push('i');
            out.push(SEPARATOR);
            out.push_str(&n.to_string());
        }
        Identifier::String(s) => {
            out.push('s');
            out.push(SEPARATOR);
            out.push_str(s.as_ref());
        }
        Identifier::Guid(g) => {
            out.push('g');
            out.push(SEPARATOR);
            // Debug is the lower-case hyphenated form, independent of uuid's Display.
            out.push_str(&format!("{g:?}"));
        }
        Identifier::ByteString(b) => {
            out.push('b');
            out.push(SEPARATOR);
            out.push_str(&b.as_base64());
        }
    }
    out
}

/// The NodeId named by a COM DA ItemID (A.4.2.3), e.g. `ns-4;s-FL102` → `ns=4;s=FL102`;
/// the inverse of [`node_id_to_item_id`].
///
/// The namespace index is returned as written, i.e. as an index of the gateway's
/// persisted namespace table. Also accepts `=` instead of `-` as separators, `,` after
/// the namespace index, and an explicit `ns-0;` (see the [module](self) documentation).
pub fn item_id_to_node_id(item_id: &str) -> Result<NodeId, ItemIdError> {
    let (namespace, rest) = split_namespace(item_id)?;
    let mut chars = rest.chars();
    let (kind, sep) = (chars.next(), chars.next());
    if !matches!(sep, Some('-' | '=')) {
        return Err(ItemIdError::MissingIdentifierType(item_id.to_owned()));
    }
    // Both characters are ASCII here, so the identifier starts at byte 2.
    let body = rest.get(2..).unwrap_or_default();
    let identifier = match kind {
        Some('i') => Identifier::Numeric(
            parse_decimal::<u32>(body)
                .ok_or_else(|| ItemIdError::InvalidNumeric(item_id.to_owned()))?,
        ),
        Some('s') => Identifier::String(UAString::from(body)),
        Some('g') => Identifier::Guid(
            Guid::from_str(body).map_err(|_| ItemIdError::InvalidGuid(item_id.to_owned()))?,
        ),
        Some('b') => Identifier::ByteString(
            ByteString::from_base64(body)
                .ok_or_else(|| ItemIdError::InvalidByteString(item_id.to_owned()))?,
        ),
        _ => return Err(ItemIdError::MissingIdentifierType(item_id.to_owned())),
    };
    Ok(NodeId {
        namespace,
        identifier,
    })
}

/// The character between a ComAlias and the string identifier (`PLC1.MAIN.x`).
pub const ALIAS_SEPARATOR: char = '.';

/// The ItemID of string identifier `identifier` in the namespace with ComAlias `alias`:
/// `<alias>.<identifier>`, the identifier verbatim (see the [module](self) grammar).
pub fn alias_item_id(alias: &str, identifier: &str) -> String {
    format!("{alias}{ALIAS_SEPARATOR}{identifier}")
}

/// `(alias, identifier)` of an ItemID of the form `<alias>.<identifier>`, split at the first
/// '.'; `None` for every other ItemID, in particular for every ItemID
/// [`node_id_to_item_id`] makes. Whether the alias is configured is not checked here.
pub fn split_alias_item_id(item_id: &str) -> Option<(&str, &str)> {
    let (alias, identifier) = item_id.split_once(ALIAS_SEPARATOR)?;
    let valid = !alias.is_empty() && alias.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then_some((alias, identifier))
}

/// Splits an optional `ns-<u16>;` prefix off `item_id`, returning the namespace index
/// (0 when absent) and the remainder.
fn split_namespace(item_id: &str) -> Result<(u16, &str), ItemIdError> {
    let Some(after_ns) = item_id
        .strip_prefix("ns-")
        .or_else(|| item_id.strip_prefix("ns="))
    else {
        return Ok((0, item_id));
    };
    let invalid = || ItemIdError::InvalidNamespace(item_id.to_owned());
    let end = after_ns.find([';', ',']).ok_or_else(invalid)?;
    let namespace = parse_decimal::<u16>(&after_ns[..end]).ok_or_else(invalid)?;
    Ok((namespace, &after_ns[end + 1..]))
}

/// Parses a non-empty run of ASCII digits (no sign, no whitespace) as `T`.
fn parse_decimal<T: FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn alias_item_ids() {
        assert_eq!(alias_item_id("PLC1", "MAIN.x"), "PLC1.MAIN.x");
        assert_eq!(split_alias_item_id("PLC1.MAIN.x"), Some(("PLC1", "MAIN.x")));
        assert_eq!(split_alias_item_id("a_9."), Some(("a_9", "")));
        assert_eq!(split_alias_item_id("PLC1.ns-2;s-x"), Some(("PLC1", "ns-2;s-x")));
        for not_alias in [".x", "PLC 1.x", "PLC-1.x", "PLC1", "ns-2;s-a.b", "s-a.b", "ns=2;s=a.b", "i-5", "ns-4,s-FL.102"] {
            assert_eq!(split_alias_item_id(not_alias), None, "{not_alias}");
        }
    }

    proptest! {
        #[test]
        fn generated_item_ids_never_look_aliased(ns in any::<u16>(), s in ".*", n in any::<u32>()) {
            for id in [node_id_to_item_id(&NodeId::new(ns, s.as_str())), node_id_to_item_id(&NodeId::new(ns, n))] {
                prop_assert_eq!(split_alias_item_id(&id), None, "{}", id);
            }
        }
    }

    fn round_trip(n: &NodeId) -> NodeId {
        let id = node_id_to_item_id(n);
        match item_id_to_node_id(&id) {
            Ok(back) => back,
            Err(e) => panic!("{n} → {id:?} failed to parse back: {e}"),
        }
    }

    #[test]
    fn spec_examples_of_a_4_2_3() {
        // "NodeId: ns=4,i=10, ItemID = “ns-4;i-10”"
        assert_eq!(node_id_to_item_id(&NodeId::new(4, 10u32)), "ns-4;i-10");
        assert_eq!(item_id_to_node_id("ns-4;i-10"), Ok(NodeId::new(4, 10u32)));
        // "NodeId: ns=4,s=FL102, ItemID = “ns-4,s-FL102”" (printed with ',' in the spec)
        assert_eq!(node_id_to_item_id(&NodeId::new(4, "FL102")), "ns-4;s-FL102");
        assert_eq!(
            item_id_to_node_id("ns-4;s-FL102"),
            Ok(NodeId::new(4, "FL102"))
        );
        assert_eq!(
            item_id_to_node_id("ns-4,s-FL102"),
            Ok(NodeId::new(4, "FL102"))
        );
    }

    #[test]
    fn canonical_forms_of_each_identifier_type() {
        assert_eq!(node_id_to_item_id(&NodeId::new(0, 2258u32)), "i-2258");
        assert_eq!(node_id_to_item_id(&NodeId::new(0, "Pump")), "s-Pump");
        let g = Guid::from_str("72962B91-FA75-4AE6-8D28-B404DC7DAF63").unwrap();
        assert_eq!(
            node_id_to_item_id(&NodeId::new(2, g.clone())),
            "ns-2;g-72962b91-fa75-4ae6-8d28-b404dc7daf63"
        );
        let b = ByteString::from(vec![0u8, 1, 2, 0xff]);
        assert_eq!(
            node_id_to_item_id(&NodeId::new(3, b.clone())),
            "ns-3;b-AAEC/w=="
        );
        assert_eq!(item_id_to_node_id("ns-3;b-AAEC/w=="), Ok(NodeId::new(3, b)));
        assert_eq!(
            item_id_to_node_id("ns-2;g-72962b91-fa75-4ae6-8d28-b404dc7daf63"),
            Ok(NodeId::new(2, g))
        );
    }

    #[test]
    fn identifier_separators_inside_the_identifier_survive() {
        for s in [
            "FL-102", "a=b", "a-b", "ns=1;s=x", "ns-1;s-x", "", "=", "-", ";", "x,y",
        ] {
            let n = NodeId::new(7, s);
            assert_eq!(round_trip(&n), n, "{s:?}");
            let n0 = NodeId::new(0, s);
            assert_eq!(round_trip(&n0), n0, "{s:?}");
        }
        // The naive "replace every '-' by '='" would turn this into FL=102.
        assert_eq!(
            item_id_to_node_id("ns-4;s-FL-102"),
            Ok(NodeId::new(4, "FL-102"))
        );
        assert_eq!(node_id_to_item_id(&NodeId::new(4, "a=b")), "ns-4;s-a=b");
    }

    #[test]
    fn lenient_inputs() {
        assert_eq!(
            item_id_to_node_id("ns=4;s=FL102"),
            Ok(NodeId::new(4, "FL102"))
        );
        assert_eq!(item_id_to_node_id("ns-0;i-5"), Ok(NodeId::new(0, 5u32)));
        assert_eq!(item_id_to_node_id("i=5"), Ok(NodeId::new(0, 5u32)));
    }

    #[test]
    fn rejects_malformed_item_ids() {
        use ItemIdError::*;
        type Expected = fn(String) -> ItemIdError;
        let cases: &[(&str, Expected)] = &[
            ("", MissingIdentifierType),
            ("FL102", MissingIdentifierType),
            ("x-1", MissingIdentifierType),
            ("s", MissingIdentifierType),
            ("ns-4;", MissingIdentifierType),
            ("ns-4;FL102", MissingIdentifierType),
            ("ns-4s-FL102", InvalidNamespace),
            ("ns-;s-x", InvalidNamespace),
            ("ns-65536;s-x", InvalidNamespace),
            ("ns--1;s-x", InvalidNamespace),
            ("ns-+4;s-x", InvalidNamespace),
            ("i-", InvalidNumeric),
            ("i-+5", InvalidNumeric),
            ("i- 5", InvalidNumeric),
            ("i-4294967296", InvalidNumeric),
            ("i-1.5", InvalidNumeric),
            ("g-not-a-guid", InvalidGuid),
            ("b-!!", InvalidByteString),
        ];
        for (input, expected) in cases {
            assert_eq!(
                item_id_to_node_id(input),
                Err(expected(input.to_string())),
                "{input:?}"
            );
        }
    }

    fn arb_node_id() -> impl Strategy<Value = NodeId> {
        let ns = any::<u16>();
        let string_id = prop_oneof![
            any::<String>(),
            // Strings built from the characters that matter to the ItemID syntax.
            proptest::collection::vec(
                prop_oneof![
                    Just('='),
                    Just('-'),
                    Just(';'),
                    Just(','),
                    Just('s'),
                    Just('n'),
                    Just('i'),
                    Just('ä'),
                    Just('→'),
                    Just('0')
                ],
                0..12
            )
            .prop_map(|v| v.into_iter().collect::<String>()),
        ];
        prop_oneof![
            (ns, any::<u32>()).prop_map(|(ns, i)| NodeId::new(ns, i)),
            (ns, string_id).prop_map(|(ns, s)| NodeId::new(ns, s)),
            (ns, any::<[u8; 16]>()).prop_map(|(ns, g)| NodeId::new(ns, guid_from_bytes(g))),
            (ns, proptest::collection::vec(any::<u8>(), 0..40))
                .prop_map(|(ns, b)| NodeId::new(ns, ByteString::from(b))),
        ]
    }

    /// A Guid from 16 arbitrary bytes, via its string form (no direct uuid dependency).
    fn guid_from_bytes(b: [u8; 16]) -> Guid {
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        Guid::from_str(&hex).unwrap()
    }

    proptest! {
        #[test]
        fn item_id_round_trips(n in arb_node_id()) {
            let id = node_id_to_item_id(&n);
            prop_assert_eq!(item_id_to_node_id(&id), Ok(n));
        }

        #[test]
        fn generated_item_ids_have_no_syntactic_equals(n in arb_node_id()) {
            // The '=' of the NodeId string form are gone; any '=' left belongs to the
            // identifier (string body or base64 padding).
            let id = node_id_to_item_id(&n);
            let prefix = if n.namespace == 0 { String::new() } else { format!("ns-{};", n.namespace) };
            prop_assert!(id.starts_with(&prefix));
            prop_assert_eq!(id[prefix.len()..].chars().nth(1), Some('-'));
        }

        #[test]
        fn parser_never_panics(s in any::<String>()) {
            let _ = item_id_to_node_id(&s);
        }
    }
}
