//! Messages that arrive from both brokers are taken once: a message is a duplicate when the
//! *other* broker delivered the same topic and payload (which carries its timestamp, if any)
//! within the last [`WINDOW`]. Each delivery pairs with one from the other side, so a value
//! published twice on purpose still arrives twice.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::time::Duration;

use tokio::time::Instant;

use crate::wire::Message;

/// How long a delivery waits for its twin from the other broker.
pub const WINDOW: Duration = Duration::from_secs(30);

/// Deliveries of the last [`WINDOW`], per broker.
#[derive(Default)]
pub struct Dedupe {
    /// Per broker: key → arrival times of its deliveries not yet paired, oldest first.
    seen: [HashMap<u64, VecDeque<Instant>>; 2],
    /// Every unpaired delivery in arrival order, for expiry.
    order: VecDeque<(Instant, usize, u64)>,
}

impl Dedupe {
    /// Whether `msg` from broker `slot` is the twin of one the other broker delivered.
    pub fn is_duplicate(&mut self, slot: usize, msg: &Message) -> bool {
        let now = Instant::now();
        self.expire(now);
        let (me, other) = (slot.min(1), 1 - slot.min(1));
        let key = key(msg);
        if let Some(q) = self.seen[other].get_mut(&key) {
            q.pop_front();
            if q.is_empty() {
                self.seen[other].remove(&key);
            }
            return true;
        }
        self.seen[me].entry(key).or_default().push_back(now);
        self.order.push_back((now, me, key));
        false
    }

    /// Forgets what broker `slot` delivered (its connection is gone: no twin will come from
    /// it, and the other's deliveries must not be paired with its old ones).
    pub fn forget(&mut self, slot: usize) {
        self.seen[slot.min(1)].clear();
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(t, slot, key)) = self.order.front() {
            if now.duration_since(t) < WINDOW {
                break;
            }
            self.order.pop_front();
            // The oldest unpaired delivery of this key, if it is this one (paired ones are gone).
            if let Some(q) = self.seen[slot].get_mut(&key) {
                if q.front().is_some_and(|&f| f <= t) {
                    q.pop_front();
                }
                if q.is_empty() {
                    self.seen[slot].remove(&key);
                }
            }
        }
    }
}

fn key(msg: &Message) -> u64 {
    let mut h = DefaultHasher::new();
    msg.topic.hash(&mut h);
    msg.payload.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Qos;

    fn m(topic: &str, payload: &'static str) -> Message {
        Message { topic: topic.into(), payload: bytes::Bytes::from_static(payload.as_bytes()), qos: Qos::AtLeastOnce, retain: false }
    }

    #[tokio::test(start_paused = true)]
    async fn twins_are_taken_once_and_repeats_on_one_broker_are_kept() {
        let mut d = Dedupe::default();
        assert!(!d.is_duplicate(0, &m("a", "1")));
        assert!(d.is_duplicate(1, &m("a", "1")));
        // The same payload again, on both: taken once more.
        assert!(!d.is_duplicate(1, &m("a", "1")));
        assert!(d.is_duplicate(0, &m("a", "1")));
        // Twice from one broker: both taken.
        assert!(!d.is_duplicate(0, &m("a", "2")));
        assert!(!d.is_duplicate(0, &m("a", "2")));
        assert!(d.is_duplicate(1, &m("a", "2")));
        assert!(d.is_duplicate(1, &m("a", "2")));
        // Another topic is another message.
        assert!(!d.is_duplicate(0, &m("b", "2")));
        // A twin that comes too late is a new message.
        tokio::time::advance(WINDOW + Duration::from_secs(1)).await;
        assert!(!d.is_duplicate(1, &m("b", "2")));
        // Expiry takes the old delivery only, not a newer one of the same key.
        assert!(!d.is_duplicate(0, &m("c", "1")));
        assert!(d.is_duplicate(1, &m("c", "1")));
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(!d.is_duplicate(0, &m("c", "1")));
        tokio::time::advance(Duration::from_secs(15)).await;
        assert!(d.is_duplicate(1, &m("c", "1")), "the second delivery is 15 s old: still waiting for its twin");
    }
}
