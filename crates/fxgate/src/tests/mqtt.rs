//! `[[mqtt]]`: its checks, located by file, line and field.

use super::*;

const LINES: &str = "[[line]]\nname = \"broker\"\nhost = \"10.0.0.1\"\nport = 1883\nbackup = { host = \"10.0.1.1\", port = 1883 }\n\
                     [[line]]\nname = \"srv\"\nmode = \"server\"\nhost = \"*\"\nport = 1884\n\
                     [[users]]\nname = \"mq\"\npassword_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$7lP4VSKQ2yQsTQmbqE0y6Aj8hVXN2vC8Aq3QO5EoY1o\"\nroles = [\"read\", \"write\"]\n";

const CLIENT: &str = "[[mqtt]]\nname = \"plant\"\nline = \"broker\"\nversion = \"5\"\nstatus_topic = \"fxgate/plant/status\"\n\
                      request_topic = \"fxgate/plant/write\"\nresponse_topic = \"fxgate/plant/write/response\"\nuser = \"mq\"\n\
                      [[mqtt.tag]]\nname = \"Temp\"\ntopic = \"site/+/temp\"\ntype = \"Double\"\npayload = \"json\"\nvalue_path = \"/value\"\ntimestamp_path = \"/ts\"\n\
                      [[mqtt.tag]]\nname = \"Valve\"\ntopic = \"site/valve\"\ntype = \"Boolean\"\ncommand_topic = \"site/valve/set\"\nstale_after_ms = 5000\n\
                      [[mqtt.publish]]\ntags = [\"plant/*\"]\ntopic = \"out/{path}\"\n\
                      [[mqtt.publish]]\ntags = [\"**\"]\nmode = \"batch\"\ntopic = \"out/batch\"\ninterval_ms = 500\n";

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l == needle).map_or(0, |i| i + 1)
}

#[test]
fn a_client_is_valid_with_its_defaults() {
    let c = parse(&format!("{LINES}{CLIENT}"), Path::new("t.toml"), Path::new(".")).unwrap();
    let m = &c.mqtt.0[0];
    assert_eq!(m.client_id(), "fxgate-plant");
    assert_eq!((m.keep_alive_s, m.fail_back_s, m.clean_session), (30, 10, true));
    assert_eq!((u8::from(m.subscribe_qos), u8::from(m.publish_qos)), (1, 1));
    assert_eq!(m.version, fxgate_mqtt::config::MqttVersion::V5);
    assert_eq!(m.publish[1].interval(), Some(std::time::Duration::from_millis(500)));
    assert_eq!(m.publish[0].interval(), None);
}

#[test]
fn bad_fields_are_located() {
    let cases: &[(&str, &str, &str)] = &[
        ("line = \"broker\"", "line = \"srv\"", "mqtt[0].line"),
        ("topic = \"site/+/temp\"", "topic = \"site/#/temp\"", "mqtt[0].tag[0].topic"),
        ("command_topic = \"site/valve/set\"", "command_topic = \"site/+/set\"", "mqtt[0].tag[1].command_topic"),
        ("value_path = \"/value\"", "value_path = \"value\"", "mqtt[0].tag[0].value_path"),
        ("stale_after_ms = 5000", "stale_after_ms = 5", "mqtt[0].tag[1].stale_after_ms"),
        ("topic = \"out/batch\"", "topic = \"out/{path}/batch\"", "mqtt[0].publish[1].topic"),
        ("topic = \"out/{path}\"", "topic = \"out/{path}/#\"", "mqtt[0].publish[0].topic"),
        ("user = \"mq\"", "user = \"nobody\"", "mqtt[0].user"),
        ("status_topic = \"fxgate/plant/status\"", "status_topic = \"fxgate/+/status\"", "mqtt[0].status_topic"),
        ("version = \"5\"", "version = \"4\"", "mqtt[0].version"),
    ];
    for (from, to, field) in cases {
        let text = format!("{LINES}{CLIENT}").replacen(from, to, 1);
        let e = errs(&text);
        let hit = e.iter().find(|e| e.field == *field).unwrap_or_else(|| panic!("{to}: no error at {field}: {e:?}"));
        assert_eq!(hit.line, line_of(&text, to), "{to}: {hit}");
        assert!(hit.to_string().starts_with("t.toml:"), "{hit}");
    }
}

