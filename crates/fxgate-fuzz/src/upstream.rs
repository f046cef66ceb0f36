//! Values from an upstream OPC UA server (aggregation): decoded as the client decodes them,
//! then mapped into the gateway's namespaces and back: NodeIds, ExpandedNodeIds,
//! QualifiedNames and the structures that carry them, at any depth.

use std::collections::HashSet;
use std::io::Cursor;
use std::sync::{Arc, OnceLock};

use fxgate_upstream::mapping::NsMapping;
use opcua::types::{
    BinaryDecodable, BinaryEncodable, ContextOwned, DataValue, DecodingOptions, NamespaceMap, NodeId, ObjectId, Variant,
};

/// The decoding context: namespace 0 and three upstream namespaces, the standard types.
fn context() -> &'static ContextOwned {
    static CONTEXT: OnceLock<ContextOwned> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        let uris = ["http://opcfoundation.org/UA/", "urn:up:a", "urn:up:b", "urn:up:c"];
        let array: Vec<Variant> = uris.into_iter().map(Variant::from).collect();
        let map = NamespaceMap::new_from_variant_array(&array).unwrap_or_default();
        ContextOwned::new_default(map, DecodingOptions::default())
    })
}

/// A Variant decoded from `data` as a server's message carries it, if it decodes.
pub fn decode_variant(data: &[u8]) -> Option<Variant> {
    if holds_argument(data) {
        return None;
    }
    Variant::decode(&mut Cursor::new(data), &context().context()).ok()
}

/// Whether `data` may hold an Argument structure: the type id ns=0;i=296 or its binary encoding
/// id i=298, both of which async-opcua decodes as an Argument, or one of the two structures
/// that hold Arguments, ProgramDiagnosticDataType (i=894, i=896) and ProgramDiagnostic2DataType
/// (i=24033, i=24034); as a four-byte or numeric NodeId. Known defect of async-opcua 0.19, not
/// fxgate's: its
/// `Argument` decoder pads `array_dimensions` with zeros up to the ValueRank it read, so 30
/// bytes claiming ValueRank 2^31 - 1 allocate 8 GiB and abort the process
/// (async-opcua-types 0.19.0, `src/argument.rs`, `impl BinaryDecodable for Argument`: the
/// `array_dimensions.resize(expected_rank, 0)`). fxgate cannot replace the core type loader,
/// which comes first; the input is kept in `fuzz/known/upstream_value/`. Skipping such inputs
/// keeps the targets finding other defects.
pub fn holds_argument(data: &[u8]) -> bool {
    const IDS: [u16; 6] = [296, 298, 894, 896, 24033, 24034];
    let argument = |lo: u8, hi: u8| IDS.contains(&u16::from_le_bytes([lo, hi]));
    data.windows(4).any(|w| w[0] & 0x0F == 1 && w[1] == 0 && argument(w[2], w[3]))
        || data.windows(7).any(|w| w[0] & 0x0F == 2 && w[1..3] == [0, 0] && argument(w[3], w[4]) && w[5..] == [0, 0])
}

/// A DataValue from an upstream (the first byte chooses the namespace table), mapped to the
/// gateway and its value back, as reads, subscriptions, writes and calls do. What is mapped
/// must still encode.
pub fn value(data: &[u8]) {
    let [table, rest @ ..] = data else { return };
    // Upstream namespace i → gateway namespace to_gw[i]; the first byte picks how many
    // namespaces are known and where they land (duplicates and gaps included).
    let n = usize::from(table & 7);
    let to_gw: Vec<u16> = (0..n).map(|i| 3 + u16::from(table >> 3) * (i as u16 % 3)).collect();
    let known = Arc::new(HashSet::from([ObjectId::Argument_Encoding_DefaultBinary as u32, 296, 101, 884]));
    let mapping = NsMapping::new(to_gw, NodeId::new(3, "upstream"), known);
    if holds_argument(rest) {
        return;
    }
    let ctx = context().context();
    let Ok(dv) = DataValue::decode(&mut Cursor::new(rest), &ctx) else { return };
    let up = dv.value.clone().unwrap_or_default();
    let gw = mapping.data_value_to_gw(dv);
    let back = mapping.variant_to_up(gw.value.clone().unwrap_or_default());
    let _ = mapping.variant_to_gw(up);
    for v in [gw.value.unwrap_or_default(), back] {
        let mut out = Vec::new();
        let _ = v.encode(&mut out, &ctx);
    }
}
