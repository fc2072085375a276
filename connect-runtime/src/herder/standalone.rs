use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sluice_connect_api::config::ConfigErrors;
use sluice_connect_api::{
    Config, ConnectError, Connector, ConnectorContext, ConnectorPlugin, ConnectorRequest, OffsetMap,
};
use thiserror::Error;
use tokio::sync::Mutex;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::connector_config;
use crate::offsets::StoreError;
use crate::state::{ConnectorStore, StoredConnector, TargetState};
use crate::status::{ConnectorStatus, State};
use crate::worker::{TaskHandle, Worker};

#[derive(Debug, Error)]
pub enum HerderError {
    #[error("Connector {0} already exists")]
    AlreadyExists(String),
    #[error("Connector {0} not found")]
    NotFound(String),
    #[error("Task {0} not found")]
    TaskNotFound(String),
    #[error(transparent)]
    Invalid(#[from] ConfigErrors),
    #[error("cannot persist connector state: {0}")]
    Store(#[from] StoreError),
    /// The request is not valid in the connector's current state.
    #[error("{0}")]
    BadRequest(String),
    /// Kafka or the runtime failed while serving the request.
    #[error("{0}")]
    Internal(String),
    /// Another worker serves this request (the leader, or the task's
    /// owner): its REST base URL.
    #[error("this request is served by the worker at {0}")]
    Forward(String),
    /// The group is rebalancing (Kafka Connect answers 409 then).
    #[error(
        "Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)"
    )]
    Rebalancing,
}

struct Running {
    config: Config,
    plugin: ConnectorPlugin,
    /// `None` while STOPPED (or when it failed to start).
    connector: Option<Box<dyn Connector>>,
    tasks: Vec<TaskHandle>,
    target: TargetState,
}

/// A connector's config and task configs, for the REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorInfo {
    pub name: String,
    pub config: Config,
    pub tasks: Vec<(u32, Config)>,
    pub connector_type: &'static str,
}

/// Runs connectors on this one worker. Every change is applied under one
/// lock, so concurrent requests are applied once and in order.
pub struct StandaloneHerder {
    worker: Arc<Worker>,
    store: Arc<dyn ConnectorStore>,
    connectors: Mutex<BTreeMap<String, Running>>,
    requests: UnboundedSender<(String, ConnectorRequest)>,
    /// Serializes read-modify-write config changes (PATCH).
    writes: Mutex<()>,
}

impl std::fmt::Debug for StandaloneHerder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandaloneHerder").finish_non_exhaustive()
    }
}

fn state_of(target: TargetState) -> State {
    match target {
        TargetState::Running => State::Running,
        TargetState::Paused => State::Paused,
        TargetState::Stopped => State::Stopped,
    }
}

impl StandaloneHerder {
    /// The herder and the stream of connector requests to feed to
    /// [`StandaloneHerder::process_requests`].
    pub fn new(
        worker: Arc<Worker>,
        store: Arc<dyn ConnectorStore>,
    ) -> (Arc<Self>, UnboundedReceiver<(String, ConnectorRequest)>) {
        let (tx, rx) = unbounded_channel();
        let h = Arc::new(Self {
            worker,
            store,
            connectors: Mutex::new(BTreeMap::new()),
            requests: tx,
            writes: Mutex::new(()),
        });
        (h, rx)
    }

