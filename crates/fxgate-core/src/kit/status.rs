//! The status folder every connection-holding component publishes (lines, WebSocket
//! clients, upstream servers): a fixed set of state tags under
//! `Objects/fxgate/<Kind>/<name>`, kept in the tag store like any source's tags (so OPC UA
//! clients browse, read and subscribe to them), plus the component's health derived from the
//! same values. Each publisher owns its metric families and updates them next to the tags.

use std::sync::Arc;

use opcua::types::{DataTypeId, Variant};
use parking_lot::Mutex;

use crate::component::{HealthCheck, Unhealthy};
use crate::store::{StoreError, TagStore, TagStoreBuilder};
use crate::tag::{AccessMode, TagDef, TagId, TagValue};

/// One state tag of a status folder.
#[derive(Debug, Clone, Copy)]
pub struct StatusField {
    /// Its name (the tag name under the folder).
    pub name: &'static str,
    /// Its data type.
    pub data_type: DataTypeId,
    /// Its description.
    pub description: &'static str,
}

struct Inner {
    values: Vec<Variant>,
    store: Option<(Arc<TagStore>, Vec<TagId>)>,
}

/// A status folder; cheap to clone, all clones publish the same tags.
#[derive(Clone)]
pub struct StatusFolder {
    source: Arc<str>,
    fields: &'static [StatusField],
    inner: Arc<Mutex<Inner>>,
}

impl StatusFolder {
    /// The folder `source` (e.g. `fxgate/Lines/L1`) with `fields`, each starting at `initial`
    /// (one value per field).
    pub fn new(source: &str, fields: &'static [StatusField], initial: Vec<Variant>) -> Self {
        let mut values = initial;
        values.resize(fields.len(), Variant::Empty);
        Self {
            source: source.into(),
            fields,
            inner: Arc::new(Mutex::new(Inner { values, store: None })),
        }
    }

    /// The folder's source path.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Declares the state tags; their ids go to [`StatusFolder::attach`].
    pub fn declare(&self, b: &mut TagStoreBuilder) -> Result<Vec<TagId>, StoreError> {
        self.fields
            .iter()
            .map(|f| {
                b.add_tag(TagDef {
                    source: self.source.clone(),
                    name: f.name.to_string(),
                    data_type: f.data_type,
                    access: AccessMode::Read,
                    description: f.description.to_string(),
                    meta: None,
                })
            })
            .collect()
    }

    /// Connects the folder to the built store (the ids from [`StatusFolder::declare`], in
    /// field order) and publishes the current values.
    pub fn attach(&self, store: Arc<TagStore>, ids: &[TagId]) {
        let mut i = self.inner.lock();
        if ids.len() == self.fields.len() {
            let values: Vec<_> = ids.iter().copied().zip(i.values.iter().cloned().map(TagValue::good)).collect();
            store.update(values);
            i.store = Some((store, ids.to_vec()));
        }
    }

    /// Changes values with `change` (it returns whether anything changed) and publishes the
    /// fields that did.
    pub fn update(&self, change: impl FnOnce(&mut [Variant]) -> bool) {
        let mut i = self.inner.lock();
        let before = i.values.clone();
        if !change(&mut i.values) {
            return;
        }
        if let Some((store, ids)) = &i.store {
            let batch: Vec<_> = ids
                .iter()
                .zip(i.values.iter().zip(before.iter()))
                .filter(|(_, (now, was))| now != was)
                .map(|(&id, (now, _))| (id, TagValue::good(now.clone())))
                .collect();
            if !batch.is_empty() {
                store.update(batch);
            }
        }
    }

    /// The value of field `index`.
    pub fn get(&self, index: usize) -> Variant {
        self.inner.lock().values.get(index).cloned().unwrap_or(Variant::Empty)
    }

    /// The health of the component from its status values: `check` sees every field's value.
    pub fn health(&self, check: impl Fn(&[Variant]) -> Result<(), Unhealthy> + Send + Sync + 'static) -> HealthCheck {
        let inner = self.inner.clone();
        Arc::new(move || check(&inner.lock().values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[StatusField] = &[
        StatusField { name: "State", data_type: DataTypeId::String, description: "state" },
        StatusField { name: "Count", data_type: DataTypeId::UInt32, description: "count" },
    ];

    #[test]
    fn publishes_changed_fields_and_derives_health() {
        let folder = StatusFolder::new("fxgate/Things/a", FIELDS, vec![Variant::from("Down"), Variant::UInt32(0)]);
        let mut b = TagStoreBuilder::new();
        let ids = folder.declare(&mut b).unwrap();
        let store = b.build();
        folder.attach(store.clone(), &ids);
        assert_eq!(store.id_of("fxgate/Things/a/State"), Some(ids[0]));
        assert_eq!(store.get(ids[0]).map(|v| v.value), Some(Variant::from("Down")));
        let health = folder.health(|v| if v[0] == Variant::from("Up") { Ok(()) } else { Err(Unhealthy("down".into())) });
        assert!(health().is_err());
        folder.update(|v| {
            v[0] = Variant::from("Up");
            true
        });
        assert_eq!(store.get(ids[0]).map(|v| v.value), Some(Variant::from("Up")));
        assert_eq!(folder.get(1), Variant::UInt32(0));
        assert!(health().is_ok());
    }
}
