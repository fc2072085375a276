//! The worker: shared resources and how one task is started.

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice_connect_api::config::ConfigErrors;
use sluice_connect_api::{
    Config, ConnectError, ConnectResult, ConnectorPlugin, Registry, TaskFactory,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::worker::WorkerConfig;
use crate::connector_config::{KEY_CONVERTER, TOPICS, TOPICS_REGEX, VALUE_CONVERTER};
use crate::converters;
use crate::kafka::TopicAdmin;
use crate::offsets::OffsetStore;
use crate::sink::{SinkTaskParams, run_sink_task};
use crate::source::{SourceTaskParams, run_source_task};
use crate::status::StatusStore;

/// Resources shared by every connector and task of this worker.
#[derive(Debug)]
pub struct Worker {
    pub config: WorkerConfig,
    pub registry: Registry,
    pub offsets: Arc<dyn OffsetStore>,
    pub status: Arc<StatusStore>,
    pub admin: Arc<TopicAdmin>,
}

/// A running task: signal `stop`, then await `join`.
#[derive(Debug)]
pub struct TaskHandle {
    pub id: u32,
    pub stop: watch::Sender<bool>,
    /// `true` pauses the task (PAUSED target state).
    pub pause: watch::Sender<bool>,
    pub join: JoinHandle<()>,
    /// The task's configuration, for `GET /connectors/{c}/tasks`.
    pub config: Config,
}

fn prefixed(config: &Config, prefix: &str) -> BTreeMap<String, String> {
    config
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|s| (s.to_string(), v.clone())))
        .collect()
}

impl Worker {
    /// Starts task `id` of connector `name` with its task config.
    /// `connector_config` carries the connector-level keys (converters,
    /// client overrides, sink topics).
    pub fn start_task(
        &self,
        name: &str,
        id: u32,
        plugin: &ConnectorPlugin,
        connector_config: &Config,
        task_config: Config,
        paused: bool,
    ) -> ConnectResult<TaskHandle> {
        let conv = |key: &str, is_key: bool, spec| {
            converters::build(&self.registry, spec, connector_config, key, is_key)
                .map_err(|e: ConfigErrors| ConnectError::from(e))
        };
        let key_converter = conv(KEY_CONVERTER, true, &self.config.key_converter)?;
        let value_converter = conv(VALUE_CONVERTER, false, &self.config.value_converter)?;
        let (stop_tx, stop) = watch::channel(false);
        let (pause_tx, paused) = watch::channel(paused);
        let config_copy = task_config.clone();
        let join = match plugin.new_task {
            TaskFactory::Source(make) => {
                let params = SourceTaskParams {
                    connector: name.to_string(),
                    task_id: id,
                    config: task_config,
                    task: make(),
                    key_converter,
                    value_converter,
                    bootstrap: self.config.bootstrap_servers.clone(),
                    producer_props: vec![
                        self.config.producer.clone(),
                        prefixed(connector_config, "producer.override."),
                    ],
                    offsets: self.offsets.clone(),
                    admin: self.admin.clone(),
                    status: self.status.clone(),
                    flush_interval: self.config.offset_flush_interval,
                    flush_timeout: self.config.offset_flush_timeout,
                    stop,
                    paused,
                };
                tokio::spawn(run_source_task(params))
            }
            TaskFactory::Sink(make) => {
                let topics = connector_config
                    .get(TOPICS)
                    .map(|t| {
                        t.split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                    .unwrap_or_default();
                let topics_regex = connector_config
                    .get(TOPICS_REGEX)
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty());
                let params = SinkTaskParams {
                    connector: name.to_string(),
                    task_id: id,
                    config: task_config,
                    task: make(),
                    key_converter,
                    value_converter,
                    bootstrap: self.config.bootstrap_servers.clone(),
                    consumer_props: vec![
                        self.config.consumer.clone(),
                        prefixed(connector_config, "consumer.override."),
                    ],
                    topics,
                    topics_regex,
                    admin: self.admin.clone(),
                    status: self.status.clone(),
                    flush_interval: self.config.offset_flush_interval,
                    stop,
                    paused,
                };
                tokio::spawn(run_sink_task(params))
            }
        };
        Ok(TaskHandle {
            id,
            stop: stop_tx,
            pause: pause_tx,
            join,
            config: config_copy,
        })
    }
}
