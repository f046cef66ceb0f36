//! Resources claimed twice (a line carried by two protocols, a port with two listeners) are
//! configuration errors at the claiming field, whatever the protocols.

use super::*;

const SIM: &str = "[[simulator]]\nname = \"S\"\n[[simulator.tags]]\nname = \"x\"\ntype = \"Int16\"\n";

#[test]
fn a_line_carries_one_protocol() {
    let text = format!(
        "{SIM}[[line]]\nname = \"L\"\nmode = \"server\"\nhost = \"127.0.0.1\"\nport = 1502\n\
         [[modbus_server]]\nname = \"a\"\nline = \"L\"\n\
         [[modbus_server]]\nname = \"b\"\nline = \"L\"\n"
    );
    let e = errs(&text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].field, "modbus_server[1].line");
    assert!(e[0].message.contains("modbus_server[0].line"), "{}", e[0]);
    assert_eq!(e[0].line, text.lines().position(|l| l == "name = \"b\"").map_or(0, |i| i + 2));
}

#[test]
fn devices_of_one_protocol_share_a_client_line() {
    let text = "[[line]]\nname = \"L\"\nhost = \"10.0.0.1\"\nport = 502\n\
                [[device]]\nname = \"A\"\nline = \"L\"\nprotocol = \"modbus\"\n\
                [[device]]\nname = \"B\"\nline = \"L\"\nprotocol = \"modbus\"\nunit_id = 2\n";
    assert!(parse(text, Path::new("t.toml"), Path::new(".")).is_ok());
}

#[test]
fn a_port_has_one_listener() {
    // a server line on the OPC UA server's port (both on every IPv4 address)
    let text = "[server]\nport = 4841\n[[line]]\nname = \"L\"\nmode = \"server\"\nhost = \"*\"\nport = 4841\n";
    let e = errs(text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].field.as_str(), e[0].line), ("line[0].port", 7));
    assert!(e[0].message.contains("OPC UA server"), "{}", e[0]);
    // the HTTP listener's port on another address is fine; on its own address it is not
    let ok = "[http]\nlisten = \"127.0.0.1:9000\"\n[[line]]\nname = \"L\"\nmode = \"server\"\nhost = \"127.0.0.2\"\nport = 9000\n";
    assert!(parse(ok, Path::new("t.toml"), Path::new(".")).is_ok());
    let clash = ok.replace("127.0.0.2", "127.0.0.1");
    let e = errs(&clash);
    assert_eq!(e[0].field, "line[0].port");
    assert!(e[0].message.contains("HTTP listener"), "{}", e[0]);
}
