//! IEC 60870-5-104: the byte stream of a controlled station (to fxgate's client) or of a
//! controlling station (to fxgate's server), cut into APDUs, each ASDU decoded into points
//! and commands as the client and the server do, and confirmations encoded back.

use bytes::BytesMut;
use fxgate_iec104::commands::{first_ioa, mirror, received};
use fxgate_iec104::link::frame::{encode, ApduCodec};
use fxgate_iec104::points;
use iec104::apdu::Frame;
use iec104::cot::Cot;
use tokio_util::codec::Decoder;

/// Decodes every APDU of `data` until the stream breaks its framing, then the end of stream.
pub fn apdu(data: &[u8]) {
    let mut codec = ApduCodec;
    let mut buf = BytesMut::from(data);
    loop {
        match codec.decode(&mut buf) {
            Ok(Some(frame)) => handle(&frame),
            Ok(None) => break,
            Err(_) => return,
        }
    }
    if let Ok(Some(frame)) = codec.decode_eof(&mut buf) {
        handle(&frame);
    }
}

fn handle(frame: &Frame) {
    let _ = encode(frame);
    let Frame::I(i) = frame else { return };
    let objs = &i.asdu.information_objects;
    let _ = points::decode(objs);
    let _ = received(objs);
    let _ = first_ioa(objs);
    let _ = points::max_objects(i.asdu.type_id);
    let confirmation = mirror(&i.asdu, Cot::ActivationConfirmation, true);
    let _ = encode(&Frame::I(iec104::apdu::IFrame { send_sequence_number: 0, receive_sequence_number: 0, asdu: confirmation }));
}
