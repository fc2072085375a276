//! The plugins compiled into this worker binary.

use sluice_connect_api::Registry;

/// Built-in converters plus every connector crate enabled by features.
pub fn registry() -> Registry {
    #[allow(unused_mut)]
    let mut r = Registry::with_builtin_converters();
    sluice_transforms::register(&mut r);
    #[cfg(feature = "file")]
    sluice_connector_file::register(&mut r);
    #[cfg(feature = "datagen")]
    sluice_connector_datagen::register(&mut r);
    r
}
