//! The ids OPC UA FX reserves (ReserveCommunicationIdsCmd) on the connection marked `fx = true`:
//! the lowest WriterGroupIds and DataSetWriterIds that neither the configuration, nor an
//! earlier reservation, nor a group or writer made by SetCommunicationConfiguration uses. A
//! configuration that uses reserved ids takes them up ([`FxIds::claim`]); a reservation no
//! configuration takes up lapses after [`RESERVATION_LIFETIME`], so that a client reserving
//! again and again cannot use every id up.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use opcua::types::Variant;
use parking_lot::Mutex;

use fxgate_plugin::{PubSubIds, Reservation, ReserveError};

use crate::config::{publisher_id, PubSubConfig};
use crate::model::UDP_UADP;

/// How long reserved ids stay reserved.
pub const RESERVATION_LIFETIME: Duration = Duration::from_secs(600);

/// The reservations of one connection.
pub struct FxIds {
    publisher_id: Variant,
    /// The UDP port the connection receives on (its `listen` address).
    port: Option<u16>,
    /// Ids the configuration uses (never handed out).
    configured: (Vec<u16>, Vec<u16>),
    /// Reserved ids and when their reservation lapses.
    reserved: Mutex<(BTreeMap<u16, Instant>, BTreeMap<u16, Instant>)>,
    /// Ids of groups and writers made at run time.
    used: Mutex<(BTreeSet<u16>, BTreeSet<u16>)>,
}

/// Why ids could not be claimed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// A given WriterGroupId is the configuration's or a run-time group's.
    #[error("WriterGroupId {0} is in use")]
    GroupInUse(u16),
    /// A given DataSetWriterId is the configuration's or a run-time writer's.
    #[error("DataSetWriterId {0} is in use")]
    WriterInUse(u16),
    /// Not enough free ids for the null ones.
    #[error("no free ids are left")]
    Exhausted,
}

impl FxIds {
    /// The reservations of connection `c`.
    pub fn new(c: &PubSubConfig) -> Self {
        let publisher_id = c
            .publisher_id
            .as_ref()
            .and_then(|p| publisher_id(p, c.publisher_id_type))
            .map_or(Variant::Empty, |p| p.to_variant());
        let groups = c.writer_group.iter().map(|g| g.writer_group_id).collect();
        let writers = c.writer_group.iter().flat_map(|g| g.writer.iter().map(|w| w.data_set_writer_id)).collect();
        let port = c.listen.as_deref().and_then(|l| fxgate_config::udp_url::parse_udp_url(l).ok()).map(|u| u.port);
        Self {
            publisher_id,
            port,
            configured: (groups, writers),
            reserved: Mutex::new((BTreeMap::new(), BTreeMap::new())),
            used: Mutex::new((BTreeSet::new(), BTreeSet::new())),
        }
    }

    /// Claims ids for run-time groups and writers (all or nothing): given ids must be free or
    /// reserved (the reservation is taken up); 0 gets the lowest free id. Returns the ids in
    /// the order given.
    pub fn claim(&self, groups: &[u16], writers: &[u16]) -> Result<(Vec<u16>, Vec<u16>), ClaimError> {
        let now = Instant::now();
        let mut r = self.reserved.lock();
        let mut u = self.used.lock();
        r.0.retain(|_, until| *until > now);
        r.1.retain(|_, until| *until > now);
        let pick = |wanted: &[u16], configured: &[u16], reserved: &BTreeMap<u16, Instant>, used: &BTreeSet<u16>, err: fn(u16) -> ClaimError| {
            let mut taken: BTreeSet<u16> = used.clone();
            for &i in wanted.iter().filter(|i| **i != 0) {
                if configured.contains(&i) || !taken.insert(i) {
                    return Err(err(i));
                }
            }
            let mut out = Vec::with_capacity(wanted.len());
            let mut next = 1u16;
            for &i in wanted {
                if i != 0 {
                    out.push(i);
                    continue;
                }
                while configured.contains(&next) || taken.contains(&next) || reserved.contains_key(&next) {
                    next = next.checked_add(1).ok_or(ClaimError::Exhausted)?;
                }
                taken.insert(next);
                out.push(next);
            }
            Ok(out)
        };
        let g = pick(groups, &self.configured.0, &r.0, &u.0, ClaimError::GroupInUse)?;
        let w = pick(writers, &self.configured.1, &r.1, &u.1, ClaimError::WriterInUse)?;
        for i in &g {
            r.0.remove(i);
            u.0.insert(*i);
        }
        for i in &w {
            r.1.remove(i);
            u.1.insert(*i);
        }
        Ok((g, w))
    }

    /// Gives the ids of removed run-time groups and writers back.
    pub fn unclaim(&self, groups: &[u16], writers: &[u16]) {
        let mut u = self.used.lock();
        for i in groups {
            u.0.remove(i);
        }
        for i in writers {
            u.1.remove(i);
        }
    }

    /// The connection's PublisherId.
    pub fn publisher_id(&self) -> &Variant {
        &self.publisher_id
    }
}

