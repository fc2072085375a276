//! The config topic's records, as Kafka Connect writes them (JSON without
//! schemas), and the state they add up to.
//!
//! | key | value |
//! | --- | --- |
//! | `connector-<c>` | `{"properties":{...}}`, null = deleted |
//! | `task-<c>-<n>` | `{"properties":{...}}` |
//! | `commit-<c>` | `{"tasks":N}`: the task configs written before it are complete |
//! | `target-state-<c>` | `{"state":"PAUSED","state.v2":"STOPPED"}` |
//! | `restart-connector-<c>` | `{"include-tasks":bool,"only-failed":bool}` |
//! | `logger-cluster-<namespace>` | `{"level":"DEBUG"}` (`scope=cluster` on `/admin/loggers`) |
//! | `session-key` | `{"key":base64,"algorithm":"HmacSHA256","creation-timestamp":ms}` (KIP-507) |
//!
//! Task configs only count once their `commit-` record is read, so a
//! reader never sees half of a reconfiguration.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sluice_connect_api::Config;
use sluice_group::{TaskId, Work};

use crate::state::TargetState;

/// A connector as the config topic describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorEntry {
    pub config: Config,
    pub target: TargetState,
    /// Committed task configs, task `i` at index `i`.
    pub tasks: Vec<Config>,
}

/// A restart request (`POST /connectors/{c}/restart` in a cluster).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartRequest {
    pub connector: String,
    pub include_tasks: bool,
    pub only_failed: bool,
}

/// What one record changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Connector(String),
    Deleted(String),
    Tasks(String),
    Target(String),
    Restart(RestartRequest),
    /// A log level for every worker (`PUT /admin/loggers/{ns}?scope=cluster`).
    LoggerLevel {
        namespace: String,
        level: String,
    },
    /// Buffered (an uncommitted task config) or not ours to act on.
    None,
}

/// Everything read from the config topic so far.
#[derive(Debug, Clone, Default)]
pub struct ConfigState {
    pub connectors: BTreeMap<String, ConnectorEntry>,
    /// Task configs read but not yet committed.
    pending: BTreeMap<String, BTreeMap<u32, Config>>,
    /// Target states seen before their connector's config.
    targets: BTreeMap<String, TargetState>,
    /// Next offset to read (records applied so far); the offset stamped on
    /// assignments.
    pub offset: i64,
    /// The key internal requests are signed with (the last one read).
    pub session_key: Option<super::session_key::SessionKey>,
    /// Opens the sealed secrets of connector and task configs.
    pub secrets: std::sync::Arc<crate::secrets::Secrets>,
}

fn properties(v: &Value) -> Result<Config, String> {
    let props = v
        .get("properties")
        .and_then(Value::as_object)
        .ok_or("no \"properties\" object")?;
    props
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            Value::Null => Err(format!("property {k} is null")),
            other => Ok((k.clone(), other.to_string())),
        })
        .collect()
}

fn target_of(v: &Value) -> Result<TargetState, String> {
    let s = v
        .get("state.v2")
        .or_else(|| v.get("state"))
        .and_then(Value::as_str)
        .ok_or("no \"state\"")?;
    match s {
        "STARTED" | "RUNNING" => Ok(TargetState::Running),
        "PAUSED" => Ok(TargetState::Paused),
        "STOPPED" => Ok(TargetState::Stopped),
        other => Err(format!("unknown target state {other}")),
    }
}

/// Splits `task-<connector>-<n>` into (connector, n).
fn task_key(rest: &str) -> Option<(String, u32)> {
    let (c, n) = rest.rsplit_once('-')?;
    Some((c.to_string(), n.parse().ok()?))
}

/// Marks a connector record written by a secrets rotation: the same
/// config, sealed with another key (readers that do not know it ignore
/// it, as Kafka Connect reads only `properties`).
const REWRAP: &str = "sluice.rewrap";

impl ConfigState {
    /// An empty state that opens sealed secrets with `secrets`.
    pub fn with_secrets(secrets: std::sync::Arc<crate::secrets::Secrets>) -> Self {
        Self {
            secrets,
            ..Self::default()
        }
    }

    /// A record's properties with their secrets opened.
    fn opened(&self, connector: &str, v: &Value) -> Result<Config, String> {
        let stored = properties(v)?;
        self.secrets
            .open(connector, &stored)
            .map_err(|e| e.to_string())
    }

