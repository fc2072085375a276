//! Running what this worker was assigned: connector instances (which
//! compute task configs and hand them to the leader) and tasks, and
//! following config-topic changes for them.

use std::sync::Arc;
use std::time::Duration;

use sluice_connect_api::{Config, ConnectError, ConnectorContext, ConnectorRequest, ConnectorType};
use sluice_group::TaskId;

use super::config_topic::{Change, ConfigState, RestartRequest};
use super::herder::{DistributedHerder, Local, RunningConnector};
use super::session_key;
use crate::connector_config;
use crate::herder::{Herder, HerderError};
use crate::state::TargetState;
use crate::status::State;

fn state_of(t: TargetState) -> State {
    match t {
        TargetState::Running => State::Running,
        TargetState::Paused => State::Paused,
        TargetState::Stopped => State::Stopped,
    }
}

impl DistributedHerder {
    /// Starts an assigned connector as the config topic describes it.
    pub(super) async fn start_connector(self: &Arc<Self>, local: &mut Local, name: &str) {
        let Some(entry) = self.snapshot().connectors.get(name).cloned() else {
            return;
        };
        let status = &self.worker.status;
        let plugin = match self.worker.validate(&entry.config) {
            Ok(v) => v.plugin,
            Err(e) => {
                status.set_connector(
                    name,
                    ConnectorType::Source,
                    State::Failed,
                    Some(e.to_string()),
                );
                return;
            }
        };
        let ctype = plugin.connector_type();
        let mut rc = RunningConnector {
            plugin,
            config: entry.config.clone(),
            target: entry.target,
            connector: None,
        };
        if entry.target == TargetState::Stopped {
            status.set_connector(name, ctype, State::Stopped, None);
            if !entry.tasks.is_empty() {
                self.publish_task_configs(name, Vec::new());
            }
            local.connectors.insert(name.to_string(), rc);
            return;
        }
        let tx = self.requests.clone();
        let owner = name.to_string();
        let ctx = ConnectorContext::new(name, move |req| {
            let _ = tx.send((owner.clone(), req));
        });
        let mut connector = (plugin.new_connector)();
        let started = match self.worker.config.providers.resolve(&entry.config) {
            Ok(resolved) => crate::herder::bounded(
                "start",
                crate::config::worker::CONNECTOR_START_TIMEOUT,
                self.worker.config.connector_start_timeout,
                connector.start(resolved, ctx),
            )
            .await
            .map_err(|e| e.trace()),
            Err(e) => Err(e),
        };
        match started {
            Ok(()) => {
                self.worker.metrics.connector_started(true);
                self.worker
                    .metrics
                    .flows()
                    .configure(name, ctype, &entry.config);
                rc.connector = Some(connector);
                status.set_connector(name, ctype, state_of(entry.target), None);
                tracing::info!(
                    connector = name,
                    class = plugin.class_name,
                    "connector started"
                );
                if let Err(e) = self.reconfigure(name, &mut rc, &entry.tasks).await {
                    status.set_connector(name, ctype, State::Failed, Some(e.trace()));
                }
            }
            Err(trace) => {
                tracing::error!(connector = name, error = %trace, "connector failed to start");
                self.worker.metrics.connector_started(false);
                status.set_connector(name, ctype, State::Failed, Some(trace));
            }
        }
        local.connectors.insert(name.to_string(), rc);
    }

    /// Asks the connector for task configs and hands them to the leader
    /// when they differ from the committed ones.
    async fn reconfigure(
        self: &Arc<Self>,
        name: &str,
        rc: &mut RunningConnector,
        committed: &[Config],
    ) -> Result<(), ConnectError> {
        let Some(connector) = rc.connector.as_mut() else {
            return Ok(());
        };
        let tasks_max = rc
            .config
            .get(connector_config::TASKS_MAX)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(1usize);
        let providers = &self.worker.config.providers;
        let resolved = providers.resolve(&rc.config).map_err(ConnectError::fatal)?;
        let configs: Vec<Config> = crate::herder::bounded(
            "task_configs",
            crate::config::worker::CONNECTOR_START_TIMEOUT,
            self.worker.config.connector_start_timeout,
            connector.task_configs(tasks_max),
        )
        .await?
        .into_iter()
        .take(tasks_max)
        .map(|c| providers.reverse(&rc.config, &resolved, c))
        .collect();
        if configs != committed {
            self.publish_task_configs(name, configs);
        }
        Ok(())
    }

