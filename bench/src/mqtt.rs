//! MQTT settings shared by `mqtt-push` and `mqtt-sink`.

use rumqttc::QoS;

/// The QoS of a `--qos` option: 0, 1, anything higher is 2.
pub fn qos(q: u8) -> QoS {
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_levels() {
        assert_eq!(qos(0), QoS::AtMostOnce);
        assert_eq!(qos(1), QoS::AtLeastOnce);
        assert_eq!(qos(2), QoS::ExactlyOnce);
        assert_eq!(qos(9), QoS::ExactlyOnce);
    }
}
