//! Distributed-mode worker keys, with Kafka Connect's names.

use std::collections::BTreeMap;
use std::time::Duration;

pub const GROUP_ID: &str = "group.id";
pub const CONFIG_TOPIC: &str = "config.storage.topic";
pub const OFFSET_TOPIC: &str = "offset.storage.topic";
pub const STATUS_TOPIC: &str = "status.storage.topic";
pub const OFFSET_PARTITIONS: &str = "offset.storage.partitions";
pub const STATUS_PARTITIONS: &str = "status.storage.partitions";
pub const CONFIG_REPLICATION: &str = "config.storage.replication.factor";
pub const OFFSET_REPLICATION: &str = "offset.storage.replication.factor";
pub const STATUS_REPLICATION: &str = "status.storage.replication.factor";
pub const SESSION_TIMEOUT: &str = "session.timeout.ms";
pub const HEARTBEAT_INTERVAL: &str = "heartbeat.interval.ms";
pub const REBALANCE_TIMEOUT: &str = "rebalance.timeout.ms";
pub const REBALANCE_DELAY: &str = "scheduled.rebalance.max.delay.ms";
pub const KEY_TTL: &str = "inter.worker.key.ttl.ms";
pub const SIGNATURE_ALGORITHM: &str = "inter.worker.signature.algorithm";
pub const KEY_GENERATION_ALGORITHM: &str = "inter.worker.key.generation.algorithm";
pub const VERIFICATION_ALGORITHMS: &str = "inter.worker.verification.algorithms";

/// One internal topic: name, partitions, replication factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication: i32,
}

/// What a distributed worker needs beyond the common worker keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributedConfig {
    pub group_id: String,
    pub config_topic: TopicSpec,
    pub offset_topic: TopicSpec,
    pub status_topic: TopicSpec,
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub rebalance_timeout: Duration,
    /// How long a departed worker's work waits before it is reassigned.
    /// Kafka Connect waits 5 minutes; Sluice's default is 10 seconds.
    pub rebalance_delay: Duration,
    /// `inter.worker.key.ttl.ms`: how long a session key signs internal
    /// requests before the leader writes a new one.
    pub key_ttl: Duration,
}

fn required(props: &BTreeMap<String, String>, key: &str) -> Result<String, String> {
    match props.get(key).map(|v| v.trim()) {
        Some(v) if !v.is_empty() => Ok(v.to_string()),
        _ => Err(format!(
            "Missing required configuration \"{key}\" which has no default value."
        )),
    }
}

fn number(
    props: &BTreeMap<String, String>,
    key: &str,
    default: i64,
    min: i64,
) -> Result<i64, String> {
    let Some(v) = props.get(key) else {
        return Ok(default);
    };
    let n: i64 = v.trim().parse().map_err(|_| {
        format!("Invalid value {v} for configuration {key}: Not a number of type INT")
    })?;
    if n < min {
        return Err(format!(
            "Invalid value {n} for configuration {key}: Value must be at least {min}"
        ));
    }
    Ok(n)
}

fn int(props: &BTreeMap<String, String>, key: &str, default: i32, min: i32) -> Result<i32, String> {
    let n = number(props, key, i64::from(default), i64::from(min))?;
    i32::try_from(n).map_err(|_| format!("Invalid value {n} for configuration {key}: too large"))
}

fn ms(
    props: &BTreeMap<String, String>,
    key: &str,
    default: u64,
    min: u64,
) -> Result<Duration, String> {
    let n = number(
        props,
        key,
        i64::try_from(default).unwrap_or(i64::MAX),
        i64::try_from(min).unwrap_or(0),
    )?;
    Ok(Duration::from_millis(u64::try_from(n).unwrap_or(0)))
}