#[test]
fn qos_keep_alive_and_raw_pointers_are_checked() {
    let text = format!("{LINES}{}", CLIENT.replace("version = \"5\"", "publish_qos = 3\n"));
    assert!(errs(&text).iter().any(|e| e.field == "mqtt[0].publish_qos"), "{:?}", errs(&text));
    let text = format!("{LINES}{}", CLIENT.replace("version = \"5\"", "keep_alive_s = 0"));
    assert!(errs(&text).iter().any(|e| e.field == "mqtt[0].keep_alive_s"));
    let text = format!("{LINES}{}", CLIENT.replace("payload = \"json\"\n", ""));
    assert!(errs(&text).iter().any(|e| e.field == "mqtt[0].tag[0].value_path"), "a pointer needs JSON");
    let text = format!("{LINES}{}", CLIENT.replace("response_topic = \"fxgate/plant/write/response\"\n", ""));
    assert!(errs(&text).iter().any(|e| e.field == "mqtt[0].response_topic"));
}

#[test]
fn a_persistent_session_and_its_expiry() {
    let persistent = CLIENT.replace("version = \"5\"", "version = \"5\"\nclean_session = false\nsession_expiry_s = 600");
    let c = parse(&format!("{LINES}{persistent}"), Path::new("t.toml"), Path::new(".")).unwrap();
    assert_eq!((c.mqtt.0[0].clean_session, c.mqtt.0[0].session_expiry()), (false, 600));
    let default = CLIENT.replace("version = \"5\"", "version = \"5\"\nclean_session = false");
    let c = parse(&format!("{LINES}{default}"), Path::new("t.toml"), Path::new(".")).unwrap();
    assert_eq!(c.mqtt.0[0].session_expiry(), fxgate_mqtt::config::SESSION_EXPIRY_DEFAULT);
    for bad in ["version = \"5\"\nsession_expiry_s = 600", "version = \"3.1.1\"\nclean_session = false\nsession_expiry_s = 600",
                "version = \"5\"\nclean_session = false\nsession_expiry_s = 0"] {
        let text = format!("{LINES}{}", CLIENT.replace("version = \"5\"", bad));
        let e = errs(&text);
        let hit = e.iter().find(|e| e.field == "mqtt[0].session_expiry_s").unwrap_or_else(|| panic!("{bad}: {e:?}"));
        assert_eq!(hit.line, line_of(&text, bad.lines().last().unwrap_or_default()), "{hit}");
    }
    let sparkplug = "[[mqtt]]\nname = \"edge\"\nline = \"broker\"\nclean_session = false\n[mqtt.sparkplug]\ngroup_id = \"g\"\nedge_node_id = \"n\"\ntags = [\"**\"]\n";
    let e = errs(&format!("{LINES}{sparkplug}"));
    assert!(e.iter().any(|e| e.field == "mqtt[0].clean_session" && e.message.contains("clean session")), "{e:?}");
}

#[test]
fn one_client_per_line_and_no_other_protocol_on_it() {
    let second = CLIENT.replace("name = \"plant\"", "name = \"plant2\"");
    let e = errs(&format!("{LINES}{CLIENT}{second}"));
    assert!(e.iter().any(|e| e.field == "mqtt[1].line"), "{e:?}");
    let modbus = "[[device]]\nname = \"M\"\nline = \"broker\"\nprotocol = \"modbus\"\n";
    let e = errs(&format!("{LINES}{CLIENT}{modbus}"));
    // The registry lists Modbus first: the MQTT client's claim is the second one.
    assert!(e.iter().any(|e| e.field == "mqtt[0].line" && e.message.contains("Modbus client")), "{e:?}");
}

#[test]
fn one_file_for_every_gateway_of_a_site() {
    let text = format!("{LINES}{}", CLIENT.replace("status_topic = \"fxgate/plant/status\"", "client_id = \"gw-{node}\"\nstatus_topic = \"site/{node}/status\"")
        .replace("topic = \"out/{path}\"", "topic = \"site/{node}/{path}\""));
    let c = parse(&text, Path::new("t.toml"), Path::new(".")).unwrap();
    let m = c.mqtt.0[0].for_node("gw7");
    assert_eq!((m.client_id(), m.status_topic.as_str(), m.publish[0].topic.as_str()), ("gw-gw7".to_string(), "site/gw7/status", "site/gw7/{path}"));
    let batch = text.replace("topic = \"out/batch\"", "topic = \"out/{node}/batch\"");
    assert!(parse(&batch, Path::new("t.toml"), Path::new(".")).is_ok(), "{{node}} is allowed in a batch topic");
}
