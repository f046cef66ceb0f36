//! End-to-end test of the PKI layout, application certificate and trust management.
//!
//! RSA key generation is slow in debug builds, so a single key is generated (by
//! `ensure_application_certificate`) and reused to sign the test peer certificate.

use std::path::{Path, PathBuf};

use fxgate_pki::{
    ensure_application_certificate, ensure_layout, list, reject, thumbprint_hex, trust,
    user_certificates, CertEntry, PkiError, Store, TrustState, CLIENT_PKI, SERVER_PKI, USER_PKI,
};
use opcua::crypto::{CertificateStore, X509Data, X509};

const APP_URI: &str = "urn:test-host:fxgate";

fn pem_encode(der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                b64.push('=');
            }
        }
    }
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

fn entries_for<'a>(entries: &'a [CertEntry], thumbprint: &str) -> Vec<&'a CertEntry> {
    entries
        .iter()
        .filter(|e| e.thumbprint == thumbprint)
        .collect()
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn layout_app_certificate_and_trust_management() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path();

    // Layout.
    ensure_layout(data).expect("layout");
    for pki in [SERVER_PKI, CLIENT_PKI] {
        for sub in ["own", "private", "trusted", "rejected"] {
            assert!(data.join(pki).join(sub).is_dir(), "{pki}/{sub}");
        }
    }
    assert!(data.join(USER_PKI).is_dir());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("pki/private"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    ensure_layout(data).expect("layout is idempotent");
    assert!(list(data).expect("list").is_empty());

    // Application certificate: created once, then loaded.
    let pki = data.join(SERVER_PKI);
    let hosts = vec![
        "test-host".to_string(),
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "LOCALHOST".to_string(),
        "10.1.2.3".to_string(),
    ];
    let first = ensure_application_certificate(&pki, "fxgate", APP_URI, &hosts).expect("create");
    assert!(first.created);
    assert_eq!(first.cert_path, pki.join("own/cert.der"));
    assert_eq!(first.key_path, pki.join("private/private.pem"));
    assert_eq!(first.thumbprint.len(), 40);
    assert_eq!(first.thumbprint, first.thumbprint.to_ascii_lowercase());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&first.key_path)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let second = ensure_application_certificate(&pki, "fxgate", APP_URI, &hosts).expect("load");
    assert!(!second.created);
    assert_eq!(second.thumbprint, first.thumbprint);
    assert_eq!(second.not_after, first.not_after);
    // A different URI only warns; the certificate is kept.
    let third = ensure_application_certificate(&pki, "fxgate", "urn:other", &hosts).expect("load");
    assert!(!third.created);
    assert_eq!(third.thumbprint, first.thumbprint);

    // What the async-opcua server would load.
    let store = CertificateStore::new(&pki);
    let own = store.read_own_cert().expect("server can read own cert");
    let key = store.read_own_pkey().expect("server can read own key");
    assert_eq!(thumbprint_hex(&own.thumbprint()), first.thumbprint);
    assert!(
        own.is_application_uri_valid(APP_URI).is_ok(),
        "first SAN is the URI"
    );
    for host in ["test-host", "localhost", "127.0.0.1", "10.1.2.3"] {
        assert!(own.is_hostname_valid(host).is_ok(), "SAN has {host}");
    }
    assert_eq!(own.common_name().ok().as_deref(), Some("CN=fxgate"));
    assert!(
        own.subject_name().contains("O=fxgate"),
        "{}",
        own.subject_name()
    );
    let not_after_year: i32 = first.not_after[..4].parse().expect("year");
    let not_before_year: i32 = {
        let entries_year = own.not_before().expect("nb").format("%Y").to_string();
        entries_year.parse().expect("year")
    };
    assert_eq!(not_after_year - not_before_year, 10);

    // A peer ("client") certificate, signed with the same key to avoid another keygen.
    let peer_data = X509Data {
        key_size: 2048,
        common_name: "test-client".to_string(),
        organization: "peer".to_string(),
        organizational_unit: String::new(),
        country: String::new(),
        state: String::new(),
        alt_host_names: X509Data::alt_host_names("urn:peer", None, false, false, false),
        certificate_duration_days: 30,
    };
    let peer = X509::from_pkey(&key, &peer_data).expect("peer cert");
    let peer_thumb = thumbprint_hex(&peer.thumbprint());
    let peer_der = peer.to_der().expect("der");
    let peer_name = CertificateStore::cert_file_name(&peer);
    // async-opcua names files after `X509::common_name()`, which includes the `CN=`.
    assert_eq!(peer_name, format!("CN=test-client [{peer_thumb}].der"));

    // Rejected by the server (as async-opcua does it) and by the client store as a PEM file;
    // plus a garbage file that must not break anything.
    let server_rejected = pki.join("rejected").join(&peer_name);
    std::fs::write(&server_rejected, &peer_der).expect("write");
    let client_rejected = data.join("pki-client/rejected/peer.pem");
    std::fs::write(&client_rejected, pem_encode(&peer_der)).expect("write");
    std::fs::write(pki.join("rejected/broken.der"), b"not a certificate").expect("write");

    let entries = list(data).expect("list");
    let peer_entries = entries_for(&entries, &peer_thumb);
    assert_eq!(peer_entries.len(), 2);
    assert!(peer_entries.iter().all(|e| e.state == TrustState::Rejected));
    assert_eq!(peer_entries[0].store, Store::Server);
    assert_eq!(peer_entries[1].store, Store::Client);
    assert!(peer_entries[0].subject.contains("CN=test-client"));
    assert!(!peer_entries[0].not_before.is_empty() && !peer_entries[0].not_after.is_empty());
    let broken = entries
        .iter()
        .find(|e| e.path.ends_with("broken.der"))
        .expect("broken file listed");
    assert!(
        broken.subject.starts_with("<unreadable:"),
        "{}",
        broken.subject
    );
    assert!(broken.to_string().contains("broken.der"));
    println!("{}", CertEntry::header());
    for entry in &entries {
        println!("{entry}");
    }

    // Trust with an 8-digit, upper-case prefix: both stores, PEM converted to DER.
    let prefix = peer_thumb[..8].to_ascii_uppercase();
    let trusted = trust(data, &prefix).expect("trust");
    let expected: Vec<PathBuf> = vec![
        pki.join("trusted").join(&peer_name),
        data.join("pki-client/trusted").join(&peer_name),
    ];
    assert_eq!(trusted, expected);
    assert!(!server_rejected.exists());
    assert!(!client_rejected.exists());
    for path in &expected {
        assert_eq!(std::fs::read(path).expect("read"), peer_der);
    }
    assert_eq!(file_names(&pki.join("rejected")), vec!["broken.der"]);
    let entries = list(data).expect("list");
    assert!(entries_for(&entries, &peer_thumb)
        .iter()
        .all(|e| e.state == TrustState::Trusted));

    // Idempotent.
    assert_eq!(trust(data, &peer_thumb).expect("trust again"), expected);

    // Reject moves it back.
    let rejected = reject(data, &peer_thumb[..8]).expect("reject");
    assert_eq!(
        rejected,
        vec![
            server_rejected.clone(),
            data.join("pki-client/rejected").join(&peer_name)
        ]
    );
    assert!(server_rejected.exists());
    assert!(file_names(&pki.join("trusted")).is_empty());
    let entries = list(data).expect("list");
    assert!(entries_for(&entries, &peer_thumb)
        .iter()
        .all(|e| e.state == TrustState::Rejected));
    assert_eq!(reject(data, &peer_thumb).expect("reject again"), rejected);

    // Bad prefixes and no match.
    assert!(matches!(
        trust(data, "abc"),
        Err(PkiError::BadPrefix { .. })
    ));
    assert!(matches!(
        trust(data, "zzzzzzzz"),
        Err(PkiError::BadPrefix { .. })
    ));
    assert!(matches!(reject(data, ""), Err(PkiError::BadPrefix { .. })));
    let other = if peer_thumb.starts_with("0000") {
        "ffff"
    } else {
        "0000"
    };
    match trust(data, other) {
        Err(PkiError::NoMatch { prefix }) => assert_eq!(prefix, other),
        res => panic!("expected NoMatch, got {res:?}"),
    }
    // The own certificate is not a peer certificate.
    assert!(matches!(
        trust(data, &first.thumbprint),
        Err(PkiError::NoMatch { .. })
    ));

    // User certificates: .pem and .der read, garbage skipped.
    std::fs::write(data.join("pki-user/alice.pem"), pem_encode(&peer_der)).expect("write");
    std::fs::write(data.join("pki-user/junk.der"), b"junk").expect("write");
    std::fs::write(data.join("pki-user/notes.txt"), b"ignored").expect("write");
    let users = user_certificates(data);
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].thumbprint, peer_thumb);
    assert_eq!(users[0].common_name, "test-client");
    assert!(users[0].subject.contains("CN=test-client"));
    assert_eq!(users[0].path, data.join("pki-user/alice.pem"));
    let entries = list(data).expect("list");
    let user_entries: Vec<_> = entries.iter().filter(|e| e.store == Store::User).collect();
    assert_eq!(user_entries.len(), 2, "alice.pem and junk.der");
    assert!(user_entries.iter().all(|e| e.state == TrustState::Trusted));

    // Escaped DN characters in a common name come back unescaped.
    let odd = X509::from_pkey(
        &key,
        &X509Data {
            common_name: "Plant\\, Line 3".to_string(),
            alt_host_names: X509Data::alt_host_names("urn:odd", None, false, false, false),
            ..peer_data
        },
    )
    .expect("odd cert");
    std::fs::write(data.join("pki-user/odd.der"), odd.to_der().expect("der")).expect("write");
    let users = user_certificates(data);
    assert_eq!(users.len(), 2);
    let odd_user = users
        .iter()
        .find(|u| u.path.ends_with("odd.der"))
        .expect("odd listed");
    assert_eq!(odd_user.common_name, "Plant, Line 3");

    // A missing data dir lists nothing and has no user certificates.
    let missing = data.join("does-not-exist");
    assert!(list(&missing).expect("list").is_empty());
    assert!(user_certificates(&missing).is_empty());
}

#[test]
fn unusable_application_certificate_is_replaced_and_kept_as_bak() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let pki = tmp.path().join(SERVER_PKI);
    std::fs::create_dir_all(pki.join("own")).expect("mkdir");
    std::fs::write(pki.join("own/cert.der"), b"corrupt").expect("write");
    let cert = ensure_application_certificate(&pki, "gw", APP_URI, &[]).expect("create");
    assert!(cert.created);
    assert_eq!(
        std::fs::read(pki.join("own/cert.der.bak")).expect("backup"),
        b"corrupt"
    );
    for sub in ["trusted", "rejected", "private"] {
        assert!(pki.join(sub).is_dir(), "{sub}");
    }
    let own = CertificateStore::new(&pki).read_own_cert().expect("readable");
    assert!(own.is_application_uri_valid(APP_URI).is_ok());
}
