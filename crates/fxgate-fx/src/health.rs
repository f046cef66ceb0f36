//! Health (OPC 10000-81 §5.6, §6): CommHealth of a FunctionalEntity's ConnectionEndpoints,
//! its OperationalHealth, and an AutomationComponent's AggregatedOperationalHealth and
//! AggregatedDeviceHealth.

/// ConnectionEndpointStatusEnum values (§10.13).
pub mod status {
    /// Initial: created, the communication model objects are not all there.
    pub const INITIAL: i32 = 0;
    /// Ready: referenced communication objects exist but are disabled.
    pub const READY: i32 = 1;
    /// PreOperational.
    pub const PRE_OPERATIONAL: i32 = 2;
    /// Operational.
    pub const OPERATIONAL: i32 = 3;
    /// Error.
    pub const ERROR: i32 = 4;
}

/// CommHealthOptionSet bits of a set of endpoint statuses (the OR of CommInitial b0,
/// CommPreOperational b1, CommError b2).
pub fn comm_health(statuses: impl IntoIterator<Item = i32>) -> u16 {
    statuses.into_iter().fold(0, |acc, s| {
        acc | match s {
            status::INITIAL => 1,
            status::PRE_OPERATIONAL => 2,
            status::ERROR => 4,
            _ => 0,
        }
    })
}

/// OperationalHealth of a top-level FunctionalEntity without sub-entities: its CommHealth in the
/// low 16 bits (no operational warnings or errors are known to the gateway).
pub fn operational_health(comm: u16) -> u32 {
    u32::from(comm)
}

/// DeviceHealthEnumeration (DI) of a device: NORMAL 0, FAILURE 1, CHECK_FUNCTION 2, OFF_SPEC 3,
/// MAINTENANCE_REQUIRED 4.
pub mod device {
    /// NORMAL.
    pub const NORMAL: i32 = 0;
    /// FAILURE.
    pub const FAILURE: i32 = 1;
    /// CHECK_FUNCTION.
    pub const CHECK_FUNCTION: i32 = 2;
    /// OFF_SPEC.
    pub const OFF_SPEC: i32 = 3;
    /// MAINTENANCE_REQUIRED.
    pub const MAINTENANCE_REQUIRED: i32 = 4;
}

/// AggregatedDeviceHealth (DeviceHealthOptionSet) of the top-level Assets' DeviceHealth values:
/// Failure b0, CheckFunction b1, MaintenanceRequired b2, OffSpec b3.
pub fn aggregated_device_health(devices: impl IntoIterator<Item = i32>) -> u16 {
    devices.into_iter().fold(0, |acc, d| {
        acc | match d {
            device::FAILURE => 1,
            device::CHECK_FUNCTION => 2,
            device::MAINTENANCE_REQUIRED => 4,
            device::OFF_SPEC => 8,
            _ => 0,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_health_ors_the_endpoint_states() {
        assert_eq!(comm_health([]), 0);
        assert_eq!(comm_health([status::OPERATIONAL, status::READY]), 0);
        assert_eq!(comm_health([status::INITIAL]), 1);
        assert_eq!(comm_health([status::INITIAL, status::PRE_OPERATIONAL, status::ERROR]), 7);
        assert_eq!(operational_health(5), 5);
    }

    #[test]
    fn device_health_maps_to_option_bits() {
        assert_eq!(aggregated_device_health([device::NORMAL]), 0);
        assert_eq!(aggregated_device_health([device::FAILURE, device::NORMAL]), 1);
        assert_eq!(aggregated_device_health([device::OFF_SPEC, device::MAINTENANCE_REQUIRED, device::CHECK_FUNCTION]), 14);
    }
}
