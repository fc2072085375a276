//! The distributed herder: the cluster's config lives in the config topic,
//! the leader alone writes it, every worker runs what the group assignment
//! gives it. REST requests another worker must serve are answered with
//! [`HerderError::Forward`] (the REST layer sends them on).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sluice_connect_api::{Config, Connector, ConnectorPlugin, ConnectorRequest, OffsetMap};
use sluice_group::assignor::Assignor;
use sluice_group::{TaskId, Work};
use tokio::sync::{Notify, mpsc, watch};

use super::config::DistributedConfig;
use super::config_topic::{self, ConfigState};
use super::kafka_log::KafkaLog;
use super::offset_topic::KafkaOffsetStore;
use super::status_topic::ClusterStatus;
use crate::connector_config;
use crate::herder::{ConnectorInfo, Herder, HerderError};
use crate::metrics::ConnectorMeta;
use crate::state::TargetState;
use crate::status::{ConnectorStatus, State, StateInfo, TaskStatus};
use crate::worker::{TaskHandle, Worker};

/// How long a write waits for the config topic to be read back.
pub(super) const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a config write waits for a rebalance to end before it is
/// answered 409: Kafka Connect's REST request timeout.
pub(super) const REBALANCE_WAIT: Duration = Duration::from_secs(90);

/// A connector instance this worker runs.
pub(super) struct RunningConnector {
    pub(super) plugin: ConnectorPlugin,
    pub(super) config: Config,
    pub(super) target: TargetState,
    /// `None` while STOPPED or after it failed to start.
    pub(super) connector: Option<Box<dyn Connector>>,
}

/// What this worker runs now.
#[derive(Default)]
pub(super) struct Local {
    pub(super) owned: Work,
    pub(super) connectors: BTreeMap<String, RunningConnector>,
    pub(super) tasks: BTreeMap<TaskId, TaskHandle>,
}

/// This worker's view of the group.
#[derive(Debug, Clone, Default)]
pub(super) struct GroupView {
    pub(super) member_id: String,
    pub(super) leader_id: String,
    pub(super) leader_url: String,
    pub(super) rebalancing: bool,
}

impl GroupView {
    pub(super) fn is_leader(&self) -> bool {
        !self.member_id.is_empty() && self.member_id == self.leader_id
    }
}

/// A worker of a cluster.
pub struct DistributedHerder {
    pub(super) worker: Arc<Worker>,
    /// This worker's REST base URL, `http://host:port`.
    pub(super) url: String,
    pub(super) cfg: DistributedConfig,
    pub(super) config_state: Arc<Mutex<ConfigState>>,
    pub(super) config_log: KafkaLog,
    pub(super) status_log: Arc<KafkaLog>,
    pub(super) cluster_status: Arc<ClusterStatus>,
    pub(super) offsets: Arc<KafkaOffsetStore>,
    pub(super) generation: Arc<AtomicI32>,
    pub(super) local: tokio::sync::Mutex<Local>,
    /// This worker's view of the group; config writes wait on it while a
    /// round is in progress.
    pub(super) group: watch::Sender<GroupView>,
    /// The leader's assignor (its memory of earlier rounds).
    pub(super) assignor: Mutex<Assignor>,
    /// What the last assignment computed here was based on.
    pub(super) last_configured: Mutex<Option<Work>>,
    /// Per connector, the number of the latest task-config publish.
    pub(super) publish_seq: Mutex<BTreeMap<String, u64>>,
    /// Wakes the member loop to rejoin (the leader saw work appear or go).
    pub(super) rejoin: Notify,
    pub(super) requests: mpsc::UnboundedSender<(String, ConnectorRequest)>,
    pub(super) http: crate::http_client::HttpClient,
    pub(super) stopping: AtomicBool,
    /// Set once the first assignment was applied.
    pub(super) ready: AtomicBool,
    /// The audit log, once the REST side made it (session key rotations
    /// are recorded there).
    pub(super) audit: std::sync::OnceLock<Arc<crate::rest::audit::AuditLog>>,
    /// Held by the leader's read-modify-writes of connector configs
    /// (patch, secrets rotation) and the writes they could undo.
    pub(super) writes: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for DistributedHerder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistributedHerder")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn not_found(name: &str) -> HerderError {
    HerderError::NotFound(name.to_string())
}

