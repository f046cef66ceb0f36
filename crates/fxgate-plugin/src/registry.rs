//! The macro the registry is written with: one line per protocol makes both the
//! configuration file type and the build list.

/// Defines the configuration file type from `key: SectionType` lines, each type a
/// [`Protocol`](crate::Protocol): the file type (see [`fxgate_config::config_file!`]) plus
/// `protocols()`, the sections with their keys in the listed order, the order they are
/// built in.
#[macro_export]
macro_rules! registry {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $( $(#[$fmeta:meta])* $key:ident : $ty:ty ),* $(,)? }) => {
        fxgate_config::config_file! {
            $(#[$meta])*
            $vis struct $name { $( $(#[$fmeta])* $key: $ty ),* }
        }

        impl $name {
            /// The protocol sections with their keys, in registry order.
            pub fn protocols(&self) -> Vec<(&'static str, &dyn $crate::Protocol)> {
                vec![$( (stringify!($key), &self.$key as &dyn $crate::Protocol) ),*]
            }
        }
    };
}
