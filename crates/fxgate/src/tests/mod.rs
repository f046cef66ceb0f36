//! The configuration file as a whole, through the registry's file type: every section's
//! checks, located by file, line and field.

use std::path::{Path, PathBuf};

use fxgate_config::{ConfigError, LineMode, TagType};
use fxgate_upstream::{UpstreamConfig, UpstreamMode, UpstreamPolicy};

use crate::registry::{default_config, Config, DEFAULT_CONFIG};

mod claims;
mod http;
mod iec104;
mod mqtt;
mod persist;
mod fx_remote;

fn parse(text: &str, file: &Path, config_dir: &Path) -> Result<Config, Vec<ConfigError>> {
    fxgate_config::parse::<Config>(text, file, config_dir)
}

fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
    fxgate_config::load::<Config>(path)
}

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
    assert_eq!(fxgate_config::split_hosts(&c.line[0].host), ["10.0.0.1", "plc2.local", "[::1]"]);
    assert!(c.line[0].backup.as_ref().unwrap().enabled);
    assert_eq!(c.line[1].mode, LineMode::Server);
    let t = &c.device[0].tag[0];
    assert_eq!(t.tag_type(), TagType::Double);
    assert_eq!(fxgate_modbus::config::address::Address::parse(&t.address).unwrap().offset, 100);
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
    assert_eq!(fxgate_config::expand_appdir("#APPDIR#/ca.pem", dir), Path::new("/etc/fxgate/ca.pem"));
    assert_eq!(fxgate_config::expand_appdir("certs/ca.pem", dir), Path::new("/etc/fxgate/certs/ca.pem"));
    assert_eq!(fxgate_config::expand_appdir("/abs/ca.pem", dir), Path::new("/abs/ca.pem"));
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

const UPSTREAMS: &str = "# upstream servers\n[[upstream]]\nname = \"plc1\"\nendpoint_url = \"opc.tcp://10.0.0.5:4840\"\n\n[[upstream]]\nname = \"plc2\"\nendpoint_url = \"opc.tcp://plc2.local:48010/ua\"\n";

#[test]
fn upstream_defaults_parse() {
    let c = parse(UPSTREAMS, Path::new("t.toml"), Path::new(".")).unwrap();
    assert_eq!(c.upstream.len(), 2);
    let u = &c.upstream[1];
    assert_eq!((u.name.as_str(), u.endpoint_url.as_str()), ("plc2", "opc.tcp://plc2.local:48010/ua"));
    let defaults = UpstreamConfig {
        name: u.name.clone(),
        endpoint_url: u.endpoint_url.clone(),
        ..UpstreamConfig::default()
    };
    assert_eq!(*u, defaults);
    assert_eq!(u.security_policy, UpstreamPolicy::Basic256Sha256);
    assert_eq!(u.security_mode, UpstreamMode::SignAndEncrypt);
    assert!(u.enabled && !u.accept_all_server_certificates);
    assert!(u.username.is_empty() && u.password.is_empty() && u.alias.is_empty());
    assert!(u.user_certificate_path(Path::new("/etc/fxgate")).is_none());
    assert_eq!(
        (u.publishing_interval_ms, u.request_timeout_ms, u.reconnect_min_ms, u.reconnect_max_ms),
        (100, 5000, 500, 10_000)
    );
    assert!(default_config().unwrap().upstream.is_empty());
}

#[test]
fn upstream_policies_and_modes() {
    let all = [
        (UpstreamPolicy::None, "None"),
        (UpstreamPolicy::Basic128Rsa15, "Basic128Rsa15"),
        (UpstreamPolicy::Basic256, "Basic256"),
        (UpstreamPolicy::Basic256Sha256, "Basic256Sha256"),
        (UpstreamPolicy::Aes128Sha256RsaOaep, "Aes128_Sha256_RsaOaep"),
        (UpstreamPolicy::Aes256Sha256RsaPss, "Aes256_Sha256_RsaPss"),
    ];
    for (policy, name) in all {
        assert_eq!(policy.to_string(), name);
        assert_eq!(policy.uri(), format!("http://opcfoundation.org/UA/SecurityPolicy#{name}"));
        let mode = if policy == UpstreamPolicy::None { "None" } else { "Sign" };
        let text = format!("{UPSTREAMS}security_policy = \"{name}\"\nsecurity_mode = \"{mode}\"\n");
        let c = parse(&text, Path::new("t.toml"), Path::new(".")).unwrap();
        assert_eq!(c.upstream[1].security_policy, policy);
        assert_eq!(policy.is_deprecated(), matches!(name, "Basic128Rsa15" | "Basic256"));
    }
    for (mode, name) in [(UpstreamMode::None, "None"), (UpstreamMode::Sign, "Sign"), (UpstreamMode::SignAndEncrypt, "SignAndEncrypt")] {
        assert_eq!(mode.to_string(), name);
    }
    // the password never shows in debug output
    let u = UpstreamConfig { password: "s3cret".into(), ..UpstreamConfig::default() };
    assert!(!format!("{u:?}").contains("s3cret"));
}

