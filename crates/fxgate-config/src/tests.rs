use super::*;

fn errs(text: &str) -> Vec<ConfigError> {
    parse(text, Path::new("t.toml"), Path::new(".")).expect_err("should fail")
}

#[test]
fn default_config_is_valid() {
    let c = default_config().unwrap();
    assert_eq!(c.server.port, 48050);
    assert!(!c.server.allow_none);
    assert_eq!(c.simulator[0].name, "Demo");
    assert_eq!(c.simulator[0].tags.len(), 6);
}

#[test]
fn unknown_key_is_located() {
    let e = errs("[server]\nport = 4840\nbogus = 1\n");
    assert_eq!(e[0].line, 3);
    assert!(e[0].message.contains("unknown field"), "{}", e[0]);
    assert!(e[0].to_string().starts_with("t.toml:3:"), "{}", e[0]);
}

#[test]
fn wrong_type_and_range_name_the_field() {
    let e = errs("[server]\nanonymous = \"yes\"\n");
    assert_eq!((e[0].line, e[0].field.as_str()), (2, "server.anonymous"));
    let e = errs("[server]\n\nport = 70000\n");
    assert_eq!((e[0].line, e[0].field.as_str()), (3, "server.port"));
    let e = errs("[server]\nport = 0\n");
    assert_eq!((e[0].line, e[0].field.as_str()), (2, "server.port"));
}

#[test]
fn duplicate_tags_are_located() {
    let text = "[[simulator]]\nname = \"A\"\n[[simulator.tags]]\nname = \"x\"\ntype = \"Double\"\n[[simulator.tags]]\nname = \"x\"\ntype = \"Int32\"\n";
    let e = errs(text);
    assert_eq!(e[0].field, "simulator[0].tags[1].name");
    assert_eq!(e[0].line, 7);
}

#[test]
fn bad_roles_hashes_and_files() {
    let e = errs("[[users]]\nname = \"u\"\npassword_hash = \"x\"\nroles = [\"admin\"]\n");
    assert_eq!(e[0].line, 4, "{}", e[0]);
    let e = errs("[[users]]\nname = \"u\"\npassword_hash = \"plain\"\nroles = [\"read\"]\n");
    assert_eq!((e[0].line, e[0].field.as_str()), (3, "users[0].password_hash"));
    let e = errs("[server]\ncertificate = \"/nonexistent/c.der\"\nprivate_key = \"/nonexistent/k.pem\"\n");
    assert_eq!((e[0].line, e[0].field.as_str()), (2, "server.certificate"));
    assert!(e[0].message.contains("cannot read"));
}

#[test]
fn syntax_errors_have_a_line() {
    let e = errs("[server]\nport = \n");
    assert_eq!(e[0].line, 2);
    assert!(!e[0].message.contains('\n'), "{}", e[0]);
    // toml reports this one without a message: we still say something (found by proptest)
    let e = errs("server=");
    assert_eq!(e[0].line, 1);
    assert!(e[0].message.contains("invalid TOML"), "{}", e[0]);
}

#[test]
fn waveform_must_fit_type() {
    let e = errs("[[simulator]]\nname = \"A\"\n[[simulator.tags]]\nname = \"x\"\ntype = \"String\"\nwaveform = \"sine\"\n");
    assert_eq!(e[0].field, "simulator[0].tags[0].waveform");
    assert_eq!(e[0].line, 6);
}

#[test]
fn item_metadata_is_checked() {
    let tag = |extra: &str, ty: &str| {
        format!("[[simulator]]\nname = \"A\"\n[[simulator.tags]]\nname = \"x\"\ntype = \"{ty}\"\n{extra}")
    };
    let ok = parse(&tag("eu_units = \"bar\"\neu_low = 0\neu_high = 10\n", "Double"), Path::new("t.toml"), Path::new("."));
    let meta = ok.unwrap().simulator[0].tags[0].meta().unwrap();
    assert_eq!((meta.eu_units.as_deref(), meta.eu_range), (Some("bar"), Some((0.0, 10.0))));
    let e = errs(&tag("eu_low = 5\neu_high = 1\n", "Double"));
    assert_eq!((e[0].field.as_str(), e[0].line), ("simulator[0].tags[0].eu_high", 7));
    let e = errs(&tag("eu_low = 5\n", "Double"));
    assert_eq!(e[0].field, "simulator[0].tags[0].eu_high");
    let e = errs(&tag("open_label = \"off\"\nclose_label = \"on\"\n", "Int32"));
    assert_eq!(e[0].field, "simulator[0].tags[0].open_label");
    let e = errs(&tag("close_label = \"on\"\n", "Boolean"));
    assert_eq!(e[0].field, "simulator[0].tags[0].open_label");
    let e = errs(&tag("enum_strings = [\"a\"]\n", "Double"));
    assert_eq!(e[0].field, "simulator[0].tags[0].enum_strings");
    let e = errs(&tag("scan_rate = -1.0\n", "Double"));
    assert_eq!(e[0].field, "simulator[0].tags[0].scan_rate");
    let plain = parse(&tag("", "Double"), Path::new("t.toml"), Path::new(".")).unwrap();
    assert!(plain.simulator[0].tags[0].meta().is_none());
}

