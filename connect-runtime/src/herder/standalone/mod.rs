//! The standalone herder: connectors and tasks of one worker, configs in
//! RocksDB.
//!
//! **No lock is held across connector code that other requests wait
//! for.** Each connector has its own async lock, held by one lifecycle
//! change at a time (create, update, delete, pause/resume/stop, restart,
//! offsets) while that change runs the connector's `start`, `task_configs`
//! and `stop` (each with a timeout, see [`running`]). Reads (`GET
//! /connectors`, `GET /connectors/{c}`, status, metrics) answer from a
//! snapshot that every change publishes, so a connector whose database
//! connect hangs never stalls them, nor changes to other connectors.

mod running;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sluice_connect_api::config::ConfigErrors;
use sluice_connect_api::{Config, ConnectorPlugin, ConnectorRequest, ConnectorType, OffsetMap};
use thiserror::Error;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use super::sink_offsets;
use crate::offsets::StoreError;
use crate::state::{ConnectorStore, StoredConnector, TargetState};
use crate::status::{ConnectorStatus, State};
use crate::worker::Worker;
use running::{Lifecycle, Running, state_of};

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

/// A connector's config and task configs, for the REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorInfo {
    pub name: String,
    pub config: Config,
    pub tasks: Vec<(u32, Config)>,
    pub connector_type: &'static str,
}

/// One connector: what runs, behind its own lock, and what reads see.
struct Slot {
    running: Arc<AsyncMutex<Running>>,
    view: View,
}

/// A connector as reads see it, published after every change.
#[derive(Debug, Clone)]
struct View {
    info: ConnectorInfo,
    plugin: ConnectorPlugin,
    /// STOPPED with no task left: its offsets may be changed.
    stopped: bool,
}

impl View {
    fn of(name: &str, r: &Running) -> Self {
        Self {
            info: r.info(name),
            plugin: r.plugin,
            stopped: r.target == TargetState::Stopped && r.tasks.is_empty(),
        }
    }

    fn is_sink(&self) -> bool {
        self.plugin.connector_type() == ConnectorType::Sink
    }
}

type Held = (Arc<AsyncMutex<Running>>, OwnedMutexGuard<Running>);

/// Runs connectors on this one worker.
pub struct StandaloneHerder {
    worker: Arc<Worker>,
    store: Arc<dyn ConnectorStore>,
    /// Every connector. Never held across an `.await`.
    slots: Mutex<BTreeMap<String, Slot>>,
    requests: UnboundedSender<(String, ConnectorRequest)>,
}

impl std::fmt::Debug for StandaloneHerder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandaloneHerder").finish_non_exhaustive()
    }
}

