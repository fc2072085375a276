//! Picks and configures a task's key and value converters: the connector's
//! `key.converter`/`value.converter` (with its own prefixed settings) when
//! it names one, else the worker's, as Kafka Connect does.

use sluice_connect_api::config::{ConfigErrors, ConfigIssue};
use sluice_connect_api::{Config, Registry};
use sluice_schema::converter::{Converter, ConverterConfig};

use crate::config::worker::ConverterSpec;

/// A task's converter and its class name (for error reports).
#[derive(Debug)]
pub struct TaskConverter {
    pub converter: Box<dyn Converter>,
    pub class_name: &'static str,
}

impl TaskConverter {
    /// Kafka Connect's StringConverter with no settings, for a key or a
    /// value alike (benchmarks and executor tests).
    pub fn string() -> Self {
        Self {
            converter: Box::new(sluice_schema::converter::StringConverter::default()),
            class_name: sluice_schema::converter::StringConverter::CLASS_NAME,
        }
    }
}

pub fn build(
    registry: &Registry,
    worker: &ConverterSpec,
    connector: &Config,
    key: &str,
    is_key: bool,
) -> Result<TaskConverter, ConfigErrors> {
    let (class, props) = match connector
        .get(key)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        Some(class) => {
            let prefix = format!("{key}.");
            let props = connector
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|s| (s.to_string(), v.clone())))
                .collect();
            (class.to_string(), props)
        }
        None => (worker.class.clone(), worker.props.clone()),
    };
    let plugin = registry.converter(&class).ok_or_else(|| {
        ConfigErrors::single(
            key,
            format!(
                "Invalid value {class} for configuration {key}: Class {class} could not be found."
            ),
        )
    })?;
    let converter =
        (plugin.factory)(&ConverterConfig { is_key, props }).map_err(|e| ConfigErrors {
            issues: vec![ConfigIssue {
                key: key.to_string(),
                message: format!("Invalid configuration of {key} {class}: {e}"),
            }],
        })?;
    Ok(TaskConverter {
        converter,
        class_name: plugin.class_name,
    })
}
