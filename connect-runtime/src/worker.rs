//! The worker: shared resources, and how one task is started and kept
//! running (failed tasks restart themselves with exponential backoff).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use sluice_connect_api::config::ConfigErrors;
use sluice_connect_api::{
    Config, ConnectError, ConnectResult, ConnectorPlugin, Registry, TaskFactory,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::worker::WorkerConfig;
use crate::connector_config::{KEY_CONVERTER, VALUE_CONVERTER};
use crate::converters::{self, TaskConverter};
use crate::errors::ErrorConfig;
use crate::kafka::TopicAdmin;
use crate::offsets::OffsetStore;
use crate::sink::{SinkInput, SinkTaskParams, run_sink_task};
use crate::source::{SourceOutput, SourceTaskParams, run_source_task};
use crate::status::{State, StatusStore};
use crate::transforms::TransformChain;

/// Resources shared by every connector and task of this worker.
#[derive(Debug)]
pub struct Worker {
    pub config: WorkerConfig,
    pub registry: Registry,
    pub offsets: Arc<dyn OffsetStore>,
    pub status: Arc<StatusStore>,
    pub admin: Arc<TopicAdmin>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Where stateful transforms keep their state (the worker's RocksDB).
    pub transform_store: Option<Arc<dyn sluice_connect_api::TransformStore>>,
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

impl TaskHandle {
    /// Waits for a signalled task to finish; after `timeout` aborts it and
    /// lets it drop its resources (metric series, heartbeats) before a
    /// replacement registers its own.
    pub async fn join_within(self, connector: &str, timeout: Duration) {
        let mut join = self.join;
        if tokio::time::timeout(timeout, &mut join).await.is_err() {
            tracing::warn!(
                connector,
                task = self.id,
                "task did not stop in time; aborting it"
            );
            join.abort();
            // An aborted task ends at its next await; one stuck in a
            // blocking call is left behind (the runtime's shutdown deadline
            // bounds it at exit).
            let _ = tokio::time::timeout(Duration::from_secs(1), join).await;
        }
    }
}

fn prefixed(config: &Config, prefix: &str) -> BTreeMap<String, String> {
    config
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|s| (s.to_string(), v.clone())))
        .collect()
}

/// What one task needs, kept to start it again after a failure.
struct TaskSpec {
    name: String,
    id: u32,
    plugin: ConnectorPlugin,
    connector_config: Config,
    task_config: Config,
    stop: watch::Receiver<bool>,
    paused: watch::Receiver<bool>,
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Worker {
    /// Drops what the deleted connector's stateful transforms remembered
    /// (a connector made again under the name starts afresh).
    pub fn forget_transform_state(&self, connector: &str) {
        if let Some(store) = &self.transform_store
            && let Err(e) = store.clear(&format!("{connector}/"))
        {
            tracing::warn!(connector, "cannot clear the transform state: {e}");
        }
    }

    /// A connector config as this worker accepts it: everything
    /// [`crate::connector_config::validate`] checks, and the client
    /// overrides against `connector.client.config.override.policy`.
    pub fn validate(
        &self,
        config: &Config,
    ) -> Result<crate::connector_config::ValidConnector, ConfigErrors> {
        let overrides = self.config.override_policy.check(config);
        match crate::connector_config::validate(&self.registry, config) {
            Ok(v) if overrides.is_empty() => Ok(v),
            Ok(_) => Err(ConfigErrors { issues: overrides }),
            Err(mut e) => {
                e.issues.extend(overrides);
                Err(e)
            }
        }
    }

    fn converters(
        &self,
        connector_config: &Config,
    ) -> ConnectResult<(TaskConverter, TaskConverter)> {
        let conv = |key: &str, is_key: bool, spec| {
            converters::build(&self.registry, spec, connector_config, key, is_key)
                .map_err(|e: ConfigErrors| ConnectError::from(e))
        };
        Ok((
            conv(KEY_CONVERTER, true, &self.config.key_converter)?,
            conv(VALUE_CONVERTER, false, &self.config.value_converter)?,
        ))
    }

    /// Starts task `id` of connector `name` with its task config.
    /// `connector_config` carries the connector-level keys (converters,
    /// client overrides, sink topics).
    pub fn start_task(
        self: &Arc<Self>,
        name: &str,
        id: u32,
        plugin: &ConnectorPlugin,
        connector_config: &Config,
        task_config: Config,
        paused: bool,
    ) -> ConnectResult<TaskHandle> {
        // A config stored before the override policy changed still
        // cannot hand the task's clients a refused key.
        let refused = self.config.override_policy.check(connector_config);
        if !refused.is_empty() {
            return Err(ConnectError::from(ConfigErrors { issues: refused }));
        }
        // Fail fast on a converter that cannot be built.
        self.converters(connector_config)?;
        let (stop_tx, stop) = watch::channel(false);
        let (pause_tx, paused) = watch::channel(paused);
        let spec = TaskSpec {
            name: name.to_string(),
            id,
            plugin: *plugin,
            connector_config: connector_config.clone(),
            task_config: task_config.clone(),
            stop,
            paused,
        };
        let join = tokio::spawn(self.clone().supervise(spec));
        Ok(TaskHandle {
            id,
            stop: stop_tx,
            pause: pause_tx,
            join,
            config: task_config,
        })
    }

    /// Runs the task; after a failure waits (exponential backoff) and runs
    /// it again, up to `task.restart.max.attempts` times.
    async fn supervise(self: Arc<Self>, mut spec: TaskSpec) {
        let policy = self.config.restart.clone();
        let mut restarts = 0u32;
        loop {
            let started = tokio::time::Instant::now();
            // A panicking connector is a failed task, not a vanished one.
            let outcome = std::panic::AssertUnwindSafe(self.run_once(&spec))
                .catch_unwind()
                .await;
            let trace = match outcome {
                Ok(None) => return,
                Ok(Some(trace)) => trace,
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".to_string());
                    let trace = format!("task panicked: {what}");
                    self.status
                        .set_task(&spec.name, spec.id, State::Failed, Some(trace.clone()));
                    trace
                }
            };
            // A run that stayed up longer than the longest backoff was
            // healthy: count the next failure as the first again.
            if started.elapsed() > policy.max_backoff {
                restarts = 0;
            }
            if *spec.stop.borrow() || !policy.enabled || restarts >= policy.max_attempts {
                if policy.enabled && restarts >= policy.max_attempts {
                    tracing::error!(connector = %spec.name, task = spec.id, restarts, "task failed too often; it stays FAILED");
                }
                return;
            }
            let delay = policy.delay(restarts);
            restarts += 1;
            let next = now_millis() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
            self.status
                .set_task_restart(&spec.name, spec.id, Some(trace), restarts, Some(next));
            tracing::warn!(connector = %spec.name, task = spec.id, restarts, delay_ms = delay.as_millis() as u64, "restarting failed task");
            tokio::select! {
                _ = spec.stop.changed() => return,
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// One run of the task; `Some(trace)` when it failed.
    async fn run_once(&self, spec: &TaskSpec) -> Option<String> {
        // Secrets are resolved at every (re)start, so a rotated secret is
        // picked up by a restart.
        let resolved = self
            .config
            .providers
            .resolve(&spec.connector_config)
            .and_then(|c| Ok((c, self.config.providers.resolve(&spec.task_config)?)));
        let (connector_config, task_config) = match resolved {
            Ok(v) => v,
            Err(e) => {
                self.status
                    .set_task(&spec.name, spec.id, State::Failed, Some(e.clone()));
                return Some(e);
            }
        };
        let (key_converter, value_converter) = match self.converters(&connector_config) {
            Ok(c) => c,
            Err(e) => {
                self.status
                    .set_task(&spec.name, spec.id, State::Failed, Some(e.trace()));
                return Some(e.trace());
            }
        };
        // Each run gets fresh transform instances, errors settings too.
        let setup = TransformChain::build(&self.registry, &connector_config)
            .and_then(|t| Ok((t, ErrorConfig::from_config(&connector_config)?)));
        let (transforms, errors) = match setup {
            Ok(v) => v,
            Err(e) => {
                let trace = ConnectError::from(e).trace();
                self.status
                    .set_task(&spec.name, spec.id, State::Failed, Some(trace.clone()));
                return Some(trace);
            }
        };
        let (name, id) = (spec.name.clone(), spec.id);
        let connector_config = &connector_config;
        let producer_props = vec![
            self.config.producer.clone(),
            prefixed(connector_config, "producer.override."),
        ];
        match spec.plugin.new_task {
            TaskFactory::Source(make) => {
                run_source_task(SourceTaskParams {
                    connector: name,
                    task_id: id,
                    config: task_config.clone(),
                    task: make(),
                    key_converter,
                    value_converter,
                    transforms,
                    errors,
                    correlation: crate::correlation::Correlation::from_config(
                        connector_config,
                        &spec.name,
                        id,
                    ),
                    output: SourceOutput::Kafka {
                        bootstrap: self.config.bootstrap_servers.clone(),
                        producer_props,
                        admin: self.admin.clone(),
                    },
                    offsets: self.offsets.clone(),
                    status: self.status.clone(),
                    metrics: self.metrics.clone(),
                    flush_interval: self.config.offset_flush_interval,
                    flush_timeout: self.config.offset_flush_timeout,
                    stop: spec.stop.clone(),
                    paused: spec.paused.clone(),
                    transform_store: self.transform_store.clone(),
                })
                .await
            }
            TaskFactory::Sink(make) => {
                let (topics, topics_regex) = crate::connector_config::sink_topics(connector_config);
                run_sink_task(SinkTaskParams {
                    connector: name,
                    task_id: id,
                    config: task_config.clone(),
                    connector_class: spec.plugin.class_name,
                    task: make(),
                    key_converter,
                    value_converter,
                    transforms,
                    errors,
                    correlation_header: crate::correlation::Correlation::from_config(
                        connector_config,
                        &spec.name,
                        id,
                    )
                    .map(|c| c.header().to_string()),
                    input: SinkInput::Kafka {
                        bootstrap: self.config.bootstrap_servers.clone(),
                        producer_props,
                        consumer_props: vec![
                            self.config.consumer.clone(),
                            prefixed(connector_config, "consumer.override."),
                        ],
                        topics,
                        topics_regex,
                        admin: self.admin.clone(),
                    },
                    status: self.status.clone(),
                    metrics: self.metrics.clone(),
                    flush_interval: self.config.offset_flush_interval,
                    flush_timeout: self.config.offset_flush_timeout,
                    stop: spec.stop.clone(),
                    paused: spec.paused.clone(),
                })
                .await
            }
        }
    }
}

/// How failed tasks restart themselves (worker keys `task.restart.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartPolicy {
    pub enabled: bool,
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl RestartPolicy {
    /// The wait before restart number `attempt + 1`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RestartPolicy {
            enabled: true,
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
        };
        let d: Vec<u64> = (0..6).map(|a| p.delay(a).as_millis() as u64).collect();
        assert_eq!(d, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.delay(u32::MAX), Duration::from_millis(1000));
    }
}
