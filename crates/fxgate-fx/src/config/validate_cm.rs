//! Checks of `[fx.connection_manager]`.

use std::collections::HashSet;

use fxgate_config::Invalid;
use super::AutomationComponentConfig;
use super::cm::{
    is_portable_node_id, parse_portable_node_id, ConnectionConfig, ConnectionManagerConfig, ConnectionSetConfig, EndpointConfig,
    EndpointModeConfig, NodeValueConfig, PathElementConfig, PubSubFlowConfig,
};
use super::validate::name;

/// The BrowseNames VerifyAsset knows as ExpectedVerificationVariables.
pub const ASSET_VARIABLES: [&str; 10] = [
    "ManufacturerUri",
    "ProductCode",
    "HardwareRevision",
    "SoftwareRevision",
    "SerialNumber",
    "ProductInstanceUri",
    "MajorAssetVersion",
    "MinorAssetVersion",
    "BuildAssetNumber",
    "SubBuildAssetNumber",
];

/// What endpoints are checked against: the local AutomationComponents, the tag paths and the
/// names of the configured upstream servers.
pub struct Known<'a> {
    /// The local AutomationComponents.
    pub acs: &'a [AutomationComponentConfig],
    /// The tag paths.
    pub tags: &'a HashSet<String>,
    /// The `[[upstream]]` names.
    pub upstreams: &'a HashSet<String>,
}

/// Adds every problem of the ConnectionManager's sets to `errs`.
pub fn validate(cm: &ConnectionManagerConfig, known: &Known<'_>, errs: &mut Vec<Invalid>) {
    if !(1_000..=86_400_000).contains(&cm.max_inactive_lock_time_ms) {
        errs.push(Invalid::new(
            "fx.connection_manager.max_inactive_lock_time_ms".to_string(),
            "must be 1,000 to 86,400,000 (ms)",
        ));
    }
    let mut names = HashSet::new();
    for (i, set) in cm.set.iter().enumerate() {
        let f = |k: &str| format!("fx.connection_manager.set[{i}].{k}");
        name(&set.name, &f("name"), &mut names, "a ConnectionConfigurationSet", errs);
        for (k, part) in set.folder.iter().enumerate() {
            if part.is_empty() || part.contains('/') {
                errs.push(Invalid::new(f(&format!("folder[{k}]")), "a folder name must not be empty nor hold `/`"));
            }
        }
        check_set(set, &f, known, errs);
    }
}