/// The `n` lowest ids (from 1) neither in `configured` nor in `reserved` nor `used`.
fn free(n: u16, configured: &[u16], reserved: &BTreeMap<u16, Instant>, used: &BTreeSet<u16>) -> Option<Vec<u16>> {
    let ids: Vec<u16> = (1..=u16::MAX)
        .filter(|i| !configured.contains(i) && !reserved.contains_key(i) && !used.contains(i))
        .take(n as usize)
        .collect();
    (ids.len() == n as usize).then_some(ids)
}

impl PubSubIds for FxIds {
    fn reserve(&self, transport_profile_uri: &str, writer_groups: u16, writers: u16) -> Result<Reservation, ReserveError> {
        if transport_profile_uri != UDP_UADP {
            return Err(ReserveError::Transport);
        }
        let now = Instant::now();
        let mut r = self.reserved.lock();
        r.0.retain(|_, until| *until > now);
        r.1.retain(|_, until| *until > now);
        let u = self.used.lock();
        let groups = free(writer_groups, &self.configured.0, &r.0, &u.0).ok_or(ReserveError::Exhausted)?;
        let ws = free(writers, &self.configured.1, &r.1, &u.1).ok_or(ReserveError::Exhausted)?;
        let until = now + RESERVATION_LIFETIME;
        r.0.extend(groups.iter().map(|&i| (i, until)));
        r.1.extend(ws.iter().map(|&i| (i, until)));
        Ok(Reservation { publisher_id: self.publisher_id.clone(), writer_group_ids: groups, data_set_writer_ids: ws, unicast_port: self.port })
    }

    fn release(&self, reservation: &Reservation) {
        let mut r = self.reserved.lock();
        for i in &reservation.writer_group_ids {
            r.0.remove(i);
        }
        for i in &reservation.data_set_writer_ids {
            r.1.remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_ids_avoid_the_configured_ones_and_each_other() {
        let c: PubSubConfig = toml::from_str(
            r#"
name = "C"
publisher_id = 7
fx = true
[[writer_group]]
name = "G"
writer_group_id = 2
destination = "opc.udp://127.0.0.1:9"
[[writer_group.writer]]
name = "W"
data_set_writer_id = 1
"#,
        )
        .expect("config");
        let ids = FxIds::new(&c);
        let a = ids.reserve(UDP_UADP, 2, 4).expect("reserve");
        assert_eq!(a.publisher_id, Variant::UInt16(7));
        assert_eq!(a.writer_group_ids, vec![1, 3]);
        assert_eq!(a.data_set_writer_ids, vec![2, 3, 4, 5]);
        let b = ids.reserve(UDP_UADP, 1, 1).expect("reserve");
        assert_eq!((b.writer_group_ids, b.data_set_writer_ids), (vec![4], vec![6]));
        ids.release(&a);
        assert_eq!(ids.reserve(UDP_UADP, 1, 0).expect("reserve").writer_group_ids, vec![1]);
        assert_eq!(ids.reserve("http://opcfoundation.org/UA-Profile/Transport/pubsub-mqtt-uadp", 1, 1), Err(ReserveError::Transport));
        assert_eq!(ids.reserve(UDP_UADP, u16::MAX, 0), Err(ReserveError::Exhausted));
        // All or nothing: the failed request reserved nothing.
        assert_eq!(ids.reserve(UDP_UADP, 1, 0).expect("reserve").writer_group_ids, vec![3]);
    }

    #[test]
    fn claims_take_reservations_up_fill_nulls_and_refuse_ids_in_use() {
        let c: PubSubConfig = toml::from_str("name = \"C\"\npublisher_id = 7\nfx = true\n[[writer_group]]\nname = \"G\"\nwriter_group_id = 2\ndestination = \"opc.udp://127.0.0.1:9\"\n").expect("config");
        let ids = FxIds::new(&c);
        let r = ids.reserve(UDP_UADP, 1, 1).expect("reserve");
        assert_eq!((r.writer_group_ids.clone(), r.data_set_writer_ids.clone()), (vec![1], vec![1]));
        // The reserved ids are taken; the nulls get ids neither configured, reserved nor used.
        assert_eq!(ids.claim(&[1, 0], &[1, 0, 0]), Ok((vec![1, 3], vec![1, 2, 3])));
        assert_eq!(ids.claim(&[2], &[]), Err(ClaimError::GroupInUse(2)), "the configuration's");
        assert_eq!(ids.claim(&[3], &[]), Err(ClaimError::GroupInUse(3)), "a run-time group's");
        assert_eq!(ids.claim(&[5, 5], &[]), Err(ClaimError::GroupInUse(5)), "given twice");
        assert_eq!(ids.reserve(UDP_UADP, 1, 1).map(|r| (r.writer_group_ids, r.data_set_writer_ids)), Ok((vec![4], vec![4])));
        ids.unclaim(&[1, 3], &[1, 2, 3]);
        assert_eq!(ids.claim(&[0], &[0]), Ok((vec![1], vec![1])));
    }
}