    /// Every configured connector and committed task.
    pub fn work(&self) -> Work {
        let mut w = Work::default();
        for (name, c) in &self.connectors {
            w.connectors.insert(name.clone());
            for i in 0..c.tasks.len() {
                w.tasks.insert(TaskId::new(
                    name.clone(),
                    u32::try_from(i).unwrap_or(u32::MAX),
                ));
            }
        }
        w
    }

    /// Applies one record. A record that cannot be understood is an error
    /// naming the key; the state is unchanged then.
    pub fn apply(&mut self, key: &str, value: Option<&[u8]>) -> Result<Change, String> {
        let parsed: Option<Value> = match value {
            None => None,
            Some(b) => Some(
                serde_json::from_slice(b)
                    .map_err(|e| format!("config record {key}: not JSON: {e}"))?,
            ),
        };
        let bad = |m: String| format!("config record {key}: {m}");
        if let Some(name) = key.strip_prefix("connector-") {
            let Some(v) = parsed else {
                self.connectors.remove(name);
                self.pending.remove(name);
                self.targets.remove(name);
                return Ok(Change::Deleted(name.to_string()));
            };
            let config = self.opened(name, &v).map_err(bad)?;
            // A rotation's rewrite changes nothing: the same config under
            // another key, or (written by a leader whose term ended) an
            // older one, which must not undo what came since. Applied only
            // when it is all there is (compaction removed the original).
            if v.get(REWRAP).is_some()
                && let Some(c) = self.connectors.get(name)
            {
                if c.config != config {
                    tracing::warn!(
                        connector = name,
                        "ignoring a secrets rewrap record that differs from the current config"
                    );
                }
                return Ok(Change::None);
            }
            let target = self.targets.get(name).copied();
            match self.connectors.get_mut(name) {
                Some(c) => c.config = config,
                None => {
                    self.connectors.insert(
                        name.to_string(),
                        ConnectorEntry {
                            config,
                            target: target.unwrap_or(TargetState::Running),
                            tasks: Vec::new(),
                        },
                    );
                }
            }
            return Ok(Change::Connector(name.to_string()));
        }
        if let Some(rest) = key.strip_prefix("task-") {
            let (name, n) = task_key(rest).ok_or_else(|| bad("bad task key".into()))?;
            if let Some(v) = parsed {
                let config = self.opened(&name, &v).map_err(bad)?;
                self.pending.entry(name).or_default().insert(n, config);
            }
            return Ok(Change::None);
        }
        if let Some(name) = key.strip_prefix("commit-") {
            let Some(v) = parsed else {
                return Ok(Change::None);
            };
            let n = v
                .get("tasks")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad("no \"tasks\" count".into()))?;
            let n = u32::try_from(n).map_err(|_| bad("task count too large".into()))?;
            let mut pending = self.pending.remove(name).unwrap_or_default();
            let mut tasks = Vec::new();
            for i in 0..n {
                match pending.remove(&i) {
                    Some(c) => tasks.push(c),
                    None => {
                        return Err(bad(format!(
                            "commit of {n} tasks without a config for task {i}"
                        )));
                    }
                }
            }
            return match self.connectors.get_mut(name) {
                Some(c) => {
                    c.tasks = tasks;
                    Ok(Change::Tasks(name.to_string()))
                }
                None => Ok(Change::None),
            };
        }
        if let Some(name) = key.strip_prefix("target-state-") {
            let Some(v) = parsed else {
                self.targets.remove(name);
                return Ok(Change::None);
            };
            let target = target_of(&v).map_err(bad)?;
            self.targets.insert(name.to_string(), target);
            if let Some(c) = self.connectors.get_mut(name) {
                c.target = target;
                return Ok(Change::Target(name.to_string()));
            }
            return Ok(Change::None);
        }
        if let Some(name) = key.strip_prefix("restart-connector-") {
            let Some(v) = parsed else {
                return Ok(Change::None);
            };
            let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
            return Ok(Change::Restart(RestartRequest {
                connector: name.to_string(),
                include_tasks: flag("include-tasks"),
                only_failed: flag("only-failed"),
            }));
        }
        if key == super::session_key::RECORD_KEY {
            let v = parsed.ok_or_else(|| bad("no value".into()))?;
            self.session_key = Some(super::session_key::SessionKey::parse(&v).map_err(bad)?);
            return Ok(Change::None);
        }
        if let Some(namespace) = key.strip_prefix("logger-cluster-") {
            let level = parsed
                .as_ref()
                .and_then(|v| v.get("level"))
                .and_then(Value::as_str)
                .ok_or_else(|| bad("no \"level\" string".into()))?;
            return Ok(Change::LoggerLevel {
                namespace: namespace.to_string(),
                level: level.to_string(),
            });
        }
        // session-key, task fencing records and anything newer.
        Ok(Change::None)
    }
}