#[test]
fn upstream_errors_are_located() {
    // (text appended to the second [[upstream]] table, field, line of the error)
    let tail = UPSTREAMS.lines().count();
    let one = |extra: &str, field: &str| {
        let text = format!("{UPSTREAMS}{extra}");
        let e = errs(&text);
        // a missing user certificate or key also cannot be read
        assert!(e.len() == 1 || extra.starts_with("user_"), "{extra}: {e:?}");
        let e = e.into_iter().find(|e| e.field == field).expect(field);
        assert!(e.to_string().starts_with(&format!("t.toml:{}:", e.line)), "{e}");
        e
    };
    let cases: &[(&str, &str, usize, &str)] = &[
        ("password = \"x\"\n", "upstream[1].password", 1, "needs a username"),
        ("security_mode = \"None\"\n", "upstream[1].security_policy", 0, "security_mode None needs security_policy None"),
        ("security_policy = \"None\"\nsecurity_mode = \"Sign\"\n", "upstream[1].security_mode", 2, "security_policy None needs security_mode None"),
        ("alias = \"a-b\"\nalias_namespace = \"urn:p\"\n", "upstream[1].alias", 1, "1 to 32"),
        (&format!("alias = \"{}\"\nalias_namespace = \"urn:p\"\n", "a".repeat(33)), "upstream[1].alias", 1, "1 to 32"),
        ("alias = \"PLC1\"\n", "upstream[1].alias_namespace", 0, "missing"),
        ("alias = \"PLC1\"\nalias_namespace = \"\"\n", "upstream[1].alias_namespace", 2, "missing"),
        ("alias_namespace = \"urn:p\"\n", "upstream[1].alias_namespace", 1, "only meaningful with alias"),
        ("alias = \"ns\"\nalias_namespace = \"urn:p\"\n", "upstream[1].alias", 1, "ItemID type prefix"),
        ("alias = \"NS\"\nalias_namespace = \"urn:p\"\n", "upstream[1].alias", 1, "ItemID type prefix"),
        ("alias = \"i\"\nalias_namespace = \"urn:p\"\n", "upstream[1].alias", 1, "ItemID type prefix"),
        ("alias = \"S\"\nalias_namespace = \"urn:p\"\n", "upstream[1].alias", 1, "ItemID type prefix"),
        ("alias = \"g\"\nalias_namespace = \"urn:p\"\n", "upstream[1].alias", 1, "ItemID type prefix"),
        ("alias = \"B\"\nalias_namespace = \"urn:p\"\n", "upstream[1].alias", 1, "ItemID type prefix"),
        ("publishing_interval_ms = 9\n", "upstream[1].publishing_interval_ms", 1, "10 to 60000"),
        ("publishing_interval_ms = 60001\n", "upstream[1].publishing_interval_ms", 1, "10 to 60000"),
        ("request_timeout_ms = 99\n", "upstream[1].request_timeout_ms", 1, "100 to 600000"),
        ("request_timeout_ms = 600001\n", "upstream[1].request_timeout_ms", 1, "100 to 600000"),
        ("reconnect_min_ms = 99\n", "upstream[1].reconnect_min_ms", 1, "at least 100"),
        ("reconnect_min_ms = 2000\nreconnect_max_ms = 1000\n", "upstream[1].reconnect_max_ms", 2, "at least reconnect_min_ms"),
        ("user_certificate = \"u.der\"\n", "upstream[1].user_private_key", 0, "needed with user_certificate"),
        ("user_private_key = \"u.pem\"\n", "upstream[1].user_certificate", 0, "needed with user_private_key"),
        ("bogus = 1\n", "upstream[1].bogus", 1, "unknown field"),
        ("security_policy = \"Basic512\"\n", "upstream[1].security_policy", 1, "unknown variant"),
        ("enabled = \"yes\"\n", "upstream[1].enabled", 1, "invalid type"),
    ];
    let header = tail - 2; // line of the second [[upstream]]
    for (extra, field, line, message) in cases {
        let e = one(extra, field);
        // line 0: the field is not in the text, so the error points at its table
        let want = if *line == 0 { header } else { tail + line };
        assert_eq!((e.field.as_str(), e.line), (*field, want), "{extra}: {e}");
        assert!(e.message.contains(message), "{extra}: {e}");
    }
    // deprecated policies are accepted
    let ok = format!("{UPSTREAMS}security_policy = \"Basic128Rsa15\"\nsecurity_mode = \"Sign\"\n");
    assert!(parse(&ok, Path::new("t.toml"), Path::new(".")).is_ok());
    // an alias with its namespace; aliases merely starting like a type prefix are fine
    for alias in ["PLC1", "nsx", "s1", "Bx_2", "_"] {
        let ok = format!("{UPSTREAMS}alias = \"{alias}\"\nalias_namespace = \"urn:fxgate-test:alpha:plant\"\n");
        let c = parse(&ok, Path::new("t.toml"), Path::new(".")).unwrap_or_else(|e| panic!("{alias}: {e:?}"));
        assert_eq!((c.upstream[1].alias.as_str(), c.upstream[1].alias_namespace.as_str()), (alias, "urn:fxgate-test:alpha:plant"));
    }
}

