//! The Modbus client against devices that answer with malformed frames: the tags turn
//! Bad_NoCommunication, the line reconnects, nothing panics.

use std::sync::Arc;
use std::time::Duration;

use fxgate_config::LineConfig;
use fxgate_modbus::DeviceConfig;
use fxgate_core::{Component, ComponentContext, TagStoreBuilder};
use fxgate_lines::LineMetrics;
use fxgate_modbus::ModbusClientLine;
use opcua::types::{StatusCode, Variant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

fxgate_config::config_file! {
    /// The sections these tests configure.
    struct TestConfig {
        device: fxgate_modbus::Devices,
    }
}

/// A "device" that answers every request with `reply(request)`.
async fn device(reply: fn(&[u8]) -> Vec<u8>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 260];
                loop {
                    let Ok(n) = s.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    let out = reply(&buf[..n]);
                    if out.is_empty() || s.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn config(port: u16) -> (LineConfig, DeviceConfig) {
    let text = format!(
        r#"
[[line]]
name = "l"
host = "127.0.0.1"
port = {port}
reconnect_delay_ms = 50
reconnect_max_ms = 100
[[device]]
name = "D"
line = "l"
protocol = "modbus"
poll_ms = 20
timeout_ms = 300
[[device.tag]]
name = "F"
address = "hr:0"
type = "float32"
"#
    );
    let c = fxgate_config::parse::<TestConfig>(&text, std::path::Path::new("t.toml"), std::path::Path::new(".")).unwrap();
    (c.line[0].clone(), c.device[0].clone())
}

/// Runs the line against a device for a while; returns (F's status, ReconnectCount).
async fn run_against(reply: fn(&[u8]) -> Vec<u8>) -> (StatusCode, Variant) {
    let port = device(reply).await;
    let (line, dev) = config(port);
    let comp = Box::new(ModbusClientLine::new(line, vec![dev], ".".into(), LineMetrics::default()));
    let mut b = TagStoreBuilder::new();
    let declared = comp.declare(&mut b).unwrap();
    let store = b.build();
    let shutdown = CancellationToken::new();
    let cx = ComponentContext {
        store: store.clone(),
        tags: declared.tags,
        writes: declared.writes,
        shutdown: shutdown.clone(),
        data_dir: ".".into(),
    };
    let running = comp.build(cx).await.unwrap();
    let task = tokio::spawn(running.task);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    shutdown.cancel();
    let ended = tokio::time::timeout(Duration::from_secs(3), task).await;
    assert!(matches!(ended, Ok(Ok(Ok(())))), "the line must stop cleanly: {ended:?}");
    let f = store.id_of("D/F").unwrap();
    let reconnects = store.get(store.id_of("fxgate/Lines/l/ReconnectCount").unwrap()).unwrap().value;
    (store.get(f).unwrap().status, reconnects)
}

fn mbap(req: &[u8], len: u16, pdu: &[u8]) -> Vec<u8> {
    let mut out = req.get(..4).unwrap_or(&[0, 0, 0, 0]).to_vec();
    out.extend_from_slice(&len.to_be_bytes());
    out.push(*req.get(6).unwrap_or(&1));
    out.extend_from_slice(pdu);
    out
}

fn reconnected(v: &Variant) -> bool {
    matches!(v, Variant::UInt32(n) if *n >= 2)
}

#[tokio::test]
async fn garbage_bytes() {
    let (status, rc) = run_against(|_| b"\xde\xad\xbe\xef garbage \x00\xff".to_vec()).await;
    assert_eq!(status, StatusCode::BadNoCommunication);
    assert!(reconnected(&rc), "{rc:?}");
}

#[tokio::test]
async fn zero_length_header() {
    let (status, rc) = run_against(|req| mbap(req, 0, &[])).await;
    assert_eq!(status, StatusCode::BadNoCommunication);
    assert!(reconnected(&rc), "{rc:?}");
}

#[tokio::test]
async fn too_few_registers() {
    // A well-formed answer with one register where two were asked for.
    let (status, rc) = run_against(|req| mbap(req, 5, &[0x03, 0x02, 0x12, 0x34])).await;
    assert_eq!(status, StatusCode::BadNoCommunication);
    assert!(reconnected(&rc), "{rc:?}");
}

#[tokio::test]
async fn wrong_transaction_and_function() {
    let (status, _) = run_against(|_| mbap(&[9, 9, 0, 0], 7, &[0x04, 0x04, 0, 0, 0, 0])).await;
    assert_eq!(status, StatusCode::BadNoCommunication);
}

#[tokio::test]
async fn truncated_then_silent() {
    // Half a header, then nothing: the response timeout must end it.
    let (status, rc) = run_against(|req| req.get(..3).unwrap_or(&[]).to_vec()).await;
    assert_eq!(status, StatusCode::BadNoCommunication);
    assert!(reconnected(&rc), "{rc:?}");
}

#[tokio::test]
async fn device_failure_exception_is_bad_device_failure() {
    let (status, rc) = run_against(|req| mbap(req, 3, &[0x83, 0x04])).await;
    assert_eq!(status, StatusCode::BadDeviceFailure);
    // An exception is an answer: the connection stays.
    assert_eq!(rc, Variant::UInt32(0));
}

#[tokio::test]
async fn good_answer_is_good() {
    let (status, _) = run_against(|req| mbap(req, 7, &[0x03, 0x04, 0x3F, 0x80, 0, 0])).await;
    assert_eq!(status, StatusCode::Good);
    let _ = Arc::new(());
}

#[tokio::test]
async fn random_frames_never_panic() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEED: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    fn next() -> u64 {
        // xorshift64*: a different frame for every request, reproducible per run.
        let mut x = SEED.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        SEED.store(x, Ordering::Relaxed);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    let (status, _) = run_against(|req| {
        let r = next();
        let n = (r % 12) as usize;
        let pdu: Vec<u8> = (0..n).map(|i| (next() >> (i % 8 * 8)) as u8).collect();
        // A header with the right transaction id, a length that may or may not match, then
        // random function codes, byte counts and data.
        let len = if r & 0x100 == 0 { n as u16 + 1 } else { (r >> 16) as u16 % 300 };
        let mut pdu = pdu;
        if r & 0x200 == 0 && !pdu.is_empty() {
            pdu[0] = 0x03;
        }
        mbap(req, len, &pdu)
    })
    .await;
    // run_against checked that the line survived and stopped cleanly; the frames were judged.
    assert_ne!(status, StatusCode::BadWaitingForInitialData);
}