const LINES: &str = r#"
[[simulator]]
name = "Demo"
[[simulator.tags]]
name = "Sine"
type = "Double"

[[line]]
name = "plc"
host = "10.0.0.1; plc2.local , [::1]"
port = 502
backup = { host = "10.0.0.9", port = 1502 }

[[line]]
name = "north"
mode = "server"
host = "[*]"
port = 1502

[[device]]
name = "Boiler"
line = "plc"
protocol = "modbus"
[[device.group]]
name = "fast"
interval_ms = 100
[[device.tag]]
name = "Temp"
address = "40101"
type = "float32"
scale = 0.1
group = "fast"
eu_units = "degC"
eu_low = 0
eu_high = 100
[[device.tag]]
name = "R"
address = "hr:200"
type = "int32"
count = 10
writable = true

[[modbus_server]]
name = "mbs"
line = "north"
[[modbus_server.map]]
tag = "Demo/Sine"
address = "hr:0"
type = "float32"
"#;

#[test]
fn lines_devices_and_servers_parse() {
    let c = parse(LINES, Path::new("t.toml"), Path::new(".")).unwrap();
    assert_eq!(crate::split_hosts(&c.line[0].host), ["10.0.0.1", "plc2.local", "[::1]"]);
    assert!(c.line[0].backup.as_ref().unwrap().enabled);
    assert_eq!(c.line[1].mode, LineMode::Server);
    let t = &c.device[0].tag[0];
    assert_eq!(t.tag_type(), TagType::Double);
    assert_eq!(crate::modbus::Address::parse(&t.address).unwrap().offset, 100);
    assert_eq!(c.device[0].tag[1].names().len(), 10);
    assert_eq!(c.device[0].tag[1].stride(), 2);
}

#[test]
fn line_and_device_errors_are_located() {
    let bad = |from: &str, to: &str| errs(&LINES.replacen(from, to, 1));
    let line_of = |text: &str, needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let e = bad("host = \"[*]\"", "host = \"plc.local\"");
    assert_eq!(e[0].field, "line[1].host");
    assert_eq!(e[0].line, line_of(LINES, "host = \"[*]\""));
    let e = bad("host = \"10.0.0.1; plc2.local , [::1]\"", "host = \"a,b,c,d,e,f,g,h,i\"");
    assert!(e[0].message.contains("at most 8"), "{}", e[0]);
    let e = bad("line = \"plc\"", "line = \"nowhere\"");
    assert_eq!(e[0].field, "device[0].line");
    let e = bad("line = \"plc\"", "line = \"north\"");
    assert!(e[0].message.contains("client line"), "{}", e[0]);
    let e = bad("address = \"40101\"", "address = \"hr:x\"");
    assert_eq!(e[0].field, "device[0].tag[0].address");
    let e = bad("address = \"40101\"", "address = \"ir:0\"\nwritable = true");
    assert_eq!(e[0].field, "device[0].tag[0].writable");
    let e = bad("type = \"int32\"", "type = \"bool\"");
    assert_eq!(e[0].field, "device[0].tag[1].type");
    let e = bad("group = \"fast\"", "group = \"slow\"");
    assert_eq!(e[0].field, "device[0].tag[0].group");
    let e = bad("protocol = \"modbus\"", "protocol = \"profibus\"");
    assert_eq!(e[0].field, "device[0].protocol");
    let e = bad("tag = \"Demo/Sine\"", "tag = \"Demo/Nope\"");
    assert_eq!(e[0].field, "modbus_server[0].map[0].tag");
    let e = bad("count = 10", "count = 70000");
    assert_eq!(e[0].field, "device[0].tag[1].count");
    let e = errs(&format!("{LINES}[line.tls]\npre_shared_key = \"xyz\"\n"));
    assert_eq!(e[0].field, "line[1].tls.pre_shared_key");
    let e = errs(&format!("{LINES}[line.tls]\nmy_certificate = \"/nonexistent/me.pem\"\nmy_key = \"/nonexistent/me.key\"\n"));
    assert!(e.iter().any(|e| e.field == "line[1].tls.my_certificate" && e.message.contains("cannot read")), "{e:?}");
    let e = errs(&format!("{LINES}[[modbus_server.map]]\ntag = \"Demo/Sine\"\naddress = \"hr:1\"\ntype = \"int16\"\n"));
    assert!(e[0].message.contains("overlaps"), "{}", e[0]);
}

