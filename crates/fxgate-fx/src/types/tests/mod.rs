//! Tests of the FX types: codecs through the type loaders, the address-space model, and NodeIds
//! checked by hand against the NodeSets' CSV files.

mod codec;
mod context;
mod model;
mod node_ids;
mod properties;
mod samples;
mod samples_conf;

/// The ConnectionConfigurationSetConfDataType samples.
pub fn conf_sets() -> Vec<crate::types::ConnectionConfigurationSetConfDataType> {
    samples_conf::conf().iter().filter_map(|o| o.inner_as::<crate::types::ConnectionConfigurationSetConfDataType>().cloned()).collect()
}
