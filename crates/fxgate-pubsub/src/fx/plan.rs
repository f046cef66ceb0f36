//! What a SetCommunicationConfiguration asks for (OPC 10000-14 §9.1.3.7, CloseAndUpdate with
//! ConfigurationReferences): the referenced elements of a PubSubConfiguration2DataType checked
//! and turned into the groups, writers and readers to make, before anything is made, so that
//! a wrong configuration leaves nothing behind.
//!
//! fxgate has one connection for FX: a referenced connection must match it (ElementMatch, or
//! ElementAdd with a null or equal name and PublisherId, §6.16.3 of OPC 10000-81). Writer and
//! reader groups are added (ElementAdd) with their writers and readers; a writer or reader
//! referenced on its own is added to its group. ElementModify, ElementRemove, security groups
//! and push targets are not supported.

use opcua::types::{
    DataSetReaderDataType, DatagramWriterGroupTransport2DataType, NetworkAddressUrlDataType,
    PubSubConfiguration2DataType, PubSubConfigurationRefDataType, PubSubConfigurationRefMask, PubSubConnectionDataType,
    PublishedDataItemsDataType, TargetVariablesDataType, UadpWriterGroupMessageDataType, WriterGroupDataType,
};

use fxgate_core::TagId;
use fxgate_plugin::{ApplyError, ApplyRequest, ElementPath};

use super::plan_error::ElementError;
use crate::config::EncodingConfig;
use crate::model::UDP_UADP;
use crate::uadp::PublisherId;

/// A writer group to make.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedGroup {
    /// The reference that asked for it.
    pub reference: usize,
    /// Connection and group index.
    pub at: (u16, u16),
    /// Its name (empty: to be filled in).
    pub name: String,
    /// Its WriterGroupId (0: to be filled in).
    pub id: u16,
    /// Enabled as given.
    pub enabled: bool,
    /// PublishingInterval in ms.
    pub interval_ms: u64,
    /// Where it sends (an `opc.udp://` URL).
    pub destination: String,
    /// MaxNetworkMessageSize (0: the default).
    pub max_size: usize,
    /// GroupVersion, if given.
    pub group_version: Option<u32>,
    /// Its writers.
    pub writers: Vec<PlannedWriter>,
}

/// A writer to make.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedWriter {
    /// Where it is.
    pub at: ElementPath,
    /// Its name (empty: to be filled in).
    pub name: String,
    /// Its DataSetWriterId (0: to be filled in).
    pub id: u16,
    /// Enabled as given.
    pub enabled: bool,
    /// The field encoding its DataSetFieldContentMask asks for.
    pub encoding: EncodingConfig,
    /// The published tags (none: a heartbeat).
    pub tags: Vec<TagId>,
}

/// A reader to make.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedReader {
    /// The reference that asked for it.
    pub reference: usize,
    /// Where it is.
    pub at: ElementPath,
    /// Its reader group's name (empty: to be filled in) and Enabled.
    pub group: (String, bool),
    /// Its name (empty: to be filled in).
    pub name: String,
    /// Enabled as given.
    pub enabled: bool,
    /// The publisher's ids it takes.
    pub key: (PublisherId, u16, u16),
    /// MessageReceiveTimeout in ms.
    pub timeout_ms: u64,
    /// The tag each field is written to, in field order (none: a heartbeat).
    pub targets: Vec<TagId>,
}

/// Everything a configuration asks for.
#[derive(Debug, Default)]
pub struct Plan {
    /// References to the connection (their ConfigurationValues carry the PublisherId).
    pub connections: Vec<PubSubConfigurationRefDataType>,
    /// Writer groups with their writers.
    pub groups: Vec<PlannedGroup>,
    /// Readers.
    pub readers: Vec<PlannedReader>,
}

/// The connection set aside for FX, as a configuration is matched against it.
pub struct FxConnection<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its PublisherId.
    pub publisher_id: Option<&'a PublisherId>,
}