impl DistributedHerder {
    /// The REST URL of the worker `worker_id` (`host:port`): the cluster's
    /// workers share one scheme, this worker's.
    pub(super) fn url_of(&self, worker_id: &str) -> String {
        let scheme = self.url.split_once("://").map_or("http", |(s, _)| s);
        format!("{scheme}://{worker_id}")
    }

    pub(super) fn group_view(&self) -> GroupView {
        self.group.borrow().clone()
    }

    /// The leader writes a new session key when there is none or the
    /// current one is older than `inter.worker.key.ttl.ms`.
    pub(super) async fn ensure_session_key(&self) {
        let g = self.group_view();
        if !g.is_leader() || g.rebalancing {
            return;
        }
        let current = self
            .config_state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .session_key
            .clone();
        if current.is_some_and(|k| !k.expired(self.cfg.key_ttl)) {
            return;
        }
        let key = match super::session_key::SessionKey::generate() {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %e, "cannot make a session key");
                return;
            }
        };
        let (name, value) = key.record();
        match self.write_config(vec![(name, Some(value))]).await {
            Ok(()) => {
                tracing::info!("wrote a new session key for internal requests");
                if let Some(audit) = self.audit.get() {
                    let event = crate::rest::audit::AuditEvent::by_worker(
                        "rotate-session-key",
                        "Cluster".to_string(),
                        200,
                    );
                    if let Err(e) = audit.record(&event).await {
                        tracing::warn!(error = %e, "cannot write an audit record");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot write the session key; retrying"),
        }
    }

    pub(super) fn snapshot(&self) -> ConfigState {
        self.config_state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Is the first assignment applied?
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// `Ok` on the leader outside a rebalance; otherwise where to go. A
    /// request that arrives during a round waits for it to end (up to
    /// [`REBALANCE_WAIT`]) instead of being refused: requests that arrive
    /// during one round are all applied after it, and the changes they
    /// make are assigned together in the next.
    async fn on_leader(&self) -> Result<(), HerderError> {
        let settled = |g: &GroupView| !g.rebalancing && !g.leader_url.is_empty();
        let mut rx = self.group.subscribe();
        let g = match tokio::time::timeout(REBALANCE_WAIT, rx.wait_for(settled)).await {
            Ok(Ok(g)) => g.clone(),
            _ => return Err(HerderError::Rebalancing),
        };
        if g.is_leader() {
            Ok(())
        } else {
            Err(HerderError::Forward(g.leader_url))
        }
    }

    /// Writes records to the config topic (leader only) and waits until
    /// this worker read them back.
    pub(super) async fn write_config(
        &self,
        records: Vec<(String, Option<Vec<u8>>)>,
    ) -> Result<(), HerderError> {
        for (k, v) in &records {
            self.config_log
                .send(k.as_bytes(), v.as_deref())
                .await
                .map_err(|e| HerderError::Internal(e.to_string()))?;
        }
        self.config_log
            .read_to_end(READ_TIMEOUT)
            .await
            .map_err(|e| HerderError::Internal(e.to_string()))
    }

    fn entry(&self, name: &str) -> Result<config_topic::ConnectorEntry, HerderError> {
        self.snapshot()
            .connectors
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))
    }

    fn info_of(&self, name: &str, e: &config_topic::ConnectorEntry) -> ConnectorInfo {
        let ctype = connector_config::validate(&self.worker.registry, &e.config)
            .map(|v| v.plugin.connector_type().as_str())
            .unwrap_or("unknown");
        ConnectorInfo {
            name: name.to_string(),
            config: e.config.clone(),
            tasks: e
                .tasks
                .iter()
                .enumerate()
                .map(|(i, c)| (u32::try_from(i).unwrap_or(u32::MAX), c.clone()))
                .collect(),
            connector_type: ctype,
        }
    }

    fn require_stopped(&self, name: &str) -> Result<config_topic::ConnectorEntry, HerderError> {
        let e = self.entry(name)?;
        if e.target == TargetState::Stopped && e.tasks.is_empty() {
            Ok(e)
        } else {
            Err(HerderError::BadRequest(format!(
                "Connectors must be in the STOPPED state before their offsets can be modified. \
                 This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
            )))
        }
    }

    /// A connector config or one of its task configs, as stored: secrets
    /// sealed.
    fn sealed(&self, name: &str, config: &Config) -> Result<Config, HerderError> {
        let secret = crate::secrets::sensitive::keys(&self.worker.registry, config);
        self.worker
            .config
            .secrets
            .seal(name, config, &secret)
            .map_err(|e| HerderError::Internal(format!("connector {name}: {e}")))
    }

    /// Validates and writes a connector config (leader, `writes` held).
    async fn write_connector(
        &self,
        name: &str,
        config: Config,
        initial: Option<TargetState>,
        allow_update: bool,
    ) -> Result<(bool, ConnectorInfo), HerderError> {
        self.worker.validate(&config)?;
        let exists = self.snapshot().connectors.contains_key(name);
        if exists && !allow_update {
            return Err(HerderError::AlreadyExists(name.to_string()));
        }
        let mut records = Vec::new();
        if !exists {
            let (k, v) = config_topic::target_record(name, initial.unwrap_or(TargetState::Running));
            records.push((k, Some(v)));
        } else if let Some(t) = initial {
            let (k, v) = config_topic::target_record(name, t);
            records.push((k, Some(v)));
        }
        let (k, v) = config_topic::connector_record(name, &self.sealed(name, &config)?);
        records.push((k, Some(v)));
        self.write_config(records).await?;
        let e = self.entry(name)?;
        Ok((!exists, self.info_of(name, &e)))
    }

    fn is_sink(&self, e: &config_topic::ConnectorEntry) -> bool {
        connector_config::validate(&self.worker.registry, &e.config)
            .is_ok_and(|v| v.plugin.connector_type() == sluice_connect_api::ConnectorType::Sink)
    }
}

