//! The plugin registry: how the runtime finds connectors and converters by
//! the class names users write in their configs.

use std::fmt;

use sluice_schema::converter::{ConvertError, Converter, ConverterConfig};

use crate::connector::{Connector, SinkTask, SourceTask};
use crate::transform::{PredicatePlugin, TransformPlugin};

/// Source or sink; shown as `"source"`/`"sink"` by the REST API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectorType {
    Source,
    Sink,
}

impl ConnectorType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Sink => "sink",
        }
    }
}

/// Creates the tasks of a connector plugin.
#[derive(Clone, Copy)]
pub enum TaskFactory {
    Source(fn() -> Box<dyn SourceTask>),
    Sink(fn() -> Box<dyn SinkTask>),
}

impl fmt::Debug for TaskFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Source(_) => f.write_str("TaskFactory::Source"),
            Self::Sink(_) => f.write_str("TaskFactory::Sink"),
        }
    }
}

/// A connector plugin: its names and how to make the connector and tasks.
#[derive(Debug, Clone, Copy)]
pub struct ConnectorPlugin {
    /// The fully qualified Kafka Connect class name, where one exists
    /// (`org.apache.kafka.connect.file.FileStreamSourceConnector`).
    pub class_name: &'static str,
    /// Extra names besides the ones derived from the class name.
    pub aliases: &'static [&'static str],
    pub version: &'static str,
    pub new_connector: fn() -> Box<dyn Connector>,
    pub new_task: TaskFactory,
}

impl ConnectorPlugin {
    pub fn connector_type(&self) -> ConnectorType {
        match self.new_task {
            TaskFactory::Source(_) => ConnectorType::Source,
            TaskFactory::Sink(_) => ConnectorType::Sink,
        }
    }

    fn answers_to(&self, name: &str) -> bool {
        matches_class(self.class_name, self.aliases, "Connector", name)
    }
}

/// Creates a converter from its settings.
pub type ConverterFactory = fn(&ConverterConfig) -> Result<Box<dyn Converter>, ConvertError>;

/// A converter plugin.
#[derive(Debug, Clone, Copy)]
pub struct ConverterPlugin {
    pub class_name: &'static str,
    pub aliases: &'static [&'static str],
    pub factory: ConverterFactory,
}

/// Kafka Connect's alias rules: the full class name, the simple class name,
/// and the simple name without its type suffix (`FileStreamSourceConnector`
/// and `FileStreamSource`; `JsonConverter` and `Json`).
fn matches_class(class_name: &str, aliases: &[&str], suffix: &str, name: &str) -> bool {
    if name == class_name || aliases.contains(&name) {
        return true;
    }
    let simple = class_name.rsplit('.').next().unwrap_or(class_name);
    name == simple
        || simple
            .strip_suffix(suffix)
            .is_some_and(|s| !s.is_empty() && s == name)
}

/// Every plugin this worker binary was built with.
#[derive(Debug, Default, Clone)]
pub struct Registry {
    connectors: Vec<ConnectorPlugin>,
    converters: Vec<ConverterPlugin>,
    transforms: Vec<TransformPlugin>,
    predicates: Vec<PredicatePlugin>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register_connector(&mut self, plugin: ConnectorPlugin) {
        self.connectors.push(plugin);
    }

    pub fn register_converter(&mut self, plugin: ConverterPlugin) {
        self.converters.push(plugin);
    }

    pub fn register_transform(&mut self, plugin: TransformPlugin) {
        self.transforms.push(plugin);
    }

    pub fn register_predicate(&mut self, plugin: PredicatePlugin) {
        self.predicates.push(plugin);
    }

    /// Finds a transform by class name, alias or simple class name
    /// (`InsertField$Value`).
    pub fn transform(&self, name: &str) -> Option<&TransformPlugin> {
        let name = name.trim();
        self.transforms
            .iter()
            .find(|p| matches_class(p.class_name, p.aliases, "", name))
    }

    /// Finds a predicate by class name, alias or simple class name.
    pub fn predicate(&self, name: &str) -> Option<&PredicatePlugin> {
        let name = name.trim();
        self.predicates
            .iter()
            .find(|p| matches_class(p.class_name, p.aliases, "", name))
    }

    pub fn transforms(&self) -> &[TransformPlugin] {
        &self.transforms
    }

    pub fn predicates(&self) -> &[PredicatePlugin] {
        &self.predicates
    }

    /// Finds a connector by class name or alias.
    pub fn connector(&self, name: &str) -> Option<&ConnectorPlugin> {
        let name = name.trim();
        self.connectors.iter().find(|p| p.answers_to(name))
    }

    /// Finds a converter by class name or alias.
    pub fn converter(&self, name: &str) -> Option<&ConverterPlugin> {
        let name = name.trim();
        self.converters
            .iter()
            .find(|p| matches_class(p.class_name, p.aliases, "Converter", name))
    }

    pub fn connectors(&self) -> &[ConnectorPlugin] {
        &self.connectors
    }

    pub fn converters(&self) -> &[ConverterPlugin] {
        &self.converters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_alias_rules() {
        let c = "org.apache.kafka.connect.file.FileStreamSourceConnector";
        assert!(matches_class(c, &[], "Connector", c));
        assert!(matches_class(
            c,
            &[],
            "Connector",
            "FileStreamSourceConnector"
        ));
        assert!(matches_class(c, &[], "Connector", "FileStreamSource"));
        assert!(!matches_class(c, &[], "Connector", "FileStreamSink"));
        assert!(matches_class(c, &["files"], "Connector", "files"));
    }
}
