//! Host names and addresses to put in the application certificate.

use std::net::{IpAddr, UdpSocket};

/// The machine's host name.
///
/// Tries the `gethostname` system call (via async-opcua), then `/proc/sys/kernel/hostname`,
/// then `/etc/hostname`; falls back to `localhost`.
#[must_use]
pub fn machine_hostname() -> String {
    if let Ok(name) = opcua::crypto::hostname() {
        let name = name.trim();
        if !name.is_empty() {
            return name.to_string();
        }
    }
    for file in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Ok(content) = std::fs::read_to_string(file) {
            let name = content.trim();
            if !name.is_empty() {
                return name.to_string();
            }
        }
    }
    "localhost".to_string()
}

/// Host names and IP addresses for the application certificate's subject alternative names:
/// the machine host name, `localhost`, `127.0.0.1`, and `listen_host` — or, when `listen_host`
/// is a wildcard (`0.0.0.0`, `::`, empty), the primary non-loopback IPv4 address if one can be
/// found without network traffic. De-duplicated, in that order.
#[must_use]
pub fn hostnames_for_certificate(listen_host: &str) -> Vec<String> {
    let mut names = vec![
        machine_hostname(),
        "localhost".to_string(),
        "127.0.0.1".to_string(),
    ];
    let listen_host = listen_host
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let wildcard = listen_host.is_empty()
        || listen_host
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_unspecified());
    if wildcard {
        if let Some(ip) = primary_ipv4() {
            names.push(ip);
        }
    } else {
        names.push(canonical_host(listen_host));
    }
    let mut unique: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        if !unique.iter().any(|u| u.eq_ignore_ascii_case(&name)) {
            unique.push(name);
        }
    }
    unique
}

/// An IP address in canonical text form (async-opcua compares IPs as strings); names unchanged.
pub(crate) fn canonical_host(host: &str) -> String {
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => host.to_string(),
    }
}

/// The local IPv4 address of the default route: "connecting" a UDP socket sends no packet.
fn primary_ipv4() -> Option<String> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then(|| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_contain_defaults_and_listen_host() {
        let names = hostnames_for_certificate("192.168.10.5");
        assert_eq!(names[0], machine_hostname());
        assert!(names.contains(&"localhost".to_string()));
        assert!(names.contains(&"127.0.0.1".to_string()));
        assert!(names.contains(&"192.168.10.5".to_string()));
        let wildcard = hostnames_for_certificate("0.0.0.0");
        assert!(!wildcard.contains(&"0.0.0.0".to_string()));
        let v6 = hostnames_for_certificate("::");
        assert!(!v6.contains(&"::".to_string()));
        let local = hostnames_for_certificate("127.0.0.1");
        assert_eq!(local.iter().filter(|n| *n == "127.0.0.1").count(), 1);
    }
}