#[test]
fn upstream_names_and_urls_are_checked() {
    let line_of = |text: &str, needle: &str| text.lines().enumerate().filter(|(_, l)| l.contains(needle)).last().unwrap().0 + 1;
    let check = |from: &str, to: &str, field: &str, message: &str| {
        let text = UPSTREAMS.replacen(from, to, 1);
        let e = errs(&text);
        assert_eq!(e.len(), 1, "{to}: {e:?}");
        let needle = to.lines().next().filter(|l| !l.is_empty()).unwrap_or("[[upstream]]");
        assert_eq!((e[0].field.as_str(), e[0].line), (field, line_of(&text, needle)), "{to}: {}", e[0]);
        assert!(e[0].message.contains(message), "{to}: {}", e[0]);
    };
    let name1 = "name = \"plc2\"";
    let url1 = "endpoint_url = \"opc.tcp://plc2.local:48010/ua\"";
    check(name1, "name = \"PLC1\"", "upstream[1].name", "exists already");
    check(name1, "name = \"a/b\"", "upstream[1].name", "A-Z a-z 0-9 _ . -");
    check(name1, "name = \"a b\"", "upstream[1].name", "A-Z a-z 0-9 _ . -");
    check(name1, &format!("name = \"{}\"", "x".repeat(65)), "upstream[1].name", "1 to 64");
    check(name1, "name = \"fxgate\"", "upstream[1].name", "Objects/fxgate");
    check(name1, "name = \"Server\"", "upstream[1].name", "Objects/Server");
    check(name1, "name = \"server\"", "upstream[1].name", "Objects/Server");
    check(name1, "", "upstream[1].name", "missing");
    check(name1, "name = \"\"", "upstream[1].name", "missing");
    check(url1, "", "upstream[1].endpoint_url", "missing");
    check(url1, "endpoint_url = \"http://plc2:4840\"", "upstream[1].endpoint_url", "opc.tcp://");
    check(url1, "endpoint_url = \"OPC.TCP://plc2:4840\"", "upstream[1].endpoint_url", "opc.tcp://");
    check(url1, "endpoint_url = \"opc.tcp://plc2\"", "upstream[1].endpoint_url", "no port");
    check(url1, "endpoint_url = \"opc.tcp://plc2/ua\"", "upstream[1].endpoint_url", "no port");
    check(url1, "endpoint_url = \"opc.tcp://:4840\"", "upstream[1].endpoint_url", "");
    check(url1, "endpoint_url = \"opc.tcp://plc2:0\"", "upstream[1].endpoint_url", "1 to 65535");
    check(url1, "endpoint_url = \"opc.tcp://plc2:70000\"", "upstream[1].endpoint_url", "not a URL");
    check(url1, "endpoint_url = \"opc.tcp://plc2:4840 \"", "upstream[1].endpoint_url", "spaces");
    // IPv6 and names with dots, dashes and underscores are fine
    let ok = UPSTREAMS.replacen(url1, "endpoint_url = \"opc.tcp://[fe80::1]:4840\"", 1).replacen(name1, "name = \"Line-3.PLC_a\"", 1);
    assert!(parse(&ok, Path::new("t.toml"), Path::new(".")).is_ok());
    // aliases are unique regardless of case
    let text = UPSTREAMS
        .replacen(name1, "name = \"plc2\"\nalias = \"Plc\"\nalias_namespace = \"urn:b\"", 1)
        .replacen("name = \"plc1\"", "name = \"plc1\"\nalias = \"PLC\"\nalias_namespace = \"urn:a\"", 1);
    let e = errs(&text);
    assert_eq!((e[0].field.as_str(), e[0].line), ("upstream[1].alias", line_of(&text, "alias = \"Plc\"")));
    // an upstream folder must not clash with a simulator's or device's
    let e = errs(&format!("[[simulator]]\nname = \"Demo\"\n{}", UPSTREAMS.replacen(name1, "name = \"demo\"", 1)));
    assert_eq!(e[0].field, "upstream[1].name");
    assert!(e[0].message.contains("simulator or device"), "{}", e[0]);
}

