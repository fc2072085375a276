use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::types::RDKafkaErrorCode;
use sluice_connect_api::{ConnectError, ConnectResult};

use super::{LogContext, client_config};

/// Creates topics the runtime writes to when they are missing (the broker
/// may not auto-create them). Remembers what exists.
pub struct TopicAdmin {
    client: AdminClient<LogContext>,
    known: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for TopicAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicAdmin").finish_non_exhaustive()
    }
}

impl TopicAdmin {
    pub fn new(bootstrap: &str, admin: &BTreeMap<String, String>) -> ConnectResult<Self> {
        let client = client_config(bootstrap, &[admin], &[])
            .create_with_context(LogContext)
            .map_err(|e| ConnectError::fatal_from("cannot create Kafka admin client", e))?;
        Ok(Self {
            client,
            known: Mutex::new(HashSet::new()),
        })
    }

    fn is_known(&self, topic: &str) -> bool {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(topic)
    }

    /// Makes sure `topic` exists, creating it with `partitions` partitions,
    /// `replication` (-1: the broker's default) and topic `configs`
    /// (`cleanup.policy`, `retention.ms`, ...) otherwise.
    pub async fn ensure(
        &self,
        topic: &str,
        partitions: i32,
        replication: i32,
        configs: &[(String, String)],
    ) -> ConnectResult<()> {
        if self.is_known(topic) {
            return Ok(());
        }
        let mut new = NewTopic::new(
            topic,
            partitions.max(1),
            TopicReplication::Fixed(replication),
        );
        for (k, v) in configs {
            new = new.set(k, v);
        }
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let results = self
            .client
            .create_topics([&new], &opts)
            .await
            .map_err(|e| ConnectError::retriable_from(format!("cannot create topic {topic}"), e))?;
        for r in results {
            match r {
                Ok(name) => tracing::info!(topic = %name, partitions, "created topic"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(ConnectError::retriable(format!(
                        "cannot create topic {name}: {code} (create it yourself, or check the broker)"
                    )));
                }
            }
        }
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(topic.to_string());
        Ok(())
    }

    /// [`TopicAdmin::ensure`], retrying retriable failures (a broker briefly
    /// away) with backoff for up to a minute.
    pub async fn ensure_retrying(
        &self,
        topic: &str,
        partitions: i32,
        replication: i32,
    ) -> ConnectResult<()> {
        self.ensure_with_configs(topic, partitions, replication, &[])
            .await
    }

    /// [`TopicAdmin::ensure_retrying`] with topic configs for a new topic.
    pub async fn ensure_with_configs(
        &self,
        topic: &str,
        partitions: i32,
        replication: i32,
        configs: &[(String, String)],
    ) -> ConnectResult<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut backoff = Duration::from_millis(200);
        loop {
            match self.ensure(topic, partitions, replication, configs).await {
                Err(e) if e.is_retriable() && tokio::time::Instant::now() < deadline => {
                    tracing::warn!(topic, error = %e.trace(), "cannot make sure the topic exists yet; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                other => return other,
            }
        }
    }

    /// Deletes a consumer group (resets all of a sink connector's offsets).
    /// A group that does not exist is fine.
    pub async fn delete_group(&self, group: &str) -> ConnectResult<()> {
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let results = self
            .client
            .delete_groups(&[group], &opts)
            .await
            .map_err(|e| ConnectError::retriable_from(format!("cannot delete group {group}"), e))?;
        for r in results {
            match r {
                Ok(_) | Err((_, RDKafkaErrorCode::GroupIdNotFound)) => {}
                Err((g, code)) => {
                    return Err(ConnectError::retriable(format!(
                        "cannot delete group {g}: {code}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The Kafka cluster id, when the broker reports one.
    pub fn cluster_id(&self) -> Option<String> {
        self.client.inner().fetch_cluster_id(Duration::from_secs(5))
    }

    /// Whether the brokers answer a metadata request within `timeout` (a
    /// real request: the cluster id would come from librdkafka's cache).
    pub fn reachable(&self, timeout: Duration) -> bool {
        self.client
            .inner()
            .fetch_metadata(Some("__sluice_health_probe"), timeout)
            .is_ok()
    }
}
