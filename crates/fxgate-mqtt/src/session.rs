//! What one broker's MQTT session keeps across connections: the packet ids of fxgate's QoS 1
//! and 2 publishes not yet completed, and of the QoS 2 messages received and not yet released.
//!
//! With `clean_session = false` the broker keeps its half of the session (MQTT 3.1.1 §4.4,
//! MQTT 5 §4.4), and a resumed session (CONNACK "session present") must be completed with the
//! **original** packet ids: a PUBREL for a QoS 2 message the broker already acknowledged with
//! PUBREC, the PUBLISH again with DUP otherwise. Sending such a message again under a new id
//! would have the broker deliver it twice; forgetting a received QoS 2 id would deliver a
//! redelivered message twice here. With a clean session (or when the broker did not keep it)
//! everything is forgotten at connect, and the outbox sends what was not taken again.
//!
//! The driver's outbox stays the one record of what is taken: a publish resumed here is
//! reported taken only once the outbox has sent it again on this connection (it may have
//! gone to the other broker meanwhile).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::config::Qos;
use crate::wire::{Message, Outgoing};

/// A QoS 1 or 2 publish the broker has not completed.
#[derive(Debug)]
struct Flight {
    /// The driver's sequence number.
    seq: u64,
    /// The message, kept to be sent again on a resumed session (persistent sessions only,
    /// and only until the broker's PUBREC says it has it).
    msg: Option<Message>,
    /// QoS 2: PUBREC came, PUBREL was sent.
    released: bool,
    /// The outbox sent it on the current connection (so its completion is reported).
    claimed: bool,
}

/// What to do with a publish from the driver.
#[derive(Debug, PartialEq)]
pub enum Send {
    /// Send this packet; if `taken`, report the sequence number taken at once (QoS 0).
    Packet {
        /// The PUBLISH.
        packet: Outgoing,
        /// QoS 0: taken when written.
        taken: bool,
    },
    /// The resumed session already completed it: report it taken.
    Taken,
    /// The resumed session is completing it: its acknowledgement reports it.
    InFlight,
}

/// The client's half of one broker's session.
#[derive(Debug, Default)]
pub struct SessionState {
    next_pkid: u16,
    /// Our publishes in flight, by packet id (in id order, the order they are resumed).
    out: BTreeMap<u16, Flight>,
    /// Resumed publishes the outbox has not sent again yet: sequence number → packet id.
    resumed: HashMap<u64, u16>,
    /// Resumed publishes completed before the outbox sent them again.
    done_early: HashSet<u64>,
    /// QoS 2 messages received and not yet released: delivered once.
    received_qos2: HashSet<u16>,
}

impl SessionState {
    /// A connection was accepted: what to send before anything new. With `keep` (the session
    /// is persistent) and `present` (the broker kept it), the publishes in flight are resumed
    /// with their ids; otherwise everything is forgotten.
    pub fn begin(&mut self, keep: bool, present: bool) -> Vec<Outgoing> {
        self.resumed.clear();
        self.done_early.clear();
        if !(keep && present) {
            if keep && !self.out.is_empty() {
                tracing::warn!(messages = self.out.len(), "MQTT: the broker did not keep the session; what it had not acknowledged is sent again with new ids");
            }
            self.out.clear();
            self.received_qos2.clear();
            return Vec::new();
        }
        let mut again = Vec::with_capacity(self.out.len());
        for (&pkid, f) in &mut self.out {
            f.claimed = false;
            self.resumed.insert(f.seq, pkid);
            match (&f.msg, f.released) {
                (_, true) => again.push(Outgoing::PubRel(pkid)),
                (Some(msg), false) => again.push(Outgoing::Publish { msg: msg.clone(), pkid, dup: true }),
                // Not kept (the session was clean when it was sent): nothing to resend it with.
                (None, false) => {}
            }
        }
        again
    }

    /// A publish from the driver, sequence number `seq`; `keep`: keep the message to resume it.
    pub fn publish(&mut self, seq: u64, msg: Message, keep: bool) -> Send {
        if msg.qos == Qos::AtMostOnce {
            return Send::Packet { packet: Outgoing::Publish { msg, pkid: 0, dup: false }, taken: true };
        }
        if let Some(pkid) = self.resumed.remove(&seq) {
            if let Some(f) = self.out.get_mut(&pkid) {
                f.claimed = true;
                return Send::InFlight;
            }
        }
        if self.done_early.remove(&seq) {
            return Send::Taken;
        }
        let pkid = self.pkid();
        self.out.insert(pkid, Flight { seq, msg: keep.then(|| msg.clone()), released: false, claimed: true });
        Send::Packet { packet: Outgoing::Publish { msg, pkid, dup: false }, taken: false }
    }