/// Checks the referenced elements of `req` and plans them.
pub fn plan(req: &ApplyRequest<'_>, fx: &FxConnection<'_>) -> Result<Plan, ApplyError> {
    if req.references.is_empty() {
        return Err(ApplyError::NothingToDo);
    }
    let cfg = req.configuration;
    let mut p = Plan::default();
    for (index, r) in req.references.iter().enumerate() {
        let m = r.configuration_mask;
        let unsupported = |detail: &str| ApplyError::Unsupported { index, detail: detail.to_string() };
        let invalid = |detail: String| ApplyError::Invalid { index, detail };
        let element = |e: ElementError| ApplyError::Invalid { index, detail: e.to_string() };
        if m.intersects(PubSubConfigurationRefMask::ElementModify | PubSubConfigurationRefMask::ElementRemove) {
            return Err(unsupported("ElementModify and ElementRemove are not supported (close the connection instead)"));
        }
        if m.intersects(PubSubConfigurationRefMask::ReferenceSecurityGroup | PubSubConfigurationRefMask::ReferencePushTarget) {
            return Err(unsupported("security groups and push targets are not supported (no message security)"));
        }
        let add = m.contains(PubSubConfigurationRefMask::ElementAdd);
        let matching = m.contains(PubSubConfigurationRefMask::ElementMatch);
        if !add && !matching {
            return Err(invalid("neither ElementAdd nor ElementMatch".into()));
        }
        let conn = connection(cfg, r.connection_index).ok_or_else(|| invalid(format!("no connection {}", r.connection_index)))?;
        if m.contains(PubSubConfigurationRefMask::ReferenceConnection) {
            match_connection(conn, fx).map_err(|e| ApplyError::Unsupported { index, detail: e.to_string() })?;
            p.connections.push(r.clone());
        }
        if m.contains(PubSubConfigurationRefMask::ReferenceWriterGroup) {
            if !add {
                return Err(unsupported("only ElementAdd of writer groups is supported"));
            }
            let g = writer_group(conn, r.group_index).ok_or_else(|| invalid(format!("no writer group {}", r.group_index)))?;
            let mut planned = plan_group(conn, g, (r.connection_index, r.group_index), index).map_err(element)?;
            for (k, w) in g.data_set_writers.iter().flatten().enumerate() {
                let at = (r.connection_index, r.group_index, k as u16);
                planned.writers.push(plan_writer(cfg, w, at, req).map_err(element)?);
            }
            add_group(&mut p, planned);
        } else if m.contains(PubSubConfigurationRefMask::ReferenceWriter) {
            if !add {
                return Err(unsupported("only ElementAdd of writers is supported"));
            }
            let g = writer_group(conn, r.group_index).ok_or_else(|| invalid(format!("no writer group {}", r.group_index)))?;
            let w = g
                .data_set_writers
                .iter()
                .flatten()
                .nth(r.element_index as usize)
                .ok_or_else(|| invalid(format!("no writer {} in writer group {}", r.element_index, r.group_index)))?;
            let at = (r.connection_index, r.group_index, r.element_index);
            let writer = plan_writer(cfg, w, at, req).map_err(element)?;
            let mut planned = plan_group(conn, g, (r.connection_index, r.group_index), index).map_err(element)?;
            planned.writers.push(writer);
            add_group(&mut p, planned);
        }
        if m.intersects(PubSubConfigurationRefMask::ReferenceReaderGroup | PubSubConfigurationRefMask::ReferenceReader) {
            if !add {
                return Err(unsupported("only ElementAdd of readers and reader groups is supported"));
            }
            let g = conn
                .reader_groups
                .iter()
                .flatten()
                .nth(r.group_index as usize)
                .ok_or_else(|| invalid(format!("no reader group {}", r.group_index)))?;
            let group = (g.name.as_ref().to_string(), g.enabled);
            let all = m.contains(PubSubConfigurationRefMask::ReferenceReaderGroup);
            for (k, rd) in g.data_set_readers.iter().flatten().enumerate() {
                if !all && k != r.element_index as usize {
                    continue;
                }
                let at = (r.connection_index, r.group_index, k as u16);
                let planned = plan_reader(rd, at, group.clone(), index, req).map_err(element)?;
                if !p.readers.iter().any(|x| x.at == at) {
                    p.readers.push(planned);
                }
            }
            if !all && g.data_set_readers.as_ref().is_none_or(|l| l.len() <= r.element_index as usize) {
                return Err(invalid(format!("no reader {} in reader group {}", r.element_index, r.group_index)));
            }
        }
    }
    check_unique(&p).map_err(|e| ApplyError::Invalid { index: 0, detail: e.to_string() })?;
    Ok(p)
}