#[test]
fn upstream_user_files_are_relative_to_the_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    std::fs::write(dir.path().join("certs/user.der"), b"cert").unwrap();
    std::fs::write(dir.path().join("certs/user.pem"), b"key").unwrap();
    let cert = "user_certificate = \"certs/user.der\"\nuser_private_key = \"certs/user.pem\"\n";
    let text = format!("{UPSTREAMS}{cert}");
    let file = dir.path().join("fxgate.toml");
    std::fs::write(&file, &text).unwrap();
    let c = load(&file).unwrap();
    assert_eq!(c.upstream[1].user_certificate_path(dir.path()).unwrap(), std::path::absolute(dir.path().join("certs/user.der")).unwrap());
    assert_eq!(c.upstream[1].user_private_key_path(dir.path()).unwrap(), std::path::absolute(dir.path().join("certs/user.pem")).unwrap());
    // the same text elsewhere: the files are not there
    let other = tempfile::tempdir().unwrap();
    let e = parse(&text, Path::new("t.toml"), other.path()).unwrap_err();
    let line = UPSTREAMS.lines().count() + 1;
    assert_eq!((e[0].field.as_str(), e[0].line), ("upstream[1].user_certificate", line), "{e:?}");
    assert!(e[0].message.contains("cannot read"), "{}", e[0]);
    assert_eq!((e[1].field.as_str(), e[1].line), ("upstream[1].user_private_key", line + 1), "{e:?}");
    // username and user certificate exclude each other
    let e = parse(&format!("{text}username = \"op\"\n"), Path::new("t.toml"), dir.path()).unwrap_err();
    assert_eq!((e.len(), e[0].field.as_str(), e[0].line), (1, "upstream[1].user_certificate", line), "{e:?}");
    assert!(e[0].message.contains("not both"), "{}", e[0]);
    // username and password are fine
    let ok = format!("{UPSTREAMS}username = \"op\"\npassword = \"pw\"\n");
    assert!(parse(&ok, Path::new("t.toml"), dir.path()).is_ok());
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

#[test]
fn fx_components_are_checked_and_located() {
    let base = "[[simulator]]\nname = \"Demo\"\n[[simulator.tags]]\nname = \"Sine\"\ntype = \"Double\"\n";
    let ok = format!(
        "{base}[[fx.automation_component]]\nname = \"AC\"\nsources = [\"Demo\"]\n\
         [[fx.automation_component.asset]]\nname = \"Dev\"\nserial_number = \"1\"\n\
         [[fx.automation_component.functional_entity]]\nname = \"FE\"\nhosted_by = [\"Dev\"]\noutputs = [\"Demo/Sine\"]\n"
    );
    let parsed = parse(&ok, Path::new("t.toml"), Path::new("."));
    assert!(parsed.is_ok(), "{:?}", parsed.err());
    // an unknown tag, asset and source, a bad version, an asset without identity
    let bad = format!(
        "{base}[[fx.automation_component]]\nname = \"AC\"\nsources = [\"Nope\"]\n\
         [[fx.automation_component.asset]]\nname = \"Dev\"\n\
         [[fx.automation_component.functional_entity]]\nname = \"FE\"\nhosted_by = [\"Other\"]\n\
         author_assigned_version = \"1.x\"\noutputs = [\"Demo/Cosine\"]\n"
    );
    let e = errs(&bad);
    let at: Vec<(usize, &str)> = e.iter().map(|e| (e.line, e.field.as_str())).collect();
    assert_eq!(
        at,
        vec![
            (8, "fx.automation_component[0].sources[0]"),
            (9, "fx.automation_component[0].asset[0].serial_number"),
            (14, "fx.automation_component[0].functional_entity[0].author_assigned_version"),
            (13, "fx.automation_component[0].functional_entity[0].hosted_by[0]"),
            (15, "fx.automation_component[0].functional_entity[0].outputs[0]"),
        ],
        "{e:?}"
    );
}

