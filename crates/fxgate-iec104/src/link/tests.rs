//! The link layer against a peer speaking raw APDUs over an in-memory pipe.

use std::time::Duration;

use iec104::asdu::Asdu;
use iec104::cot::Cot;
use iec104::types::commands::Qoi;
use iec104::types::{CIcNa1, GenericObject, InformationObjects};
use iec104::types_id::TypeId;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::*;

fn params() -> LinkParams {
    LinkParams {
        k: 2,
        w: 2,
        t0: Duration::from_secs(1),
        t1: Duration::from_millis(300),
        t2: Duration::from_millis(100),
        t3: Duration::from_millis(200),
    }
}

fn gi() -> Asdu {
    Asdu {
        type_id: TypeId::C_IC_NA_1,
        cot: Cot::Activation,
        originator_address: 0,
        address_field: 1,
        sequence: false,
        test: false,
        negative: false,
        information_objects: InformationObjects::CIcNa1(vec![GenericObject { address: 0, object: CIcNa1 { qoi: Qoi::Global } }]),
    }
}

/// An I-frame carrying `gi()` with N(S) `ns` and N(R) `nr`.
fn i_frame(ns: u16, nr: u16) -> Vec<u8> {
    encode(&Frame::I(IFrame { send_sequence_number: ns, receive_sequence_number: nr, asdu: gi() })).unwrap()
}

async fn read_apdu(peer: &mut DuplexStream) -> Vec<u8> {
    let mut head = [0u8; 2];
    peer.read_exact(&mut head).await.unwrap();
    let mut rest = vec![0u8; usize::from(head[1])];
    peer.read_exact(&mut rest).await.unwrap();
    [head.to_vec(), rest].concat()
}

fn link() -> (Link<DuplexStream>, DuplexStream) {
    let (a, b) = tokio::io::duplex(4096);
    (Link::new(a, params()), b)
}

#[tokio::test]
async fn startdt_is_confirmed_and_w_frames_are_acknowledged() {
    let (mut link, mut peer) = link();
    peer.write_all(&[0x68, 4, 0x07, 0, 0, 0]).await.unwrap();
    assert!(matches!(link.next().await, Ok(Event::StartDt)));
    peer.write_all(&i_frame(0, 0)).await.unwrap();
    peer.write_all(&i_frame(1, 0)).await.unwrap();
    assert!(matches!(link.next().await, Ok(Event::Asdu(_))));
    assert!(matches!(link.next().await, Ok(Event::Asdu(_))));
    // w = 2 frames: the S-frame goes out with the STARTDT con, without waiting for t2.
    let pump = tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_millis(50), link.next()).await;
        link
    });
    assert_eq!(read_apdu(&mut peer).await, vec![0x68, 4, 0x0B, 0, 0, 0]);
    assert_eq!(read_apdu(&mut peer).await, vec![0x68, 4, 0x01, 0, 4, 0]);
    drop(pump.await.unwrap());
}

#[tokio::test]
async fn a_sequence_gap_closes_the_link() {
    let (mut link, mut peer) = link();
    peer.write_all(&i_frame(1, 0)).await.unwrap();
    assert!(matches!(link.next().await, Err(LinkError::Sequence { got: 1, expected: 0 })));
}

#[tokio::test]
async fn an_ack_of_frames_never_sent_closes_the_link() {
    let (mut link, mut peer) = link();
    peer.write_all(&[0x68, 4, 0x01, 0, 0x0A, 0]).await.unwrap();
    assert!(matches!(link.next().await, Err(LinkError::Ack { got: 5, .. })));
}

#[tokio::test]
async fn k_limits_what_is_outstanding_and_t1_closes_a_silent_link() {
    let (mut link, mut peer) = link();
    assert!(link.can_send());
    link.send(gi()).unwrap();
    link.send(gi()).unwrap();
    assert!(!link.can_send(), "k = 2 frames are outstanding");
    let started = tokio::time::Instant::now();
    let r = link.next().await;
    assert!(matches!(r, Err(LinkError::T1 { what: "an I-frame", .. })), "{r:?}");
    assert!(started.elapsed() >= Duration::from_millis(290));
    // Both frames reached the peer, numbered 0 and 1.
    assert_eq!(read_apdu(&mut peer).await[2..4], [0, 0]);
    assert_eq!(read_apdu(&mut peer).await[2..4], [2, 0]);
}

#[tokio::test]
async fn an_acknowledgement_opens_the_window() {
    let (mut link, mut peer) = link();
    link.send(gi()).unwrap();
    link.send(gi()).unwrap();
    peer.write_all(&[0x68, 4, 0x01, 0, 0x04, 0]).await.unwrap();
    assert!(matches!(link.next().await, Ok(Event::Acked)));
    assert!(link.can_send() && link.all_acked());
}

#[tokio::test]
async fn idle_links_are_tested_and_unanswered_tests_close_them() {
    let (mut link, mut peer) = link();
    let r = link.next().await;
    // t3 (200 ms) idle: TESTFR act; no con within t1 (300 ms): closed.
    assert!(matches!(r, Err(LinkError::T1 { what: "TESTFR", .. })), "{r:?}");
    assert_eq!(read_apdu(&mut peer).await, vec![0x68, 4, 0x43, 0, 0, 0]);
}

#[tokio::test]
async fn test_frames_are_answered_and_received_frames_acknowledged_within_t2() {
    let (mut link, mut peer) = link();
    peer.write_all(&[0x68, 4, 0x43, 0, 0, 0]).await.unwrap();
    peer.write_all(&i_frame(0, 0)).await.unwrap();
    assert!(matches!(link.next().await, Ok(Event::Asdu(_))));
    let pump = tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_millis(180), link.next()).await;
    });
    assert_eq!(read_apdu(&mut peer).await, vec![0x68, 4, 0x83, 0, 0, 0]);
    assert_eq!(read_apdu(&mut peer).await, vec![0x68, 4, 0x01, 0, 2, 0], "S-frame after t2");
    pump.await.unwrap();
}

#[tokio::test]
async fn garbage_closes_the_link_with_its_cause() {
    let (mut link, mut peer) = link();
    peer.write_all(&[0x10, 0x20, 0x30]).await.unwrap();
    assert!(matches!(link.next().await, Err(LinkError::Malformed(m)) if m.contains("start byte")));
    let (mut link, peer) = self::link();
    drop(peer);
    assert!(matches!(link.next().await, Err(LinkError::Closed)));
}
