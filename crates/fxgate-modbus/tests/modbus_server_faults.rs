//! fxgate's Modbus server against clients sending malformed requests: it answers or drops
//! that connection, and keeps serving everyone else.

use std::time::Duration;

use fxgate_core::{AccessMode, Component, ComponentContext, TagDef, TagStoreBuilder, TagValue};
use fxgate_lines::LineMetrics;
use fxgate_modbus::ModbusServerLine;
use opcua::types::{DataTypeId, Variant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

fxgate_config::config_file! {
    /// The sections these tests configure.
    struct TestConfig {
        simulator: fxgate_simulator::Simulators,
        modbus_server: fxgate_modbus::ModbusServers,
    }
}

async fn free_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

/// Reads holding register 0 with a hand-made frame; returns the raw answer.
async fn read_hr0(port: u16) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(&[0, 7, 0, 0, 0, 6, 1, 0x03, 0, 0, 0, 1]).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await.unwrap().unwrap();
    buf[..n].to_vec()
}

#[tokio::test]
async fn malformed_requests_do_not_stop_the_server() {
    let port = free_port().await;
    let text = format!(
        "[[simulator]]\nname = \"S\"\n[[simulator.tags]]\nname = \"x\"\ntype = \"Int16\"\n\
         [[line]]\nname = \"n\"\nmode = \"server\"\nhost = \"127.0.0.1\"\nport = {port}\n\
         [[modbus_server]]\nname = \"m\"\nline = \"n\"\n[[modbus_server.map]]\ntag = \"S/x\"\naddress = \"hr:0\"\ntype = \"int16\"\n"
    );
    let c = fxgate_config::parse::<TestConfig>(&text, std::path::Path::new("t.toml"), std::path::Path::new(".")).unwrap();
    let comp = Box::new(ModbusServerLine::new(c.line[0].clone(), c.modbus_server[0].clone(), ".".into(), LineMetrics::default()));
    let mut b = TagStoreBuilder::new();
    let x = b
        .add_tag(TagDef {
            source: "S".into(),
            name: "x".into(),
            data_type: DataTypeId::Int16,
            access: AccessMode::Read,
            description: String::new(),
            meta: None,
        })
        .unwrap();
    let declared = comp.declare(&mut b).unwrap();
    let store = b.build();
    store.update(vec![(x, TagValue::good(Variant::Int16(-2)))]);
    let shutdown = CancellationToken::new();
    let cx = ComponentContext { store, tags: declared.tags, writes: None, shutdown: shutdown.clone(), data_dir: ".".into() };
    let running = comp.build(cx).await.unwrap();
    let task = tokio::spawn(running.task);

    assert_eq!(read_hr0(port).await, [0, 7, 0, 0, 0, 5, 1, 0x03, 2, 0xFF, 0xFE]);
    let frames: Vec<Vec<u8>> = vec![
        b"garbage that is no frame at all".to_vec(),
        vec![0, 1, 0, 0, 0, 0, 1],                            // zero length
        vec![0, 1, 0, 0, 0xFF, 0xFF, 1, 3],                   // huge length, then nothing
        vec![0, 1, 0, 0, 0, 8, 1, 0x10, 0, 0, 0, 5, 9, 1, 2], // fc16: counts disagree
        vec![0, 1, 0, 0, 0, 3, 1, 0x05, 0],                   // fc5 cut short
        vec![0, 1, 0, 0, 0, 6, 1, 0x03, 0xFF, 0xFF, 0xFF, 0xFF], // 65535 registers
        vec![0, 1, 0, 0, 0, 2, 1, 0x63],                      // unknown function
        vec![0, 1, 0, 0, 0, 6, 1, 0x06, 0, 0, 0, 1],          // write of a read-only tag
    ];
    for f in frames {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let _ = s.write_all(&f).await;
        let mut buf = [0u8; 300];
        let answer = tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await;
        if let Ok(Ok(n)) = answer {
            if n >= 9 {
                // Any answer must be an exception for these.
                assert!(buf[7] & 0x80 != 0, "frame {f:?} got {:?}", &buf[..n]);
            }
        }
    }
    assert_eq!(read_hr0(port).await, [0, 7, 0, 0, 0, 5, 1, 0x03, 2, 0xFF, 0xFE], "the server must still serve");
    shutdown.cancel();
    assert!(tokio::time::timeout(Duration::from_secs(3), task).await.is_ok());
}
