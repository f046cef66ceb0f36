//! A Modbus device's tags and poll plan, built from its `[[device]]` entry.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::config::address::Address;
use crate::config::DeviceConfig;
use fxgate_core::store::StoreError;
use fxgate_core::{AccessMode, TagDef, TagId, TagStoreBuilder};
use tokio::time::Instant;

use crate::plan::{pack, Block, Item};
use fxgate_core::tag_type::data_type_id;

/// One poll group of a device at run time.
pub struct Group {
    /// Poll interval.
    pub interval: Duration,
    /// Its tags.
    pub items: Vec<Item>,
    /// Its read requests.
    pub blocks: Vec<Block>,
    /// When it is next due.
    pub due: Instant,
}

/// A device at run time.
pub struct Device {
    /// Its name (folder).
    pub name: String,
    /// Unit id.
    pub unit: u8,
    /// Response timeout.
    pub timeout: Duration,
    /// Poll groups.
    pub groups: Vec<Group>,
    /// Every tag of the device.
    pub tags: Vec<TagId>,
    /// Where a tag lives: (group, item).
    pub by_tag: HashMap<TagId, (usize, usize)>,
}

/// Every (name, address, entry index) a device's config expands to, in declaration order.
fn expand(cfg: &DeviceConfig) -> Vec<(String, Address, usize)> {
    let mut out = Vec::new();
    for (e, t) in cfg.tag.iter().enumerate() {
        let Ok(base) = Address::parse(&t.address) else { continue };
        for (k, name) in t.names().into_iter().enumerate() {
            let offset = u32::from(base.offset) + u32::from(t.stride()) * k as u32;
            let Ok(offset) = u16::try_from(offset) else { continue };
            out.push((name, Address { offset, ..base }, e));
        }
    }
    out
}

fn interval_of(cfg: &DeviceConfig, group: &str) -> u64 {
    cfg.group
        .iter()
        .find(|g| g.name == group)
        .map(|g| g.interval_ms)
        .unwrap_or(cfg.poll_ms)
}

/// Declares the device's tags; returns whether any is writable.
pub fn declare(cfg: &DeviceConfig, b: &mut TagStoreBuilder) -> Result<bool, StoreError> {
    let source: Arc<str> = cfg.name.as_str().into();
    let mut writable = false;
    let metas: Vec<_> = cfg
        .tag
        .iter()
        .map(|t| Arc::new(t.meta(interval_of(cfg, &t.group) as f64)))
        .collect();
    for (name, _, e) in expand(cfg) {
        let t = &cfg.tag[e];
        writable |= t.writable;
        b.add_tag(TagDef {
            source: source.clone(),
            name,
            data_type: data_type_id(t.tag_type()),
            access: if t.writable { AccessMode::ReadWrite } else { AccessMode::Read },
            description: t.description.clone(),
            meta: Some(metas[e].clone()),
        })?;
    }
    Ok(writable)
}

/// Number of tags [`declare`] adds.
pub fn tag_count(cfg: &DeviceConfig) -> usize {
    expand(cfg).len()
}

impl Device {
    /// Builds the run-time device from its config and the ids its tags got.
    pub fn new(cfg: &DeviceConfig, ids: &[TagId]) -> Self {
        let mut groups: Vec<(u64, Vec<Item>)> = Vec::new();
        let now = Instant::now();
        for ((_, addr, e), &tag) in expand(cfg).into_iter().zip(ids) {
            let t = &cfg.tag[e];
            let interval = interval_of(cfg, &t.group);
            let item = Item { tag, addr, enc: t.encoding() };
            match groups.iter_mut().find(|(i, _)| *i == interval) {
                Some((_, items)) => items.push(item),
                None => groups.push((interval, vec![item])),
            }
        }
        let mut by_tag = HashMap::new();
        let groups: Vec<Group> = groups
            .into_iter()
            .enumerate()
            .map(|(g, (interval, items))| {
                for (i, it) in items.iter().enumerate() {
                    by_tag.insert(it.tag, (g, i));
                }
                Group {
                    interval: Duration::from_millis(interval),
                    blocks: pack(&items, cfg.max_registers, cfg.max_bits, cfg.max_gap),
                    items,
                    due: now,
                }
            })
            .collect();
        Self {
            name: cfg.name.clone(),
            unit: cfg.unit_id,
            timeout: Duration::from_millis(cfg.timeout_ms),
            groups,
            tags: ids.to_vec(),
            by_tag,
        }
    }
}
