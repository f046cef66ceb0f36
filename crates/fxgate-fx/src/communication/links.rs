//! CommunicationLinks checked against the PubSub configuration before it is applied (OPC
//! 10000-81 §6.2.4.3.9.2, Table 16): the reference masks (Bad_InvalidArgument), the elements
//! (Bad_NotFound), the Mode (Bad_NoMatch), the DataSet versions (Bad_ConfigurationError) and
//! the endpoint's variables in the DataSets (Bad_NoMatch).

use opcua::types::{
    ConfigurationVersionDataType, DataSetReaderDataType, DataSetWriterDataType, ExtensionObject, NodeId, PubSubConfiguration2DataType,
    PubSubConfigurationRefDataType, PubSubConfigurationRefMask, PublishedDataItemsDataType, StatusCode, TargetVariablesDataType,
};

use fxgate_plugin::ElementPath;

use crate::endpoints::Endpoint;
use crate::types::{body, PubSubCommunicationLinkConfigurationDataType};

/// The reader and writer an endpoint is to be linked to.
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    /// The endpoint.
    pub endpoint: NodeId,
    /// Its DataSetReader, if its Mode has one.
    pub reader: Option<ElementPath>,
    /// Its DataSetWriter, if its Mode has one.
    pub writer: Option<ElementPath>,
}

/// (reader, writer) the Mode requires: PublisherSubscriber 1 both, Publisher 2 the writer,
/// Subscriber 3 the reader.
pub fn required(mode: i32) -> (bool, bool) {
    match mode {
        2 => (false, true),
        3 => (true, false),
        _ => (true, true),
    }
}

/// Checks every target's links; Err holds the CommunicationLinksResults (the failing ones'
/// codes, Bad_NothingToDo for the rest).
pub fn check(
    registry: &[Endpoint],
    cfg: &PubSubConfiguration2DataType,
    targets: &[(Option<NodeId>, &ExtensionObject)],
) -> Result<Vec<Option<Wanted>>, Vec<StatusCode>> {
    let checked: Vec<Result<Option<Wanted>, StatusCode>> = targets.iter().map(|(node, links)| check_one(registry, cfg, node.as_ref(), links)).collect();
    if checked.iter().all(|c| c.is_ok()) {
        return Ok(checked.into_iter().flatten().collect());
    }
    Err(checked.into_iter().map(|c| c.err().unwrap_or(StatusCode::BadNothingToDo)).collect())
}

fn check_one(
    registry: &[Endpoint],
    cfg: &PubSubConfiguration2DataType,
    node: Option<&NodeId>,
    links: &ExtensionObject,
) -> Result<Option<Wanted>, StatusCode> {
    if links.is_null() {
        return Ok(None);
    }
    let l = body::<PubSubCommunicationLinkConfigurationDataType>(links).map_err(|_| StatusCode::BadInvalidArgument)?;
    let node = node.ok_or(StatusCode::BadNodeIdUnknown)?;
    let e = registry.iter().find(|e| &e.node == node).ok_or(StatusCode::BadNodeIdUnknown)?;
    if e.reader.is_some() || e.writer.is_some() {
        return Err(StatusCode::BadInvalidState); // at most one ToDataSetReader and ToDataSetWriter
    }
    let reader_at = reference(&l.data_set_reader_ref, PubSubConfigurationRefMask::ReferenceReader)?;
    let writer_at = reference(&l.data_set_writer_ref, PubSubConfigurationRefMask::ReferenceWriter)?;
    if required(e.mode) != (reader_at.is_some(), writer_at.is_some()) {
        return Err(StatusCode::BadNoMatch);
    }
    if let Some(at) = reader_at {
        let r = reader(cfg, at).ok_or(StatusCode::BadNotFound)?;
        if !version_matches(&l.expected_subscribed_data_set_version, &r.data_set_meta_data.configuration_version) {
            return Err(StatusCode::BadConfigurationError);
        }
        let targets: Vec<&NodeId> = r
            .subscribed_data_set
            .inner_as::<TargetVariablesDataType>()
            .map(|t| t.target_variables.iter().flatten().map(|v| &v.target_node_id).collect())
            .unwrap_or_default();
        if !e.inputs.iter().all(|i| targets.contains(&i)) {
            return Err(StatusCode::BadNoMatch);
        }
    }
    if let Some(at) = writer_at {
        let w = writer(cfg, at).ok_or(StatusCode::BadNotFound)?;
        let data_set = w.data_set_name.as_ref();
        let (version, published) = if data_set.is_empty() {
            (None, Vec::new()) // a heartbeat
        } else {
            let pds = cfg.published_data_sets.iter().flatten().find(|d| d.name.as_ref() == data_set).ok_or(StatusCode::BadNotFound)?;
            let vars = pds
                .data_set_source
                .inner_as::<PublishedDataItemsDataType>()
                .map(|p| p.published_data.iter().flatten().map(|v| &v.published_variable).collect())
                .unwrap_or_default();
            (Some(&pds.data_set_meta_data.configuration_version), vars)
        };
        if let Some(v) = version {
            if !version_matches(&l.expected_published_data_set_version, v) {
                return Err(StatusCode::BadConfigurationError);
            }
        }
        if !e.outputs.iter().all(|o| published.contains(&o)) {
            return Err(StatusCode::BadNoMatch);
        }
    }
    Ok(Some(Wanted { endpoint: node.clone(), reader: reader_at, writer: writer_at }))
}