impl DistributedConfig {
    /// Reads the keys from the worker properties; every problem names its key.
    pub fn from_props(props: &BTreeMap<String, String>) -> Result<Self, String> {
        // -1: the broker's default replication factor (KIP-464), so one
        // broker works out of the box. Kafka Connect defaults to 3.
        let replication = |key| {
            int(props, key, -1, -1).and_then(|r| {
                if r == 0 {
                    Err(format!(
                        "Invalid value 0 for configuration {key}: must be -1 or at least 1"
                    ))
                } else {
                    Ok(r)
                }
            })
        };
        let c = Self {
            group_id: required(props, GROUP_ID)?,
            config_topic: TopicSpec {
                name: required(props, CONFIG_TOPIC)?,
                partitions: 1,
                replication: replication(CONFIG_REPLICATION)?,
            },
            offset_topic: TopicSpec {
                name: required(props, OFFSET_TOPIC)?,
                partitions: int(props, OFFSET_PARTITIONS, 25, 1)?,
                replication: replication(OFFSET_REPLICATION)?,
            },
            status_topic: TopicSpec {
                name: required(props, STATUS_TOPIC)?,
                partitions: int(props, STATUS_PARTITIONS, 5, 1)?,
                replication: replication(STATUS_REPLICATION)?,
            },
            session_timeout: ms(props, SESSION_TIMEOUT, 10_000, 1)?,
            heartbeat_interval: ms(props, HEARTBEAT_INTERVAL, 3_000, 1)?,
            rebalance_timeout: ms(props, REBALANCE_TIMEOUT, 60_000, 1)?,
            rebalance_delay: ms(props, REBALANCE_DELAY, 10_000, 0)?,
            key_ttl: ms(props, KEY_TTL, 3_600_000, 1_000)?,
        };
        for key in [SIGNATURE_ALGORITHM, KEY_GENERATION_ALGORITHM] {
            if let Some(v) = props.get(key).map(|v| v.trim())
                && v != super::session_key::ALGORITHM
            {
                return Err(format!(
                    "Invalid value {v} for configuration {key}: Sluice signs with HmacSHA256 only"
                ));
            }
        }
        if let Some(v) = props.get(VERIFICATION_ALGORITHMS)
            && !v
                .split(',')
                .any(|a| a.trim() == super::session_key::ALGORITHM)
        {
            return Err(format!(
                "Invalid value {v} for configuration {VERIFICATION_ALGORITHMS}: must include HmacSHA256"
            ));
        }
        let names = [
            &c.config_topic.name,
            &c.offset_topic.name,
            &c.status_topic.name,
        ];
        if names[0] == names[1] || names[0] == names[2] || names[1] == names[2] {
            return Err(format!(
                "{CONFIG_TOPIC}, {OFFSET_TOPIC} and {STATUS_TOPIC} must be three different topics"
            ));
        }
        if c.heartbeat_interval >= c.session_timeout {
            return Err(format!(
                "Invalid value {} for configuration {HEARTBEAT_INTERVAL}: must be lower than {SESSION_TIMEOUT} ({})",
                c.heartbeat_interval.as_millis(),
                c.session_timeout.as_millis()
            ));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::props;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            (GROUP_ID, "g"),
            (CONFIG_TOPIC, "c"),
            (OFFSET_TOPIC, "o"),
            (STATUS_TOPIC, "s"),
        ]
    }

    #[test]
    fn defaults() {
        let c = DistributedConfig::from_props(&props(&base())).unwrap();
        assert_eq!(c.offset_topic.partitions, 25);
        assert_eq!(c.status_topic.partitions, 5);
        assert_eq!(c.config_topic.partitions, 1);
        assert_eq!(c.rebalance_delay, Duration::from_secs(10));
        assert_eq!(c.session_timeout, Duration::from_secs(10));
    }

    #[test]
    fn errors_name_the_key() {
        let e = DistributedConfig::from_props(&props(&[(GROUP_ID, "g")])).unwrap_err();
        assert!(e.contains(CONFIG_TOPIC), "{e}");
        let mut p = base();
        p.push((OFFSET_PARTITIONS, "0"));
        let e = DistributedConfig::from_props(&props(&p)).unwrap_err();
        assert!(e.contains(OFFSET_PARTITIONS), "{e}");
        let mut p = base();
        p.push((HEARTBEAT_INTERVAL, "20000"));
        let e = DistributedConfig::from_props(&props(&p)).unwrap_err();
        assert!(e.contains(HEARTBEAT_INTERVAL), "{e}");
        let mut p = base();
        p[3] = (STATUS_TOPIC, "c");
        assert!(DistributedConfig::from_props(&props(&p)).is_err());
    }
}
