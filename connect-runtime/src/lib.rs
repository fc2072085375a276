//! The Sluice worker runtime.
//!
//! - [`config`]: worker and connector configuration files (Java properties,
//!   JSON, `CONNECT_*` overrides).
//! - [`connector_config`]: the keys every connector has; full validation of a
//!   connector config against the plugin registry.
//! - [`source`] / [`sink`]: task executors (the data path of DESIGN.md §4).
//! - [`offsets`]: the source offset store (RocksDB, memory).
//! - [`herder`]: connector and task lifecycle.
//! - [`rest`]: the Kafka Connect-compatible REST API.
//! - [`standalone`]: `sluice standalone`, wiring it all together.
//! - [`distributed`]: `sluice distributed`, a cluster of workers sharing
//!   connectors and tasks through Kafka.
//! - [`main_with`]: the `sluice` command line with a registry of your
//!   choice ([`plugins::registry`] plus your own connectors).

pub mod anomaly;
mod cli;
pub mod config;
pub mod connector_config;
pub mod converters;
pub mod correlation;
pub mod dedupe;
pub mod distributed;
pub mod docs;
pub mod errors;
mod headers;
pub mod herder;
pub mod http_client;
pub mod kafka;
pub mod logging;
pub mod metrics;
pub mod offsets;
pub mod plugins;
pub mod registry;
pub mod rest;
pub mod secrets;
pub mod sink;
pub mod source;
pub mod standalone;
pub mod state;
pub mod status;
#[cfg(test)]
mod test_util;
pub use sluice_tls as tls;
pub mod transforms;
mod wiring;
pub mod worker;

pub use cli::main_with;

/// This build's version, shown by `GET /`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit this binary was built from.
pub const COMMIT: &str = env!("SLUICE_GIT_COMMIT");
