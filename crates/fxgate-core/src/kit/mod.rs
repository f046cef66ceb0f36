//! The shared runtime kit every protocol takes its common pieces from, so that each exists
//! once: the reconnect [`backoff`], the [`status`] folder (state tags, metrics and health
//! together) and the connection [`supervisor`] loop.

pub mod backoff;
pub mod status;
pub mod supervisor;
