//! Tests of the FX types: codecs through the type loaders, the address-space model, and NodeIds
//! checked by hand against the NodeSets' CSV files.

mod codec;
mod context;
mod model;
mod node_ids;
mod properties;
mod samples;
