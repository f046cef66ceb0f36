//! The shared runtime kit every protocol takes its common pieces from, so that each exists
//! once: the reconnect [`backoff`], the [`status`] folder (state tags, metrics and health
//! together), the connection [`supervisor`] loop and the [`log_limit`] for frequent warnings.

pub mod backoff;
pub mod log_limit;
pub mod log_ring;
pub mod status;
pub mod supervisor;