fn props_value(config: &Config) -> Vec<u8> {
    json!({ "properties": config }).to_string().into_bytes()
}

/// `connector-<c>` record (`config` as stored: secrets sealed).
pub fn connector_record(name: &str, config: &Config) -> (String, Vec<u8>) {
    (format!("connector-{name}"), props_value(config))
}

/// `connector-<c>` record of a rotation: the same config, secrets sealed
/// with the active key; readers do not restart the connector for it.
pub fn rewrap_record(name: &str, config: &Config) -> (String, Vec<u8>) {
    (
        format!("connector-{name}"),
        json!({ "properties": config, REWRAP: true })
            .to_string()
            .into_bytes(),
    )
}

/// `task-<c>-<n>` record.
pub fn task_record(name: &str, task: usize, config: &Config) -> (String, Vec<u8>) {
    (format!("task-{name}-{task}"), props_value(config))
}

/// `commit-<c>` record.
pub fn commit_record(name: &str, tasks: usize) -> (String, Vec<u8>) {
    (
        format!("commit-{name}"),
        json!({ "tasks": tasks }).to_string().into_bytes(),
    )
}

/// `target-state-<c>` record: `state` keeps what older readers
/// understand (STOPPED reads as PAUSED there), `state.v2` is exact.
pub fn target_record(name: &str, target: TargetState) -> (String, Vec<u8>) {
    let (v1, v2) = match target {
        TargetState::Running => ("STARTED", "STARTED"),
        TargetState::Paused => ("PAUSED", "PAUSED"),
        TargetState::Stopped => ("PAUSED", "STOPPED"),
    };
    (
        format!("target-state-{name}"),
        json!({ "state": v1, "state.v2": v2 })
            .to_string()
            .into_bytes(),
    )
}

/// `restart-connector-<c>` record.
pub fn restart_record(name: &str, include_tasks: bool, only_failed: bool) -> (String, Vec<u8>) {
    (
        format!("restart-connector-{name}"),
        json!({ "include-tasks": include_tasks, "only-failed": only_failed })
            .to_string()
            .into_bytes(),
    )
}