fn check_set(set: &ConnectionSetConfig, f: &dyn Fn(&str) -> String, known: &Known<'_>, errs: &mut Vec<Invalid>) {
    let (acs, tags) = (known.acs, known.tags);
    if set.connection.is_empty() {
        errs.push(Invalid::new(f("connection"), "a ConnectionConfigurationSet needs at least one connection"));
    }
    for (j, a) in set.asset_verification.iter().enumerate() {
        let g = |k: &str| f(&format!("asset_verification[{j}].{k}"));
        let Some(ac) = component(&a.automation_component, &g("automation_component"), acs, errs) else { continue };
        if !ac.asset.iter().any(|x| x.name == a.asset) {
            errs.push(Invalid::new(g("asset"), format!("AutomationComponent `{}` has no asset `{}`", ac.name, a.asset)));
        }
        if a.variables.is_empty() {
            errs.push(Invalid::new(g("variables"), "name the expected nameplate values (e.g. ProductCode = \"X\")"));
        }
        for key in a.variables.keys() {
            if !ASSET_VARIABLES.contains(&key.as_str()) {
                errs.push(Invalid::new(
                    g(&format!("variables.{key}")),
                    format!("`{key}` is not one of {}", ASSET_VARIABLES.join(", ")),
                ));
            }
        }
    }
    let mut connections = HashSet::new();
    // (component, functional entity, endpoint name) of every endpoint of the set
    let mut endpoints: HashSet<(String, String, String)> = HashSet::new();
    for (j, c) in set.connection.iter().enumerate() {
        let g = |k: &str| f(&format!("connection[{j}].{k}"));
        name(&c.name, &g("name"), &mut connections, "a connection", errs);
        let ends = std::iter::once(("endpoint1", &c.endpoint1)).chain(c.endpoint2.as_ref().map(|e| ("endpoint2", e)));
        for (which, e) in ends {
            let h = |k: &str| g(&format!("{which}.{k}"));
            if e.server.is_empty() {
                endpoint(e, &h, acs, tags, errs);
            } else {
                remote_endpoint(e, &h, known.upstreams, errs);
            }
            let fe = format!("{}{}{:?}", e.functional_entity, e.functional_entity_node, e.functional_entity_path);
            let ac = format!("{}/{}", e.server, e.automation_component);
            if !e.name.is_empty() && !endpoints.insert((ac, fe, e.name.clone())) {
                errs.push(Invalid::new(h("name"), format!("endpoint `{}` is configured twice for this FunctionalEntity", e.name)));
            }
        }
        if let Some(p) = &c.pubsub {
            pubsub_flow(c, p, &g, errs);
        }
        if c.endpoint2.is_none() && (c.endpoint1.related_address.trim().is_empty() || c.endpoint1.related_endpoint.trim().is_empty()) {
            errs.push(Invalid::new(
                g("endpoint1.related_endpoint"),
                "without endpoint2, give the peer as related_address and related_endpoint",
            ));
        }
    }
}

/// A connection's PubSub flows: two ends, the subscribing ends' addresses, and as many outputs on
/// each publishing end as the other end has inputs (field i of the DataSet is input i).
fn pubsub_flow(c: &ConnectionConfig, p: &PubSubFlowConfig, g: &dyn Fn(&str) -> String, errs: &mut Vec<Invalid>) {
    if !(1..=3_600_000).contains(&p.publishing_interval_ms) {
        errs.push(Invalid::new(g("pubsub.publishing_interval_ms"), "must be 1 to 3600000 ms"));
    }
    if p.message_receive_timeout_ms < p.publishing_interval_ms.max(1) {
        errs.push(Invalid::new(g("pubsub.message_receive_timeout_ms"), "must be at least the publishing interval"));
    }
    let Some(e2) = &c.endpoint2 else {
        errs.push(Invalid::new(g("pubsub"), "a PubSub connection needs endpoint2 (the other end of its flows)"));
        return;
    };
    let publishes = |e: &EndpointConfig| e.mode != EndpointModeConfig::Subscriber;
    let subscribes = |e: &EndpointConfig| e.mode != EndpointModeConfig::Publisher;
    for (which, e, other) in [("endpoint1", &c.endpoint1, e2), ("endpoint2", e2, &c.endpoint1)] {
        if publishes(e) && !subscribes(other) {
            errs.push(Invalid::new(g(&format!("{which}.mode")), "this end publishes, but the other end does not subscribe"));
        }
        if !subscribes(e) {
            continue;
        }
        if !publishes(other) {
            errs.push(Invalid::new(g(&format!("{which}.mode")), "neither end publishes what this end subscribes to"));
            continue;
        }
        if let Err(m) = fxgate_config::udp_url::parse_udp_url(&e.address) {
            errs.push(Invalid::new(g(&format!("{which}.address")), format!("where this end receives, `{}`: {m}", e.address)));
        }
        let inputs = e.inputs.len() + e.input_paths.len();
        let outputs = other.outputs.len() + other.output_paths.len();
        if inputs != outputs {
            errs.push(Invalid::new(
                g(&format!("{which}.inputs")),
                format!("{inputs} input(s), but the other end publishes {outputs} output(s): field i of the DataSet goes to input i"),
            ));
        }
    }
}