    /// Sends task configs to the leader in the background, retrying while
    /// the group rebalances.
    pub(super) fn publish_task_configs(self: &Arc<Self>, name: &str, configs: Vec<Config>) {
        let me = self.clone();
        let name = name.to_string();
        // A newer publish for the same connector supersedes this one (a
        // stop quickly followed by a resume must not end with no tasks).
        let seq = {
            let mut seqs = self
                .publish_seq
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let s = seqs.entry(name.clone()).or_insert(0);
            *s += 1;
            *s
        };
        tokio::spawn(async move {
            for attempt in 0..120u32 {
                let current = me
                    .publish_seq
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get(&name)
                    .copied();
                if current != Some(seq)
                    || me.stopping.load(std::sync::atomic::Ordering::Acquire)
                    || !me.local.lock().await.connectors.contains_key(&name)
                {
                    return;
                }
                match me.send_task_configs(&name, &configs).await {
                    Ok(()) => return,
                    Err(e) => {
                        if attempt % 10 == 0 {
                            tracing::info!(connector = %name, error = %e, "task configs not accepted yet; retrying");
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
            tracing::error!(connector = %name, "gave up handing task configs to the leader");
        });
    }

    async fn send_task_configs(&self, name: &str, configs: &[Config]) -> Result<(), String> {
        match Herder::put_task_configs(self, name, configs.to_vec()).await {
            Ok(()) => Ok(()),
            Err(HerderError::Forward(leader)) => {
                let url = format!("{}/connectors/{name}/tasks", leader.trim_end_matches('/'));
                let body = serde_json::to_vec(configs).map_err(|e| e.to_string())?;
                // Signed with the cluster's session key (KIP-507); none
                // has been read yet on a new cluster: the caller retries.
                let key = self
                    .snapshot()
                    .session_key
                    .ok_or("no session key read yet to sign task configs with")?;
                let headers = [
                    (
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static("application/json"),
                    ),
                    (
                        hyper::header::HeaderName::from_static(session_key::SIGNATURE_HEADER),
                        hyper::header::HeaderValue::from_str(&key.sign(name, &body))
                            .map_err(|e| e.to_string())?,
                    ),
                    (
                        hyper::header::HeaderName::from_static(session_key::ALGORITHM_HEADER),
                        hyper::header::HeaderValue::from_str(key.algorithm.as_str())
                            .map_err(|e| e.to_string())?,
                    ),
                ];
                // The leader may wait out a rebalance (up to 90 s) and
                // read its write back (30 s).
                let r = self
                    .http
                    .send(
                        hyper::Method::POST,
                        &url,
                        &headers,
                        body.into(),
                        Duration::from_secs(130),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                if r.status.is_success() {
                    Ok(())
                } else {
                    Err(format!(
                        "{url}: {} {}",
                        r.status,
                        String::from_utf8_lossy(&r.body)
                    ))
                }
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// Stops a connector instance; `unassigned` reports it UNASSIGNED.
    pub(super) async fn stop_connector(&self, local: &mut Local, name: &str, unassigned: bool) {
        let Some(mut rc) = local.connectors.remove(name) else {
            return;
        };
        if let Some(mut c) = rc.connector.take() {
            let stopped = crate::herder::bounded(
                "stop",
                crate::config::worker::SHUTDOWN_TIMEOUT,
                self.worker
                    .config
                    .shutdown_timeout
                    .max(Duration::from_secs(1)),
                c.stop(),
            );
            if let Err(e) = stopped.await {
                tracing::warn!(connector = %name, error = %e.trace(), "error stopping connector");
            }
            tracing::info!(connector = %name, "connector stopped");
        }
        if unassigned {
            self.worker.status.set_connector(
                name,
                rc.plugin.connector_type(),
                State::Unassigned,
                None,
            );
        }
    }

    /// Starts an assigned task with its committed config.
    pub(super) fn start_task(&self, local: &mut Local, id: &TaskId, snap: &ConfigState) {
        if local.tasks.contains_key(id) {
            return;
        }
        let Some(entry) = snap.connectors.get(&id.connector) else {
            return;
        };
        let Some(config) = usize::try_from(id.task)
            .ok()
            .and_then(|i| entry.tasks.get(i))
        else {
            return;
        };
        if entry.target == TargetState::Stopped {
            return;
        }
        let Ok(valid) = connector_config::validate(&self.worker.registry, &entry.config) else {
            return;
        };
        let status = &self.worker.status;
        status.track(&id.connector, valid.plugin.connector_type(), "");
        let paused = entry.target == TargetState::Paused;
        match self.worker.start_task(
            &id.connector,
            id.task,
            &valid.plugin,
            &entry.config,
            config.clone(),
            paused,
        ) {
            Ok(h) => {
                local.tasks.insert(id.clone(), h);
            }
            Err(e) => status.set_task(&id.connector, id.task, State::Failed, Some(e.trace())),
        }
    }

    /// Stops tasks (each flushes and commits) in parallel; `unassigned`
    /// reports them UNASSIGNED.
    pub(super) async fn stop_tasks(&self, local: &mut Local, ids: &[TaskId], unassigned: bool) {
        let handles: Vec<_> = ids
            .iter()
            .filter_map(|id| local.tasks.remove(id).map(|h| (id.clone(), h)))
            .collect();
        for (_, h) in &handles {
            let _ = h.stop.send(true);
        }
        let timeout = self
            .worker
            .config
            .shutdown_timeout
            .max(Duration::from_secs(1));
        let joins = handles.into_iter().map(|(id, h)| async move {
            h.join_within(&id.connector, timeout).await;
            id
        });
        for id in futures::future::join_all(joins).await {
            if unassigned {
                self.worker
                    .status
                    .set_task(&id.connector, id.task, State::Unassigned, None);
            }
            self.worker.status.remove_task(&id.connector, id.task);
        }
    }

    /// Restarts a task this worker runs.
    pub(super) async fn restart_local_task(&self, id: &TaskId) -> Result<(), HerderError> {
        let mut local = self.local.lock().await;
        if !local.owned.tasks.contains(id) {
            return Err(HerderError::TaskNotFound(id.to_string()));
        }
        self.stop_tasks(&mut local, std::slice::from_ref(id), false)
            .await;
        let snap = self.snapshot();
        self.start_task(&mut local, id, &snap);
        tracing::info!(connector = %id.connector, task = id.task, "task restarted");
        Ok(())
    }

    /// The leader rejoins when the configured work no longer matches what
    /// its last assignment was computed from.
    pub(super) fn work_changed(&self) -> bool {
        if !self.group_view().is_leader() {
            return false;
        }
        let now = self.snapshot().work();
        let last = self
            .last_configured
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        last.as_ref() != Some(&now)
    }

    fn check_work_changed(&self) {
        if self.work_changed() {
            self.rejoin.notify_one();
        }
    }

    /// Follows one config-topic change.
    pub(super) async fn on_change(self: &Arc<Self>, change: Change) {
        let mut local = self.local.lock().await;
        match change {
            Change::Connector(name) => {
                if local.connectors.contains_key(&name) {
                    self.stop_connector(&mut local, &name, false).await;
                    self.start_connector(&mut local, &name).await;
                }
            }
            Change::Deleted(name) => {
                let ids: Vec<TaskId> = local
                    .tasks
                    .keys()
                    .filter(|t| t.connector == name)
                    .cloned()
                    .collect();
                self.stop_tasks(&mut local, &ids, false).await;
                self.stop_connector(&mut local, &name, false).await;
                self.worker.status.remove(&name);
            }
            Change::Tasks(name) => {
                let snap = self.snapshot();
                let Some(entry) = snap.connectors.get(&name) else {
                    return;
                };
                let stale: Vec<TaskId> = local
                    .tasks
                    .iter()
                    .filter(|(t, h)| {
                        t.connector == name
                            && usize::try_from(t.task)
                                .ok()
                                .and_then(|i| entry.tasks.get(i))
                                != Some(&h.config)
                    })
                    .map(|(t, _)| t.clone())
                    .collect();
                self.stop_tasks(&mut local, &stale, false).await;
                for t in &stale {
                    if local.owned.tasks.contains(t) {
                        self.start_task(&mut local, t, &snap);
                    }
                }
            }
            Change::Target(name) => self.apply_target(&mut local, &name).await,
            Change::Restart(req) => self.apply_restart(&mut local, &req).await,
            // Applied where the config topic is read (`distributed::run`).
            Change::LoggerLevel { .. } | Change::None => {}
        }
        drop(local);
        self.check_work_changed();
    }

    async fn apply_target(self: &Arc<Self>, local: &mut Local, name: &str) {
        let snap = self.snapshot();
        let Some(target) = snap.connectors.get(name).map(|e| e.target) else {
            return;
        };
        let ids: Vec<TaskId> = local
            .tasks
            .keys()
            .filter(|t| t.connector == name)
            .cloned()
            .collect();
        if target == TargetState::Stopped {
            self.stop_tasks(local, &ids, false).await;
        } else {
            for id in &ids {
                if let Some(h) = local.tasks.get(id) {
                    let _ = h.pause.send(target == TargetState::Paused);
                }
            }
            // Tasks assigned while the connector was stopped start now.
            let missing: Vec<TaskId> = local
                .owned
                .tasks
                .iter()
                .filter(|t| t.connector == name && !local.tasks.contains_key(*t))
                .cloned()
                .collect();
            for t in &missing {
                self.start_task(local, t, &snap);
            }
        }
        let Some(previous) = local.connectors.get(name).map(|rc| rc.target) else {
            return;
        };
        if previous == TargetState::Stopped || target == TargetState::Stopped {
            // Start or stop the instance; a stopped connector hands the
            // leader zero task configs.
            self.stop_connector(local, name, false).await;
            self.start_connector(local, name).await;
        } else if let Some(rc) = local.connectors.get_mut(name) {
            rc.target = target;
            if rc.connector.is_some() {
                self.worker.status.set_connector(
                    name,
                    rc.plugin.connector_type(),
                    state_of(target),
                    None,
                );
            }
        }
        tracing::info!(connector = name, target = ?target, "target state changed");
    }

    async fn apply_restart(self: &Arc<Self>, local: &mut Local, req: &RestartRequest) {
        let name = &req.connector;
        let failed = |task: Option<u32>| {
            let info = match task {
                None => self.cluster_status.connector(name),
                Some(t) => self.cluster_status.task(name, t),
            };
            info.is_some_and(|i| i.state == State::Failed)
        };
        if local.connectors.contains_key(name) && (!req.only_failed || failed(None)) {
            if let Some(rc) = local.connectors.get(name) {
                self.worker.status.set_connector(
                    name,
                    rc.plugin.connector_type(),
                    State::Restarting,
                    None,
                );
            }
            self.stop_connector(local, name, false).await;
            self.start_connector(local, name).await;
        }
        if !req.include_tasks {
            return;
        }
        let ids: Vec<TaskId> = local
            .owned
            .tasks
            .iter()
            .filter(|t| &t.connector == name && (!req.only_failed || failed(Some(t.task))))
            .cloned()
            .collect();
        for t in &ids {
            self.worker
                .status
                .set_task(name, t.task, State::Restarting, None);
        }
        self.stop_tasks(local, &ids, false).await;
        let snap = self.snapshot();
        for t in &ids {
            self.start_task(local, t, &snap);
        }
    }

    /// Handles a request a connector instance made.
    pub(super) async fn on_request(self: &Arc<Self>, name: String, req: ConnectorRequest) {
        let mut local = self.local.lock().await;
        let committed = self
            .snapshot()
            .connectors
            .get(&name)
            .map(|e| e.tasks.clone())
            .unwrap_or_default();
        let Some(rc) = local.connectors.get_mut(&name) else {
            return;
        };
        let ctype = rc.plugin.connector_type();
        match req {
            ConnectorRequest::RaiseError(msg) => {
                tracing::error!(connector = %name, error = %msg, "connector raised an error");
                self.worker
                    .status
                    .set_connector(&name, ctype, State::Failed, Some(msg));
            }
            ConnectorRequest::ReconfigureTasks => {
                tracing::info!(connector = %name, "reconfiguring tasks");
                if let Err(e) = self.reconfigure(&name, rc, &committed).await {
                    self.worker
                        .status
                        .set_connector(&name, ctype, State::Failed, Some(e.trace()));
                }
            }
        }
    }
}
