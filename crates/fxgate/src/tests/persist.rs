//! Run-time changes written back to the configuration file (`fxgate_config::persist`): the
//! aggregation's `[[upstream]]` and the configurator's `[[users]]`, with comments, formatting,
//! CRLF and leftovers kept as they were.

use super::*;
use fxgate_config::persist::EditError;
use fxgate_upstream::config::persist::PersistError;

fn add_upstream(path: &Path, u: &fxgate_upstream::UpstreamConfig) -> Result<(), PersistError> {
    fxgate_upstream::config::persist::add_upstream(path, u, crate::registry::check_text)
}

fn remove_upstream(path: &Path, name: &str) -> Result<(), PersistError> {
    fxgate_upstream::config::persist::remove_upstream(path, name, crate::registry::check_text)
}

const COMMENTED: &str = "\
# fxgate configuration
# (kept by hand)

[server]
port = 48050   # the usual port

# ---- upstream servers ----

# the first PLC
[[upstream]]
name = \"plc1\"     # its folder
endpoint_url = \"opc.tcp://10.0.0.5:4840\"

[log]
level = \"debug\" # noisy

# end of file
";

fn file_with(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fxgate.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn plc2() -> UpstreamConfig {
    UpstreamConfig {
        name: "plc2".into(),
        endpoint_url: "opc.tcp://plc2.local:48010".into(),
        security_policy: UpstreamPolicy::None,
        security_mode: UpstreamMode::None,
        username: "op".into(),
        password: "p\"w".into(),
        enabled: false,
        alias: "P2".into(),
        alias_namespace: "urn:plc2:plant".into(),
        reconnect_max_ms: 20_000,
        ..UpstreamConfig::default()
    }
}

#[test]
fn add_then_remove_keeps_comments() {
    let (_dir, path) = file_with(COMMENTED);
    add_upstream(&path, &plc2()).unwrap();
    let added = read(&path);
    let table = "\n[[upstream]]\nname = \"plc2\"\nendpoint_url = \"opc.tcp://plc2.local:48010\"\nsecurity_policy = \"None\"\nsecurity_mode = \"None\"\nusername = \"op\"\npassword = 'p\"w'\nenabled = false\nalias = \"P2\"\nalias_namespace = \"urn:plc2:plant\"\nreconnect_max_ms = 20000\n";
    let anchor = "endpoint_url = \"opc.tcp://10.0.0.5:4840\"\n";
    assert_eq!(added, COMMENTED.replacen(anchor, &format!("{anchor}{table}"), 1));
    let c = load(&path).unwrap();
    assert_eq!(c.upstream.len(), 2);
    assert_eq!(c.upstream[1], plc2());
    assert_eq!(c.log.level, "debug");

    // names are compared without case: a duplicate is refused and the file is left alone
    let dup = UpstreamConfig { name: "PLC2".into(), ..plc2() };
    assert!(matches!(add_upstream(&path, &dup), Err(PersistError::Exists(n)) if n == "PLC2"));
    let dup = UpstreamConfig { name: "Plc1".into(), endpoint_url: "opc.tcp://x:1".into(), ..UpstreamConfig::default() };
    assert!(matches!(add_upstream(&path, &dup), Err(PersistError::Exists(_))));
    assert!(matches!(remove_upstream(&path, "plc3"), Err(PersistError::NotFound(n)) if n == "plc3"));
    assert_eq!(read(&path), added);

    // removing the first takes its own comment but keeps the section's heading
    remove_upstream(&path, "PLC1").unwrap();
    let once = read(&path);
    let c = load(&path).unwrap();
    assert_eq!(c.upstream.len(), 1);
    assert_eq!(c.upstream[0].name, "plc2");
    assert!(!once.contains("the first PLC") && !once.contains("plc1"), "{once}");
    assert!(once.contains("# ---- upstream servers ----\n\n[[upstream]]\nname = \"plc2\""), "{once}");

    remove_upstream(&path, "Plc2").unwrap();
    let twice = read(&path);
    let expected = "\
# fxgate configuration
# (kept by hand)

[server]
port = 48050   # the usual port

# ---- upstream servers ----

[log]
level = \"debug\" # noisy

# end of file
";
    assert_eq!(twice, expected);
    assert!(load(&path).unwrap().upstream.is_empty());
    assert!(matches!(remove_upstream(&path, "plc2"), Err(PersistError::NotFound(_))));

    // the first upstream of a file goes at its end, before its closing comment
    add_upstream(&path, &plc2()).unwrap();
    let text = read(&path);
    assert_eq!(text, expected.replacen("\n# end of file\n", &format!("{table}\n# end of file\n"), 1));
    assert_eq!(load(&path).unwrap().upstream, vec![plc2()]);
    remove_upstream(&path, "plc2").unwrap();
    assert_eq!(read(&path), expected);
}

#[test]
fn only_non_default_fields_are_written() {
    let (_dir, path) = file_with("[server]\nport = 4840");
    let u = UpstreamConfig { name: "a".into(), endpoint_url: "opc.tcp://a:4840".into(), ..UpstreamConfig::default() };
    add_upstream(&path, &u).unwrap();
    assert_eq!(read(&path), "[server]\nport = 4840\n\n[[upstream]]\nname = \"a\"\nendpoint_url = \"opc.tcp://a:4840\"\n");
    let b = UpstreamConfig {
        name: "b".into(),
        endpoint_url: "opc.tcp://b:4840".into(),
        accept_all_server_certificates: true,
        publishing_interval_ms: 250,
        request_timeout_ms: 1000,
        reconnect_min_ms: 1000,
        security_mode: UpstreamMode::Sign,
        security_policy: UpstreamPolicy::Aes256Sha256RsaPss,
        ..UpstreamConfig::default()
    };
    add_upstream(&path, &b).unwrap();
    let c = load(&path).unwrap();
    assert_eq!(c.upstream, vec![u, b]);
    assert!(read(&path).ends_with("\n\n[[upstream]]\nname = \"b\"\nendpoint_url = \"opc.tcp://b:4840\"\nsecurity_policy = \"Aes256_Sha256_RsaPss\"\nsecurity_mode = \"Sign\"\naccept_all_server_certificates = true\npublishing_interval_ms = 250\nrequest_timeout_ms = 1000\nreconnect_min_ms = 1000\n"));
}

#[test]
fn invalid_changes_are_refused() {
    let (_dir, path) = file_with(COMMENTED);
    let bad = UpstreamConfig { publishing_interval_ms: 1, ..plc2() };
    match add_upstream(&path, &bad) {
        Err(PersistError::Edit(EditError::Invalid(m))) => assert!(m.contains("upstream[1].publishing_interval_ms"), "{m}"),
        other => panic!("{other:?}"),
    }
    let bad = UpstreamConfig { name: "fxgate".into(), ..plc2() };
    assert!(matches!(add_upstream(&path, &bad), Err(PersistError::Edit(EditError::Invalid(_)))));
    let bad = UpstreamConfig { reconnect_max_ms: u64::MAX, ..plc2() };
    assert!(matches!(add_upstream(&path, &bad), Err(PersistError::Edit(EditError::Invalid(_)))));
    assert_eq!(read(&path), COMMENTED);

    // a file that is not TOML, or is not valid as a whole, is not touched
    let (_d2, broken) = file_with("[server\nport = 1\n");
    match add_upstream(&broken, &plc2()) {
        Err(e @ PersistError::Edit(EditError::Parse { line: 1, .. })) => {
            assert!(e.to_string().contains("fxgate.toml:1:8: not valid TOML: "), "{e}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(read(&broken), "[server\nport = 1\n");
    let (_d3, invalid) = file_with("[server]\nport = 0\n");
    assert!(matches!(add_upstream(&invalid, &plc2()), Err(PersistError::Edit(EditError::Invalid(m))) if m.contains("server.port")));
    assert_eq!(read(&invalid), "[server]\nport = 0\n");
    let (_d4, inline) = file_with("upstream = [{ name = \"a\", endpoint_url = \"opc.tcp://a:1\" }]\n");
    assert!(matches!(add_upstream(&inline, &plc2()), Err(PersistError::Edit(EditError::Invalid(_)))));
    assert!(matches!(remove_upstream(&inline, "a"), Err(PersistError::Edit(EditError::Invalid(_)))));
    let missing = _d4.path().join("nope.toml");
    assert!(matches!(add_upstream(&missing, &plc2()), Err(PersistError::Edit(EditError::Io { .. }))));
}

#[test]
fn users_are_rewritten_in_place_and_the_rest_stays() {
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$QxtwvTd7kimr0LChzO9Fxg$FZgcnzyEq7NkPM7PJOhV9oe1SYkqkMhGHMAeKSOdZEQ";
    let with_user = COMMENTED.replace("[log]", &format!("# the operators\n[[users]]\nname = \"old\"\npassword_hash = \"{hash}\"\nroles = [\"read\"]\n\n[log]"));
    let (_dir, path) = file_with(&with_user);
    let user = |name: &str, roles: Vec<fxgate_config::Role>| fxgate_config::UserConfig {
        name: name.into(), password_hash: hash.into(), certificate_thumbprint: String::new(), roles,
    };
    let users = vec![user("a", vec![fxgate_config::Role::Read, fxgate_config::Role::Configure]), user("b", vec![fxgate_config::Role::ConnectionAdmin])];
    fxgate_config::users::write_users(&path, &users, crate::registry::check_text).unwrap();
    let text = read(&path);
    let c = load(&path).unwrap();
    assert_eq!(c.users, users);
    assert_eq!(c.upstream.len(), 1, "other sections stay");
    for kept in ["# fxgate configuration", "port = 48050   # the usual port", "# the first PLC", "level = \"debug\" # noisy", "# end of file"] {
        assert!(text.contains(kept), "{kept} lost:\n{text}");
    }
    assert!(text.find("name = \"a\"").unwrap() < text.find("[log]").unwrap(), "in the place of the old tables:\n{text}");
    assert!(text.contains("roles = [\"connection_admin\"]"));
    // An invalid result is refused and nothing changes.
    let before = read(&path);
    let bad = vec![user("a", vec![]), user("a", vec![])];
    assert!(matches!(fxgate_config::users::write_users(&path, &bad, crate::registry::check_text), Err(EditError::Invalid(_))));
    assert_eq!(read(&path), before);
    // No users left: the tables go.
    fxgate_config::users::write_users(&path, &[], crate::registry::check_text).unwrap();
    assert!(load(&path).unwrap().users.is_empty() && !read(&path).contains("[[users]]"));
}

#[test]
fn leftover_temp_files_do_not_matter() {
    let (dir, path) = file_with(COMMENTED);
    // files a crashed writer may have left, including ones with the names we would use
    let mut leftovers = vec![dir.path().join(".fxgate.toml.tmp")];
    leftovers.extend((0..64).map(|n| dir.path().join(format!(".fxgate.toml.{}.{n}.tmp", std::process::id()))));
    for l in &leftovers {
        std::fs::write(l, "garbage [[[").unwrap();
    }
    add_upstream(&path, &plc2()).unwrap();
    let after_add = read(&path);
    remove_upstream(&path, "plc1").unwrap();
    assert_eq!(load(&path).unwrap().upstream, vec![plc2()]);
    let backup = path.with_file_name("fxgate.toml.bak");
    assert_eq!(read(&backup), after_add, "the previous file is kept as the backup");
    let mut names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    leftovers.push(path.clone());
    leftovers.push(backup);
    leftovers.sort();
    assert_eq!(names, leftovers, "no new temporary file is left behind");
    for l in leftovers.iter().filter(|l| **l != path && l.extension().is_some_and(|e| e == "tmp")) {
        assert_eq!(read(l), "garbage [[[");
    }
}

#[test]
fn crlf_files_stay_crlf() {
    let (_dir, path) = file_with(&COMMENTED.replace('\n', "\r\n"));
    add_upstream(&path, &plc2()).unwrap();
    let text = read(&path);
    assert!(!text.replace("\r\n", "").contains('\n'), "{text:?}");
    assert_eq!(load(&path).unwrap().upstream.len(), 2);
    remove_upstream(&path, "plc2").unwrap();
    assert_eq!(read(&path), COMMENTED.replace('\n', "\r\n"));
}

#[cfg(unix)]
#[test]
fn links_and_permissions_are_kept() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, path) = file_with(COMMENTED);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path().join("link.toml");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    add_upstream(&link, &plc2()).unwrap();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(load(&path).unwrap().upstream.len(), 2);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
}
