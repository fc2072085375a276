//! One connector's lifecycle on this worker: its connector instance and
//! task handles, and how they start and stop. Connector code (`start`,
//! `task_configs`, `stop`) always runs with a timeout, and a connector that
//! exceeds it is shown FAILED with a message saying so.

use std::sync::Arc;
use std::time::Duration;

use sluice_connect_api::{
    Config, ConnectError, ConnectResult, Connector, ConnectorContext, ConnectorPlugin,
    ConnectorRequest,
};
use tokio::sync::mpsc::UnboundedSender;

use super::ConnectorInfo;
use crate::connector_config;
use crate::herder::bounded;
use crate::state::TargetState;
use crate::status::State;
use crate::worker::{TaskHandle, Worker};

/// What runs for one connector.
pub(super) struct Running {
    pub(super) config: Config,
    pub(super) plugin: ConnectorPlugin,
    /// `None` while STOPPED (or when it failed to start).
    pub(super) connector: Option<Box<dyn Connector>>,
    pub(super) tasks: Vec<TaskHandle>,
    pub(super) target: TargetState,
}

pub(super) fn state_of(target: TargetState) -> State {
    match target {
        TargetState::Running => State::Running,
        TargetState::Paused => State::Paused,
        TargetState::Stopped => State::Stopped,
    }
}

/// What a lifecycle change needs from the herder.
pub(super) struct Lifecycle<'a> {
    pub(super) worker: &'a Arc<Worker>,
    pub(super) requests: &'a UnboundedSender<(String, ConnectorRequest)>,
}