#[test]
fn appdir_expands_to_the_config_directory() {
    let dir = Path::new("/etc/fxgate");
    assert_eq!(crate::expand_appdir("#APPDIR#/ca.pem", dir), Path::new("/etc/fxgate/ca.pem"));
    assert_eq!(crate::expand_appdir("certs/ca.pem", dir), Path::new("/etc/fxgate/certs/ca.pem"));
    assert_eq!(crate::expand_appdir("/abs/ca.pem", dir), Path::new("/abs/ca.pem"));
}

#[test]
fn websocket_errors_are_located() {
    let base = "[[users]]\nname = \"cloud\"\npassword_hash = \"$argon2id$v=19$m=19456,t=2,p=1$hqz1DUL76bOAdc8UKSZr+g$g4LDZrSIpaLE7HRbzzAzbpbASv2fNqsX1VOTA3Iq6OA\"\nroles = [\"read\"]\n[[websocket]]\nname = \"w\"\nurl = \"wss://h/x\"\ntags = [\"Demo/*\"]\n";
    let ok = parse(base, Path::new("t.toml"), Path::new(".")).unwrap();
    assert_eq!(ok.websocket[0].max_recv_frame_size, 0x10000);
    assert_eq!(ok.websocket[0].max_send_frame_size, 0x4000);
    let e = errs(&base.replace("wss://h/x", "http://h/x"));
    assert_eq!((e[0].field.as_str(), e[0].line), ("websocket[0].url", 7));
    let e = errs(&format!("{base}user = \"cloud\"\n"));
    assert!(e[0].message.contains("no write role"), "{}", e[0]);
    let e = errs(&format!("{base}[websocket.tls]\nversion = \"ssl3\"\n"));
    assert_eq!(e[0].field, "websocket[0].tls.version");
    let e = errs(&format!("{base}[websocket.jwt]\nalgorithm = \"HS256\"\n"));
    assert_eq!(e[0].field, "websocket[0].jwt.secret");
    let e = errs(&base.replace("tags = [\"Demo/*\"]\n", ""));
    assert_eq!(e[0].field, "websocket[0].tags");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Any text, valid TOML or not: no panic, and every error points inside the text.
        #[test]
        fn never_panics_and_locates_inside(text in "(\\PC|\n|\\[|\\]|=|\"|server|port|simulator|tags|name){0,200}") {
            if let Err(errs) = parse(&text, Path::new("p.toml"), Path::new(".")) {
                let lines = text.lines().count().max(1);
                for e in errs {
                    prop_assert!(e.line <= lines + 1, "{} beyond {} lines", e, lines);
                    prop_assert!(!e.message.is_empty());
                }
            }
        }

        /// Mutating one value of the default config yields either a valid config or located errors.
        #[test]
        fn mutated_default_is_located(port in any::<i64>(), interval in any::<i64>()) {
            let text = DEFAULT_CONFIG
                .replace("port = 48050", &format!("port = {port}"))
                .replace("interval_ms = 1000", &format!("interval_ms = {interval}"));
            match parse(&text, Path::new("p.toml"), Path::new(".")) {
                Ok(c) => {
                    prop_assert!(c.server.port > 0);
                    prop_assert!((10..=3_600_000).contains(&c.simulator[0].interval_ms));
                }
                Err(errs) => {
                    for e in errs {
                        prop_assert!(e.line > 0, "{}", e);
                        prop_assert!(e.field == "server.port" || e.field == "simulator[0].interval_ms", "{}", e);
                    }
                }
            }
        }
    }
}
