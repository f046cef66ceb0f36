//! Type loaders so that a server (or client) decodes ExtensionObjects of the FX structures into
//! the Rust types. Each loader serves one namespace and matches the encoding id's namespace
//! index against that namespace's URI in the decoding context, so the ids are resolved at run
//! time, whatever index the server gives the namespace.

use std::sync::{Arc, LazyLock};

use opcua::types::{StaticTypeLoader, TypeLoader, TypeLoaderInstance};

use super::def::Ns;
use super::registry::register_binary;

macro_rules! namespace_loader {
    ($(#[$meta:meta])* $loader:ident, $instance:ident, $ns:ident) => {
        static $instance: LazyLock<TypeLoaderInstance> = LazyLock::new(|| {
            let mut instance = TypeLoaderInstance::new();
            register_binary(Ns::$ns, &mut instance);
            instance
        });

        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $loader;

        impl StaticTypeLoader for $loader {
            fn instance() -> &'static TypeLoaderInstance {
                &$instance
            }

            fn namespace() -> &'static str {
                Ns::$ns.uri()
            }
        }
    };
}

namespace_loader!(
    /// Decodes the structures of the FX Data namespace.
    FxDataTypeLoader, FX_DATA_TYPES, Data
);
namespace_loader!(
    /// Decodes the structures of the FX AC namespace.
    FxAcTypeLoader, FX_AC_TYPES, Ac
);
namespace_loader!(
    /// Decodes the structures of the FX CM namespace.
    FxCmTypeLoader, FX_CM_TYPES, Cm
);

namespace_loader!(
    /// Decodes fxgate's own structures (the diagnostics types the NodeSets lack).
    FxgateTypeLoader, FXGATE_TYPES, Fxgate
);

/// The type loaders of the FX namespaces (binary encoding; this workspace builds async-opcua
/// without its `json` and `xml` features). DI defines no structures FX uses.
pub fn type_loaders() -> Vec<Arc<dyn TypeLoader>> {
    vec![
        Arc::new(FxDataTypeLoader),
        Arc::new(FxAcTypeLoader),
        Arc::new(FxCmTypeLoader),
        Arc::new(FxgateTypeLoader),
    ]
}
