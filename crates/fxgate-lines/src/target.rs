//! The addresses a client line tries, in order.

use std::fmt;

use fxgate_config::{split_hosts, LineConfig};

/// Which device of a redundant line an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    /// The primary device (`host`).
    Primary,
    /// The backup device (`backup.host`).
    Backup,
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Device::Primary => "primary",
            Device::Backup => "backup",
        })
    }
}

/// One configured address (an IP address or a name) with its port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The device it belongs to.
    pub device: Device,
    /// IP address (brackets removed) or host name.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Target {
    /// Whether `host` is a name (then it is sent as TLS SNI) rather than an IP address.
    pub fn is_name(&self) -> bool {
        self.host.parse::<std::net::IpAddr>().is_err()
    }

    /// `host:port`, with brackets around IPv6 addresses.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.device, self.authority())
    }
}

/// The targets of a client line: the primary's addresses, then the backup's (when enabled).
pub fn targets(cfg: &LineConfig) -> Vec<Target> {
    let strip = |h: &str| h.trim_start_matches('[').trim_end_matches(']').to_string();
    let mut out: Vec<Target> = split_hosts(&cfg.host)
        .iter()
        .map(|h| Target {
            device: Device::Primary,
            host: strip(h),
            port: cfg.port,
        })
        .collect();
    if let Some(b) = cfg.backup.as_ref().filter(|b| b.enabled) {
        out.extend(split_hosts(&b.host).iter().map(|h| Target {
            device: Device::Backup,
            host: strip(h),
            port: b.port,
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use fxgate_config::BackupConfig;

    fn line(host: &str, backup: Option<BackupConfig>) -> LineConfig {
        toml_line(host, backup)
    }

    fn toml_line(host: &str, backup: Option<BackupConfig>) -> LineConfig {
        LineConfig {
            name: "l".into(),
            mode: Default::default(),
            host: host.into(),
            port: 502,
            backup,
            connect_timeout_ms: 1000,
            reconnect_min_ms: 100,
            reconnect_jitter: 0.2,
            reconnect_max_ms: 1000,
            tls: None,
        }
    }

    #[test]
    fn host_lists_and_backup_make_one_cycle() {
        let b = BackupConfig { host: "backup.local".into(), port: 1502, enabled: true };
        let t = targets(&line(" 10.0.0.1 ; [::1],plc.local ", Some(b.clone())));
        let shown: Vec<String> = t.iter().map(|t| t.to_string()).collect();
        assert_eq!(
            shown,
            ["primary 10.0.0.1:502", "primary [::1]:502", "primary plc.local:502", "backup backup.local:1502"]
        );
        assert!(!t[0].is_name() && !t[1].is_name() && t[2].is_name());
        let off = BackupConfig { enabled: false, ..b };
        assert_eq!(targets(&line("10.0.0.1", Some(off))).len(), 1);
    }
}