/// A link reference: null (no bits), or exactly the `kind` bit (Table 16: anything else is
/// an invalid ConfigurationMask).
fn reference(r: &PubSubConfigurationRefDataType, kind: PubSubConfigurationRefMask) -> Result<Option<ElementPath>, StatusCode> {
    if r.configuration_mask.is_empty() {
        return Ok(None);
    }
    if r.configuration_mask != kind {
        return Err(StatusCode::BadInvalidArgument);
    }
    Ok(Some((r.connection_index, r.group_index, r.element_index)))
}

fn reader(cfg: &PubSubConfiguration2DataType, (c, g, e): ElementPath) -> Option<&DataSetReaderDataType> {
    cfg.connections.as_ref()?.get(c as usize)?.reader_groups.as_ref()?.get(g as usize)?.data_set_readers.as_ref()?.get(e as usize)
}

fn writer(cfg: &PubSubConfiguration2DataType, (c, g, e): ElementPath) -> Option<&DataSetWriterDataType> {
    cfg.connections.as_ref()?.get(c as usize)?.writer_groups.as_ref()?.get(g as usize)?.data_set_writers.as_ref()?.get(e as usize)
}

/// MajorVersion 0 skips the check, MinorVersion 0 the minor part (§6.2.4.3.9.2).
fn version_matches(expected: &ConfigurationVersionDataType, actual: &ConfigurationVersionDataType) -> bool {
    expected.major_version == 0
        || (expected.major_version == actual.major_version && (expected.minor_version == 0 || expected.minor_version == actual.minor_version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_with_zero_parts_are_not_checked() {
        let v = |major, minor| ConfigurationVersionDataType { major_version: major, minor_version: minor };
        assert!(version_matches(&v(0, 9), &v(5, 5)));
        assert!(version_matches(&v(5, 0), &v(5, 7)));
        assert!(version_matches(&v(5, 7), &v(5, 7)));
        assert!(!version_matches(&v(5, 8), &v(5, 7)));
        assert!(!version_matches(&v(4, 0), &v(5, 7)));
    }

    #[test]
    fn a_link_reference_is_null_or_exactly_its_kind() {
        let r = |bits: i32| PubSubConfigurationRefDataType {
            configuration_mask: PubSubConfigurationRefMask::from_bits_retain(bits),
            element_index: 2,
            connection_index: 0,
            group_index: 1,
        };
        let reader = PubSubConfigurationRefMask::ReferenceReader;
        assert_eq!(reference(&r(0), reader), Ok(None));
        assert_eq!(reference(&r(32), reader), Ok(Some((0, 1, 2))));
        assert_eq!(reference(&r(32 | 1), reader), Err(StatusCode::BadInvalidArgument));
        assert_eq!(reference(&r(16), reader), Err(StatusCode::BadInvalidArgument));
    }
}
