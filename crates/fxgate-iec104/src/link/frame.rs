//! APCI framing (IEC 60870-5-104 §5.1): start byte 0x68, length octet (4..=253), control
//! fields and the ASDU. Decoding is the `iec104` crate's; this decoder cuts the stream into
//! APDUs and refuses what breaks the framing.

use bytes::{Buf, BytesMut};
use iec104::apdu::{Apdu, Frame};
use tokio_util::codec::Decoder;

use crate::error::{describe, LinkError};

/// The start byte of every APDU.
pub const START: u8 = 0x68;
/// Largest length octet.
pub const MAX_LENGTH: u8 = 253;

/// Cuts a byte stream into APDUs.
#[derive(Debug, Default)]
pub struct ApduCodec;

impl Decoder for ApduCodec {
    type Item = Frame;
    type Error = LinkError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, LinkError> {
        let Some(&start) = src.first() else { return Ok(None) };
        if start != START {
            return Err(LinkError::Malformed(format!("start byte 0x{start:02X}, expected 0x68")));
        }
        let Some(&len) = src.get(1) else { return Ok(None) };
        if !(4..=MAX_LENGTH).contains(&len) {
            return Err(LinkError::Malformed(format!("length {len}, must be 4 to 253")));
        }
        let total = 2 + usize::from(len);
        if src.len() < total {
            src.reserve(total - src.len());
            return Ok(None);
        }
        let bytes = src.split_to(total);
        if let Some(what) = refused_before_decoding(&bytes) {
            return Err(LinkError::Malformed(what.to_string()));
        }
        // The iec104 crate can panic on input (found by fuzzing): whatever else it panics on
        // is a malformed APDU too, not the end of the connection task.
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Apdu::from_bytes(&bytes)))
            .map_err(|_| LinkError::Malformed("an APDU the decoder cannot take".to_string()))?;
        let apdu = decoded.map_err(|e| LinkError::Malformed(describe(&e)))?;
        if let Frame::I(i) = &apdu.frame {
            if matches!(i.asdu.information_objects, iec104::types::InformationObjects::Raw(_)) {
                return Err(LinkError::UnknownType(bytes.get(6).copied().unwrap_or(0)));
            }
        }
        Ok(Some(apdu.frame))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, LinkError> {
        match self.decode(src)? {
            Some(f) => Ok(Some(f)),
            None if src.is_empty() => Ok(None),
            None => {
                let n = src.remaining();
                src.clear();
                Err(LinkError::Malformed(format!("the connection ended inside an APDU ({n} octets)")))
            }
        }
    }
}

/// C_RD_NA_1 (read command, type 102).
const C_RD_NA_1: u8 = 102;

/// What the iec104 crate's decoder would panic on, checked before it sees the APDU: a
/// sequence (SQ = 1) of objects without an information element, i.e. C_RD_NA_1 with SQ = 1
/// (iec104 0.6 `InformationObjects::build_objects` takes `chunks_exact(0)`).
fn refused_before_decoding(apdu: &[u8]) -> Option<&'static str> {
    let (&type_id, &vsq) = (apdu.get(6)?, apdu.get(7)?);
    (type_id == C_RD_NA_1 && vsq & 0x80 != 0).then_some("C_RD_NA_1 with SQ = 1 (a read command has no sequence)")
}

/// The bytes of a frame.
pub fn encode(frame: &Frame) -> Result<Vec<u8>, LinkError> {
    frame.to_apdu_bytes().map_err(|e| LinkError::Encode(describe(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> Result<Vec<Frame>, LinkError> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(f) = ApduCodec.decode(&mut buf)? {
            out.push(f);
        }
        Ok(out)
    }

    #[test]
    fn frames_are_cut_from_the_stream() {
        // STARTDT act, S-frame N(R)=1, TESTFR con.
        let frames = decode_all(&[0x68, 4, 0x07, 0, 0, 0, 0x68, 4, 0x01, 0, 0x02, 0, 0x68, 4, 0x83, 0, 0, 0]).unwrap();
        assert_eq!(frames.len(), 3);
        assert!(matches!(&frames[0], Frame::U(u) if u.start_dt_activation));
        assert!(matches!(&frames[1], Frame::S(s) if s.receive_sequence_number == 1));
        assert!(matches!(&frames[2], Frame::U(u) if u.test_fr_confirmation));
    }

    #[test]
    fn a_partial_frame_waits() {
        let mut buf = BytesMut::from(&[0x68u8, 4, 0x07][..]);
        assert!(ApduCodec.decode(&mut buf).unwrap().is_none());
        buf.extend_from_slice(&[0, 0, 0]);
        assert!(ApduCodec.decode(&mut buf).unwrap().is_some());
    }

    #[test]
    fn broken_framing_is_an_error_not_a_panic() {
        for bad in [
            &[0x69u8, 4, 0x07, 0, 0, 0][..],
            &[0x68, 2, 0, 0][..],
            &[0x68, 254, 0, 0][..],
            // I-frame with a truncated ASDU (M_ME_NC_1, 1 object, 2 bytes short).
            &[0x68, 0x10, 0, 0, 0, 0, 13, 1, 3, 0, 1, 0, 1, 0, 0, 0, 0, 0][..],
            // U-frame with garbage in the other control octets.
            &[0x68, 4, 0x07, 1, 0, 0][..],
            // C_RD_NA_1 with SQ = 1, on which the iec104 crate's decoder panics (found by
            // fuzzing: fuzz/regressions/iec104_apdu/).
            &[0x68, 0x0D, 0x0E, 0, 0x10, 1, 0x66, 0xFF, 0, 0x2D, 1, 0x63, 0, 0, 6][..],
        ] {
            assert!(matches!(decode_all(bad), Err(LinkError::Malformed(_))), "{bad:?}");
        }
        // Type id 8 is not defined.
        let unknown = [0x68, 0x0E, 0, 0, 0, 0, 8, 1, 3, 0, 1, 0, 1, 0, 0, 0, 0, 0];
        assert!(matches!(decode_all(&unknown), Err(LinkError::UnknownType(8))));
    }

    #[test]
    fn truncated_at_eof_is_reported() {
        let mut buf = BytesMut::from(&[0x68u8, 4, 0x07][..]);
        assert!(matches!(ApduCodec.decode_eof(&mut buf), Err(LinkError::Malformed(_))));
    }
}