#[async_trait::async_trait]
impl Herder for DistributedHerder {
    fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }

    async fn connector_names(&self) -> Vec<String> {
        self.snapshot().connectors.keys().cloned().collect()
    }

    fn status(&self, name: &str) -> Option<ConnectorStatus> {
        let e = self.snapshot().connectors.get(name).cloned()?;
        let connector = self.cluster_status.connector(name)?;
        let ctype = connector_config::validate(&self.worker.registry, &e.config)
            .map(|v| v.plugin.connector_type().as_str())
            .unwrap_or("unknown");
        let tasks = (0..u32::try_from(e.tasks.len()).unwrap_or(0))
            .filter_map(|id| {
                self.cluster_status
                    .task(name, id)
                    .map(|info| TaskStatus { id, info })
            })
            .collect();
        Some(ConnectorStatus {
            name: name.to_string(),
            connector,
            tasks,
            connector_type: ctype,
        })
    }

    async fn info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        let e = self.entry(name)?;
        Ok(self.info_of(name, &e))
    }

    async fn put_connector(
        &self,
        name: &str,
        config: Config,
        initial: Option<TargetState>,
        allow_update: bool,
    ) -> Result<(bool, ConnectorInfo), HerderError> {
        self.on_leader().await?;
        let _writes = self.writes.lock().await;
        // Still the leader once the lock is ours (a round may have ended
        // this worker's term while it waited).
        self.on_leader().await?;
        self.write_connector(name, config, initial, allow_update)
            .await
    }

    async fn patch_connector(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> Result<ConnectorInfo, HerderError> {
        self.on_leader().await?;
        let _writes = self.writes.lock().await;
        // Still the leader once the lock is ours (a round may have ended
        // this worker's term while it waited).
        self.on_leader().await?;
        let config = crate::herder::apply_patch(self.entry(name)?.config, name, patch);
        Ok(self.write_connector(name, config, None, true).await?.1)
    }

    async fn delete(&self, name: &str) -> Result<(), HerderError> {
        self.on_leader().await?;
        let _writes = self.writes.lock().await;
        // Still the leader once the lock is ours (a round may have ended
        // this worker's term while it waited).
        self.on_leader().await?;
        self.entry(name)?;
        self.write_config(vec![
            (format!("connector-{name}"), None),
            (format!("target-state-{name}"), None),
        ])
        .await?;
        for key in self.cluster_status.keys_of(name) {
            if let Err(e) = self.status_log.send(key.as_bytes(), None).await {
                tracing::warn!(connector = name, error = %e, "cannot remove a status record");
            }
        }
        self.worker.metrics.forget_connector(name);
        self.worker.forget_transform_state(name);
        Ok(())
    }

    /// Pause and resume are written by the worker that received them, with
    /// no leader and no wait for a rebalance (Kafka Connect does the same:
    /// a target state is one record every worker acts on). Stop goes
    /// through the leader, which also writes the empty task list.
    async fn set_target(&self, name: &str, target: TargetState) -> Result<(), HerderError> {
        if target == TargetState::Stopped {
            self.on_leader().await?;
        }
        self.entry(name)?;
        let (k, v) = config_topic::target_record(name, target);
        self.write_config(vec![(k, Some(v))]).await
    }

    async fn restart(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStatus, HerderError> {
        self.on_leader().await?;
        self.entry(name)?;
        let mut status = self.status(name).ok_or_else(|| {
            HerderError::NotFound(format!("Status for connector {name} not found"))
        })?;
        let (k, v) = config_topic::restart_record(name, include_tasks, only_failed);
        self.write_config(vec![(k, Some(v))]).await?;
        if !only_failed || status.connector.state == State::Failed {
            status.connector.state = State::Restarting;
        }
        if include_tasks {
            for t in &mut status.tasks {
                if !only_failed || t.info.state == State::Failed {
                    t.info.state = State::Restarting;
                }
            }
        }
        Ok(status)
    }

    async fn restart_task(&self, name: &str, id: u32) -> Result<(), HerderError> {
        let tid = TaskId::new(name, id);
        // A task between owners (a round in progress) is waited for, as
        // config writes are, up to REBALANCE_WAIT; the connector and task
        // are looked up again each time (a delete meanwhile is a 404).
        let deadline = tokio::time::Instant::now() + REBALANCE_WAIT;
        let mut rx = self.group.subscribe();
        loop {
            let entry = self.entry(name)?;
            if usize::try_from(id).map_or(true, |i| i >= entry.tasks.len()) {
                return Err(HerderError::TaskNotFound(format!("{name}-{id}")));
            }
            if self.local.lock().await.owned.tasks.contains(&tid) {
                return self.restart_local_task(&tid).await;
            }
            let settled = !rx.borrow_and_update().rebalancing;
            match self.cluster_status.task(name, id) {
                Some(StateInfo {
                    worker_id, state, ..
                }) if worker_id != self.worker.status.worker_id() && state != State::Unassigned => {
                    return Err(HerderError::Forward(self.url_of(&worker_id)));
                }
                _ if tokio::time::Instant::now() >= deadline => {
                    return Err(HerderError::Rebalancing);
                }
                // Settled but nowhere yet: the status record is on its way.
                _ if settled => tokio::time::sleep(Duration::from_millis(200)).await,
                _ => {
                    let _ = tokio::time::timeout_at(deadline, rx.changed()).await;
                }
            }
        }
    }

    async fn metas(&self) -> Vec<ConnectorMeta> {
        let local = self.local.lock().await;
        local
            .connectors
            .iter()
            .map(|(name, r)| ConnectorMeta {
                name: name.clone(),
                connector_type: r.plugin.connector_type().as_str(),
                class: r.plugin.class_name.to_string(),
                version: r.plugin.version.to_string(),
            })
            .collect()
    }

    async fn offsets(&self, name: &str) -> Result<Vec<(OffsetMap, OffsetMap)>, HerderError> {
        let e = self.entry(name)?;
        if self.is_sink(&e) {
            return crate::herder::sink_offsets_read(&self.worker, name, &e.config).await;
        }
        self.offsets.read_to_end(READ_TIMEOUT).await?;
        Ok(self.worker.offsets.all(name).await?)
    }

    async fn alter_offsets(
        &self,
        name: &str,
        entries: Vec<(OffsetMap, Option<OffsetMap>)>,
    ) -> Result<(), HerderError> {
        self.on_leader().await?;
        let e = self.require_stopped(name)?;
        if self.is_sink(&e) {
            return crate::herder::sink_offsets_alter(&self.worker, name, entries).await;
        }
        self.worker.offsets.put_all(name, entries).await?;
        Ok(())
    }

    async fn reset_offsets(&self, name: &str) -> Result<(), HerderError> {
        self.on_leader().await?;
        let e = self.require_stopped(name)?;
        if self.is_sink(&e) {
            return crate::herder::sink_offsets_reset(&self.worker, name).await;
        }
        self.offsets.read_to_end(READ_TIMEOUT).await?;
        crate::herder::source_offsets_reset(&self.worker, name).await
    }

    fn internal_request_key(&self) -> Option<crate::herder::InternalKey> {
        Some(crate::herder::InternalKey(
            self.config_state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .session_key
                .clone(),
        ))
    }

    async fn put_task_configs(&self, name: &str, configs: Vec<Config>) -> Result<(), HerderError> {
        self.on_leader().await?;
        let _writes = self.writes.lock().await;
        // Still the leader once the lock is ours (a round may have ended
        // this worker's term while it waited).
        self.on_leader().await?;
        let e = self.entry(name)?;
        if e.tasks == configs {
            return Ok(());
        }
        let mut records = Vec::new();
        for (i, c) in configs.iter().enumerate() {
            let (k, v) = config_topic::task_record(name, i, &self.sealed(name, c)?);
            records.push((k, Some(v)));
        }
        let (k, v) = config_topic::commit_record(name, configs.len());
        records.push((k, Some(v)));
        tracing::info!(
            connector = name,
            tasks = configs.len(),
            "writing task configs"
        );
        self.write_config(records).await
    }

    /// Written by the worker that got the request, as Kafka Connect's
    /// `setClusterLoggerLevel` does; every worker applies it when it reads
    /// the record (this one before the call returns).
    async fn set_cluster_logger_level(
        &self,
        namespace: &str,
        level: &str,
    ) -> Result<bool, HerderError> {
        let (k, v) = config_topic::logger_record(namespace, level);
        tracing::info!(namespace, level, "setting a log level on every worker");
        self.write_config(vec![(k, Some(v))]).await?;
        Ok(true)
    }

    /// Rewrites every connector with secrets (the records do not say which
    /// key sealed them once read), and its task configs, sealed with the
    /// active key. Readers restart nothing: the connector record is marked
    /// as a rewrap and the task configs are unchanged.
    async fn rotate_secrets(&self) -> Result<crate::herder::Rotation, HerderError> {
        let key_id = self
            .worker
            .config
            .secrets
            .active_key_id()
            .ok_or_else(crate::herder::no_keys)?
            .to_string();
        self.on_leader().await?;
        let _writes = self.writes.lock().await;
        // Still the leader once the lock is ours (a round may have ended
        // this worker's term while it waited).
        self.on_leader().await?;
        let mut out = crate::herder::Rotation {
            key_id,
            ..Default::default()
        };
        for (name, e) in self.snapshot().connectors {
            let registry = &self.worker.registry;
            let has_secrets = !crate::secrets::sensitive_keys(registry, &e.config).is_empty()
                || e.tasks
                    .iter()
                    .any(|t| !crate::secrets::sensitive::keys(registry, t).is_empty());
            if !has_secrets {
                continue;
            }
            // Each connector's records are checked against the leadership
            // of now, not of when the rotation began.
            let written = async {
                self.on_leader().await?;
                let mut records = Vec::new();
                let (k, v) = config_topic::rewrap_record(&name, &self.sealed(&name, &e.config)?);
                records.push((k, Some(v)));
                if !e.tasks.is_empty() {
                    for (i, c) in e.tasks.iter().enumerate() {
                        let (k, v) = config_topic::task_record(&name, i, &self.sealed(&name, c)?);
                        records.push((k, Some(v)));
                    }
                    let (k, v) = config_topic::commit_record(&name, e.tasks.len());
                    records.push((k, Some(v)));
                }
                self.write_config(records).await
            };
            match written.await {
                Ok(()) => out.rewrapped.push(name),
                Err(err) => {
                    out.failed.insert(name, err.to_string());
                }
            }
        }
        Ok(out)
    }
}
