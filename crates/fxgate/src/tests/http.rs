//! `[http]`: plain HTTP on loopback only unless allowed, HTTPS with a certificate pair.

use super::*;

#[test]
fn plain_http_beyond_loopback_is_refused_unless_allowed() {
    let e = errs("[http]\nlisten = \"0.0.0.0:8480\"\n");
    let hit = e.iter().find(|e| e.field == "http.listen").unwrap_or_else(|| panic!("{e:?}"));
    assert_eq!(hit.line, 2);
    assert!(hit.message.contains("http.tls = true") && hit.message.contains("allow_plain"), "{hit}");
    for ok in ["[http]\nlisten = \"0.0.0.0:8480\"\nallow_plain = true\n", "[http]\nlisten = \"0.0.0.0:8480\"\ntls = true\n",
               "[http]\nlisten = \"127.0.0.1:8480\"\n", "[http]\nlisten = \"[::1]:8480\"\n", "[http]\nlisten = \"\"\n"] {
        assert!(parse(ok, Path::new("t.toml"), Path::new(".")).is_ok(), "{ok}");
    }
}

#[test]
fn an_https_certificate_needs_tls_its_key_and_a_readable_file() {
    let e = errs("[http]\ncertificate = \"c.pem\"\n");
    assert!(e.iter().any(|e| e.field == "http.certificate" && e.message.contains("applies with http.tls = true")), "{e:?}");
    assert!(e.iter().any(|e| e.field == "http.private_key" && e.message.contains("needed with http.certificate")), "{e:?}");
    let e = errs("[http]\ntls = true\ncertificate = \"no-such.pem\"\nprivate_key = \"no-such.key\"\n");
    let hit = e.iter().find(|e| e.field == "http.certificate").unwrap_or_else(|| panic!("{e:?}"));
    assert!(hit.message.contains("cannot read") && hit.line == 3, "{hit}");
    let c = parse("[http]\ntls = true\n", Path::new("t.toml"), Path::new(".")).expect("valid");
    assert!(c.http.tls && c.http.certificate.is_empty(), "the application certificate by default");
}