fn connection(cfg: &PubSubConfiguration2DataType, i: u16) -> Option<&PubSubConnectionDataType> {
    cfg.connections.as_ref()?.get(i as usize)
}

fn writer_group(conn: &PubSubConnectionDataType, i: u16) -> Option<&WriterGroupDataType> {
    conn.writer_groups.as_ref()?.get(i as usize)
}

/// A referenced connection must be the one set aside for FX (a null name and PublisherId
/// match it).
fn match_connection(c: &PubSubConnectionDataType, fx: &FxConnection<'_>) -> Result<(), ElementError> {
    let profile = c.transport_profile_uri.as_ref();
    if !profile.is_empty() && profile != UDP_UADP {
        return Err(ElementError::Transport(profile.to_string()));
    }
    let name = c.name.as_ref();
    if !name.is_empty() && name != fx.name {
        return Err(ElementError::OtherConnection { given: name.to_string(), fx: fx.name.to_string() });
    }
    if !c.publisher_id.is_empty() {
        let given = PublisherId::from_variant(&c.publisher_id);
        if given.is_none() || given.as_ref() != fx.publisher_id {
            return Err(ElementError::OtherPublisherId(format!("{:?}", c.publisher_id)));
        }
    }
    Ok(())
}

fn plan_group(conn: &PubSubConnectionDataType, g: &WriterGroupDataType, at: (u16, u16), reference: usize) -> Result<PlannedGroup, ElementError> {
    let destination = group_address(g)
        .or_else(|| conn.address.inner_as::<NetworkAddressUrlDataType>().map(|a| a.url.as_ref().to_string()))
        .filter(|u| !u.is_empty())
        .ok_or(ElementError::NoDestination(at.1))?;
    crate::udp::parse_udp_url(&destination).map_err(|source| ElementError::Destination { group: at.1, url: destination.clone(), source })?;
    let interval_ms = g.publishing_interval.round();
    if !(1.0..=3_600_000.0).contains(&interval_ms) {
        return Err(ElementError::PublishingInterval { group: at.1, ms: g.publishing_interval });
    }
    let group_version = g.message_settings.inner_as::<UadpWriterGroupMessageDataType>().map(|m| m.group_version).filter(|v| *v != 0);
    Ok(PlannedGroup {
        reference,
        at,
        name: g.name.as_ref().to_string(),
        id: g.writer_group_id,
        enabled: g.enabled,
        interval_ms: interval_ms as u64,
        destination,
        max_size: g.max_network_message_size as usize,
        group_version,
        writers: Vec::new(),
    })
}

/// The address of a group's DatagramWriterGroupTransport(2).
fn group_address(g: &WriterGroupDataType) -> Option<String> {
    let t = g.transport_settings.inner_as::<DatagramWriterGroupTransport2DataType>()?;
    t.address.inner_as::<NetworkAddressUrlDataType>().map(|a| a.url.as_ref().to_string())
}

fn plan_writer(
    cfg: &PubSubConfiguration2DataType,
    w: &opcua::types::DataSetWriterDataType,
    at: ElementPath,
    req: &ApplyRequest<'_>,
) -> Result<PlannedWriter, ElementError> {
    let data_set = w.data_set_name.as_ref();
    let mut tags = Vec::new();
    if !data_set.is_empty() {
        let pds = cfg
            .published_data_sets
            .iter()
            .flatten()
            .find(|d| d.name.as_ref() == data_set)
            .ok_or_else(|| ElementError::NoDataSet { writer: at.2, name: data_set.to_string() })?;
        let items = pds
            .data_set_source
            .inner_as::<PublishedDataItemsDataType>()
            .ok_or_else(|| ElementError::NotDataItems(data_set.to_string()))?;
        for v in items.published_data.iter().flatten() {
            if v.attribute_id != 13 {
                return Err(ElementError::PublishedAttribute { name: data_set.to_string(), attribute: v.attribute_id });
            }
            let tag = (req.published)(&v.published_variable)
                .ok_or_else(|| ElementError::NotAnOutput { name: data_set.to_string(), node: v.published_variable.to_string() })?;
            tags.push(tag);
        }
    }
    let mask = w.data_set_field_content_mask.bits();
    let encoding = if mask & 0x20 != 0 {
        EncodingConfig::Raw
    } else if mask & 0x1f != 0 {
        EncodingConfig::Datavalue
    } else {
        EncodingConfig::Variant
    };
    Ok(PlannedWriter { at, name: w.name.as_ref().to_string(), id: w.data_set_writer_id, enabled: w.enabled, encoding, tags })
}

