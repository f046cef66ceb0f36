//! The namespaces of the FX model and their indexes in the server.

/// OPC UA FX Data (OPC 10000-81, prefix 2 in the specification's tables).
pub const FX_DATA: &str = "http://opcfoundation.org/UA/FX/Data/";
/// OPC UA FX AutomationComponent (prefix 3).
pub const FX_AC: &str = "http://opcfoundation.org/UA/FX/AC/";
/// OPC UA FX ConnectionManager (prefix 4).
pub const FX_CM: &str = "http://opcfoundation.org/UA/FX/CM/";
/// OPC UA for Devices (DI, OPC 10000-100; prefix 5).
pub const DI: &str = "http://opcfoundation.org/UA/DI/";
/// fxgate's own namespace of the FX instances (AutomationComponents, Assets, FunctionalEntities,
/// ConnectionEndpoints, the ConnectionManager's sets). It must differ from the application URI.
pub const FX_INSTANCES: &str = "urn:fxgate:fx";

/// Every namespace the FX model serves, in the order they are first added to the persisted
/// namespace table.
pub const ALL: [&str; 5] = [FX_DATA, FX_AC, FX_CM, DI, FX_INSTANCES];

/// The server indexes of the FX namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FxNamespaces {
    /// [`FX_DATA`].
    pub data: u16,
    /// [`FX_AC`].
    pub ac: u16,
    /// [`FX_CM`].
    pub cm: u16,
    /// [`DI`].
    pub di: u16,
    /// [`FX_INSTANCES`].
    pub instances: u16,
}

impl FxNamespaces {
    /// The index of `uri`, one of [`ALL`].
    pub fn index_of(&self, uri: &str) -> Option<u16> {
        match uri {
            FX_DATA => Some(self.data),
            FX_AC => Some(self.ac),
            FX_CM => Some(self.cm),
            DI => Some(self.di),
            FX_INSTANCES => Some(self.instances),
            _ => None,
        }
    }
}
