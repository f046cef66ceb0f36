//! The registry: the one list of protocols. Each line names a top-level key of the
//! configuration file and the protocol section type behind it; the topology, validation and
//! the configuration file type all follow from this list, and name no protocol themselves.
//! Adding a protocol is one line here (plus its crate in `Cargo.toml`).

use std::path::Path;

use fxgate_config::ConfigError;
#[cfg(test)]
use fxgate_config::ConfigFile;

fxgate_plugin::registry! {
    /// The whole configuration file: the gateway's own sections and every protocol's.
    pub struct Config {
        /// `[[simulator]]`: simulated devices.
        simulator: fxgate_simulator::Simulators,
        /// `[[device]]`: field devices on client lines (Modbus TCP).
        device: fxgate_modbus::Devices,
        /// `[[modbus_server]]`: Modbus TCP servers on server lines.
        modbus_server: fxgate_modbus::ModbusServers,
        /// `[[iec104_device]]`: IEC 60870-5-104 controlled stations on client lines.
        iec104_device: fxgate_iec104::Iec104Devices,
        /// `[[iec104_server]]`: IEC 60870-5-104 servers (controlled station) on server lines.
        iec104_server: fxgate_iec104::Iec104Servers,
        /// `[[mqtt]]`: MQTT clients (one or two brokers) on client lines.
        mqtt: fxgate_mqtt::MqttClients,
        /// `[[websocket]]`: northbound WebSocket clients.
        websocket: fxgate_websocket::Websockets,
        /// `[[upstream]]`: upstream OPC UA servers (aggregation, an OPC UA server extension).
        upstream: fxgate_upstream::Upstreams,
        /// `[fx]`: the OPC UA FX model (an OPC UA server extension; after the aggregation,
        /// whose upstream sessions it uses).
        fx: fxgate_fx::config::FxConfig,
        /// `[[pubsub]]`: OPC UA PubSub connections (UADP over UDP): writer groups publishing
        /// tags, readers writing the fields they receive into their own tags (after FX, whose
        /// namespaces keep their indexes; it fills FX's slot for PubSub ids).
        pubsub: fxgate_pubsub::PubSubConnections,
    }
}

/// The configuration used when `fxgate run` is given no file.
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// The embedded default configuration.
pub fn default_config() -> Result<Config, Vec<ConfigError>> {
    fxgate_config::parse(DEFAULT_CONFIG, Path::new(fxgate_config::DEFAULT_CONFIG_NAME), Path::new("."))
}

/// Parses and validates a whole configuration text: what run-time changes check before
/// they are written back.
pub fn check_text(text: &str, file: &Path, config_dir: &Path) -> Result<(), Vec<ConfigError>> {
    fxgate_config::parse::<Config>(text, file, config_dir).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_and_sections_list_the_same_keys() {
        let c = Config::default();
        let protocols: Vec<_> = c.protocols().into_iter().map(|(k, _)| k).collect();
        let sections: Vec<_> = c.sections().into_iter().map(|(k, _)| k).collect();
        assert_eq!(protocols, sections);
    }
}
