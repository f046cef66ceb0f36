//! A controlled station at run time: its tags by IOA and by tag id, built from its
//! `[[iec104_device]]` entry, and the periodic interrogations it is due.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fxgate_core::store::StoreError;
use fxgate_core::tag_type::data_type_id;
use fxgate_core::{AccessMode, TagDef, TagId, TagStoreBuilder};
use tokio::time::Instant;

use crate::commands::Command;
use crate::config::{Iec104DeviceConfig, MonitorType};

/// A command tag.
#[derive(Debug, Clone, Copy)]
pub struct CommandTag {
    /// The command.
    pub command: Command,
    /// Select before operate.
    pub sbo: bool,
    /// Whether the tag has no monitored point (its value is what was last commanded).
    pub command_only: bool,
}

/// Something a station is due periodically.
#[derive(Debug, Clone, Copy)]
pub struct Periodic {
    /// Period; `None` = off.
    pub every: Option<Duration>,
    /// When next due.
    pub due: Option<Instant>,
}

impl Periodic {
    fn new(ms: u64) -> Self {
        Self { every: (ms > 0).then(|| Duration::from_millis(ms)), due: None }
    }

    /// Schedules the next one from now.
    pub fn schedule(&mut self) {
        self.due = self.every.map(|e| Instant::now() + e);
    }

    /// Whether it is due now.
    pub fn is_due(&self, now: Instant) -> bool {
        self.due.is_some_and(|d| d <= now)
    }
}

/// One station behind a line.
pub struct Station {
    /// Device (folder) name.
    pub name: String,
    /// Common address.
    pub ca: u16,
    /// Originator address of what fxgate sends.
    pub oa: u8,
    /// Monitored points: IOA → tag and family.
    pub points: HashMap<u32, (TagId, MonitorType)>,
    /// Command tags by tag id.
    pub commands: HashMap<TagId, CommandTag>,
    /// Every tag.
    pub tags: Vec<TagId>,
    /// Clock synchronisation after connecting.
    pub clock_sync: bool,
    /// Periodic general interrogation.
    pub gi: Periodic,
    /// Periodic counter interrogation.
    pub ci: Periodic,
    /// Periodic clock synchronisation.
    pub cs: Periodic,
}

/// Declares the device's tags; returns whether any is writable.
pub fn declare(cfg: &Iec104DeviceConfig, b: &mut TagStoreBuilder) -> Result<bool, StoreError> {
    let source: Arc<str> = cfg.name.as_str().into();
    let mut writable = false;
    for t in &cfg.tag {
        writable |= t.command.is_some();
        b.add_tag(TagDef {
            source: source.clone(),
            name: t.name.clone(),
            data_type: data_type_id(t.tag_type()),
            access: if t.command.is_some() { AccessMode::ReadWrite } else { AccessMode::Read },
            description: t.description.clone(),
            meta: None,
        })?;
    }
    Ok(writable)
}

impl Station {
    /// The run-time station from its config and the ids its tags got.
    pub fn new(cfg: &Iec104DeviceConfig, ids: &[TagId]) -> Self {
        let mut points = HashMap::new();
        let mut commands = HashMap::new();
        for (t, &id) in cfg.tag.iter().zip(ids) {
            if let (Some(ioa), Some(m)) = (t.ioa, t.monitor) {
                points.insert(ioa, (id, m));
            }
            if let (Some(kind), Some(ioa)) = (t.command, t.command_address()) {
                let command = Command { kind, timed: t.time_tagged, ioa, qualifier: t.qualifier };
                commands.insert(id, CommandTag { command, sbo: t.select_before_operate && kind.can_select(), command_only: t.monitor.is_none() });
            }
        }
        Self {
            name: cfg.name.clone(),
            ca: cfg.common_address,
            oa: cfg.originator_address,
            points,
            commands,
            tags: ids.to_vec(),
            clock_sync: cfg.clock_sync,
            gi: Periodic::new(cfg.gi_interval_ms),
            ci: Periodic::new(cfg.ci_interval_ms),
            cs: Periodic::new(cfg.clock_sync_interval_ms),
        }
    }

    /// The earliest periodic job.
    pub fn next_due(&self) -> Option<Instant> {
        [self.gi.due, self.ci.due, self.cs.due].into_iter().flatten().min()
    }
}
