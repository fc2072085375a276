use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sluice_connect_api::config::ConfigErrors;
use sluice_connect_api::{
    Config, ConnectError, Connector, ConnectorContext, ConnectorPlugin, ConnectorRequest,
};
use thiserror::Error;
use tokio::sync::Mutex;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::connector_config;
use crate::status::{ConnectorStatus, State};
use crate::worker::{TaskHandle, Worker};

#[derive(Debug, Error)]
pub enum HerderError {
    #[error("Connector {0} already exists")]
    AlreadyExists(String),
    #[error(transparent)]
    Invalid(#[from] ConfigErrors),
}

struct Running {
    config: Config,
    plugin: ConnectorPlugin,
    connector: Box<dyn Connector>,
    tasks: Vec<TaskHandle>,
}

/// Runs connectors on this one worker.
pub struct StandaloneHerder {
    worker: Arc<Worker>,
    connectors: Mutex<BTreeMap<String, Running>>,
    requests: UnboundedSender<(String, ConnectorRequest)>,
}

impl std::fmt::Debug for StandaloneHerder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandaloneHerder").finish_non_exhaustive()
    }
}

impl StandaloneHerder {
    /// The herder and the stream of connector requests to feed to
    /// [`StandaloneHerder::process_requests`].
    pub fn new(worker: Arc<Worker>) -> (Arc<Self>, UnboundedReceiver<(String, ConnectorRequest)>) {
        let (tx, rx) = unbounded_channel();
        let h = Arc::new(Self {
            worker,
            connectors: Mutex::new(BTreeMap::new()),
            requests: tx,
        });
        (h, rx)
    }

    pub fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }

    /// Validates and starts a connector and its tasks. A connector that
    /// fails to start is kept, with status FAILED.
    pub async fn add_connector(&self, name: &str, config: Config) -> Result<(), HerderError> {
        let valid = connector_config::validate(&self.worker.registry, &config)?;
        let mut map = self.connectors.lock().await;
        if map.contains_key(name) {
            return Err(HerderError::AlreadyExists(name.to_string()));
        }
        let ctype = valid.plugin.connector_type();
        let status = &self.worker.status;
        status.set_connector(name, ctype, State::Unassigned, None);
        let tx = self.requests.clone();
        let owner = name.to_string();
        let ctx = ConnectorContext::new(name, move |req| {
            let _ = tx.send((owner.clone(), req));
        });
        let mut running = Running {
            config: config.clone(),
            plugin: valid.plugin,
            connector: (valid.plugin.new_connector)(),
            tasks: Vec::new(),
        };
        match running.connector.start(config, ctx).await {
            Ok(()) => {
                status.set_connector(name, ctype, State::Running, None);
                tracing::info!(
                    connector = name,
                    class = valid.plugin.class_name,
                    "connector started"
                );
                if let Err(e) = self.start_tasks(name, &mut running, valid.tasks_max).await {
                    status.set_connector(name, ctype, State::Failed, Some(e.trace()));
                }
            }
            Err(e) => {
                tracing::error!(connector = name, error = %e.trace(), "connector failed to start");
                status.set_connector(name, ctype, State::Failed, Some(e.trace()));
            }
        }
        map.insert(name.to_string(), running);
        Ok(())
    }

    async fn start_tasks(
        &self,
        name: &str,
        running: &mut Running,
        tasks_max: usize,
    ) -> Result<(), ConnectError> {
        let configs = running.connector.task_configs(tasks_max).await?;
        for (i, task_config) in configs.into_iter().take(tasks_max).enumerate() {
            let id = u32::try_from(i).unwrap_or(u32::MAX);
            self.worker
                .status
                .set_task(name, id, State::Unassigned, None);
            match self
                .worker
                .start_task(name, id, &running.plugin, &running.config, task_config)
            {
                Ok(h) => running.tasks.push(h),
                Err(e) => self
                    .worker
                    .status
                    .set_task(name, id, State::Failed, Some(e.trace())),
            }
        }
        Ok(())
    }

    async fn stop_tasks(&self, name: &str, running: &mut Running) {
        for t in &running.tasks {
            let _ = t.stop.send(true);
        }
        let timeout = self
            .worker
            .config
            .shutdown_timeout
            .max(Duration::from_secs(1));
        for t in running.tasks.drain(..) {
            let abort = t.join.abort_handle();
            if tokio::time::timeout(timeout, t.join).await.is_err() {
                tracing::warn!(
                    connector = name,
                    task = t.id,
                    "task did not stop in time; aborting it"
                );
                abort.abort();
            }
        }
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
                    self.worker.status.clear_tasks(&name);
                    let tasks_max = running
                        .config
                        .get(connector_config::TASKS_MAX)
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(1);
                    if let Err(e) = self.start_tasks(&name, running, tasks_max).await {
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

    /// Stops every task (each flushes and commits) and connector.
    pub async fn stop_all(&self) {
        let mut map = self.connectors.lock().await;
        for (name, running) in map.iter_mut() {
            self.stop_tasks(name, running).await;
            if let Err(e) = running.connector.stop().await {
                tracing::warn!(connector = %name, error = %e.trace(), "error stopping connector");
            }
            tracing::info!(connector = %name, "connector stopped");
        }
        map.clear();
    }

    pub fn connector_names(&self) -> Vec<String> {
        self.worker.status.names()
    }

    pub fn status(&self, name: &str) -> Option<ConnectorStatus> {
        self.worker.status.connector(name)
    }
}
