//! ConfigurationValues (OPC 10000-14 §9.1.3.7.4, OPC 10000-81 §6.16.3): the names and ids
//! the AutomationComponent filled in for null ones, each with the reference to its element.
//! A referenced connection always gets one, carrying the PublisherId subscribers must use.

use opcua::types::{PubSubConfigurationRefDataType, PubSubConfigurationRefMask, PubSubConfigurationValueDataType, Variant};

use super::plan::Plan;

/// Whether an element's (name, id) were null.
type Nulls = (bool, bool);

/// Which names and ids were null before filling, by position in the plan.
pub struct Given {
    groups: Vec<(Nulls, Vec<Nulls>)>,
    readers: Vec<(bool, bool)>,
}

impl Given {
    /// What `p` leaves to be filled: (name null, id null) per group and writer; (name null,
    /// group name null) per reader.
    pub fn of(p: &Plan) -> Self {
        Self {
            groups: p
                .groups
                .iter()
                .map(|g| ((g.name.is_empty(), g.id == 0), g.writers.iter().map(|w| (w.name.is_empty(), w.id == 0)).collect()))
                .collect(),
            readers: p.readers.iter().map(|r| (r.name.is_empty(), r.group.0.is_empty())).collect(),
        }
    }
}

fn element(mask: PubSubConfigurationRefMask, connection: u16, group: u16, element: u16) -> PubSubConfigurationRefDataType {
    PubSubConfigurationRefDataType { configuration_mask: mask, element_index: element, connection_index: connection, group_index: group }
}

/// The values for the filled-in plan `p`.
pub fn configuration_values(p: &Plan, given: &Given, publisher_id: &Variant, connection: &str) -> Vec<PubSubConfigurationValueDataType> {
    let mut out = Vec::new();
    for r in &p.connections {
        out.push(PubSubConfigurationValueDataType {
            configuration_element: element(PubSubConfigurationRefMask::ReferenceConnection, r.connection_index, 0, 0),
            name: connection.into(),
            identifier: publisher_id.clone(),
        });
    }
    for (g, ((name_null, id_null), writers)) in p.groups.iter().zip(&given.groups) {
        if *name_null || *id_null {
            out.push(PubSubConfigurationValueDataType {
                configuration_element: element(PubSubConfigurationRefMask::ReferenceWriterGroup, g.at.0, g.at.1, 0),
                name: g.name.as_str().into(),
                identifier: Variant::UInt16(g.id),
            });
        }
        for (w, (name_null, id_null)) in g.writers.iter().zip(writers) {
            if *name_null || *id_null {
                out.push(PubSubConfigurationValueDataType {
                    configuration_element: element(PubSubConfigurationRefMask::ReferenceWriter, w.at.0, w.at.1, w.at.2),
                    name: w.name.as_str().into(),
                    identifier: Variant::UInt16(w.id),
                });
            }
        }
    }
    let mut groups_told = Vec::new();
    for (r, (name_null, group_null)) in p.readers.iter().zip(&given.readers) {
        if *group_null && !groups_told.contains(&(r.at.0, r.at.1)) {
            groups_told.push((r.at.0, r.at.1));
            out.push(PubSubConfigurationValueDataType {
                configuration_element: element(PubSubConfigurationRefMask::ReferenceReaderGroup, r.at.0, r.at.1, 0),
                name: r.group.0.as_str().into(),
                identifier: Variant::Empty,
            });
        }
        if *name_null {
            out.push(PubSubConfigurationValueDataType {
                configuration_element: element(PubSubConfigurationRefMask::ReferenceReader, r.at.0, r.at.1, r.at.2),
                name: r.name.as_str().into(),
                identifier: Variant::Empty,
            });
        }
    }
    out
}
