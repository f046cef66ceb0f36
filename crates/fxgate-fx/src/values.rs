//! Values of FX structure types the instance model shows (until the typed encodings exist
//! they are carried as their fields).

use opcua::types::Variant;

/// An FxVersion {Major, Minor, Build, SubBuild}.
pub fn fx_version(v: [u16; 4]) -> Variant {
    // Placeholder until the FX structure types are encodable: the version as text.
    Variant::from(format!("{}.{}.{}.{}", v[0], v[1], v[2], v[3]))
}
