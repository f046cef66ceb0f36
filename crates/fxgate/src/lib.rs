//! `fxgate` as a library: the registry, the one list of protocols and the configuration file
//! type it makes. The binary (`main.rs`) runs the gateway on it; the fuzz targets
//! (`crates/fxgate-fuzz`) validate configuration texts with it, as `fxgate check-config` does.

#![warn(missing_docs)]

pub mod registry;