/// The local component named `n`.
fn component<'a>(n: &str, at: &str, acs: &'a [AutomationComponentConfig], errs: &mut Vec<Invalid>) -> Option<&'a AutomationComponentConfig> {
    let found = acs.iter().find(|a| a.name == n);
    if found.is_none() {
        errs.push(Invalid::new(at, format!("no [[fx.automation_component]] is named `{n}`")));
    }
    found
}

/// An endpoint on an upstream server's AutomationComponent: the upstream must exist, the
/// FunctionalEntity is named once, variables are browse paths from it and verification and
/// configuration nodes portable NodeIds (the upstream's tags are not known here).
fn remote_endpoint(e: &EndpointConfig, h: &dyn Fn(&str) -> String, upstreams: &HashSet<String>, errs: &mut Vec<Invalid>) {
    if !upstreams.contains(e.server.as_str()) {
        errs.push(Invalid::new(h("server"), format!("no [[upstream]] is named `{}`", e.server)));
    }
    if e.automation_component.trim().is_empty() {
        errs.push(Invalid::new(h("automation_component"), "name the AutomationComponent under the upstream's FxRoot"));
    }
    entity_given_once(e, h, errs);
    common(e, h, errs);
    for (field, list) in [("inputs", &e.inputs), ("outputs", &e.outputs)] {
        if !list.is_empty() {
            errs.push(Invalid::new(
                h(field),
                format!("tag paths name local tags; on an upstream's component give {field} as input_paths/output_paths from the FunctionalEntity"),
            ));
        }
    }
    for (field, list) in [("expected_verification", &e.expected_verification), ("configuration_data", &e.configuration_data)] {
        for (k, nv) in list.iter().enumerate() {
            let at = h(&format!("{field}[{k}].node"));
            if let Err(m) = parse_portable_node_id(&nv.node) {
                errs.push(Invalid::new(at, format!("on an upstream's component: {m}")));
            }
        }
    }
}

/// Exactly one of functional_entity, functional_entity_node and functional_entity_path.
fn entity_given_once(e: &EndpointConfig, h: &dyn Fn(&str) -> String, errs: &mut Vec<Invalid>) -> bool {
    let given = [!e.functional_entity.is_empty(), !e.functional_entity_node.is_empty(), !e.functional_entity_path.is_empty()];
    match given.iter().filter(|g| **g).count() {
        1 => true,
        n => {
            let what = if n == 0 { "give" } else { "give only one of" };
            errs.push(Invalid::new(
                h("functional_entity"),
                format!("{what} functional_entity (a name), functional_entity_node or functional_entity_path"),
            ));
            false
        }
    }
}

/// The checks local and remote endpoints share: the FE node and path, the name, at least one
/// variable, the variable paths and the CleanupTimeout.
fn common(e: &EndpointConfig, h: &dyn Fn(&str) -> String, errs: &mut Vec<Invalid>) {
    if !e.functional_entity_node.is_empty() {
        if let Err(m) = parse_portable_node_id(&e.functional_entity_node) {
            errs.push(Invalid::new(h("functional_entity_node"), m));
        }
    }
    path(&e.functional_entity_path, &h("functional_entity_path"), errs);
    if let Err(m) = fxgate_config::checks::check_name(&e.name) {
        errs.push(Invalid::new(h("name"), m));
    }
    if e.inputs.is_empty() && e.outputs.is_empty() && e.input_paths.is_empty() && e.output_paths.is_empty() {
        errs.push(Invalid::new(h("inputs"), "an endpoint needs at least one input or output variable"));
    }
    for (field, list) in [("input_paths", &e.input_paths), ("output_paths", &e.output_paths)] {
        for (k, p) in list.iter().enumerate() {
            let at = h(&format!("{field}[{k}]"));
            if p.is_empty() {
                errs.push(Invalid::new(at, "a browse path needs at least one element"));
            } else {
                path(p, &at, errs);
            }
        }
    }
    if !e.cleanup_timeout.is_finite() {
        errs.push(Invalid::new(h("cleanup_timeout"), "must be a number of milliseconds"));
    }
}

