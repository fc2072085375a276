//! The internal topics: created when missing (compacted), checked when
//! present (partition count, cleanup policy).

/// Kafka's default `delete.retention.ms` (one day).
pub const DEFAULT_DELETE_RETENTION_MS: i64 = 86_400_000;

/// What a worker needs to know about an internal topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InternalTopic {
    pub partitions: i32,
    /// How long the broker keeps tombstones (`delete.retention.ms`): a
    /// copy of the topic read up to a point older than this may have
    /// missed deletions.
    pub delete_retention_ms: i64,
}

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::types::RDKafkaErrorCode;

use super::config::TopicSpec;
use crate::kafka::{LogContext, client_config};

/// Makes sure the topic exists as the spec says; returns its partition
/// count and tombstone retention. `exact` demands exactly
/// `spec.partitions` (the config topic).
pub async fn ensure_topic(
    bootstrap: &str,
    admin_props: &BTreeMap<String, String>,
    key: &str,
    spec: &TopicSpec,
    exact: bool,
) -> Result<InternalTopic, String> {
    let admin: AdminClient<LogContext> = client_config(bootstrap, &[admin_props], &[])
        .create_with_context(LogContext)
        .map_err(|e| format!("cannot create a Kafka admin client: {e}"))?;
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let topic = NewTopic::new(
        &spec.name,
        spec.partitions,
        TopicReplication::Fixed(spec.replication),
    )
    .set("cleanup.policy", "compact");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match admin.create_topics([&topic], &opts).await {
            Ok(results) => {
                for r in results {
                    match r {
                        Ok(name) => {
                            tracing::info!(topic = %name, partitions = spec.partitions, "created internal topic ({key})")
                        }
                        Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                        Err((name, code)) => {
                            return Err(format!(
                                "cannot create internal topic {name} ({key}): {code}"
                            ));
                        }
                    }
                }
                break;
            }
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(topic = %spec.name, error = %e, "cannot reach Kafka to create the internal topic yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                return Err(format!(
                    "cannot create internal topic {} ({key}): {e}",
                    spec.name
                ));
            }
        }
    }
    let name = spec.name.clone();
    // A broker slow to answer (a loaded machine, a broker restarting) is
    // waited for until the deadline, not a reason for the worker to exit.
    let partitions = loop {
        match admin
            .inner()
            .fetch_metadata(Some(&name), Duration::from_secs(10))
        {
            Ok(md) => {
                break md
                    .topics()
                    .iter()
                    .find(|t| t.name() == name)
                    .map(|t| t.partitions().len())
                    .unwrap_or(0);
            }
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(topic = %name, error = %e, "cannot read the internal topic's metadata yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                return Err(format!(
                    "cannot read the metadata of internal topic {name} ({key}): {e}"
                ));
            }
        }
    };
    let partitions = i32::try_from(partitions).unwrap_or(i32::MAX);
    if partitions == 0 {
        return Err(format!("internal topic {name} ({key}) has no partitions"));
    }
    if exact && partitions != spec.partitions {
        return Err(format!(
            "internal topic {name} ({key}) has {partitions} partitions; it must have exactly {}. \
             Delete it or name another topic in {key}",
            spec.partitions
        ));
    }
    let described = loop {
        match admin
            .describe_configs([&ResourceSpecifier::Topic(&name)], &opts)
            .await
        {
            Ok(d) => break d,
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(topic = %name, error = %e, "cannot describe the internal topic yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                return Err(format!(
                    "cannot describe internal topic {name} ({key}): {e}"
                ));
            }
        }
    };
    let mut delete_retention_ms = DEFAULT_DELETE_RETENTION_MS;
    for r in described {
        let r = r.map_err(|e| format!("cannot describe internal topic {name} ({key}): {e}"))?;
        if let Some(ms) = r
            .get("delete.retention.ms")
            .and_then(|e| e.value.as_deref())
            .and_then(|v| v.trim().parse::<i64>().ok())
        {
            delete_retention_ms = ms;
        }
        let policy = r
            .get("cleanup.policy")
            .and_then(|e| e.value.clone())
            .unwrap_or_default();
        if !policy.split(',').any(|p| p.trim() == "compact") {
            return Err(format!(
                "internal topic {name} ({key}) has cleanup.policy={policy}; it must be compact, \
                 or old records are deleted and state is lost. Set it with \
                 kafka-configs --alter --add-config cleanup.policy=compact"
            ));
        }
    }
    Ok(InternalTopic {
        partitions,
        delete_retention_ms,
    })
}