impl Lifecycle<'_> {
    /// `task.shutdown.graceful.timeout.ms`, at least a second.
    pub(super) fn stop_timeout(&self) -> Duration {
        self.worker
            .config
            .shutdown_timeout
            .max(Duration::from_secs(1))
    }

    fn start_timeout(&self) -> Duration {
        self.worker.config.connector_start_timeout
    }

    /// Starts the connector and its tasks as the target state says.
    pub(super) async fn start(&self, name: &str, running: &mut Running) {
        if running.target == TargetState::Stopped {
            let ctype = running.plugin.connector_type();
            self.worker.status.clear_tasks(name);
            self.worker
                .status
                .set_connector(name, ctype, State::Stopped, None);
            return;
        }
        if self.start_connector(name, running).await
            && let Err(e) = self.start_tasks(name, running).await
        {
            let ctype = running.plugin.connector_type();
            tracing::error!(connector = name, error = %e.trace(), "cannot start the connector's tasks");
            self.worker
                .status
                .set_connector(name, ctype, State::Failed, Some(e.trace()));
        }
    }

    /// Starts the connector instance only; `false` when it failed.
    pub(super) async fn start_connector(&self, name: &str, running: &mut Running) -> bool {
        let ctype = running.plugin.connector_type();
        let status = &self.worker.status;
        let tx = self.requests.clone();
        let owner = name.to_string();
        let ctx = ConnectorContext::new(name, move |req| {
            let _ = tx.send((owner.clone(), req));
        });
        let mut connector = (running.plugin.new_connector)();
        let resolved = match self.worker.config.providers.resolve(&running.config) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(connector = name, error = %e, "connector config cannot be resolved");
                status.set_connector(name, ctype, State::Failed, Some(e));
                return false;
            }
        };
        let started = bounded(
            "start",
            crate::config::worker::CONNECTOR_START_TIMEOUT,
            self.start_timeout(),
            connector.start(resolved, ctx),
        )
        .await;
        if let Err(e) = started {
            tracing::error!(connector = name, error = %e.trace(), "connector failed to start");
            status.set_connector(name, ctype, State::Failed, Some(e.trace()));
            self.worker.metrics.connector_started(false);
            return false;
        }
        self.worker.metrics.connector_started(true);
        self.worker
            .metrics
            .flows()
            .configure(name, ctype, &running.config);
        running.connector = Some(connector);
        status.set_connector(name, ctype, state_of(running.target), None);
        tracing::info!(
            connector = name,
            class = running.plugin.class_name,
            "connector started"
        );
        true
    }

    pub(super) async fn start_tasks(&self, name: &str, running: &mut Running) -> ConnectResult<()> {
        let tasks_max = running
            .config
            .get(connector_config::TASKS_MAX)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(1usize);
        let limit = self.start_timeout();
        let Some(connector) = running.connector.as_mut() else {
            return Ok(());
        };
        let providers = &self.worker.config.providers;
        let resolved = providers
            .resolve(&running.config)
            .map_err(ConnectError::fatal)?;
        // Task configs come from the resolved config; put the placeholders
        // back so secrets never show in the REST API.
        let configs: Vec<Config> = bounded(
            "task_configs",
            crate::config::worker::CONNECTOR_START_TIMEOUT,
            limit,
            connector.task_configs(tasks_max),
        )
        .await?
        .into_iter()
        .map(|c| providers.reverse(&running.config, &resolved, c))
        .collect();
        self.worker.status.clear_tasks(name);
        let paused = running.target == TargetState::Paused;
        for (i, task_config) in configs.into_iter().take(tasks_max).enumerate() {
            let id = u32::try_from(i).unwrap_or(u32::MAX);
            if let Some(h) = self.launch_task(name, running, id, task_config, paused) {
                running.tasks.push(h);
            }
        }
        Ok(())
    }

    /// Starts one task; a task that cannot start is shown FAILED.
    pub(super) fn launch_task(
        &self,
        name: &str,
        running: &Running,
        id: u32,
        config: Config,
        paused: bool,
    ) -> Option<TaskHandle> {
        self.worker
            .status
            .set_task(name, id, State::Unassigned, None);
        match self
            .worker
            .start_task(name, id, &running.plugin, &running.config, config, paused)
        {
            Ok(h) => Some(h),
            Err(e) => {
                self.worker
                    .status
                    .set_task(name, id, State::Failed, Some(e.trace()));
                None
            }
        }
    }

    /// Stops the tasks in parallel (each flushes and commits), aborting
    /// those that take longer than the shutdown timeout.
    pub(super) async fn stop_tasks(&self, name: &str, running: &mut Running) {
        for t in &running.tasks {
            let _ = t.stop.send(true);
        }
        let timeout = self.stop_timeout();
        let joins = running
            .tasks
            .drain(..)
            .map(|t| t.join_within(name, timeout));
        futures::future::join_all(joins).await;
    }

    /// Stops the connector instance, within the shutdown timeout.
    pub(super) async fn stop_connector(&self, name: &str, running: &mut Running) {
        if let Some(mut c) = running.connector.take() {
            let stopped = bounded(
                "stop",
                crate::config::worker::SHUTDOWN_TIMEOUT,
                self.stop_timeout(),
                c.stop(),
            )
            .await;
            if let Err(e) = stopped {
                tracing::warn!(connector = %name, error = %e.trace(), "error stopping connector");
            }
            tracing::info!(connector = %name, "connector stopped");
        }
    }

    /// Stops the tasks, then the connector.
    pub(super) async fn shutdown(&self, name: &str, running: &mut Running) {
        self.stop_tasks(name, running).await;
        self.stop_connector(name, running).await;
    }

    /// Restarts one task with its current config.
    pub(super) async fn restart_task(
        &self,
        name: &str,
        running: &mut Running,
        id: u32,
    ) -> Result<(), super::HerderError> {
        let pos = running
            .tasks
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(|| super::HerderError::TaskNotFound(format!("{name}-{id}")))?;
        let old = running.tasks.remove(pos);
        let _ = old.stop.send(true);
        let config = old.config.clone();
        old.join_within(name, self.stop_timeout()).await;
        let paused = running.target == TargetState::Paused;
        if let Some(h) = self.launch_task(name, running, id, config, paused) {
            running.tasks.insert(pos, h);
        }
        tracing::info!(connector = name, task = id, "task restarted");
        Ok(())
    }
}

impl Running {
    /// What `GET /connectors/{name}` shows.
    pub(super) fn info(&self, name: &str) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_string(),
            config: self.config.clone(),
            tasks: self
                .tasks
                .iter()
                .map(|t| (t.id, t.config.clone()))
                .collect(),
            connector_type: self.plugin.connector_type().as_str(),
        }
    }
}
