//! `sluice schema-registry REGISTRY.properties`: the schema registry on its own.

use std::path::Path;

use anyhow::{Context, Result};
use sluice_schema_registry::RegistryConfig;

use crate::config::properties;

/// Reads a `schema-registry.properties` file (Confluent's keys).
pub fn load(path: &Path) -> Result<RegistryConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let props =
        properties::parse(&text).with_context(|| format!("cannot parse {}", path.display()))?;
    RegistryConfig::from_props(&props)
        .with_context(|| format!("invalid config in {}", path.display()))
}

/// Serves until SIGINT or SIGTERM.
pub async fn run(config: RegistryConfig) -> Result<()> {
    let running = sluice_schema_registry::server::start(&config)
        .await
        .context("cannot start the schema registry")?;
    tracing::info!(addresses = ?running.addresses, topic = %config.store.topic, "schema registry started");
    crate::standalone::shutdown_signal().await;
    running.shutdown().await;
    tracing::info!("schema registry stopped");
    Ok(())
}
