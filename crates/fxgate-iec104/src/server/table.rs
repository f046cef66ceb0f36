//! The server's points: which tag each IOA shows, with which type, and which IOA commands
//! which tag.

use std::collections::HashMap;

use fxgate_core::{TagId, TagStore};
use iec104::asdu::Asdu;
use iec104::cot::Cot;
use opcua::types::DateTime;

use crate::config::{CommandType, MonitorType};
use crate::points::{encode, max_objects, Outgoing};
use crate::quality::Quality;

/// One exposed point.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The tag.
    pub tag: TagId,
    /// Its IOA.
    pub ioa: u32,
    /// The type family it is sent as.
    pub family: MonitorType,
    /// The command a master may send for it.
    pub command: Option<CommandType>,
}

/// Every exposed point.
#[derive(Debug, Default)]
pub struct Table {
    /// The points, in configuration order.
    pub entries: Vec<Entry>,
    by_tag: HashMap<TagId, Vec<usize>>,
    by_command: HashMap<u32, usize>,
}

/// A value to send, taken from the store.
#[derive(Debug, Clone)]
pub struct Change {
    /// The entry.
    pub entry: usize,
    /// Its value, quality and time.
    pub out: Outgoing,
}

impl Table {
    /// Adds a point; `command_ioa` when it takes commands.
    pub fn add(&mut self, e: Entry, command_ioa: Option<u32>) {
        let i = self.entries.len();
        self.by_tag.entry(e.tag).or_default().push(i);
        if let Some(c) = command_ioa {
            self.by_command.insert(c, i);
        }
        self.entries.push(e);
    }

    /// The entries showing `tag`.
    pub fn of_tag(&self, tag: TagId) -> &[usize] {
        self.by_tag.get(&tag).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The entry commanded on `ioa`.
    pub fn commanded(&self, ioa: u32) -> Option<&Entry> {
        self.by_command.get(&ioa).map(|&i| &self.entries[i])
    }

    /// The current value of entry `i` in the store.
    pub fn current(&self, store: &TagStore, i: usize) -> Change {
        let e = &self.entries[i];
        let (value, quality, time) = store
            .with_value(e.tag, |v| (v.value.clone(), Quality::of_status(v.status), v.source_timestamp))
            .unwrap_or((opcua::types::Variant::Empty, Quality { iv: true, ..Default::default() }, DateTime::now()));
        Change { entry: i, out: Outgoing { ioa: e.ioa, value, quality, time } }
    }
}

/// The ASDUs (COT `cot`, common address `ca`) carrying `changes`: consecutive changes of one
/// family share an ASDU, up to its size limit; `timed` picks the CP56 variants.
pub fn asdus(table: &Table, changes: &[Change], timed: bool, cot: Cot, ca: u16) -> Vec<Asdu> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < changes.len() {
        let family = table.entries[changes[i].entry].family;
        let type_id = if timed { family.timed_id() } else { family.plain_id() };
        let limit = max_objects(type_id);
        let mut j = i + 1;
        while j < changes.len() && j - i < limit && table.entries[changes[j].entry].family == family {
            j += 1;
        }
        let items: Vec<Outgoing> = changes[i..j].iter().map(|c| c.out.clone()).collect();
        let (type_id, objs) = encode(family, timed, &items);
        out.push(Asdu {
            type_id,
            cot,
            originator_address: 0,
            address_field: ca,
            sequence: false,
            test: false,
            negative: false,
            information_objects: objs,
        });
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use opcua::types::Variant;

    fn change(entry: usize, v: f32) -> Change {
        Change { entry, out: Outgoing { ioa: entry as u32 + 1, value: Variant::Float(v), quality: Quality::default(), time: DateTime::now() } }
    }

    #[test]
    fn changes_of_one_family_share_asdus_up_to_the_limit() {
        let mut t = Table::default();
        for i in 0..40 {
            let family = if i == 20 { MonitorType::Single } else { MonitorType::Float };
            t.add(Entry { tag: i, ioa: i + 1, family, command: None }, (i == 3).then_some(900));
        }
        let changes: Vec<Change> = (0..40).map(|i| change(i, i as f32)).collect();
        let a = asdus(&t, &changes, true, Cot::SpontaneousData, 5);
        // 20 floats (16 per M_ME_TF_1 ASDU) → 16 + 4, the single point, 19 floats → 16 + 3.
        let sizes: Vec<usize> = a.iter().map(|a| a.information_objects.len()).collect();
        assert_eq!(sizes, [16, 4, 1, 16, 3]);
        assert!(a.iter().all(|a| a.address_field == 5 && a.cot == Cot::SpontaneousData));
        assert_eq!(t.commanded(900).map(|e| e.ioa), Some(4));
        assert_eq!(t.of_tag(20), &[20]);
        for a in &a {
            let mut b = Vec::new();
            a.to_bytes(&mut b).unwrap();
            assert!(b.len() <= 249, "{} octets", b.len());
        }
    }
}