fn plan_reader(
    r: &DataSetReaderDataType,
    at: ElementPath,
    group: (String, bool),
    reference: usize,
    req: &ApplyRequest<'_>,
) -> Result<PlannedReader, ElementError> {
    let publisher = PublisherId::from_variant(&r.publisher_id)
        .ok_or_else(|| ElementError::ReaderPublisherId { reader: at.2, id: format!("{:?}", r.publisher_id) })?;
    if r.writer_group_id == 0 || r.data_set_writer_id == 0 {
        return Err(ElementError::ReaderIds(at.2));
    }
    let timeout = r.message_receive_timeout.round();
    if !(1.0..=3_600_000.0).contains(&timeout) {
        return Err(ElementError::ReceiveTimeout { reader: at.2, ms: r.message_receive_timeout });
    }
    let fields = r.data_set_meta_data.fields.as_deref().unwrap_or_default();
    let mut targets = Vec::with_capacity(fields.len());
    if !fields.is_empty() {
        let tv = r
            .subscribed_data_set
            .inner_as::<TargetVariablesDataType>()
            .ok_or(ElementError::NotTargetVariables(at.2))?;
        let list = tv.target_variables.as_deref().unwrap_or_default();
        for (i, f) in fields.iter().enumerate() {
            // By DataSetFieldId, else the field's position.
            let t = list
                .iter()
                .find(|t| !t.data_set_field_id.is_null_guid() && t.data_set_field_id == f.data_set_field_id)
                .or_else(|| list.get(i).filter(|t| t.data_set_field_id.is_null_guid() || f.data_set_field_id.is_null_guid()))
                .ok_or_else(|| ElementError::NoTarget { reader: at.2, field: f.name.as_ref().to_string() })?;
            if t.attribute_id != 13 {
                return Err(ElementError::TargetAttribute { reader: at.2, attribute: t.attribute_id });
            }
            let tag = (req.targets)(&t.target_node_id)
                .ok_or_else(|| ElementError::NotAnInput { reader: at.2, node: t.target_node_id.to_string() })?;
            targets.push(tag);
        }
    }
    Ok(PlannedReader {
        reference,
        at,
        group,
        name: r.name.as_ref().to_string(),
        enabled: r.enabled,
        key: (publisher, r.writer_group_id, r.data_set_writer_id),
        timeout_ms: timeout as u64,
        targets,
    })
}

/// A group referenced twice (as a group and through a writer) is made once.
fn add_group(p: &mut Plan, g: PlannedGroup) {
    match p.groups.iter_mut().find(|x| x.at == g.at) {
        Some(x) => {
            for w in g.writers {
                if !x.writers.iter().any(|y| y.at == w.at) {
                    x.writers.push(w);
                }
            }
        }
        None => p.groups.push(g),
    }
}

/// Given ids and names must not repeat within the configuration.
fn check_unique(p: &Plan) -> Result<(), ElementError> {
    let mut groups: Vec<u16> = p.groups.iter().map(|g| g.id).filter(|i| *i != 0).collect();
    let mut writers: Vec<u16> = p.groups.iter().flat_map(|g| g.writers.iter().map(|w| w.id)).filter(|i| *i != 0).collect();
    let n = (groups.len(), writers.len());
    groups.sort_unstable();
    groups.dedup();
    writers.sort_unstable();
    writers.dedup();
    if (groups.len(), writers.len()) != n {
        return Err(ElementError::IdTwice);
    }
    Ok(())
}

/// Whether a Guid is the null Guid (a field without a DataSetFieldId).
trait NullGuid {
    fn is_null_guid(&self) -> bool;
}

impl NullGuid for opcua::types::Guid {
    fn is_null_guid(&self) -> bool {
        self == &opcua::types::Guid::null()
    }
}
