//! A sink connector's consumer-group offsets, read and written outside the
//! group (the connector is STOPPED, so the group has no members). Blocking:
//! call from `spawn_blocking`.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use sluice_connect_api::{ConnectError, ConnectResult};

use super::{CONSUMER_DEFAULTS, LogContext, client_config};

const TIMEOUT: Duration = Duration::from_secs(10);

fn consumer(
    bootstrap: &str,
    props: &BTreeMap<String, String>,
    group: &str,
) -> ConnectResult<BaseConsumer<LogContext>> {
    let mut cfg = client_config(bootstrap, &[props], CONSUMER_DEFAULTS);
    cfg.set("group.id", group);
    cfg.create_with_context(LogContext)
        .map_err(|e| ConnectError::fatal_from("cannot create a Kafka consumer", e))
}

/// Committed offsets of `group` for the topics given by name or regex.
pub fn read(
    bootstrap: &str,
    props: &BTreeMap<String, String>,
    group: &str,
    topics: &[String],
    regex: Option<&regex::Regex>,
) -> ConnectResult<Vec<(String, i32, i64)>> {
    let c = consumer(bootstrap, props, group)?;
    let md = c
        .fetch_metadata(None, TIMEOUT)
        .map_err(|e| ConnectError::retriable_from("cannot fetch topic metadata", e))?;
    let mut tpl = TopicPartitionList::new();
    for t in md.topics() {
        let wanted =
            topics.iter().any(|n| n == t.name()) || regex.is_some_and(|r| r.is_match(t.name()));
        if wanted {
            for p in t.partitions() {
                tpl.add_partition(t.name(), p.id());
            }
        }
    }
    if tpl.count() == 0 {
        return Ok(Vec::new());
    }
    let committed = c.committed_offsets(tpl, TIMEOUT).map_err(|e| {
        ConnectError::retriable_from(format!("cannot read the offsets of group {group}"), e)
    })?;
    Ok(committed
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.topic().to_string(), e.partition(), o)),
            _ => None,
        })
        .collect())
}

/// Commits offsets for `group`; a `None` offset resets the partition to its
/// earliest available offset.
pub fn write(
    bootstrap: &str,
    props: &BTreeMap<String, String>,
    group: &str,
    entries: &[(String, i32, Option<i64>)],
) -> ConnectResult<()> {
    let c = consumer(bootstrap, props, group)?;
    let mut tpl = TopicPartitionList::new();
    for (topic, partition, offset) in entries {
        let o = match offset {
            Some(o) => *o,
            None => {
                c.fetch_watermarks(topic, *partition, TIMEOUT)
                    .map_err(|e| {
                        ConnectError::retriable_from(
                            format!("cannot read the earliest offset of {topic}-{partition}"),
                            e,
                        )
                    })?
                    .0
            }
        };
        tpl.add_partition_offset(topic, *partition, Offset::Offset(o))
            .map_err(|e| ConnectError::fatal_from("bad offset", e))?;
    }
    c.commit(&tpl, CommitMode::Sync).map_err(|e| {
        ConnectError::retriable_from(format!("cannot commit offsets for group {group}"), e)
    })
}