    /// PUBACK or PUBCOMP: the sequence number to report taken, if the outbox sent it on this
    /// connection.
    pub fn completed(&mut self, pkid: u16) -> Option<u64> {
        let f = self.out.remove(&pkid)?;
        if f.claimed {
            return Some(f.seq);
        }
        if self.resumed.remove(&f.seq).is_some() {
            self.done_early.insert(f.seq);
        }
        None
    }

    /// PUBREC: the broker has the message; only the release remains.
    pub fn received(&mut self, pkid: u16) {
        if let Some(f) = self.out.get_mut(&pkid) {
            f.released = true;
            f.msg = None;
        }
    }

    /// An incoming QoS 2 PUBLISH: whether it is new (to be delivered).
    pub fn incoming_qos2(&mut self, pkid: u16) -> bool {
        self.received_qos2.insert(pkid)
    }

    /// An incoming PUBREL: that QoS 2 message is done.
    pub fn released(&mut self, pkid: u16) {
        self.received_qos2.remove(&pkid);
    }

    /// A packet id for a publish or a subscription: never one in flight.
    pub fn pkid(&mut self) -> u16 {
        loop {
            self.next_pkid = self.next_pkid.wrapping_add(1);
            if self.next_pkid != 0 && !self.out.contains_key(&self.next_pkid) {
                return self.next_pkid;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn m(p: &'static str, qos: Qos) -> Message {
        Message { topic: "t".into(), payload: Bytes::from_static(p.as_bytes()), qos, retain: false }
    }

    fn pkid_of(s: &Send) -> u16 {
        match s {
            Send::Packet { packet: Outgoing::Publish { pkid, .. }, .. } => *pkid,
            other => panic!("not a publish: {other:?}"),
        }
    }

    #[test]
    fn a_resumed_session_completes_with_the_original_ids() {
        let mut s = SessionState::default();
        assert!(s.begin(true, false).is_empty());
        let a = pkid_of(&s.publish(1, m("a", Qos::ExactlyOnce), true));
        let b = pkid_of(&s.publish(2, m("b", Qos::ExactlyOnce), true));
        let c = pkid_of(&s.publish(3, m("c", Qos::AtLeastOnce), true));
        s.received(a);
        // The connection is lost; the broker kept the session.
        let again = s.begin(true, true);
        assert_eq!(again, vec![
            Outgoing::PubRel(a),
            Outgoing::Publish { msg: m("b", Qos::ExactlyOnce), pkid: b, dup: true },
            Outgoing::Publish { msg: m("c", Qos::AtLeastOnce), pkid: c, dup: true },
        ]);
        // `a` completes before the outbox sends it again: reported when it does, not sent.
        assert_eq!(s.completed(a), None);
        assert_eq!(s.publish(1, m("a", Qos::ExactlyOnce), true), Send::Taken);
        // `b` is sent again by the outbox while in flight: not a second PUBLISH.
        assert_eq!(s.publish(2, m("b", Qos::ExactlyOnce), true), Send::InFlight);
        assert_eq!(s.completed(b), Some(2));
        // A new publish never takes an id still in flight.
        let d = pkid_of(&s.publish(4, m("d", Qos::AtLeastOnce), true));
        assert!(d != c && d != 0);
        // `c` went to the other broker meanwhile: its completion here reports nothing.
        assert_eq!(s.completed(c), None);
        assert_eq!(s.completed(d), Some(4));
    }

    #[test]
    fn a_clean_or_lost_session_forgets_everything() {
        let mut s = SessionState::default();
        pkid_of(&s.publish(1, m("a", Qos::ExactlyOnce), true));
        assert!(s.incoming_qos2(9));
        assert!(!s.incoming_qos2(9), "a redelivery is not delivered twice");
        assert!(s.begin(true, false).is_empty(), "the broker did not keep it");
        assert!(s.incoming_qos2(9));
        pkid_of(&s.publish(2, m("b", Qos::AtLeastOnce), false));
        assert!(s.begin(false, true).is_empty(), "a clean session resumes nothing");
        assert_eq!(s.publish(3, m("q0", Qos::AtMostOnce), false), Send::Packet {
            packet: Outgoing::Publish { msg: m("q0", Qos::AtMostOnce), pkid: 0, dup: false }, taken: true });
    }

    #[test]
    fn packet_ids_wrap_and_skip_zero_and_those_in_flight() {
        let mut s = SessionState { next_pkid: u16::MAX - 1, ..Default::default() };
        let a = pkid_of(&s.publish(1, m("a", Qos::AtLeastOnce), false));
        assert_eq!(a, u16::MAX);
        s.next_pkid = 0;
        s.out.insert(1, Flight { seq: 9, msg: None, released: false, claimed: true });
        assert_eq!(s.pkid(), 2);
    }
}
