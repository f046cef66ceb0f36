//! The poll plan: the tags of a device grouped by poll interval, and each group's tags
//! packed into as few read requests as the protocol allows (≤ 125 registers, ≤ 2000 bits
//! per request, or the device's lower limits), joining neighbours across at most
//! `max_gap` unused addresses.

use crate::config::address::{Address, Area, Encoding};
use fxgate_core::TagId;
use crate::codec::decode_registers;
use opcua::types::{StatusCode, Variant};

/// One polled tag.
#[derive(Debug, Clone)]
pub struct Item {
    /// Its tag.
    pub tag: TagId,
    /// Where it lives.
    pub addr: Address,
    /// How it is encoded.
    pub enc: Encoding,
}

impl Item {
    /// Registers (or bits) the item spans.
    pub fn span(&self) -> u16 {
        if self.addr.area.is_bits() || self.addr.bit.is_some() {
            1
        } else {
            self.enc.data_type.registers(self.enc.length).max(1)
        }
    }

    /// One past its last register (or bit), as u32 so it cannot overflow.
    pub fn end(&self) -> u32 {
        u32::from(self.addr.offset) + u32::from(self.span())
    }

    /// Its words (bits as 0/1) in the words of a read starting at `start`; empty when the
    /// read does not hold all of them.
    pub fn words<'a>(&self, start: u16, words: &'a [u16]) -> &'a [u16] {
        let from = usize::from(self.addr.offset.saturating_sub(start));
        words.get(from..from + usize::from(self.span())).unwrap_or(&[])
    }

    /// Its value in the words of a read starting at `start` (a device's answer):
    /// Bad_DecodingError when the answer does not hold it or it does not decode.
    pub fn value(&self, start: u16, words: &[u16]) -> Result<Variant, StatusCode> {
        let raw = self.words(start, words);
        if raw.len() != usize::from(self.span()) {
            return Err(StatusCode::BadDecodingError);
        }
        if self.addr.area.is_bits() {
            Ok(Variant::Boolean(raw[0] != 0))
        } else if let Some(b) = self.addr.bit {
            Ok(Variant::Boolean(raw[0] >> b & 1 == 1))
        } else {
            decode_registers(raw, &self.enc)
        }
    }
}

/// One read request and what it feeds.
#[derive(Debug, Clone)]
pub struct Block {
    /// The table.
    pub area: Area,
    /// First address.
    pub start: u16,
    /// Registers or bits read.
    pub count: u16,
    /// Indexes into the group's items.
    pub items: Vec<usize>,
    /// The words (bits as 0/1) of the last successful read, for change detection.
    pub last: Vec<u16>,
    /// Status of each item as last published, parallel to `items`.
    pub status: Vec<StatusCode>,
}

impl Block {
    fn new(area: Area, start: u16, items: Vec<usize>, count: u16) -> Self {
        Self {
            area,
            start,
            count,
            status: vec![StatusCode::BadWaitingForInitialData; items.len()],
            items,
            last: Vec::new(),
        }
    }

    /// Splits the block into one block per item (used when the device refuses the whole
    /// range, so the good items are kept apart from a bad address).
    pub fn split(&self, items: &[Item]) -> Vec<Block> {
        self.items
            .iter()
            .map(|&i| Block::new(items[i].addr.area, items[i].addr.offset, vec![i], items[i].span()))
            .collect()
    }
}

/// Packs `items` into blocks; `max_regs`/`max_bits` cap a request, `max_gap` is how many
/// unused addresses a request may span to join two items.
pub fn pack(items: &[Item], max_regs: u16, max_bits: u16, max_gap: u16) -> Vec<Block> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| (items[i].addr.area, items[i].addr.offset, items[i].span()));
    let mut blocks: Vec<Block> = Vec::new();
    let mut current: Option<(Area, u16, u32, Vec<usize>)> = None; // area, start, end, items
    for i in order {
        let it = &items[i];
        let limit = u32::from(if it.addr.area.is_bits() { max_bits } else { max_regs });
        if let Some((area, start, end, members)) = current.as_mut() {
            let fits_gap = u32::from(it.addr.offset) <= *end + u32::from(max_gap);
            let new_end = (*end).max(it.end());
            if *area == it.addr.area && fits_gap && new_end - u32::from(*start) <= limit {
                *end = new_end;
                members.push(i);
                continue;
            }
            let (a, s, e, m) = current.take().unwrap_or((Area::Coil, 0, 0, Vec::new()));
            blocks.push(Block::new(a, s, m, (e - u32::from(s)) as u16));
        }
        current = Some((it.addr.area, it.addr.offset, it.end(), vec![i]));
    }
    if let Some((a, s, e, m)) = current {
        blocks.push(Block::new(a, s, m, (e - u32::from(s)).min(u32::from(u16::MAX)) as u16));
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::address::{ModbusType, Order};

    fn item(tag: TagId, addr: &str, t: ModbusType) -> Item {
        Item {
            tag,
            addr: Address::parse(addr).unwrap(),
            enc: Encoding { data_type: t, word_order: Order::Big, byte_order: Order::Big, length: 0, scale: 1.0, offset: 0.0 },
        }
    }

    #[test]
    fn thousand_registers_take_eight_requests() {
        let items: Vec<Item> = (0..1000).map(|i| item(i, &format!("hr:{i}"), ModbusType::Uint16)).collect();
        let blocks = pack(&items, 125, 2000, 0);
        assert_eq!(blocks.len(), 8);
        assert!(blocks.iter().all(|b| b.count == 125 && b.items.len() == 125));
        assert_eq!(blocks[7].start, 875);
    }

    #[test]
    fn areas_gaps_and_wide_types() {
        let items = vec![
            item(0, "hr:0", ModbusType::Float32),
            item(1, "hr:2", ModbusType::Int16),
            item(2, "hr:10", ModbusType::Int16),
            item(3, "coil:0", ModbusType::Bool),
            item(4, "coil:1999", ModbusType::Bool),
            item(5, "coil:2000", ModbusType::Bool),
            item(6, "hr:3.4", ModbusType::Bool),
            item(7, "ir:0", ModbusType::Float64),
        ];
        let b = pack(&items, 125, 2000, 0);
        let shown: Vec<(Area, u16, u16, usize)> = b.iter().map(|b| (b.area, b.start, b.count, b.items.len())).collect();
        assert_eq!(
            shown,
            [
                (Area::Coil, 0, 1, 1),
                (Area::Coil, 1999, 2, 2),
                (Area::InputRegister, 0, 4, 1),
                (Area::HoldingRegister, 0, 4, 3),
                (Area::HoldingRegister, 10, 1, 1),
            ]
        );
        // With a gap of 6 the holding registers join into one request of 11; with a gap of
        // 2000 the coils would span 2001 bits, over the limit, so they make two requests.
        let b = pack(&items, 125, 2000, 2000);
        assert!(b.iter().any(|b| b.area == Area::Coil && b.start == 0 && b.count == 2000 && b.items.len() == 2));
        assert!(b.iter().any(|b| b.area == Area::Coil && b.start == 2000 && b.count == 1));
        let b = pack(&items, 125, 2000, 6);
        assert!(b.iter().any(|b| b.area == Area::HoldingRegister && b.start == 0 && b.count == 11 && b.items.len() == 4));
        let split = b.iter().find(|b| b.area == Area::HoldingRegister).unwrap().split(&items);
        assert_eq!(split.len(), 4);
    }
}
