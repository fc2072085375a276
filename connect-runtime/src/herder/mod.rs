//! Herders own the lifecycle of connectors and tasks. Standalone: one
//! worker, configs from files (and REST). Distributed: a cluster of workers
//! sharing work through Kafka (`crate::distributed`). The REST API talks to
//! either through [`Herder`].

mod sink_offsets;
mod standalone;

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice_connect_api::{Config, OffsetMap};

pub(crate) use sink_offsets::{
    alter as sink_offsets_alter, read as sink_offsets_read, reset as sink_offsets_reset,
    reset_source as source_offsets_reset,
};
pub use standalone::{ConnectorInfo, HerderError, StandaloneHerder};

use crate::metrics::ConnectorMeta;
use crate::state::TargetState;
use crate::status::ConnectorStatus;
use crate::worker::Worker;

/// Runs connector code (`start`, `task_configs`, `stop`) with a deadline;
/// a late call is an error naming the call and the setting that bounds it.
pub(crate) async fn bounded<T>(
    what: &str,
    setting: &str,
    limit: std::time::Duration,
    call: impl std::future::Future<Output = sluice_connect_api::ConnectResult<T>>,
) -> sluice_connect_api::ConnectResult<T> {
    match tokio::time::timeout(limit, call).await {
        Ok(r) => r,
        Err(_) => Err(sluice_connect_api::ConnectError::fatal(format!(
            "the connector's {what} did not complete within {} ms ({setting})",
            limit.as_millis()
        ))),
    }
}

/// `PATCH /connectors/{c}/config`: `patch` merged into `config` (a `None`
/// value removes the key); the name stays the connector's.
pub(crate) fn apply_patch(
    mut config: Config,
    name: &str,
    patch: BTreeMap<String, Option<String>>,
) -> Config {
    for (k, v) in patch {
        match v {
            Some(v) => config.insert(k, v),
            None => config.remove(&k),
        };
    }
    config.insert("name".to_string(), name.to_string());
    config
}

/// What a herder that checks internal requests has: the current session
/// key, `None` until the first one is read.
#[derive(Debug, Clone)]
pub struct InternalKey(pub Option<crate::distributed::session_key::SessionKey>);

