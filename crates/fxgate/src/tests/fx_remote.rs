//! `server = "<upstream name>"` on ConnectionManager endpoints: checked and located.

use super::*;

const BASE: &str = "[[simulator]]\nname = \"Demo\"\n[[simulator.tags]]\nname = \"Sine\"\ntype = \"Double\"\n\
                    [[upstream]]\nname = \"a\"\nendpoint_url = \"opc.tcp://127.0.0.1:4840/\"\n\
                    [[fx.automation_component]]\nname = \"AC\"\n\
                    [[fx.automation_component.functional_entity]]\nname = \"FE\"\noutputs = [\"Demo/Sine\"]\n\
                    [[fx.connection_manager.set]]\nname = \"S\"\n[[fx.connection_manager.set.connection]]\nname = \"C\"\n\
                    [fx.connection_manager.set.connection.endpoint1]\nautomation_component = \"AC\"\n\
                    functional_entity = \"FE\"\nname = \"E1\"\noutputs = [\"Demo/Sine\"]\n\
                    [fx.connection_manager.set.connection.endpoint2]\n";

#[test]
fn an_endpoint_on_an_upstream_names_its_component_there() {
    // the component and FE are the upstream's: not checked against the local ones
    let ok = format!(
        "{BASE}server = \"a\"\nautomation_component = \"Remote\"\nfunctional_entity = \"Other\"\nname = \"E2\"\n\
         input_paths = [[{{ namespace = \"http://opcfoundation.org/UA/FX/AC/\", name = \"InputData\" }}, {{ namespace = \"urn:x\", name = \"In\" }}]]\n\
         expected_verification = [{{ node = \"nsu=urn:fxgate:fx;s=Remote/FunctionalEntities/Other/AuthorUri\", value = \"urn:a\" }}]\n"
    );
    let parsed = parse(&ok, Path::new("t.toml"), Path::new("."));
    assert!(parsed.is_ok(), "{:?}", parsed.err());
    let c = parsed.expect("checked above");
    let cm = c.fx.connection_manager.as_ref().expect("configured");
    assert_eq!(cm.set[0].connection[0].endpoint2.as_ref().map(|e| e.server.as_str()), Some("a"));
    assert_eq!(cm.set[0].connection[0].endpoint1.server, "", "local by default");
}

#[test]
fn remote_endpoint_errors_are_located() {
    // an unknown upstream, no component, local tag paths, a tag as verification node
    let bad = format!(
        "{BASE}server = \"b\"\nfunctional_entity = \"FE\"\nname = \"E2\"\ninputs = [\"Demo/Sine\"]\n\
         expected_verification = [{{ node = \"Demo/Sine\", value = 1.0 }}]\n"
    );
    let e = parse(&bad, Path::new("t.toml"), Path::new(".")).expect_err("should fail");
    let at: Vec<(usize, &str)> = e.iter().map(|e| (e.line, e.field.as_str())).collect();
    let f = "fx.connection_manager.set[0].connection[0].endpoint2";
    assert_eq!(
        at,
        vec![
            (24, format!("{f}.server").as_str()),
            // not given: located at the endpoint's table
            (23, format!("{f}.automation_component").as_str()),
            (27, format!("{f}.inputs").as_str()),
            (28, format!("{f}.expected_verification[0].node").as_str()),
        ],
        "{e:?}"
    );
}