    pub fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }

    /// Starts the stored connectors plus those from files. A file's config
    /// replaces a stored config of the same name; the stored target state
    /// (paused, stopped) is kept.
    pub async fn start_all(&self, files: Vec<(String, Config)>) -> Result<(), HerderError> {
        let mut wanted: BTreeMap<String, StoredConnector> = self.store.all()?.into_iter().collect();
        for (name, config) in files {
            let target = wanted
                .get(&name)
                .map_or(TargetState::Running, |s| s.target_state);
            wanted.insert(
                name,
                StoredConnector {
                    config,
                    target_state: target,
                },
            );
        }
        for (name, stored) in wanted {
            if let Err(e) = self
                .put_connector(&name, stored.config, Some(stored.target_state), true)
                .await
            {
                tracing::error!(connector = %name, error = %e, "cannot start stored connector");
            }
        }
        Ok(())
    }

    /// Merges `patch` into a connector's config (`None` removes a key) and
    /// applies it, atomically with respect to other config writes.
    pub async fn patch_connector(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> Result<ConnectorInfo, HerderError> {
        let _w = self.writes.lock().await;
        let config = super::apply_patch(self.info(name).await?.config, name, patch);
        Ok(self.put_connector_locked(name, config, None, true).await?.1)
    }

    /// Creates a connector or (when `allow_update`) replaces its config.
    /// Returns `true` when it was created. `initial` sets the target state
    /// of a new connector (an update keeps the current one unless given).
    pub async fn put_connector(
        &self,
        name: &str,
        config: Config,
        initial: Option<TargetState>,
        allow_update: bool,
    ) -> Result<(bool, ConnectorInfo), HerderError> {
        let _w = self.writes.lock().await;
        self.put_connector_locked(name, config, initial, allow_update)
            .await
    }

    async fn put_connector_locked(
        &self,
        name: &str,
        config: Config,
        initial: Option<TargetState>,
        allow_update: bool,
    ) -> Result<(bool, ConnectorInfo), HerderError> {
        let valid = connector_config::validate(&self.worker.registry, &config)?;
        let mut map = self.connectors.lock().await;
        let existing = map.get(name).map(|o| o.target);
        if existing.is_some() && !allow_update {
            return Err(HerderError::AlreadyExists(name.to_string()));
        }
        let created = existing.is_none();
        let target = initial.or(existing).unwrap_or(TargetState::Running);
        // Persist first: if that fails, the running connector is untouched.
        self.store.put(
            name,
            &StoredConnector {
                config: config.clone(),
                target_state: target,
            },
        )?;
        if let Some(mut o) = map.remove(name) {
            self.shutdown(name, &mut o).await;
        }
        let mut running = Running {
            config,
            plugin: valid.plugin,
            connector: None,
            tasks: Vec::new(),
            target,
        };
        self.worker.status.remove(name);
        self.worker.status.set_connector(
            name,
            valid.plugin.connector_type(),
            State::Unassigned,
            None,
        );
        self.start(name, &mut running).await;
        let info = Self::info_of(name, &running);
        map.insert(name.to_string(), running);
        Ok((created, info))
    }

    fn info_of(name: &str, running: &Running) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_string(),
            config: running.config.clone(),
            tasks: running
                .tasks
                .iter()
                .map(|t| (t.id, t.config.clone()))
                .collect(),
            connector_type: running.plugin.connector_type().as_str(),
        }
    }

    /// Starts the connector and its tasks as the target state says.
    async fn start(&self, name: &str, running: &mut Running) {
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
            self.worker
                .status
                .set_connector(name, ctype, State::Failed, Some(e.trace()));
        }
    }

    /// Starts the connector instance only; `false` when it failed.
    async fn start_connector(&self, name: &str, running: &mut Running) -> bool {
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
        if let Err(e) = connector.start(resolved, ctx).await {
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

    async fn start_tasks(&self, name: &str, running: &mut Running) -> Result<(), ConnectError> {
        let tasks_max = running
            .config
            .get(connector_config::TASKS_MAX)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(1usize);
        let Some(connector) = running.connector.as_mut() else {
            return Ok(());
        };
        let providers = &self.worker.config.providers;
        let resolved = providers
            .resolve(&running.config)
            .map_err(ConnectError::fatal)?;
        // Task configs come from the resolved config; put the placeholders
        // back so secrets never show in the REST API.
        let configs: Vec<Config> = connector
            .task_configs(tasks_max)
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
    fn launch_task(
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

    /// Waits for a signalled task to finish, aborting it after the
    /// shutdown timeout.
    async fn join_task(&self, name: &str, task: TaskHandle) {
        task.join_within(name, self.task_stop_timeout()).await;
    }

    /// `task.shutdown.graceful.timeout.ms`, at least a second.
    fn task_stop_timeout(&self) -> Duration {
        self.worker
            .config
            .shutdown_timeout
            .max(Duration::from_secs(1))
    }

    async fn stop_tasks(&self, name: &str, running: &mut Running) {
        for t in &running.tasks {
            let _ = t.stop.send(true);
        }
        for t in running.tasks.drain(..) {
            self.join_task(name, t).await;
        }
    }

    /// Stops the tasks (each flushes and commits) and the connector.
    async fn shutdown(&self, name: &str, running: &mut Running) {
        self.stop_tasks(name, running).await;
        if let Some(mut c) = running.connector.take() {
            match tokio::time::timeout(self.task_stop_timeout(), c.stop()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(connector = %name, error = %e.trace(), "error stopping connector");
                }
                Err(_) => tracing::warn!(
                    connector = %name,
                    "connector did not stop within task.shutdown.graceful.timeout.ms; dropping it"
                ),
            }
            tracing::info!(connector = %name, "connector stopped");
        }
    }

    /// Deletes a connector: stops it and forgets its config (offsets stay).
    pub async fn delete(&self, name: &str) -> Result<(), HerderError> {
        let _w = self.writes.lock().await;
        let mut map = self.connectors.lock().await;
        let mut running = map
            .remove(name)
            .ok_or_else(|| HerderError::NotFound(name.to_string()))?;
        self.shutdown(name, &mut running).await;
        self.store.remove(name)?;
        self.worker.status.remove(name);
        self.worker.metrics.forget_connector(name);
        Ok(())
    }

    /// Changes the target state: PAUSED keeps tasks but stops moving data,
    /// STOPPED shuts tasks and connector down, RUNNING resumes either.
    pub async fn set_target(&self, name: &str, target: TargetState) -> Result<(), HerderError> {
        let mut map = self.connectors.lock().await;
        let running = map
            .get_mut(name)
            .ok_or_else(|| HerderError::NotFound(name.to_string()))?;
        if running.target == target {
            return Ok(());
        }
        self.store.put(
            name,
            &StoredConnector {
                config: running.config.clone(),
                target_state: target,
            },
        )?;
        let previous = running.target;
        running.target = target;
        let ctype = running.plugin.connector_type();
        match (previous, target) {
            (_, TargetState::Stopped) => {
                self.shutdown(name, running).await;
                self.worker.status.clear_tasks(name);
                self.worker
                    .status
                    .set_connector(name, ctype, State::Stopped, None);
            }
            (TargetState::Stopped, _) => self.start(name, running).await,
            (_, t) => {
                let paused = t == TargetState::Paused;
                for task in &running.tasks {
                    let _ = task.pause.send(paused);
                }
                if running.connector.is_some() {
                    self.worker
                        .status
                        .set_connector(name, ctype, state_of(t), None);
                }
            }
        }
        tracing::info!(connector = name, target = ?target, "target state changed");
        Ok(())
    }

    /// Kafka Connect's restart: the connector (unless `only_failed` and it
    /// is not FAILED) and, with `include_tasks`, its tasks (likewise). The
    /// returned status shows what was restarted as RESTARTING.
    pub async fn restart(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStatus, HerderError> {
        let mut map = self.connectors.lock().await;
        let running = map
            .get_mut(name)
            .ok_or_else(|| HerderError::NotFound(name.to_string()))?;
        let status = &self.worker.status;
        let ctype = running.plugin.connector_type();
        let before = status
            .connector(name)
            .ok_or_else(|| HerderError::NotFound(name.to_string()))?;
        let restart_connector = !only_failed || before.connector.state == State::Failed;
        let tasks: Vec<u32> = if include_tasks {
            before
                .tasks
                .iter()
                .filter(|t| !only_failed || t.info.state == State::Failed)
                .map(|t| t.id)
                .collect()
        } else {
            Vec::new()
        };
        if restart_connector {
            status.set_connector(name, ctype, State::Restarting, None);
        }
        for id in &tasks {
            status.set_task(name, *id, State::Restarting, None);
        }
        let snapshot = status.connector(name).unwrap_or(before);
        if running.target == TargetState::Stopped {
            status.set_connector(name, ctype, State::Stopped, None);
            return Ok(snapshot);
        }
        if restart_connector {
            if let Some(mut c) = running.connector.take() {
                let _ = c.stop().await;
            }
            if !self.start_connector(name, running).await {
                return Ok(snapshot);
            }
        }
        // A task without a handle (it never started, or the connector had
        // failed) cannot be restarted alone: regenerate all tasks then.
        let missing = tasks
            .iter()
            .any(|id| running.tasks.iter().all(|t| t.id != *id));
        if running.connector.is_some()
            && (missing || (restart_connector && running.tasks.is_empty()))
        {
            self.stop_tasks(name, running).await;
            if let Err(e) = self.start_tasks(name, running).await {
                status.set_connector(name, ctype, State::Failed, Some(e.trace()));
            }
            return Ok(snapshot);
        }
        for id in tasks {
            self.restart_task_locked(name, running, id).await?;
        }
        Ok(snapshot)
    }

    /// Restarts one task with its current config.
    pub async fn restart_task(&self, name: &str, id: u32) -> Result<(), HerderError> {
        let mut map = self.connectors.lock().await;
        let running = map
            .get_mut(name)
            .ok_or_else(|| HerderError::NotFound(name.to_string()))?;
        self.restart_task_locked(name, running, id).await
    }

    async fn restart_task_locked(
        &self,
        name: &str,
        running: &mut Running,
        id: u32,
    ) -> Result<(), HerderError> {
        let pos = running
            .tasks
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(|| HerderError::TaskNotFound(format!("{name}-{id}")))?;
        let old = running.tasks.remove(pos);
        let _ = old.stop.send(true);
        let config = old.config.clone();
        self.join_task(name, old).await;
        let paused = running.target == TargetState::Paused;
        if let Some(h) = self.launch_task(name, running, id, config, paused) {
            running.tasks.insert(pos, h);
        }
        tracing::info!(connector = name, task = id, "task restarted");
        Ok(())
    }

    /// Type, class and version of every connector, for `/metrics`.
    pub async fn metas(&self) -> Vec<crate::metrics::ConnectorMeta> {
        let map = self.connectors.lock().await;
        map.iter()
            .map(|(name, r)| crate::metrics::ConnectorMeta {
                name: name.clone(),
                connector_type: r.plugin.connector_type().as_str(),
                class: r.plugin.class_name.to_string(),
                version: r.plugin.version.to_string(),
            })
            .collect()
    }

    /// A connector's config, tasks and type.
    pub async fn info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        let map = self.connectors.lock().await;
        let running = map
            .get(name)
            .ok_or_else(|| HerderError::NotFound(name.to_string()))?;
        Ok(Self::info_of(name, running))
    }

    fn require_stopped(&self, name: &str, running: &Running) -> Result<(), HerderError> {
        if running.target == TargetState::Stopped && running.tasks.is_empty() {
            Ok(())
        } else {
            Err(HerderError::BadRequest(format!(
                "Connectors must be in the STOPPED state before their offsets can be modified. \
                 This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
            )))
        }
    }

    fn is_sink(running: &Running) -> bool {
        running.plugin.connector_type() == sluice_connect_api::ConnectorType::Sink
    }

    /// The committed offsets of a connector: source offsets from the store,
    /// sink offsets from its consumer group (as Kafka Connect's
    /// `kafka_topic`/`kafka_partition`/`kafka_offset`).
    pub async fn offsets(&self, name: &str) -> Result<Vec<(OffsetMap, OffsetMap)>, HerderError> {
        let map = self.connectors.lock().await;
        let running = map
            .get(name)
            .ok_or_else(|| HerderError::NotFound(name.to_string()))?;
        if !Self::is_sink(running) {
            return Ok(self.worker.offsets.all(name).await?);
        }
        super::sink_offsets::read(&self.worker, name, &running.config).await
    }

    /// Writes (or with a `None` offset, resets) offsets of a STOPPED
    /// connector; the connector resumes from them.
    pub async fn alter_offsets(
        &self,
        name: &str,
        entries: Vec<(OffsetMap, Option<OffsetMap>)>,
    ) -> Result<(), HerderError> {
        let map = self.connectors.lock().await;
        let running = map
            .get(name)
            .ok_or_else(|| HerderError::NotFound(name.to_string()))?;
        self.require_stopped(name, running)?;
        if !Self::is_sink(running) {
            self.worker.offsets.put_all(name, entries).await?;
            return Ok(());
        }
        super::sink_offsets::alter(&self.worker, name, entries).await
    }

    /// Removes every offset of a STOPPED connector (a sink's consumer group
    /// is deleted).
    pub async fn reset_offsets(&self, name: &str) -> Result<(), HerderError> {
        let map = self.connectors.lock().await;
        let running = map
            .get(name)
            .ok_or_else(|| HerderError::NotFound(name.to_string()))?;
        self.require_stopped(name, running)?;
        if Self::is_sink(running) {
            return super::sink_offsets::reset(&self.worker, name).await;
        }
        super::sink_offsets::reset_source(&self.worker, name).await
    }

    /// Handles connector requests (task reconfiguration, raised errors).
    pub async fn process_requests(
        self: Arc<Self>,
        mut rx: UnboundedReceiver<(String, ConnectorRequest)>,
    ) {
        while let Some((name, req)) = rx.recv().await {
            let mut map = self.connectors.lock().await;
            let Some(running) = map.get_mut(&name) else {
                continue;
            };
            let ctype = running.plugin.connector_type();
            match req {
                ConnectorRequest::RaiseError(msg) => {
                    tracing::error!(connector = %name, error = %msg, "connector raised an error");
                    self.worker
                        .status
                        .set_connector(&name, ctype, State::Failed, Some(msg));
                }
                ConnectorRequest::ReconfigureTasks => {
                    tracing::info!(connector = %name, "reconfiguring tasks");
                    self.stop_tasks(&name, running).await;
                    if let Err(e) = self.start_tasks(&name, running).await {
                        self.worker.status.set_connector(
                            &name,
                            ctype,
                            State::Failed,
                            Some(e.trace()),
                        );
                    }
                }
            }
        }
    }

    /// Stops every task (each flushes and commits) and connector. All tasks
    /// stop at once, so shutdown takes one `task.shutdown.graceful.timeout.ms`
    /// at most, however many connectors run.
    pub async fn stop_all(&self) {
        let mut map = self.connectors.lock().await;
        let timeout = self.task_stop_timeout();
        let mut joins = Vec::new();
        for (name, running) in map.iter_mut() {
            for t in &running.tasks {
                let _ = t.stop.send(true);
            }
            for t in running.tasks.drain(..) {
                let name = name.clone();
                joins.push(async move { t.join_within(&name, timeout).await });
            }
        }
        futures::future::join_all(joins).await;
        for (name, running) in map.iter_mut() {
            self.shutdown(name, running).await;
        }
        map.clear();
    }

    pub async fn connector_names(&self) -> Vec<String> {
        self.connectors.lock().await.keys().cloned().collect()
    }

    pub fn status(&self, name: &str) -> Option<ConnectorStatus> {
        self.worker.status.connector(name)
    }
}
