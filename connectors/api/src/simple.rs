//! The connector half most connectors need, ready-made: [`ConfigConnector`]
//! parses the typed config, hands the tasks their configs as a
//! [`TaskSplit`] says, and has nothing to stop. A connector that watches
//! its source (new tables, new files) implements [`crate::Connector`]
//! itself.

use std::marker::PhantomData;

use async_trait::async_trait;

use crate::Config;
use crate::config::{ConfigDef, ConfigValueReport, ConnectorConfig};
use crate::connector::Connector;
use crate::context::ConnectorContext;
use crate::error::ConnectResult;

/// How a [`ConfigConnector`] splits the work into task configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSplit {
    /// One task with the connector's config (one file, one stream).
    One,
    /// `tasks.max` tasks with the same config (sinks sharing a consumer
    /// group's partitions).
    Copies,
    /// `tasks.max` tasks, each with this key set to its index `0..n` (a
    /// generator, a source sharded by the task).
    Numbered(&'static str),
}

/// A connector whose whole job is its typed config `C`.
pub struct ConfigConnector<C> {
    version: &'static str,
    split: TaskSplit,
    config: Config,
    _config: PhantomData<fn() -> C>,
}

impl<C> std::fmt::Debug for ConfigConnector<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigConnector")
            .field("version", &self.version)
            .field("split", &self.split)
            .finish_non_exhaustive()
    }
}

impl<C: ConnectorConfig> ConfigConnector<C> {
    pub fn new(version: &'static str, split: TaskSplit) -> Self {
        Self {
            version,
            split,
            config: Config::new(),
            _config: PhantomData,
        }
    }
}

#[async_trait]
impl<C: ConnectorConfig> Connector for ConfigConnector<C> {
    fn version(&self) -> String {
        self.version.to_string()
    }

    fn config_def(&self) -> ConfigDef {
        C::definition().config_def().clone()
    }

    fn validate(&self, config: &Config) -> Vec<ConfigValueReport> {
        C::definition().validate(config)
    }

    async fn start(&mut self, config: Config, _ctx: ConnectorContext) -> ConnectResult<()> {
        C::parse(&config)?;
        self.config = config;
        Ok(())
    }

    async fn task_configs(&mut self, max_tasks: usize) -> ConnectResult<Vec<Config>> {
        Ok(match self.split {
            TaskSplit::One => vec![self.config.clone()],
            TaskSplit::Copies => vec![self.config.clone(); max_tasks],
            TaskSplit::Numbered(key) => (0..max_tasks)
                .map(|i| {
                    let mut c = self.config.clone();
                    c.insert(key.to_string(), i.to_string());
                    c
                })
                .collect(),
        })
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}