fn not_stopped(name: &str) -> HerderError {
    HerderError::BadRequest(format!(
        "Connectors must be in the STOPPED state before their offsets can be modified. \
         This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
    ))
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
            slots: Mutex::new(BTreeMap::new()),
            requests: tx,
        });
        (h, rx)
    }

    pub fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }

    fn slots(&self) -> MutexGuard<'_, BTreeMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lifecycle(&self) -> Lifecycle<'_> {
        Lifecycle {
            worker: &self.worker,
            requests: &self.requests,
        }
    }

    fn view(&self, name: &str) -> Result<View, HerderError> {
        self.slots()
            .get(name)
            .map(|s| s.view.clone())
            .ok_or_else(|| HerderError::NotFound(name.to_string()))
    }

    /// Whether `cell` is still the connector `name` (not deleted or
    /// replaced while we waited for it).
    fn is_current(&self, name: &str, cell: &Arc<AsyncMutex<Running>>) -> bool {
        self.slots()
            .get(name)
            .is_some_and(|s| Arc::ptr_eq(&s.running, cell))
    }

    /// Takes connector `name`'s lock: waits for the change in progress on
    /// it, never for other connectors.
    async fn hold(&self, name: &str) -> Result<Held, HerderError> {
        loop {
            let cell = self
                .slots()
                .get(name)
                .map(|s| s.running.clone())
                .ok_or_else(|| HerderError::NotFound(name.to_string()))?;
            let guard = cell.clone().lock_owned().await;
            if self.is_current(name, &cell) {
                return Ok((cell, guard));
            }
        }
    }

    /// Shows what runs now to reads.
    fn publish(&self, name: &str, cell: &Arc<AsyncMutex<Running>>, r: &Running) {
        if let Some(s) = self.slots().get_mut(name)
            && Arc::ptr_eq(&s.running, cell)
        {
            s.view = View::of(name, r);
        }
    }

    /// Starts the stored connectors plus those from files. A file's config
    /// replaces a stored config of the same name; the stored target state
    /// (paused, stopped) is kept.
    pub async fn start_all(&self, files: Vec<(String, Config)>) -> Result<(), HerderError> {
        let mut wanted: BTreeMap<String, StoredConnector> = BTreeMap::new();
        for (name, mut stored) in self.store.all()? {
            match self.worker.config.secrets.open(&name, &stored.config) {
                Ok(config) => stored.config = config,
                Err(e) => {
                    tracing::error!(connector = %name, error = %e, "cannot open the stored connector's secrets; it is not started");
                    continue;
                }
            }
            wanted.insert(name, stored);
        }
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
    /// applies it, atomically with respect to other changes of it.
    pub async fn patch_connector(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> Result<ConnectorInfo, HerderError> {
        let (cell, mut guard) = self.hold(name).await?;
        let config = super::apply_patch(guard.config.clone(), name, patch);
        self.update(name, &cell, &mut guard, config, None).await
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
        let valid = self.worker.validate(&config)?;
        loop {
            let existing = self.slots().get(name).map(|s| s.running.clone());
            if let Some(cell) = existing {
                if !allow_update {
                    return Err(HerderError::AlreadyExists(name.to_string()));
                }
                let mut guard = cell.clone().lock_owned().await;
                if !self.is_current(name, &cell) {
                    continue; // deleted meanwhile: create it anew
                }
                let info = self
                    .update(name, &cell, &mut guard, config, initial)
                    .await?;
                return Ok((false, info));
            }
            let target = initial.unwrap_or(TargetState::Running);
            let cell = Arc::new(AsyncMutex::new(Running {
                config: config.clone(),
                plugin: valid.plugin,
                connector: None,
                tasks: Vec::new(),
                target,
            }));
            // Locked before anyone can see it.
            let Ok(mut guard) = cell.clone().try_lock_owned() else {
                continue;
            };
            {
                let mut slots = self.slots();
                if slots.contains_key(name) {
                    continue; // created meanwhile
                }
                // Stored under the map lock: the store changes in the order
                // connectors appear and disappear.
                self.persist(name, &config, target)?;
                // Listed with a status from the moment it is visible.
                self.announce(name, valid.plugin);
                slots.insert(
                    name.to_string(),
                    Slot {
                        running: cell.clone(),
                        view: View::of(name, &guard),
                    },
                );
            }
            self.lifecycle().start(name, &mut guard).await;
            self.publish(name, &cell, &guard);
            return Ok((true, guard.info(name)));
        }
    }

    /// Stores a connector's config and target state.
    fn persist(&self, name: &str, config: &Config, target: TargetState) -> Result<(), HerderError> {
        let secret = crate::secrets::sensitive_keys(&self.worker.registry, config);
        let sealed = self
            .worker
            .config
            .secrets
            .seal(name, config, &secret)
            .map_err(|e| HerderError::Internal(format!("connector {name}: {e}")))?;
        self.store.put(
            name,
            &StoredConnector {
                config: sealed,
                target_state: target,
            },
        )?;
        Ok(())
    }

    /// Stores again, with the active key, each connector whose stored
    /// secrets are sealed otherwise; under the connector's lock, so a
    /// concurrent change is neither lost nor undone.
    pub async fn rotate_secrets(&self) -> Result<super::Rotation, HerderError> {
        let secrets = self.worker.config.secrets.clone();
        let key_id = secrets.active_key_id().ok_or_else(super::no_keys)?;
        let mut out = super::Rotation {
            key_id: key_id.to_string(),
            ..Default::default()
        };
        for (name, stored) in self.store.all()? {
            let running = match secrets.open(&name, &stored.config) {
                Ok(c) => c,
                Err(e) => {
                    out.failed.insert(name, e.to_string());
                    continue;
                }
            };
            let secret = crate::secrets::sensitive_keys(&self.worker.registry, &running);
            if !secrets.stale(&stored.config, &secret) {
                continue;
            }
            let Ok((_cell, guard)) = self.hold(&name).await else {
                continue; // deleted meanwhile
            };
            self.persist(&name, &guard.config, guard.target)?;
            out.rewrapped.push(name);
        }
        Ok(out)
    }

    /// A (re)started connector's status starts over as UNASSIGNED.
    fn announce(&self, name: &str, plugin: ConnectorPlugin) {
        self.worker.status.remove(name);
        self.worker
            .status
            .set_connector(name, plugin.connector_type(), State::Unassigned, None);
    }

    /// Replaces the config of a connector whose lock is held.
    async fn update(
        &self,
        name: &str,
        cell: &Arc<AsyncMutex<Running>>,
        running: &mut Running,
        config: Config,
        target: Option<TargetState>,
    ) -> Result<ConnectorInfo, HerderError> {
        let valid = self.worker.validate(&config)?;
        let target = target.unwrap_or(running.target);
        // Persist first: if that fails, the running connector is untouched.
        self.persist(name, &config, target)?;
        let lifecycle = self.lifecycle();
        lifecycle.shutdown(name, running).await;
        running.config = config;
        running.plugin = valid.plugin;
        running.target = target;
        self.publish(name, cell, running);
        self.announce(name, valid.plugin);
        lifecycle.start(name, running).await;
        self.publish(name, cell, running);
        Ok(running.info(name))
    }

    /// Deletes a connector: stops it and forgets its config (offsets stay).
    pub async fn delete(&self, name: &str) -> Result<(), HerderError> {
        let (cell, mut guard) = self.hold(name).await?;
        self.lifecycle().shutdown(name, &mut guard).await;
        {
            let mut slots = self.slots();
            if slots
                .get(name)
                .is_some_and(|s| Arc::ptr_eq(&s.running, &cell))
            {
                self.store.remove(name)?;
                slots.remove(name);
            }
        }
        self.worker.status.remove(name);
        self.worker.metrics.forget_connector(name);
        self.worker.forget_transform_state(name);
        Ok(())
    }

    /// Changes the target state: PAUSED keeps tasks but stops moving data,
    /// STOPPED shuts tasks and connector down, RUNNING resumes either.
    pub async fn set_target(&self, name: &str, target: TargetState) -> Result<(), HerderError> {
        let (cell, mut guard) = self.hold(name).await?;
        let running = &mut *guard;
        if running.target == target {
            return Ok(());
        }
        self.persist(name, &running.config, target)?;
        let previous = running.target;
        running.target = target;
        let ctype = running.plugin.connector_type();
        let lifecycle = self.lifecycle();
        match (previous, target) {
            (_, TargetState::Stopped) => {
                lifecycle.shutdown(name, running).await;
                self.worker.status.clear_tasks(name);
                self.worker
                    .status
                    .set_connector(name, ctype, State::Stopped, None);
            }
            (TargetState::Stopped, _) => lifecycle.start(name, running).await,
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
        self.publish(name, &cell, running);
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
        let (cell, mut guard) = self.hold(name).await?;
        let running = &mut *guard;
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
        let lifecycle = self.lifecycle();
        if restart_connector {
            lifecycle.stop_connector(name, running).await;
            if !lifecycle.start_connector(name, running).await {
                self.publish(name, &cell, running);
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
            lifecycle.stop_tasks(name, running).await;
            if let Err(e) = lifecycle.start_tasks(name, running).await {
                status.set_connector(name, ctype, State::Failed, Some(e.trace()));
            }
            self.publish(name, &cell, running);
            return Ok(snapshot);
        }
        for id in tasks {
            lifecycle.restart_task(name, running, id).await?;
        }
        self.publish(name, &cell, running);
        Ok(snapshot)
    }

    /// Restarts one task with its current config.
    pub async fn restart_task(&self, name: &str, id: u32) -> Result<(), HerderError> {
        let (cell, mut guard) = self.hold(name).await?;
        self.lifecycle().restart_task(name, &mut guard, id).await?;
        self.publish(name, &cell, &guard);
        Ok(())
    }

    /// Type, class and version of every connector, for `/metrics`.
    pub async fn metas(&self) -> Vec<crate::metrics::ConnectorMeta> {
        self.slots()
            .iter()
            .map(|(name, s)| crate::metrics::ConnectorMeta {
                name: name.clone(),
                connector_type: s.view.plugin.connector_type().as_str(),
                class: s.view.plugin.class_name.to_string(),
                version: s.view.plugin.version.to_string(),
            })
            .collect()
    }

    /// A connector's config, tasks and type.
    pub async fn info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        Ok(self.view(name)?.info)
    }

    /// The committed offsets of a connector: source offsets from the store,
    /// sink offsets from its consumer group (as Kafka Connect's
    /// `kafka_topic`/`kafka_partition`/`kafka_offset`).
    pub async fn offsets(&self, name: &str) -> Result<Vec<(OffsetMap, OffsetMap)>, HerderError> {
        let view = self.view(name)?;
        if !view.is_sink() {
            return Ok(self.worker.offsets.all(name).await?);
        }
        sink_offsets::read(&self.worker, name, &view.info.config).await
    }

    /// Writes (or with a `None` offset, resets) offsets of a STOPPED
    /// connector; the connector resumes from them.
    pub async fn alter_offsets(
        &self,
        name: &str,
        entries: Vec<(OffsetMap, Option<OffsetMap>)>,
    ) -> Result<(), HerderError> {
        // Held, so the connector cannot start while its offsets change.
        let (_cell, guard) = self.hold(name).await?;
        let view = View::of(name, &guard);
        if !view.stopped {
            return Err(not_stopped(name));
        }
        if !view.is_sink() {
            self.worker.offsets.put_all(name, entries).await?;
            return Ok(());
        }
        sink_offsets::alter(&self.worker, name, entries).await
    }

    /// Removes every offset of a STOPPED connector (a sink's consumer group
    /// is deleted).
    pub async fn reset_offsets(&self, name: &str) -> Result<(), HerderError> {
        let (_cell, guard) = self.hold(name).await?;
        let view = View::of(name, &guard);
        if !view.stopped {
            return Err(not_stopped(name));
        }
        if view.is_sink() {
            return sink_offsets::reset(&self.worker, name).await;
        }
        sink_offsets::reset_source(&self.worker, name).await
    }

    /// Handles connector requests (task reconfiguration, raised errors).
    pub async fn process_requests(
        self: Arc<Self>,
        mut rx: UnboundedReceiver<(String, ConnectorRequest)>,
    ) {
        while let Some((name, req)) = rx.recv().await {
            let Ok((cell, mut guard)) = self.hold(&name).await else {
                continue;
            };
            let running = &mut *guard;
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
                    let lifecycle = self.lifecycle();
                    lifecycle.stop_tasks(&name, running).await;
                    if let Err(e) = lifecycle.start_tasks(&name, running).await {
                        self.worker.status.set_connector(
                            &name,
                            ctype,
                            State::Failed,
                            Some(e.trace()),
                        );
                    }
                    self.publish(&name, &cell, running);
                }
            }
        }
    }

    /// Stops every task (each flushes and commits) and connector. All tasks
    /// stop at once, so shutdown takes one `task.shutdown.graceful.timeout.ms`
    /// at most, however many connectors run.
    pub async fn stop_all(&self) {
        let names: Vec<String> = self.slots().keys().cloned().collect();
        let mut held = Vec::new();
        for name in names {
            if let Ok((_, guard)) = self.hold(&name).await {
                held.push((name, guard));
            }
        }
        let lifecycle = self.lifecycle();
        let stops = held
            .iter_mut()
            .map(|(name, guard)| lifecycle.stop_tasks(name, guard));
        futures::future::join_all(stops).await;
        for (name, guard) in &mut held {
            lifecycle.stop_connector(name, guard).await;
        }
        self.slots().clear();
    }

    pub async fn connector_names(&self) -> Vec<String> {
        self.slots().keys().cloned().collect()
    }

    pub fn status(&self, name: &str) -> Option<ConnectorStatus> {
        self.worker.status.connector(name)
    }
}