#[test]
fn fx_connection_manager_sets_are_checked_and_located() {
    let base = "[[simulator]]\nname = \"Demo\"\n[[simulator.tags]]\nname = \"Sine\"\ntype = \"Double\"\n\
                [[simulator.tags]]\nname = \"Set\"\ntype = \"Double\"\n\
                [[fx.automation_component]]\nname = \"AC\"\n\
                [[fx.automation_component.asset]]\nname = \"Dev\"\nserial_number = \"1\"\n\
                [[fx.automation_component.functional_entity]]\nname = \"FE\"\ninputs = [\"Demo/Set\"]\noutputs = [\"Demo/Sine\"]\n";
    let ok = format!(
        "{base}[[fx.connection_manager.set]]\nname = \"S\"\nrollback_on_error = true\n\
         [[fx.connection_manager.set.asset_verification]]\nautomation_component = \"AC\"\nasset = \"Dev\"\n\
         variables = {{ SerialNumber = \"1\", MajorAssetVersion = 1 }}\n\
         [[fx.connection_manager.set.connection]]\nname = \"C\"\n\
         [fx.connection_manager.set.connection.endpoint1]\nautomation_component = \"AC\"\nfunctional_entity = \"FE\"\n\
         name = \"E1\"\noutputs = [\"Demo/Sine\"]\n\
         [fx.connection_manager.set.connection.endpoint2]\nautomation_component = \"AC\"\n\
         functional_entity_node = \"nsu=urn:fxgate:fx;s=AC/FunctionalEntities/FE\"\nname = \"E2\"\nmode = \"subscriber\"\n\
         input_paths = [[{{ namespace = \"http://opcfoundation.org/UA/FX/AC/\", name = \"InputData\" }}, {{ namespace = \"urn:fxgate:tags\", name = \"Set\" }}]]\n\
         configuration_data = [{{ node = \"Demo/Set\", value = 2.5 }}]\n"
    );
    let parsed = parse(&ok, Path::new("t.toml"), Path::new("."));
    assert!(parsed.is_ok(), "{:?}", parsed.err());
    let c = parsed.expect("checked above");
    let cm = c.fx.connection_manager.as_ref().expect("configured");
    assert_eq!(cm.set[0].connection[0].endpoint1.cleanup_timeout, 5000.0, "the default CleanupTimeout");
    assert_eq!(cm.set[0].connection[0].endpoint2.as_ref().map(|e| e.mode), Some(fxgate_fx::config::EndpointModeConfig::Subscriber));
    // unknown component, FE given twice, unknown tag, bad NodeId, missing peer, asset variable
    let bad = format!(
        "{base}[[fx.connection_manager.set]]\nname = \"S\"\n\
         [[fx.connection_manager.set.asset_verification]]\nautomation_component = \"AC\"\nasset = \"Nope\"\n\
         variables = {{ Colour = \"red\" }}\n\
         [[fx.connection_manager.set.connection]]\nname = \"C\"\n\
         [fx.connection_manager.set.connection.endpoint1]\nautomation_component = \"XX\"\nfunctional_entity = \"FE\"\n\
         functional_entity_node = \"ns=2;s=x\"\nname = \"E1\"\noutputs = [\"Demo/Nope\"]\n\
         [[fx.connection_manager.set]]\nname = \"Empty\"\n"
    );
    let e = errs(&bad);
    let at: Vec<(usize, &str)> = e.iter().map(|e| (e.line, e.field.as_str())).collect();
    assert_eq!(
        at,
        vec![
            (22, "fx.connection_manager.set[0].asset_verification[0].asset"),
            (23, "fx.connection_manager.set[0].asset_verification[0].variables.Colour"),
            (27, "fx.connection_manager.set[0].connection[0].endpoint1.automation_component"),
            (28, "fx.connection_manager.set[0].connection[0].endpoint1.functional_entity"),
            (29, "fx.connection_manager.set[0].connection[0].endpoint1.functional_entity_node"),
            (31, "fx.connection_manager.set[0].connection[0].endpoint1.outputs[0]"),
            // not given: located at the endpoint's table, the nearest field that exists
            (26, "fx.connection_manager.set[0].connection[0].endpoint1.related_endpoint"),
            (32, "fx.connection_manager.set[1].connection"),
        ],
        "{e:?}"
    );
}