/// What the REST API asks of a herder. A distributed herder answers
/// [`HerderError::Forward`] for requests another worker must serve and
/// [`HerderError::Rebalancing`] while the group rebalances.
#[async_trait::async_trait]
pub trait Herder: Send + Sync + std::fmt::Debug {
    fn worker(&self) -> &Arc<Worker>;
    async fn connector_names(&self) -> Vec<String>;
    fn status(&self, name: &str) -> Option<ConnectorStatus>;
    async fn info(&self, name: &str) -> Result<ConnectorInfo, HerderError>;
    async fn put_connector(
        &self,
        name: &str,
        config: Config,
        initial: Option<TargetState>,
        allow_update: bool,
    ) -> Result<(bool, ConnectorInfo), HerderError>;
    async fn patch_connector(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> Result<ConnectorInfo, HerderError>;
    async fn delete(&self, name: &str) -> Result<(), HerderError>;
    async fn set_target(&self, name: &str, target: TargetState) -> Result<(), HerderError>;
    async fn restart(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStatus, HerderError>;
    async fn restart_task(&self, name: &str, id: u32) -> Result<(), HerderError>;
    async fn metas(&self) -> Vec<ConnectorMeta>;
    async fn offsets(&self, name: &str) -> Result<Vec<(OffsetMap, OffsetMap)>, HerderError>;
    async fn alter_offsets(
        &self,
        name: &str,
        entries: Vec<(OffsetMap, Option<OffsetMap>)>,
    ) -> Result<(), HerderError>;
    async fn reset_offsets(&self, name: &str) -> Result<(), HerderError>;
    /// Task configs computed by the worker running the connector
    /// (Kafka Connect's internal `POST /connectors/{c}/tasks`).
    async fn put_task_configs(&self, name: &str, configs: Vec<Config>) -> Result<(), HerderError>;
    /// Internal requests (`POST /connectors/{c}/tasks`) must carry a
    /// signature made with this key (KIP-507); `None`: this herder takes
    /// none (standalone).
    fn internal_request_key(&self) -> Option<InternalKey> {
        None
    }
    /// `PUT /admin/loggers/{ns}?scope=cluster`: sets a level on every
    /// worker of the cluster. `Ok(false)`: this worker is the whole cluster
    /// (standalone), so the caller sets it here, as Kafka Connect's
    /// standalone herder does.
    async fn set_cluster_logger_level(
        &self,
        _namespace: &str,
        _level: &str,
    ) -> Result<bool, HerderError> {
        Ok(false)
    }
    /// `POST /admin/secrets/rotate`: stores again, sealed with the active
    /// key, every connector whose stored secrets are sealed with another
    /// key (or not at all).
    async fn rotate_secrets(&self) -> Result<Rotation, HerderError>;
}

/// What a secrets rotation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Rotation {
    /// The key everything is sealed with now.
    #[serde(rename = "key.id")]
    pub key_id: String,
    /// Connectors stored again.
    pub rewrapped: Vec<String>,
    /// Connectors left as they were, with why.
    pub failed: BTreeMap<String, String>,
}

/// The error for a rotation on a worker without keys.
pub(crate) fn no_keys() -> HerderError {
    HerderError::BadRequest(format!(
        "this worker has no secrets keys: set {} or {} (and {})",
        crate::secrets::keyring::KEYS_FILE,
        crate::secrets::keyring::KEYS_ENV,
        crate::secrets::keyring::ACTIVE_KEY
    ))
}

#[async_trait::async_trait]
impl Herder for StandaloneHerder {
    fn worker(&self) -> &Arc<Worker> {
        StandaloneHerder::worker(self)
    }
    async fn connector_names(&self) -> Vec<String> {
        StandaloneHerder::connector_names(self).await
    }
    fn status(&self, name: &str) -> Option<ConnectorStatus> {
        StandaloneHerder::status(self, name)
    }
    async fn info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        StandaloneHerder::info(self, name).await
    }
    async fn put_connector(
        &self,
        name: &str,
        config: Config,
        initial: Option<TargetState>,
        allow_update: bool,
    ) -> Result<(bool, ConnectorInfo), HerderError> {
        StandaloneHerder::put_connector(self, name, config, initial, allow_update).await
    }
    async fn patch_connector(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> Result<ConnectorInfo, HerderError> {
        StandaloneHerder::patch_connector(self, name, patch).await
    }
    async fn delete(&self, name: &str) -> Result<(), HerderError> {
        StandaloneHerder::delete(self, name).await
    }
    async fn set_target(&self, name: &str, target: TargetState) -> Result<(), HerderError> {
        StandaloneHerder::set_target(self, name, target).await
    }
    async fn restart(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStatus, HerderError> {
        StandaloneHerder::restart(self, name, include_tasks, only_failed).await
    }
    async fn restart_task(&self, name: &str, id: u32) -> Result<(), HerderError> {
        StandaloneHerder::restart_task(self, name, id).await
    }
    async fn metas(&self) -> Vec<ConnectorMeta> {
        StandaloneHerder::metas(self).await
    }
    async fn offsets(&self, name: &str) -> Result<Vec<(OffsetMap, OffsetMap)>, HerderError> {
        StandaloneHerder::offsets(self, name).await
    }
    async fn alter_offsets(
        &self,
        name: &str,
        entries: Vec<(OffsetMap, Option<OffsetMap>)>,
    ) -> Result<(), HerderError> {
        StandaloneHerder::alter_offsets(self, name, entries).await
    }
    async fn reset_offsets(&self, name: &str) -> Result<(), HerderError> {
        StandaloneHerder::reset_offsets(self, name).await
    }
    async fn put_task_configs(
        &self,
        _name: &str,
        _configs: Vec<Config>,
    ) -> Result<(), HerderError> {
        Err(HerderError::BadRequest(
            "task configs are only accepted from other workers of a cluster".into(),
        ))
    }
    async fn rotate_secrets(&self) -> Result<Rotation, HerderError> {
        StandaloneHerder::rotate_secrets(self).await
    }
}
