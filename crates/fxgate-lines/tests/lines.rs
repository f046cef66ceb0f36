//! Lines over real sockets on loopback.

use std::time::Duration;

use fxgate_config::{BackupConfig, LineConfig, LineMode, TlsConfig};
use fxgate_lines::{Device, LineClient, LineMetrics, LineServer, LineState, LineStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

fn line(host: &str, port: u16) -> LineConfig {
    LineConfig {
        name: "t".into(),
        mode: LineMode::Client,
        host: host.into(),
        port,
        backup: None,
        connect_timeout_ms: 1000,
        reconnect_min_ms: 50,
        reconnect_jitter: 0.2,
        reconnect_max_ms: 200,
        tls: None,
    }
}

async fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

fn client(cfg: LineConfig) -> LineClient {
    LineClient::new(cfg, std::path::Path::new("."), LineStatus::new("t", LineMetrics::default())).unwrap()
}

#[tokio::test]
async fn host_list_skips_dead_addresses() {
    let live = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = live.local_addr().unwrap().port();
    // Same port on other loopback addresses: nothing listens there.
    let mut c = client(line("127.0.0.2; 127.0.0.3, 127.0.0.1", port));
    let stop = CancellationToken::new();
    let conn = tokio::time::timeout(Duration::from_secs(5), c.connect(&stop)).await.unwrap().unwrap();
    assert_eq!(conn.target.host, "127.0.0.1");
    assert_eq!(c.status().state(), LineState::Connected);
    assert!(c.status().last_error().contains("127.0.0.3"), "{}", c.status().last_error());
}

#[tokio::test]
async fn alternating_policy_switches_device_after_a_break() {
    let primary = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let backup = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut cfg = line("127.0.0.1", primary.local_addr().unwrap().port());
    cfg.backup = Some(BackupConfig { host: "127.0.0.1".into(), port: backup.local_addr().unwrap().port(), enabled: true });
    let mut c = client(cfg);
    let stop = CancellationToken::new();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let conn = tokio::time::timeout(Duration::from_secs(5), c.connect(&stop)).await.unwrap().unwrap();
        seen.push(conn.target.device);
        c.broken("test break");
    }
    assert_eq!(seen, [Device::Primary, Device::Backup, Device::Primary]);
    // Parallel policy: each device on its own.
    let b = c.connect_device(Device::Backup, &stop).await.unwrap();
    let p = c.connect_device(Device::Primary, &stop).await.unwrap();
    assert_eq!((b.target.device, p.target.device), (Device::Backup, Device::Primary));
}

#[tokio::test]
async fn shutdown_ends_a_hopeless_connect() {
    let mut c = client(line("127.0.0.1", dead_port().await));
    let stop = CancellationToken::new();
    let s2 = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        s2.cancel();
    });
    assert!(c.connect(&stop).await.is_none());
    assert!(c.status().last_error().contains("refused"), "{}", c.status().last_error());
}

fn psk(key: &str) -> Option<TlsConfig> {
    Some(TlsConfig { pre_shared_key: key.into(), psk_identity: "fxgate".into(), ..Default::default() })
}

async fn psk_pair(server_key: &str, client_key: &str) -> Result<String, String> {
    let mut scfg = line("127.0.0.1", 0);
    scfg.mode = LineMode::Server;
    scfg.port = dead_port().await;
    scfg.tls = psk(server_key);
    let port = scfg.port;
    let server = LineServer::new(scfg, std::path::Path::new("."), LineStatus::new("s", LineMetrics::default())).unwrap();
    let listener = server.bind().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, peer)) = listener.accept().await {
            let mut s = server.wrap(tcp, peer);
            tokio::spawn(async move {
                let mut buf = [0u8; 5];
                if s.read_exact(&mut buf).await.is_ok() {
                    let _ = s.write_all(&buf).await;
                }
            });
        }
    });
    let mut cfg = line("127.0.0.1", port);
    cfg.tls = psk(client_key);
    cfg.reconnect_min_ms = 10_000;
    let mut c = client(cfg);
    let stop = CancellationToken::new();
    let s2 = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        s2.cancel();
    });
    let Some(mut conn) = c.connect(&stop).await else {
        return Err(c.status().last_error());
    };
    conn.stream.write_all(b"hello").await.map_err(|e| e.to_string())?;
    let mut buf = [0u8; 5];
    conn.stream.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[tokio::test]
async fn psk_lines_talk_and_a_wrong_key_is_refused() {
    assert_eq!(psk_pair("00112233445566778899aabbccddeeff", "00112233445566778899aabbccddeeff").await, Ok("hello".into()));
    let wrong = psk_pair("00112233445566778899aabbccddeeff", "ffeeddccbbaa99887766554433221100").await;
    let err = wrong.expect_err("a wrong key must not connect");
    assert!(err.contains("TLS handshake"), "{err}");
}

#[tokio::test]
async fn ipv6_wildcard_server_line_accepts_on_loopback() {
    let mut cfg = line("[*]", dead_port().await);
    cfg.mode = LineMode::Server;
    let port = cfg.port;
    let status = LineStatus::new("v6", LineMetrics::default());
    let server = LineServer::new(cfg, std::path::Path::new("."), status.clone()).unwrap();
    let listener = match server.bind() {
        Ok(l) => l,
        Err(e) => panic!("binding [::] failed: {e}"),
    };
    assert!(listener.local_addr().unwrap().is_ipv6());
    assert_eq!(status.state(), LineState::Listening);
    let accept = tokio::spawn(async move {
        let (tcp, peer) = listener.accept().await.unwrap();
        let s = server.wrap(tcp, peer);
        (peer, s)
    });
    let mut c = client(line("::1", port));
    let conn = c.connect(&CancellationToken::new()).await.unwrap();
    assert_eq!(conn.target.authority(), format!("[::1]:{port}"));
    let (peer, stream) = accept.await.unwrap();
    assert!(peer.is_ipv6());
    assert_eq!(status.state(), LineState::Connected);
    drop(stream);
    assert_eq!(status.state(), LineState::Listening);
}