fn endpoint(e: &EndpointConfig, h: &dyn Fn(&str) -> String, acs: &[AutomationComponentConfig], tags: &HashSet<String>, errs: &mut Vec<Invalid>) {
    let ac = component(&e.automation_component, &h("automation_component"), acs, errs);
    let by_name = entity_given_once(e, h, errs) && !e.functional_entity.is_empty();
    let fe = ac.filter(|_| by_name).and_then(|ac| {
        let fe = ac.functional_entity.iter().find(|f| f.name == e.functional_entity);
        if fe.is_none() {
            errs.push(Invalid::new(
                h("functional_entity"),
                format!("AutomationComponent `{}` has no FunctionalEntity `{}`", ac.name, e.functional_entity),
            ));
        }
        fe
    });
    common(e, h, errs);
    for (field, list, declared) in [
        ("inputs", &e.inputs, fe.map(|f| &f.inputs)),
        ("outputs", &e.outputs, fe.map(|f| &f.outputs)),
    ] {
        for (k, t) in list.iter().enumerate() {
            let at = h(&format!("{field}[{k}]"));
            if !tags.contains(t) {
                errs.push(Invalid::new(at, format!("no tag `{t}` (give a tag path like Demo/Setpoint)")));
            } else if declared.is_some_and(|d| !d.contains(t)) {
                errs.push(Invalid::new(at, format!("tag `{t}` is not in the FunctionalEntity's {field}")));
            }
        }
    }
    node_values(&e.expected_verification, &h, "expected_verification", tags, errs);
    node_values(&e.configuration_data, &h, "configuration_data", tags, errs);
}

fn path(p: &[PathElementConfig], at: &str, errs: &mut Vec<Invalid>) {
    for (k, el) in p.iter().enumerate() {
        if el.name.trim().is_empty() {
            errs.push(Invalid::new(format!("{at}[{k}].name"), "must not be empty"));
        }
    }
}

fn node_values(list: &[NodeValueConfig], h: &dyn Fn(&str) -> String, field: &str, tags: &HashSet<String>, errs: &mut Vec<Invalid>) {
    for (k, nv) in list.iter().enumerate() {
        let at = h(&format!("{field}[{k}].node"));
        if is_portable_node_id(&nv.node) {
            if let Err(m) = parse_portable_node_id(&nv.node) {
                errs.push(Invalid::new(at, m));
            }
        } else if !tags.contains(&nv.node) {
            errs.push(Invalid::new(at, format!("`{}` is neither a tag path nor a portable NodeId (nsu=<uri>;s=…)", nv.node)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::cm::parse_portable_node_id;

    #[test]
    fn portable_node_ids() {
        let p = parse_portable_node_id("nsu=urn:fxgate:fx;s=Cell1/FunctionalEntities/Motion").expect("valid");
        assert_eq!((p.namespace.as_str(), p.identifier.as_str()), ("urn:fxgate:fx", "s=Cell1/FunctionalEntities/Motion"));
        let p = parse_portable_node_id("ns=http://opcfoundation.org/UA/FX/Data/;i=71").expect("valid");
        assert_eq!((p.namespace.as_str(), p.identifier.as_str()), ("http://opcfoundation.org/UA/FX/Data/", "i=71"));
        let p = parse_portable_node_id("nsu=;s=a;s=b").expect("empty uri is the local namespace");
        assert_eq!((p.namespace.as_str(), p.identifier.as_str()), ("", "s=a;s=b"));
        assert!(parse_portable_node_id("ns=2;s=x").is_err(), "an index is not portable");
        assert!(parse_portable_node_id("nsu=urn:x;i=abc").is_err());
        assert!(parse_portable_node_id("nsu=urn:x;s=").is_err());
        assert!(parse_portable_node_id("Cell/Target").is_err());
    }
}
