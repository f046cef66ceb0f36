//! `[[iec104_device]]` and `[[iec104_server]]`: their checks, located by file, line and field.

use super::*;

const LINES: &str = "[[line]]\nname = \"rtu\"\nhost = \"10.0.0.1,10.0.0.2\"\nport = 2404\nbackup = { host = \"10.0.1.1\", port = 2404 }\n\
                     [[line]]\nname = \"srv\"\nmode = \"server\"\nhost = \"*\"\nport = 2404\n";

const DEVICE: &str = "[[iec104_device]]\nname = \"RTU1\"\nline = \"rtu\"\ncommon_address = 7\ngi_interval_ms = 60000\n\
                      [[iec104_device.tag]]\nname = \"Breaker\"\nioa = 100\ntype = \"M_DP_TB_1\"\ncommand = \"C_DC\"\ncommand_ioa = 2100\nselect_before_operate = true\n\
                      [[iec104_device.tag]]\nname = \"P\"\nioa = 200\ntype = \"M_ME_NC\"\n\
                      [[iec104_device.tag]]\nname = \"Sp\"\ncommand = \"C_SE_NB\"\ncommand_ioa = 3000\n";

const SERVER: &str = "[[iec104_server]]\nname = \"scada\"\nline = \"srv\"\nallowed_masters = [\"10.1.0.1\", \"10.1.0.2\"]\n\
                      [[iec104_server.group]]\nname = \"A\"\nmasters = [\"10.1.0.1\"]\n\
                      [[iec104_server.map]]\ntag = \"RTU1/P\"\nioa = 5000\ntype = \"M_ME_NC\"\n\
                      [[iec104_server.map]]\ntag = \"RTU1/Sp\"\nioa = 5001\ntype = \"M_ME_NB\"\ncommand = \"C_SE_NB\"\n";

fn line_of(text: &str, needle: &str, nth: usize) -> usize {
    text.lines().enumerate().filter(|(_, l)| *l == needle).nth(nth).map_or(0, |(i, _)| i + 1)
}

#[test]
fn a_device_and_a_server_are_valid() {
    let c = parse(&format!("{LINES}{DEVICE}{SERVER}"), Path::new("t.toml"), Path::new(".")).unwrap();
    let d = &c.iec104_device.0[0];
    assert_eq!((d.common_address, d.k, d.w, d.t1_ms, d.tag.len()), (7, 12, 8, 15_000, 3));
    assert_eq!(d.tag[0].command_address(), Some(2100));
    assert_eq!(c.iec104_server.0[0].map[1].command_address(), Some(5001));
}

#[test]
fn bad_fields_are_located() {
    let cases: &[(&str, &str, &str, usize)] = &[
        ("ioa = 200", "ioa = 0", "iec104_device[0].tag[1].ioa", 0),
        ("type = \"M_ME_NC\"", "type = \"M_XX\"", "iec104_device[0].tag[1].type", 0),
        ("common_address = 7", "common_address = 65535", "iec104_device[0].common_address", 0),
        ("gi_interval_ms = 60000", "gi_interval_ms = 10", "iec104_device[0].gi_interval_ms", 0),
        ("command_ioa = 3000", "command_ioa = 2100 ", "iec104_device[0].tag[2].command_ioa", 0),
        ("ioa = 200", "ioa = 100 ", "iec104_device[0].tag[1].ioa", 0),
        ("line = \"rtu\"", "line = \"srv\"", "iec104_device[0].line", 0),
        ("tag = \"RTU1/P\"", "tag = \"RTU1/Nope\"", "iec104_server[0].map[0].tag", 0),
        ("ioa = 5001", "ioa = 5000 ", "iec104_server[0].map[1].ioa", 0),
        ("masters = [\"10.1.0.1\"]", "masters = [\"10.9.9.9\"]", "iec104_server[0].group[0].masters[0]", 0),
        ("line = \"srv\"", "line = \"rtu\" ", "iec104_server[0].line", 0),
    ];
    for (from, to, field, _) in cases {
        let text = format!("{LINES}{DEVICE}{SERVER}").replacen(from, to, 1);
        let e = errs(&text);
        let hit = e.iter().find(|e| e.field == *field).unwrap_or_else(|| panic!("{to}: no error at {field}: {e:?}"));
        assert_eq!(hit.line, line_of(&text, to, 0), "{to}: {hit}");
        assert!(hit.to_string().starts_with("t.toml:"), "{hit}");
    }
}

#[test]
fn link_parameters_follow_the_standard() {
    let text = format!("{LINES}{}", DEVICE.replace("gi_interval_ms = 60000", "k = 4\nw = 5\nt1_ms = 1000\nt2_ms = 2000"));
    let e = errs(&text);
    let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
    assert!(fields.contains(&"iec104_device[0].w"), "{fields:?}");
    assert!(fields.contains(&"iec104_device[0].t2_ms"), "{fields:?}");
}

#[test]
fn stations_on_one_line_share_its_link_and_have_their_own_address() {
    let second = DEVICE.replace("name = \"RTU1\"", "name = \"RTU2\"");
    let e = errs(&format!("{LINES}{DEVICE}{second}"));
    assert!(e.iter().any(|e| e.field == "iec104_device[1].common_address"), "{e:?}");
    let ok = second.replace("common_address = 7", "common_address = 8");
    assert!(parse(&format!("{LINES}{DEVICE}{ok}"), Path::new("t.toml"), Path::new(".")).is_ok());
    let other_k = ok.replace("gi_interval_ms = 60000", "gi_interval_ms = 60000\nk = 20");
    let e = errs(&format!("{LINES}{DEVICE}{other_k}"));
    assert!(e.iter().any(|e| e.field == "iec104_device[1].k"), "{e:?}");
}

#[test]
fn a_line_is_carried_by_one_protocol() {
    let modbus = "[[device]]\nname = \"M\"\nline = \"rtu\"\nprotocol = \"modbus\"\n";
    let e = errs(&format!("{LINES}{DEVICE}{modbus}"));
    // the registry lists Modbus first: the IEC 104 device's claim is the second one
    assert!(e.iter().any(|e| e.field == "iec104_device[0].line" && e.message.contains("Modbus client")), "{e:?}");
}