/// `logger-cluster-<namespace>` record.
pub fn logger_record(namespace: &str, level: &str) -> (String, Vec<u8>) {
    (
        format!("logger-cluster-{namespace}"),
        json!({ "level": level }).to_string().into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::props as cfg;

    fn apply(s: &mut ConfigState, (k, v): (String, Vec<u8>)) -> Change {
        s.apply(&k, Some(&v)).unwrap()
    }

    #[test]
    fn rewrap_records_change_nothing_but_fill_a_compacted_topic() {
        let mut s = ConfigState::default();
        let c1 = cfg(&[("tasks.max", "1")]);
        assert_eq!(
            apply(&mut s, connector_record("c", &c1)),
            Change::Connector("c".into())
        );
        assert_eq!(apply(&mut s, rewrap_record("c", &c1)), Change::None);
        // A stale leader's rewrap of an older config does not undo a change.
        let c2 = cfg(&[("tasks.max", "2")]);
        apply(&mut s, connector_record("c", &c2));
        assert_eq!(apply(&mut s, rewrap_record("c", &c1)), Change::None);
        assert_eq!(s.connectors["c"].config, c2);
        // Alone in a compacted topic, it is the connector's config.
        let mut fresh = ConfigState::default();
        assert_eq!(
            apply(&mut fresh, rewrap_record("d", &c1)),
            Change::Connector("d".into())
        );
        assert_eq!(fresh.connectors["d"].config, c1);
    }

    #[test]
    fn records_have_kafka_connects_layout() {
        let (k, v) = connector_record("c", &cfg(&[("tasks.max", "2")]));
        assert_eq!(k, "connector-c");
        assert_eq!(
            String::from_utf8(v).unwrap(),
            r#"{"properties":{"tasks.max":"2"}}"#
        );
        assert_eq!(
            String::from_utf8(commit_record("c", 2).1).unwrap(),
            r#"{"tasks":2}"#
        );
        assert_eq!(
            String::from_utf8(target_record("c", TargetState::Stopped).1).unwrap(),
            r#"{"state":"PAUSED","state.v2":"STOPPED"}"#
        );
        assert_eq!(
            task_record("my-conn-1", 3, &Config::new()).0,
            "task-my-conn-1-3"
        );
        assert_eq!(
            String::from_utf8(restart_record("c", true, false).1).unwrap(),
            r#"{"include-tasks":true,"only-failed":false}"#
        );
    }

    #[test]
    fn tasks_count_only_once_committed() {
        let mut s = ConfigState::default();
        assert_eq!(
            apply(&mut s, connector_record("a-b", &cfg(&[("x", "1")]))),
            Change::Connector("a-b".into())
        );
        assert_eq!(
            apply(&mut s, task_record("a-b", 0, &cfg(&[("t", "0")]))),
            Change::None
        );
        assert_eq!(
            apply(&mut s, task_record("a-b", 1, &cfg(&[("t", "1")]))),
            Change::None
        );
        assert!(s.connectors["a-b"].tasks.is_empty());
        assert_eq!(
            apply(&mut s, commit_record("a-b", 2)),
            Change::Tasks("a-b".into())
        );
        assert_eq!(s.connectors["a-b"].tasks[1]["t"], "1");
        let w = s.work();
        assert_eq!(w.connectors.len(), 1);
        assert_eq!(w.tasks.len(), 2);
        assert!(w.tasks.contains(&TaskId::new("a-b", 1)));
        // Fewer tasks later.
        apply(&mut s, task_record("a-b", 0, &cfg(&[("t", "new")])));
        apply(&mut s, commit_record("a-b", 1));
        assert_eq!(s.connectors["a-b"].tasks, vec![cfg(&[("t", "new")])]);
    }

    #[test]
    fn target_states_and_deletes() {
        let mut s = ConfigState::default();
        // A target state may come before the connector (Kafka Connect
        // writes it first on create).
        apply(&mut s, target_record("c", TargetState::Stopped));
        apply(&mut s, connector_record("c", &cfg(&[])));
        assert_eq!(s.connectors["c"].target, TargetState::Stopped);
        assert_eq!(
            s.apply("target-state-c", Some(br#"{"state":"PAUSED"}"#))
                .unwrap(),
            Change::Target("c".into())
        );
        assert_eq!(s.connectors["c"].target, TargetState::Paused);
        assert_eq!(
            s.apply("connector-c", None).unwrap(),
            Change::Deleted("c".into())
        );
        assert!(s.connectors.is_empty());
    }

    #[test]
    fn bad_records_name_their_key() {
        let mut s = ConfigState::default();
        let e = s.apply("connector-x", Some(b"{nope")).unwrap_err();
        assert!(e.contains("connector-x"), "{e}");
        let e = s.apply("commit-x", Some(br#"{"tasks":2}"#)).unwrap_err();
        assert!(e.contains("commit-x") && e.contains("task 0"), "{e}");
        let e = s
            .apply("target-state-x", Some(br#"{"state":"DANCING"}"#))
            .unwrap_err();
        assert!(e.contains("DANCING"), "{e}");
        let e = s.apply("session-key", Some(b"{}")).unwrap_err();
        assert!(e.contains("session-key") && e.contains("key"), "{e}");
        let k = super::super::session_key::SessionKey::generate().unwrap();
        let (name, v) = k.record();
        assert_eq!(s.apply(&name, Some(&v)).unwrap(), Change::None);
        assert_eq!(s.session_key, Some(k));
    }

    #[test]
    fn restart_requests_parse() {
        let mut s = ConfigState::default();
        assert_eq!(
            apply(&mut s, restart_record("c", true, true)),
            Change::Restart(RestartRequest {
                connector: "c".into(),
                include_tasks: true,
                only_failed: true
            })
        );
    }

    #[test]
    fn cluster_logger_levels_parse() {
        let mut s = ConfigState::default();
        let (k, v) = logger_record("org.apache.kafka.connect", "DEBUG");
        assert_eq!(k, "logger-cluster-org.apache.kafka.connect");
        assert_eq!(
            String::from_utf8(v.clone()).unwrap(),
            r#"{"level":"DEBUG"}"#
        );
        assert_eq!(
            s.apply(&k, Some(&v)).unwrap(),
            Change::LoggerLevel {
                namespace: "org.apache.kafka.connect".into(),
                level: "DEBUG".into()
            }
        );
        let e = s.apply("logger-cluster-x", None).unwrap_err();
        assert!(e.contains("logger-cluster-x") && e.contains("level"), "{e}");
    }
}
