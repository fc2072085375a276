//! Source offsets in a cluster: the offsets topic is the source of truth
//! (Kafka Connect's keys `["<connector>",{partition}]` and JSON offset
//! values), materialized into this worker's RocksDB, which also remembers
//! how far it read, so a restart replays only the tail.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sluice_connect_api::OffsetMap;

use super::kafka_log::{KafkaLog, LogError};
use super::topics::InternalTopic;
use crate::offsets::{OffsetStore, RocksOffsetStore, StoreError, encode_key};

/// Offsets written to the offsets topic, read from the local copy.
#[derive(Debug)]
pub struct KafkaOffsetStore {
    local: RocksOffsetStore,
    log: KafkaLog,
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Whether a local copy last updated at `synced_at_ms` (`None`: unknown)
/// may have missed tombstones the broker has since removed.
fn copy_too_old(synced_at_ms: Option<i64>, now_ms: i64, delete_retention_ms: i64) -> bool {
    synced_at_ms.is_none_or(|t| now_ms.saturating_sub(t) >= delete_retention_ms)
}

fn log_err(e: LogError) -> StoreError {
    StoreError::Io {
        path: e.topic,
        message: e.message,
    }
}

impl KafkaOffsetStore {
    /// Opens the local copy and starts reading the topic where it left off,
    /// or from the beginning when the copy was last updated longer ago than
    /// the topic keeps tombstones (it could have missed an offset reset).
    pub fn start(
        local: RocksOffsetStore,
        bootstrap: &str,
        props: &[&BTreeMap<String, String>],
        topic: &str,
        info: InternalTopic,
    ) -> Result<Arc<Self>, StoreError> {
        let partitions = info.partitions;
        let mut from = local.positions()?;
        if !from.is_empty() {
            let synced_at = local.synced_at()?;
            if copy_too_old(synced_at, now_ms(), info.delete_retention_ms) {
                tracing::warn!(
                    topic,
                    synced_at_ms = ?synced_at,
                    delete_retention_ms = info.delete_retention_ms,
                    "the local copy of the offsets topic is older than the topic keeps tombstones; reading the topic from the beginning"
                );
                local.clear_materialized()?;
                from.clear();
            }
        }
        let replay = !from.is_empty();
        let sink = local.clone();
        let log = KafkaLog::start(
            bootstrap,
            props,
            topic,
            partitions,
            &from,
            Box::new(move |rec| {
                let Some(key) = rec.key else {
                    return;
                };
                if let Err(e) =
                    sink.materialize(&key, rec.value.as_deref(), rec.partition, rec.offset)
                {
                    tracing::error!(error = %e, "cannot keep a source offset locally");
                }
            }),
        )
        .map_err(log_err)?;
        tracing::info!(topic, resumed = replay, positions = ?from, "reading the offsets topic");
        Ok(Arc::new(Self { local, log }))
    }

    /// Waits until every offset committed anywhere so far is readable here.
    pub async fn read_to_end(&self, timeout: Duration) -> Result<(), StoreError> {
        self.log.read_to_end(timeout).await.map_err(log_err)
    }
}

#[async_trait::async_trait]
impl OffsetStore for KafkaOffsetStore {
    async fn get(
        &self,
        connector: &str,
        partition: &OffsetMap,
    ) -> Result<Option<OffsetMap>, StoreError> {
        self.local.get(connector, partition).await
    }

    /// Writes every entry to the offsets topic, waits for the
    /// acknowledgements, then for the local copy to have read them back.
    async fn put_all(
        &self,
        connector: &str,
        entries: Vec<(OffsetMap, Option<OffsetMap>)>,
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let records: Vec<(Vec<u8>, Option<Vec<u8>>)> = entries
            .into_iter()
            .map(|(p, o)| {
                (
                    encode_key(connector, &p),
                    o.map(|o| serde_json::Value::Object(o).to_string().into_bytes()),
                )
            })
            .collect();
        let sends = records.iter().map(|(k, v)| self.log.send(k, v.as_deref()));
        let mut ends: BTreeMap<i32, i64> = BTreeMap::new();
        for r in futures::future::join_all(sends).await {
            let (p, o) = r.map_err(log_err)?;
            let e = ends.entry(p).or_insert(0);
            *e = (*e).max(o + 1);
        }
        self.log
            .wait_for(&ends, Duration::from_secs(30))
            .await
            .map_err(log_err)
    }

    async fn all(&self, connector: &str) -> Result<Vec<(OffsetMap, OffsetMap)>, StoreError> {
        self.local.all(connector).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_too_old_once_tombstones_may_be_gone() {
        let day = 86_400_000;
        assert!(!copy_too_old(Some(1_000), 1_000 + day - 1, day));
        assert!(copy_too_old(Some(1_000), 1_000 + day, day));
        // Written before the position was timestamped: unknown age.
        assert!(copy_too_old(None, 5, day));
        // A clock that went back is not "too old".
        assert!(!copy_too_old(Some(10_000), 5_000, day));
    }
}
