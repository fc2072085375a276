//! The offsets API's Kafka side, shared by both herders: a sink's offsets
//! are its consumer group's (`connect-<name>`), shown as Kafka Connect's
//! `kafka_topic`/`kafka_partition`/`kafka_offset`; resetting a source's
//! offsets writes a tombstone per partition.

use std::collections::BTreeMap;

use sluice_connect_api::{Config, OffsetMap};

use super::HerderError;
use crate::connector_config;
use crate::worker::Worker;

fn sink_target(config: &Config) -> Result<(Vec<String>, Option<regex::Regex>), HerderError> {
    let (topics, regex) = connector_config::sink_topics(config);
    let regex = match regex {
        Some(r) => Some(
            regex::Regex::new(&format!("^(?:{r})$"))
                .map_err(|e| HerderError::BadRequest(format!("topics.regex is not valid: {e}")))?,
        ),
        None => None,
    };
    Ok((topics, regex))
}

fn sink_client(worker: &Worker, name: &str) -> (String, BTreeMap<String, String>, String) {
    (
        worker.config.bootstrap_servers.clone(),
        worker.config.consumer.clone(),
        format!("connect-{name}"),
    )
}

/// A sink connector's committed offsets.
pub(crate) async fn read(
    worker: &Worker,
    name: &str,
    config: &Config,
) -> Result<Vec<(OffsetMap, OffsetMap)>, HerderError> {
    let (topics, regex) = sink_target(config)?;
    let (bootstrap, props, group) = sink_client(worker, name);
    let entries = tokio::task::spawn_blocking(move || {
        crate::kafka::group_offsets::read(&bootstrap, &props, &group, &topics, regex.as_ref())
    })
    .await
    .map_err(|e| HerderError::Internal(format!("offset lookup failed: {e}")))?
    .map_err(|e| HerderError::Internal(e.trace()))?;
    Ok(entries
        .into_iter()
        .map(|(t, p, o)| {
            let mut part = OffsetMap::new();
            part.insert("kafka_topic".into(), t.into());
            part.insert("kafka_partition".into(), p.into());
            let mut off = OffsetMap::new();
            off.insert("kafka_offset".into(), o.into());
            (part, off)
        })
        .collect())
}

/// Writes (a `None` offset: resets) a sink connector's offsets.
pub(crate) async fn alter(
    worker: &Worker,
    name: &str,
    entries: Vec<(OffsetMap, Option<OffsetMap>)>,
) -> Result<(), HerderError> {
    let mut parsed = Vec::with_capacity(entries.len());
    for (i, (p, o)) in entries.into_iter().enumerate() {
        let bad = |what: &str| HerderError::BadRequest(format!("offsets[{i}]: {what}"));
        let topic = p
            .get("kafka_topic")
            .and_then(|v| v.as_str())
            .ok_or_else(|| bad("partition needs a string \"kafka_topic\""))?;
        let partition = p
            .get("kafka_partition")
            .and_then(serde_json::Value::as_i64)
            .and_then(|v| i32::try_from(v).ok())
            .ok_or_else(|| bad("partition needs an integer \"kafka_partition\""))?;
        let offset = match o {
            None => None,
            Some(o) => Some(
                o.get("kafka_offset")
                    .and_then(serde_json::Value::as_i64)
                    .filter(|v| *v >= 0)
                    .ok_or_else(|| bad("offset needs a non-negative integer \"kafka_offset\""))?,
            ),
        };
        parsed.push((topic.to_string(), partition, offset));
    }
    let (bootstrap, props, group) = sink_client(worker, name);
    tokio::task::spawn_blocking(move || {
        crate::kafka::group_offsets::write(&bootstrap, &props, &group, &parsed)
    })
    .await
    .map_err(|e| HerderError::Internal(format!("offset update failed: {e}")))?
    .map_err(|e| HerderError::Internal(e.trace()))?;
    Ok(())
}

/// Deletes a sink connector's consumer group.
pub(crate) async fn reset(worker: &Worker, name: &str) -> Result<(), HerderError> {
    worker
        .admin
        .delete_group(&format!("connect-{name}"))
        .await
        .map_err(|e| HerderError::Internal(e.trace()))
}

/// Removes every stored offset of a source connector.
pub(crate) async fn reset_source(worker: &Worker, name: &str) -> Result<(), HerderError> {
    let all = worker.offsets.all(name).await?;
    let entries: Vec<(OffsetMap, Option<OffsetMap>)> =
        all.into_iter().map(|(p, _)| (p, None)).collect();
    worker.offsets.put_all(name, entries).await?;
    Ok(())
}
